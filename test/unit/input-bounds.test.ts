/**
 * The bounds and strict forms every input goes through: JSON size and depth checked on the
 * text, RFC 3339 times only, JSON bodies in UTF-8 only, the providers' pool-name rules, and
 * the store's translation of driver errors into its own.
 */
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { parseRfc3339 } from '../../src/clock.js';
import { contentTypeProblem } from '../../src/http/app.js';
import { jsonDepthOver, parseJsonWithin } from '../../src/json.js';
import { parseSubmission, ValidationError } from '../../src/requests/validate.js';
import { StoreRejectedError, StoreUnavailableError, translateDriverError } from '../../src/store/errors.js';
import { ackExample, ensExample } from '../helpers/cloud.js';

const bounds = { maxBytes: 65_536, maxDepth: 32 };

describe('JSON within bounds', () => {
  it('refuses a 50,000-deep document on its text, before building it', () => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    expect(parseJsonWithin(deep, { maxBytes: 1e6, maxDepth: 32 })).toEqual({ ok: false, kind: 'bounds', reason: 'the JSON is nested deeper than 32 levels' });
    expect(parseJsonWithin(`${'{"a":'.repeat(33)}1${'}'.repeat(33)}`, bounds)).toMatchObject({ ok: false, kind: 'bounds' });
  });

  it('counts only structure, not brackets inside strings', () => {
    expect(jsonDepthOver(JSON.stringify({ s: '[[[[[[[[[[{{{{{{{{{', t: '\\"[[[[' }), 2)).toBe(false);
    expect(parseJsonWithin(JSON.stringify({ a: { b: [1, '[[[[['] } }), { maxBytes: 100, maxDepth: 3 })).toEqual({
      ok: true,
      value: { a: { b: [1, '[[[[['] } },
    });
    expect(parseJsonWithin('[[[[1]]]]', { maxBytes: 100, maxDepth: 3 })).toMatchObject({ ok: false, kind: 'bounds' });
  });

  it('refuses what is too large in UTF-8 bytes, and reports syntax errors by position only', () => {
    expect(parseJsonWithin(JSON.stringify('é'.repeat(40)), { maxBytes: 60, maxDepth: 4 })).toMatchObject({
      ok: false,
      kind: 'bounds',
      reason: 'the JSON is 82 bytes; the limit is 60',
    });
    const bad = parseJsonWithin('{"Password":"hunter2-secret" oops}', bounds);
    expect(bad).toMatchObject({ ok: false, kind: 'syntax' });
    expect(JSON.stringify(bad)).not.toContain('hunter2');
  });
});

describe('RFC 3339 times', () => {
  it('takes date-times with a zone, fractions and offsets', () => {
    expect(parseRfc3339('2030-12-25T08:00:00Z')).toBe(Date.UTC(2030, 11, 25, 8));
    expect(parseRfc3339('2030-12-25t16:00:00.5+08:00')).toBe(Date.UTC(2030, 11, 25, 8, 0, 0, 500));
  });

  it.each([
    ['Dec 25 2030'],
    ['2030-12-25'],
    ['2030-12-25T08:00:00'],
    ['2030-12-25 08:00:00Z'],
    ['+275760-09-13T00:00:00Z'],
    ['2030-02-30T00:00:00Z'],
    ['2030-13-01T00:00:00Z'],
    ['2030-12-25T24:00:00Z'],
    ['2030-12-25T08:00:60Z'],
    ['2030-12-25T08:00:00+24:00'],
    ['1e12'],
  ])('refuses %j', (text) => {
    expect(parseRfc3339(text)).toBeUndefined();
  });
});

describe('JSON bodies are UTF-8', () => {
  it.each([
    ['application/json', undefined],
    ['application/json; charset=utf-8', undefined],
    ['Application/JSON;charset="UTF-8"', undefined],
    ['application/json; charset=latin1', 'charset must be UTF-8 (or left out), not latin1'],
    ['application/json; charset=utf-16', 'charset must be UTF-8 (or left out), not utf-16'],
    ['text/plain', 'must be application/json, not text/plain'],
    ['application/merge-patch+json', 'must be application/json, not application/merge-patch+json'],
    [undefined, 'is required: application/json'],
  ])('%s', (header, problem) => {
    expect(contentTypeProblem(header)).toBe(problem);
  });
});

