/** The node-pool model: every documented state word, and an unknown one never read as success. */
import { describe, expect, it } from 'vitest';
import { fromAck, fromEns } from '../../src/cloud/nodepool.js';

const ack = (state: string) => fromAck({ nodepool_info: { nodepool_id: 'np1', name: 'a' }, status: { state, total_nodes: 1 } }, 'c1');

describe('node-pool states', () => {
  it.each([
    ['active', 'active'],
    ['initial', 'initial'],
    ['scaling', 'scaling'],
    ['removing', 'removing'],
    ['deleting', 'deleting'],
    ['updating', 'updating'],
    ['failed', 'failed'],
    ['repairing', 'unknown'],
    ['', 'unknown'],
  ])('ACK %j is %s, keeping the word as it came', (word, state) => {
    expect(ack(word)).toMatchObject({ state, cloudState: word });
  });

  it('reads no failed count from an ENS listing, which has none: null, not zero', () => {
    const p = fromEns(
      {
        NodepoolInfo: { NodepoolId: 'np1', Name: 'a' },
        Status: { State: 'active', TotalNodes: 2, DesiredNodes: 2, ServingNodes: 2, InitialNodes: 0, RemovingNodes: 0 },
      },
      'eck-1',
    );
    expect(p).toMatchObject({ state: 'active', serving: 2, failed: null, healthy: null, offline: null });
  });
});
