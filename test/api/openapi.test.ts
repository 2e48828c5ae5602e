/**
 * The OpenAPI document: served without a token, valid OpenAPI 3.1 by a validator from npm,
 * its request schemas agreeing with the checks they come from, and the answer check that every
 * system test runs (test/helpers/openapi.ts) failing where it should.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { parseSubmission, ValidationError } from '../../src/requests/validate.js';
import { ackExample, ensExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { checkAnswer } from '../helpers/openapi.js';
import { useSystem } from '../helpers/system.js';

describe.each(backends.slice(0, 1))('the OpenAPI document', (backend) => {
  const t = useSystem(backend);

  it('is served without a token and is valid OpenAPI 3.1', async () => {
    const res = await fetch(`${t.sys.apiUrl}/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/nodepool-requests', '/v1/nodepool-requests/{id}', '/v1/alerts', '/v1/silences', '/v1/clusters', '/metrics']),
    );
  });

  it('describes the bodies exactly as the API checks them: examples pass both, broken bodies fail both', async () => {
    const doc = await (await fetch(`${t.sys.apiUrl}/v1/openapi.json`)).json();
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(doc, 'openapi');
    const schemaSays = ajv.compile({ $ref: 'openapi#/components/schemas/Submission' });
    const apiSays = (body: unknown) => {
      try {
        parseSubmission(body, 'http');
        return true;
      } catch (err) {
        if (err instanceof ValidationError) return false;
        throw err;
      }
    };
    const ens = () => ({ provider: 'ens', request: structuredClone(ensExample(SEED_ENS_CLUSTER, uniqueName())) as any });
    const ack = () => ({ provider: 'ack', regionId: 'cn-beijing', clusterId: SEED_ACK_CLUSTER, request: structuredClone(ackExample(uniqueName())) as any });
    const changed = (body: any, change: (b: any) => void) => {
      change(body);
      return body;
    };
    const cases: Array<[string, unknown, boolean]> = [
      ['the ENS example', ens(), true],
      ['the ACK example', ack(), true],
      ['ENS with an unknown field', { ...ens(), extra: 1 }, false],
      [
        'ENS SystemDiskSize under 20',
        changed(ens(), (b) => {
          b.request.ScalingGroup.SystemDiskSize = 10;
        }),
        false,
      ],
      [
        'ENS SystemDiskCategory unknown',
        changed(ens(), (b) => {
          b.request.ScalingGroup.SystemDiskCategory = 'cloud_essd';
        }),
        false,
      ],
      ['ENS without ScalingGroup', changed(ens(), (b) => delete b.request.ScalingGroup), false],
      ['ACK without regionId', changed(ack(), (b) => delete b.regionId), false],
      [
        'ACK desired_size a string',
        changed(ack(), (b) => {
          b.request.scaling_group.desired_size = '2';
        }),
        false,
      ],
      ['deadlineMinutes 0', { ...ens(), deadlineMinutes: 0 }, false],
      ['provider unknown', { ...ens(), provider: 'gke' }, false],
    ];
    for (const [label, body, valid] of cases) {
      expect([label, apiSays(body)]).toEqual([label, valid]);
      expect([label, schemaSays(body)]).toEqual([label, valid]);
    }
  });

  it('checks answers: a conforming one passes; a wrong shape, an undescribed status or media type fails', () => {
    const request = {
      id: 'npr_01M8PW0NS73DZXC5RHV3P7KX4K',
      operation: 'create',
      state: 'active',
      provider: 'ens',
      clusterId: 'eck-x',
      nodepoolName: 'a',
      links: { self: '/v1/nodepool-requests/npr_01M8PW0NS73DZXC5RHV3P7KX4K' },
      nodepoolId: 'np1',
      attempts: 1,
      deadlineAt: '2026-11-30T12:00:00.000Z',
      nextAttemptAt: null,
      lastError: null,
      observed: null,
      source: 'http',
      createdAt: '2026-11-30T12:00:00.000Z',
      updatedAt: '2026-11-30T12:00:00.000Z',
      request: {},
    };
    const path = `/v1/nodepool-requests/${request.id}`;
    expect(() => checkAnswer('GET', path, 200, 'application/json; charset=utf-8', JSON.stringify(request))).not.toThrow();
    const { state: _, ...noState } = request;
    expect(() => checkAnswer('GET', path, 200, 'application/json', JSON.stringify(noState))).toThrow(/does not conform/);
    expect(() => checkAnswer('GET', path, 200, 'application/json', JSON.stringify({ ...request, state: 'done' }))).toThrow(/does not conform/);
    expect(() => checkAnswer('GET', path, 418, 'application/json', '{}')).toThrow(/does not list/);
    expect(() => checkAnswer('GET', path, 200, 'text/html', '<p>')).toThrow(/does not list/);
  });
});
