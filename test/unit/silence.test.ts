/** Silences on their own: what a silence matches, and what the API refuses, by field. */
import { describe, expect, it } from 'vitest';
import { parseSilence, silenceMatches } from '../../src/alerts/silence.js';
import type { AlertRecord, Silence } from '../../src/store/alerts.js';

const NOW = Date.UTC(2026, 10, 30, 12);
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

const alert = (labels: Partial<AlertRecord['labels']>, rule = 'nodes_failed'): AlertRecord => ({
  id: 1,
  fingerprint: 'f',
  rule,
  severity: 'critical',
  state: 'firing',
  annotations: {},
  startsAt: new Date(NOW),
  updatedAt: new Date(NOW),
  labels: { rule, severity: 'critical', provider: 'ens', clusterId: 'eck-1', nodepoolName: 'edge-a', nodepoolId: 'np-1', ...labels },
});
const silence = (matchers: Silence['matchers']): Silence => ({
  id: 'sil_x',
  matchers,
  startsAt: new Date(NOW),
  endsAt: new Date(NOW + DAY),
  createdAt: new Date(NOW),
});

describe('silences', () => {
  it('match every matcher given: provider, cluster, rule, and pool by name or id', () => {
    expect(silenceMatches(silence({ clusterId: 'eck-1' }), alert({}))).toBe(true);
    expect(silenceMatches(silence({ pool: 'np-1' }), alert({}))).toBe(true);
    expect(silenceMatches(silence({ pool: 'edge-a', rule: 'nodes_failed', provider: 'ens' }), alert({}))).toBe(true);
    expect(silenceMatches(silence({ pool: 'edge-a', rule: 'nodes_offline' }), alert({}))).toBe(false);
    expect(silenceMatches(silence({ clusterId: 'eck-2' }), alert({}))).toBe(false);
  });

  it('are taken with RFC 3339 times within 90 days', () => {
    const out = parseSilence({ matchers: { clusterId: 'eck-1' }, endsAt: iso(NOW + 90 * DAY), comment: 'upgrade\nwindow' }, NOW, 'ops');
    expect(out).toMatchObject({ ok: true, silence: { matchers: { clusterId: 'eck-1' }, startsAt: new Date(NOW), endsAt: new Date(NOW + 90 * DAY) } });
  });

  it.each([
    [{ matchers: { clusterId: 'eck-1' } }, ['endsAt']],
    [{ matchers: { clusterId: 'eck-1' }, endsAt: iso(NOW + 91 * DAY) }, ['endsAt']],
    [{ matchers: { clusterId: 'eck-1' }, endsAt: iso(NOW - 1) }, ['endsAt']],
    [{ matchers: { clusterId: 'eck-1' }, startsAt: iso(NOW + 91 * DAY), endsAt: iso(NOW + 92 * DAY) }, ['startsAt']],
    [{ matchers: { clusterId: 'eck-1' }, startsAt: iso(NOW + 2 * DAY), endsAt: iso(NOW + DAY) }, ['endsAt']],
    [{ matchers: {}, endsAt: iso(NOW + DAY) }, ['matchers']],
    [{ matchers: { team: 'x' }, endsAt: iso(NOW + DAY) }, ['matchers.team', 'matchers']],
    [{ matchers: { clusterId: 'a\u202eb' }, endsAt: iso(NOW + DAY) }, ['matchers.clusterId']],
    [{ matchers: { rule: 'all' }, endsAt: iso(NOW + DAY), createdBy: 'someone' }, ['createdBy', 'matchers.rule']],
  ])('refuses %j, naming %j', (body, fields) => {
    const out = parseSilence(body, NOW, 'ops');
    expect(out.ok).toBe(false);
    expect(out.ok ? [] : out.errors.map((e) => e.path)).toEqual(fields);
  });
});
