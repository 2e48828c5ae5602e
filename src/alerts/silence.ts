/**
 * Silences, after Alertmanager's: a silence matches alerts by their labels (provider,
 * cluster, pool name or id, rule) for a bounded time. A silenced alert is recorded but not
 * sent, except its resolution when people heard it fire.
 */
import { parseRfc3339 } from '../clock.js';
import { type Issue, isStorableText, UNREADABLE_CHARS } from '../requests/schema.js';
import type { AlertRecord, Silence, SilenceMatchers } from '../store/alerts.js';
import { RULES } from './rules.js';

export type NewSilence = Omit<Silence, 'id' | 'createdAt'>;

export function silenceMatches(s: Silence, a: AlertRecord): boolean {
  const m = s.matchers;
  return (
    (!m.provider || m.provider === a.labels.provider) &&
    (!m.clusterId || m.clusterId === a.labels.clusterId) &&
    (!m.rule || m.rule === a.rule) &&
    (!m.pool || m.pool === a.labels.nodepoolName || m.pool === a.labels.nodepoolId)
  );
}

const SILENCE_MATCHERS = ['provider', 'clusterId', 'pool', 'rule'];
/** How far ahead a silence may start, and how long it may last from when it takes effect. */
const MAX_SILENCE_DAYS = 90;
const DAY_MS = 86_400_000;

const MATCHER_MAX = 128;
const TEXT_MAX = 1000;

/**
 * The body of `POST /v1/silences` as JSON Schema, from the same constants parseSilence checks
 * with (for the OpenAPI document). What depends on the time of the call (endsAt in the future,
 * at most 90 days) is said in words.
 */
export function silenceBodySchema(): Record<string, unknown> {
  const matcher = { type: 'string', minLength: 1, maxLength: MATCHER_MAX };
  const time = { type: 'string', format: 'date-time', description: 'RFC 3339, such as 2030-12-25T08:00:00Z' };
  const text = { type: 'string', maxLength: TEXT_MAX };
  return {
    type: 'object',
    required: ['matchers', 'endsAt'],
    additionalProperties: false,
    properties: {
      matchers: {
        type: 'object',
        minProperties: 1,
        additionalProperties: false,
        description: '`pool` matches a pool by name or id',
        properties: Object.fromEntries(
          SILENCE_MATCHERS.map((k) => [k, k === 'provider' ? { enum: ['ens', 'ack'] } : k === 'rule' ? { type: 'string', enum: Object.keys(RULES) } : matcher]),
        ),
      },
      startsAt: { ...time, description: `${time.description}; now when left out, and at most ${MAX_SILENCE_DAYS} days ahead` },
      endsAt: { ...time, description: `${time.description}; after now and startsAt, at most ${MAX_SILENCE_DAYS} days after the silence takes effect` },
      comment: text,
    },
  };
}

/**
 * A silence as the API takes it (`POST /v1/silences`), or every problem with it by field. Who
 * made it is the name of the token that sent it (`createdBy`), never what the body says.
 */
export function parseSilence(body: unknown, now: number, createdBy: string): { ok: true; silence: NewSilence } | { ok: false; errors: Issue[] } {
  const b = body as Record<string, unknown>;
  const errors: Issue[] = [];
  if (!b || typeof b !== 'object' || Array.isArray(b)) return { ok: false, errors: [{ path: '', message: 'the body must be a JSON object' }] };
  for (const k of Object.keys(b)) {
    if (k === 'createdBy') errors.push({ path: k, message: 'is the name of the token that sends the silence: leave it out' });
    else if (!['matchers', 'startsAt', 'endsAt', 'comment'].includes(k)) errors.push({ path: k, message: 'is not a known field' });
  }
  const m = b.matchers as Record<string, unknown> | undefined;
  if (!m || typeof m !== 'object' || Array.isArray(m))
    errors.push({ path: 'matchers', message: 'is required: an object with provider, clusterId, pool and/or rule' });
  else {
    for (const k of Object.keys(m))
      if (!SILENCE_MATCHERS.includes(k)) errors.push({ path: `matchers.${k}`, message: `is not a matcher (${SILENCE_MATCHERS.join(', ')})` });
    for (const k of SILENCE_MATCHERS) {
      const v = m[k];
      if (v === undefined) continue;
      if (typeof v !== 'string' || !v.length || v.length > MATCHER_MAX)
        errors.push({ path: `matchers.${k}`, message: `must be a non-empty string of at most ${MATCHER_MAX} characters` });
      else if (!isStorableText(v) || UNREADABLE_CHARS.test(v))
        errors.push({ path: `matchers.${k}`, message: 'must not contain control characters or invalid Unicode' });
    }
    if (!SILENCE_MATCHERS.some((k) => m[k] !== undefined)) errors.push({ path: 'matchers', message: 'must have at least one matcher' });
    if (m.provider !== undefined && m.provider !== 'ens' && m.provider !== 'ack') errors.push({ path: 'matchers.provider', message: 'must be ens or ack' });
    if (typeof m.rule === 'string' && !(m.rule in RULES)) errors.push({ path: 'matchers.rule', message: `must be one of: ${Object.keys(RULES).join(', ')}` });
  }
  const time = (k: 'startsAt' | 'endsAt'): number | undefined => {
    const v = b[k];
    if (v === undefined) return undefined;
    const t = typeof v === 'string' ? parseRfc3339(v) : undefined;
    if (t === undefined) errors.push({ path: k, message: 'must be an RFC 3339 time such as 2030-12-25T08:00:00Z' });
    return t;
  };
  const startsAt = time('startsAt') ?? now;
  const endsAt = time('endsAt');
  if (b.endsAt === undefined) errors.push({ path: 'endsAt', message: 'is required' });
  if (startsAt > now + MAX_SILENCE_DAYS * DAY_MS) errors.push({ path: 'startsAt', message: `must be at most ${MAX_SILENCE_DAYS} days from now` });
  else if (endsAt !== undefined) {
    if (endsAt <= Math.max(now, startsAt)) errors.push({ path: 'endsAt', message: 'must be in the future and after startsAt' });
    else if (endsAt - Math.max(now, startsAt) > MAX_SILENCE_DAYS * DAY_MS)
      errors.push({ path: 'endsAt', message: `must be at most ${MAX_SILENCE_DAYS} days after the silence takes effect` });
  }
  for (const k of ['comment']) {
    const v = b[k];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length > TEXT_MAX) errors.push({ path: k, message: `must be a string of at most ${TEXT_MAX} characters` });
    else if (!isStorableText(v) || UNREADABLE_CHARS.test(v.replace(/[\n\t]/g, ' ')))
      errors.push({ path: k, message: 'must not contain control characters (other than new lines and tabs) or invalid Unicode' });
  }
  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    silence: {
      matchers: m as SilenceMatchers,
      startsAt: new Date(startsAt),
      endsAt: new Date(endsAt!),
      comment: b.comment as string | undefined,
      createdBy,
    },
  };
}