describe('node-pool names', () => {
  const ens = (name: string) => ({ provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, name) });
  const ack = (name: string) => ({ provider: 'ack', regionId: 'cn-beijing', clusterId: SEED_ACK_CLUSTER, request: ackExample(name) });
  const issues = (body: unknown) => {
    try {
      parseSubmission(body, 'http');
      return [];
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return e.errors;
    }
  };

  it.each([' ', ' edge', 'edge ', 'a\nb', 'a\tb', '\u202eabc', 'ab\u200bc', '<script>alert(1)</script>', 'a\u0085b'])(
    'refuses %j for both providers',
    (name) => {
      expect(issues(ens(name)).map((i) => i.path)).toEqual(['request.NodepoolInfo.Name']);
      expect(issues(ack(name)).map((i) => i.path)).toEqual(['request.nodepool_info.name']);
    },
  );

  it("follows ACK's documented rule: 1 to 63 letters, digits, Chinese characters and hyphens, not starting with a hyphen", () => {
    for (const ok of ['default-nodepool', 'a', '节点池-1', 'x'.repeat(63)]) expect(issues(ack(ok))).toEqual([]);
    for (const bad of ['-lead', 'x'.repeat(64), 'under_score', 'dot.ted', 'clé-ops'])
      expect(issues(ack(bad)).map((i) => i.path)).toEqual(['request.nodepool_info.name']);
  });

  it('refuses what the store cannot keep anywhere in a free-form map, naming where', () => {
    const withKubelet = (cfg: unknown) => ({ ...ack('maps'), request: { ...ackExample('maps'), node_config: { kubelet_configuration: cfg } } });
    expect(issues(withKubelet({ evictionHard: { 'memory.available': '100Mi' } }))).toEqual([]);
    expect(issues(withKubelet({ evictionHard: { 'memory.available': 'a\u0000b' } })).map((i) => i.path)).toEqual([
      'request.node_config.kubelet_configuration.evictionHard.memory.available',
    ]);
    expect(issues(withKubelet({ 'k\ud800': 1 })).map((i) => i.path)).toEqual(['request.node_config.kubelet_configuration.(unprintable key)']);
    expect(issues(withKubelet({ list: ['ok', '\udfff'] })).map((i) => i.path)).toEqual(['request.node_config.kubelet_configuration.list[1]']);
  });

  it('lets ENS names be anything readable, since ENS publishes no rule', () => {
    for (const ok of ['test1', 'clé-ops', 'edge pool 1', 'под-1', 'x'.repeat(128)]) expect(issues(ens(ok))).toEqual([]);
  });
});

describe('the store boundary', () => {
  it("turns driver errors into the store's own", () => {
    const driver = (code: string | undefined, message = 'x') => Object.assign(new Error(message), code ? { code } : {});
    expect(translateDriverError(driver('57P01'))).toBeInstanceOf(StoreUnavailableError);
    expect(translateDriverError(driver('08006'))).toBeInstanceOf(StoreUnavailableError);
    expect(translateDriverError(driver('40001'))).toBeInstanceOf(StoreUnavailableError);
    expect(translateDriverError(driver('ECONNREFUSED'))).toBeInstanceOf(StoreUnavailableError);
    expect(translateDriverError(driver(undefined, 'Connection terminated unexpectedly'))).toBeInstanceOf(StoreUnavailableError);
    expect(translateDriverError(driver('22P05'))).toBeInstanceOf(StoreRejectedError);
    expect(translateDriverError(driver('54000'))).toBeInstanceOf(StoreRejectedError);
    const other = driver('23505');
    expect(translateDriverError(other)).toBe(other);
    const overflow = new RangeError('Maximum call stack size exceeded');
    expect(translateDriverError(overflow)).toBe(overflow);
  });
});
