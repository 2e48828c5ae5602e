/** Submission parsing on its own: the two envelopes, what comes out, and every problem at once. */
import { describe, expect, it } from 'vitest';
import { SEED_ACK_CLUSTER, SEED_ENS_CLUSTER } from '../../sandbox/cloud-emulator.js';
import { parseSubmission, ValidationError } from '../../src/requests/validate.js';
import { ackExample, ensExample } from '../helpers/cloud.js';

const problems = (body: unknown, source: 'http' | 'queue' = 'http') => {
  try {
    parseSubmission(body, source);
    return [];
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return e.errors.map((i) => i.path);
  }
};

describe('submission parsing', () => {
  it('takes an ENS body: the cluster and pool name come from the create parameters, which are kept as given', () => {
    const createParams = ensExample(SEED_ENS_CLUSTER, 'edge-a');
    expect(parseSubmission({ provider: 'ens', request: createParams, deadlineMinutes: 45 }, 'http')).toEqual({
      operation: 'create',
      provider: 'ens',
      clusterId: SEED_ENS_CLUSTER,
      nodepoolName: 'edge-a',
      createParams,
      deadlineMinutes: 45,
      idempotencyKey: undefined,
    });
  });

  it('takes an ACK body: region and cluster from the envelope', () => {
    const createParams = ackExample('workers-a');
    expect(parseSubmission({ provider: 'ack', regionId: 'cn-beijing', clusterId: SEED_ACK_CLUSTER, request: createParams }, 'queue')).toMatchObject({
      provider: 'ack',
      regionId: 'cn-beijing',
      clusterId: SEED_ACK_CLUSTER,
      nodepoolName: 'workers-a',
      createParams,
    });
  });

  it('takes an idempotency key in a queue message only (over HTTP it is a header)', () => {
    const body = { provider: 'ens', request: ensExample(SEED_ENS_CLUSTER, 'edge-b'), idempotencyKey: 'order-1' };
    expect(parseSubmission(body, 'queue').idempotencyKey).toBe('order-1');
    expect(problems(body, 'http')).toEqual(['idempotencyKey']);
  });

  it('names every bad field at once, and refuses what is not an object or names no provider', () => {
    const broken = { provider: 'ens', request: { ...ensExample(SEED_ENS_CLUSTER, ' x'), ClusterId: 7 }, deadlineMinutes: 0, colour: 'blue' };
    expect(problems(broken).sort()).toEqual(['colour', 'deadlineMinutes', 'request.ClusterId', 'request.NodepoolInfo.Name']);
    expect(problems([])).toEqual(['']);
    expect(problems({ provider: 'gce' })).toEqual(['provider']);
  });
});
