/**
 * ACK runs one node-pool operation per cluster at a time. Our requests for a cluster go in
 * order; one waiting its turn spends no call; and the next goes the moment the one ahead is
 * done, whether provision sees its task end or the sweep does. No create is refused as busy.
 */
import { describe, expect, it } from 'vitest';
import { taskDurations } from '../../src/pipeline/schedule.js';
import { recordTaskDuration } from '../../src/store/task-durations.js';
import { ackExample, uniqueName } from '../helpers/cloud.js';
import { backends } from '../helpers/db.js';
import { useSystem } from '../helpers/system.js';

describe.each(backends)('ACK scheduling on $name', (backend) => {
  describe('driven by the sweep', () => {
    const t = useSystem(backend, { env: { WATCH_CLUSTERS: '' } });

    it('creates the second pool of a cluster only after the first is active, with no busy refusal and no call while it waits', async () => {
      const cluster = await t.admin('POST', '/clusters', { provider: 'ack', regionId: 'cn-beijing' });
      const post = (name: string) =>
        t.api('POST', '/v1/nodepool-requests', { provider: 'ack', regionId: 'cn-beijing', clusterId: cluster.id, request: ackExample(name) });
      const first = await post(uniqueName('first'));
      await t.idle();
      const second = await post(uniqueName('second'));
      await t.idle();
      const waiting = (await t.api('GET', `/v1/nodepool-requests/${second.json.id}`)).json;
      const creates = () => t.sys.emulator.callLog({ clusterId: cluster.id, action: 'CreateClusterNodePool' }).map((c) => c.outcome);
      expect(waiting).toMatchObject({ state: 'submitting', lastError: null });
      expect(waiting.history.at(-1).note).toContain(`waiting for request ${first.json.id}`);
      expect(creates()).toEqual(['OK']);
      // the first pool comes up; one sweep makes it active and hands the cluster on at once
      t.advanceCloud(11_000);
      await t.sweep();
      await t.idle();
      expect((await t.api('GET', `/v1/nodepool-requests/${first.json.id}`)).json.state).toBe('active');
      expect((await t.api('GET', `/v1/nodepool-requests/${second.json.id}`)).json.state).toBe('creating');
      expect(creates()).toEqual(['OK', 'OK']);
    });

    it('hands the cluster on when the request ahead fails, and the failure keeps its task error', async () => {
      const cluster = await t.admin('POST', '/clusters', { provider: 'ack', regionId: 'cn-beijing' });
      const post = (name: string) =>
        t.api('POST', '/v1/nodepool-requests', { provider: 'ack', regionId: 'cn-beijing', clusterId: cluster.id, request: ackExample(name) });
      const doomed = uniqueName('doomed');
      const first = await post(doomed);
      await t.idle();
      const second = await post(uniqueName('after'));
      await t.idle();
      await t.admin('PATCH', `/clusters/${cluster.id}/nodepools/${doomed}`, {
        faults: { creationFails: { code: 'InsufficientStock', message: 'out of stock in the zone' } },
      });
      t.advanceCloud(11_000);
      await t.sweep();
      await t.idle();
      const a = (await t.api('GET', `/v1/nodepool-requests/${first.json.id}`)).json;
      expect(a).toMatchObject({ state: 'failed', lastError: { code: 'InsufficientStock' } });
      expect((await t.api('GET', `/v1/nodepool-requests/${second.json.id}`)).json.state).toBe('creating');
      const creates = t.sys.emulator.callLog({ clusterId: cluster.id, action: 'CreateClusterNodePool' }).map((c) => c.outcome);
      expect(creates).toEqual(['OK', 'OK']);
    });
  });

  describe('taking requests from the queue', () => {
    const t = useSystem(backend, { env: { WATCH_CLUSTERS: '' } });
    const send = async (body: unknown) => {
      const res = await fetch(`${t.sys.cloudUrl}/_sandbox/queues/nodepool-requests/messages`, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status).toBe(201);
      await t.idle();
    };
    const byName = async (name: string) => {
      const list = (await t.api('GET', '/v1/nodepool-requests?limit=100')).json.items.find((r: any) => r.nodepoolName === name);
      return (await t.api('GET', `/v1/nodepool-requests/${list.id}`)).json;
    };

    it('stores a request with one of ours ahead on its cluster already waiting, and leases the one it drives as it stores it', async () => {
      const cluster = await t.admin('POST', '/clusters', { provider: 'ack', regionId: 'cn-beijing' });
      const store = t.sys.instance.store;
      const calls = { lease: 0, ahead: 0 };
      const { acquireLease, aheadOnCluster } = store;
      store.acquireLease = (...args) => {
        calls.lease++;
        return acquireLease.apply(store, args);
      };
      store.aheadOnCluster = (...args) => {
        calls.ahead++;
        return aheadOnCluster.apply(store, args);
      };
      const names = ['a', 'b', 'c'].map((n) => uniqueName(n));
      try {
        for (const name of names) await send({ provider: 'ack', regionId: 'cn-beijing', clusterId: cluster.id, request: ackExample(name) });
      } finally {
        store.acquireLease = acquireLease;
        store.aheadOnCluster = aheadOnCluster;
      }
      const [a, b, c] = await Promise.all(names.map(byName));
      expect(a.state).toBe('creating');
      // the intake leased a with its insert (a then read its turn once more, the other inserts
      // committed), and b and c read their turn with theirs: no statement more
      expect(calls).toEqual({ lease: 0, ahead: 1 });
      expect(b.history.map((h: any) => [h.state, h.note])).toEqual([
        ['accepted', expect.stringContaining('accepted from the queue')],
        ['submitting', `waiting for request ${a.id} (creating) on the cluster: ACK takes one node-pool operation at a time`],
      ]);
      // (the one holding the turn is named first)
      expect(c.history.at(-1).note).toContain(`waiting for request ${a.id} (creating)`);
      expect([b.attempts, c.attempts, b.lastError, c.lastError]).toEqual([0, 0, null, null]);
      // nothing was asked of the cloud for b and c: a's two reads (side by side) and its create
      const asked = t.sys.emulator.callLog({ clusterId: cluster.id }).map((l) => l.action);
      expect([...asked.slice(0, 2).sort(), asked[2], asked.length]).toEqual(['DescribeClusterDetail', 'DescribeClusterNodePools', 'CreateClusterNodePool', 3]);
      // a's end hands the cluster to b, and b's to c
      for (const next of [b, c]) {
        t.advanceCloud(11_000);
        await t.sweep();
        await t.idle();
        expect((await byName(next.nodepoolName)).state).toBe('creating');
      }
    });
  });

  describe('when two requests for one cluster are accepted in the same millisecond', () => {
    const t = useSystem(backend, { env: { WATCH_CLUSTERS: '' } });
    const state = async (id: string) => (await t.api('GET', `/v1/nodepool-requests/${id}`)).json;

    /**
     * Request ids sort by time, then at random: the later of two accepted in one millisecond
     * (or on instances whose clocks differ) can sort first. `first` is held at its mark, before
     * (`before`) or after (`after`) it is written; `second` is posted meanwhile with an id that
     * sorts before it, and run until it has made its move; then `beforeRelease` runs, and `first`
     * goes on. Both are creates unless `firstBody` says otherwise (given the cluster).
     */
    async function race(
      when: 'before' | 'after',
      options: { cluster?: { id: string }; firstBody?: (clusterId: string) => unknown; beforeRelease?: () => Promise<unknown> } = {},
    ) {
      const cluster = options.cluster ?? (await t.admin('POST', '/clusters', { provider: 'ack', regionId: 'cn-beijing' }));
      const store = t.sys.instance.store;
      const transition = store.transition.bind(store);
      const insert = store.insert.bind(store);
      let firstId = '';
      let secondId = '';
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let held!: () => void;
      const atMark = new Promise<void>((r) => {
        held = r;
      });
      let moved!: () => void;
      const secondMoved = new Promise<void>((r) => {
        moved = r;
      });
      store.transition = async (id, change) => {
        const isMark = change.to === 'submitting' && change.patch?.createStartedAt;
        if (id === firstId && isMark && when === 'before') {
          held();
          await gate;
        }
        const out = await transition(id, change);
        if (id === firstId && isMark && when === 'after') {
          held();
          await gate;
        }
        if (id === secondId && (change.to === 'creating' || (change.to === 'submitting' && change.patch?.nextAttemptAt))) moved();
        return out;
      };
      store.insert = async (r) => {
        if (!firstId || secondId) return insert(r);
        secondId = `${firstId.slice(0, 14)}${'0'.repeat(16)}`;
        const out = await insert({ ...r, id: secondId });
        // stored already waiting for the one ahead: it moves no further
        if (out.kind === 'created' && out.waitingFor) moved();
        return out;
      };
      try {
        const create = (name: string) => ({ provider: 'ack', regionId: 'cn-beijing', clusterId: cluster.id, request: ackExample(name) });
        const post = (body: unknown) => t.api('POST', '/v1/nodepool-requests', body);
        firstId = (await post(options.firstBody?.(cluster.id) ?? create(uniqueName('first')))).json.id;
        await atMark;
        expect((await post(create(uniqueName('second')))).json.id).toBe(secondId);
        await secondMoved;
        await options.beforeRelease?.();
        release();
        await t.idle();
      } finally {
        store.transition = transition;
        store.insert = insert;
        release();
      }
      const creates = t.sys.emulator.callLog({ clusterId: cluster.id, action: 'CreateClusterNodePool' });
      return { first: await state(firstId), second: await state(secondId), creates: creates.map((c) => c.outcome) };
    }

    it('the one that sorts first waits for the other, which has marked its create', async () => {
      const { first, second, creates } = await race('after');
      expect(first.state).toBe('creating');
      expect(second).toMatchObject({ state: 'submitting', lastError: null });
      expect(second.history.at(-1).note).toContain(`waiting for request ${first.id} (submitting)`);
      expect(creates).toEqual(['OK']);
    });

    it('of two that both read the turn as free, the store lets one mark its create and the other waits', async () => {
      const { first, second, creates } = await race('before');
      expect(second.state).toBe('creating');
      expect(first).toMatchObject({ state: 'submitting', lastError: null, attempts: 0 });
      expect(first.history.at(-1).note).toContain(`waiting for request ${second.id} (creating)`);
      expect(creates).toEqual(['OK']);
      // its end hands the cluster on to the one that waited
      t.advanceCloud(11_000);
      await t.sweep();
      await t.idle();
      expect((await state(second.id)).state).toBe('active');
      expect((await state(first.id)).state).toBe('creating');
    });
    it('a scale that marked its call and was refused as busy goes on when the cluster frees up, not behind a create that sorts first', async () => {
      // a pool to scale
      const cluster = await t.admin('POST', '/clusters', { provider: 'ack', regionId: 'cn-beijing' });
      const name = uniqueName('scaled');
      const made = await t.api('POST', '/v1/nodepool-requests', { provider: 'ack', regionId: 'cn-beijing', clusterId: cluster.id, request: ackExample(name) });
      await t.idle();
      t.advanceCloud(11_000);
      await t.sweep();
      await t.idle();
      expect((await state(made.json.id)).state).toBe('active');
      // the scale marks its call; a create sorting before it waits for it; the cloud refuses the scale as busy
      const { first: scale, second: create } = await race('after', {
        cluster,
        firstBody: (clusterId) => ({ operation: 'scale', provider: 'ack', regionId: 'cn-beijing', clusterId, nodepoolName: name, desiredSize: 3 }),
        beforeRelease: () => t.admin('PATCH', `/clusters/${cluster.id}`, { faults: { busy: true } }),
      });
      expect(scale).toMatchObject({ state: 'submitting', lastError: { code: 'InvalidStatus.Forbidden' } });
      expect(create.history.at(-1).note).toContain(`waiting for request ${scale.id}`);
      // the cluster frees up: the scale's next attempt calls (it holds the turn), with no create before it
      await t.admin('PATCH', `/clusters/${cluster.id}`, { faults: { busy: false } });
      t.advanceTime(120_000);
      await t.sweep();
      await t.idle();
      const notes = (await state(scale.id)).history.map((h: any) => h.note as string);
      expect(notes.some((n: string) => n.startsWith('ModifyClusterNodePool accepted'))).toBe(true);
      expect(notes.some((n: string) => n.startsWith('waiting for'))).toBe(false);
      // the create that waited calls, if at all, only once the scale has run (it then has the turn)
      const modified = t.sys.emulator.callLog({ clusterId: cluster.id, action: 'ModifyClusterNodePool' }).find((c) => c.outcome === 'OK')!;
      const creates = t.sys.emulator.callLog({ clusterId: cluster.id, action: 'CreateClusterNodePool' }).slice(1);
      for (const c of creates) expect(c.seq).toBeGreaterThan(modified.seq);
    });
  });

  describe('with a long re-drive grace', () => {
    const t = useSystem(backend, { env: { WATCH_CLUSTERS: '', DISPATCH_GRACE_SECONDS: '600' } });
    const post = (clusterId: string, name: string) =>
      t.api('POST', '/v1/nodepool-requests', { provider: 'ack', regionId: 'cn-beijing', clusterId, request: ackExample(name), deadlineMinutes: 240 });
    const state = async (id: string) => (await t.api('GET', `/v1/nodepool-requests/${id}`)).json;

    it('hands the cluster on at the sweep that sees it free, however long the waiter has waited', async () => {
      const cluster = await t.admin('POST', '/clusters', { provider: 'ack', regionId: 'cn-beijing' });
      const first = await post(cluster.id, uniqueName('slow'));
      await t.idle();
      const second = await post(cluster.id, uniqueName('patient'));
      await t.idle();
      // the waiter passes its fallback time twice while the first is still creating: its
      // re-drive grace has grown past the next sweeps
      for (let i = 0; i < 2; i++) {
        t.advanceTime(6 * 60_000);
        await t.sweep();
        await t.idle();
      }
      expect(await state(second.json.id)).toMatchObject({ state: 'submitting' });
      t.advanceCloud(11_000);
      await t.sweep();
      await t.idle();
      expect(await state(first.json.id)).toMatchObject({ state: 'active' });
      expect(await state(second.json.id)).toMatchObject({ state: 'creating' });
    });

    it('ends a creation whose task finished and whose pool is gone, and hands the cluster on', async () => {
      const cluster = await t.admin('POST', '/clusters', { provider: 'ack', regionId: 'cn-beijing' });
      const name = uniqueName('vanished');
      const first = await post(cluster.id, name);
      await t.idle();
      const second = await post(cluster.id, uniqueName('next'));
      await t.idle();
      t.advanceCloud(11_000);
      await t.admin('PATCH', `/clusters/${cluster.id}/nodepools/${name}`, { faults: { deleted: true } });
      await t.sweep();
      await t.idle();
      const a = await state(first.json.id);
      expect(a).toMatchObject({ state: 'failed', lastError: { code: 'NodePoolNotFound' } });
      expect(a.lastError.message).toContain('no longer listed');
      expect(await state(second.json.id)).toMatchObject({ state: 'creating' });
    });
  });

  describe('driven by provision following its own task', () => {
    const t = useSystem(backend, { env: { WATCH_CLUSTERS: '', TASK_FOLLOW_SECONDS: '20' }, emulator: { timing: { speed: 1200 } } });

    it('runs three requests for one cluster back to back, each as soon as the one before is done, with no sweep', async () => {
      const cluster = await t.admin('POST', '/clusters', { provider: 'ack', regionId: 'cn-beijing' });
      const invokesBefore = t.sys.emulator.callLog({ action: 'InvokeFunction' }).length;
      const ids: string[] = [];
      for (const name of ['a', 'b', 'c'].map((n) => uniqueName(n))) {
        ids.push(
          (
            await t.api('POST', '/v1/nodepool-requests', {
              provider: 'ack',
              regionId: 'cn-beijing',
              clusterId: cluster.id,
              request: ackExample(name, { desired_size: 1 }),
            })
          ).json.id,
        );
      }
      await t.idle();
      const states = await Promise.all(ids.map(async (id) => (await t.api('GET', `/v1/nodepool-requests/${id}`)).json.state));
      expect(states).toEqual(['active', 'active', 'active']);
      const creates = t.sys.emulator.callLog({ clusterId: cluster.id, action: 'CreateClusterNodePool' });
      expect(creates.map((c) => c.outcome)).toEqual(['OK', 'OK', 'OK']);
      // in the order they were asked for
      expect(creates.map((c) => (c.params as any).body.nodepool_info.name)).toEqual(
        await Promise.all(ids.map(async (id) => (await t.api('GET', `/v1/nodepool-requests/${id}`)).json.nodepoolName)),
      );
      // Only the first was dispatched: the others were stored waiting for it, and the invocation
      // that saw a task end drove the next request itself, not through FC's queue.
      expect(t.sys.emulator.callLog({ action: 'InvokeFunction' }).length - invokesBefore).toBe(1);
    });

    it('hands the cluster on in the same invocation past a request that fails before its create', async () => {
      const cluster = await t.admin('POST', '/clusters', { provider: 'ack', regionId: 'cn-beijing' });
      const invokesBefore = t.sys.emulator.callLog({ action: 'InvokeFunction' }).length;
      const bodies = [
        ackExample(uniqueName('a'), { desired_size: 1 }),
        // the region offers no such instance type: its pre-flight fails it, with no create
        ackExample(uniqueName('b'), { desired_size: 1, instance_types: ['ecs.nosuch.large'] }),
        ackExample(uniqueName('c'), { desired_size: 1 }),
      ];
      const ids: string[] = [];
      for (const request of bodies) {
        ids.push((await t.api('POST', '/v1/nodepool-requests', { provider: 'ack', regionId: 'cn-beijing', clusterId: cluster.id, request })).json.id);
      }
      await t.idle();
      const requests = await Promise.all(ids.map(async (id) => (await t.api('GET', `/v1/nodepool-requests/${id}`)).json));
      expect(requests.map((r) => r.state)).toEqual(['active', 'failed', 'active']);
      expect(requests[1].lastError.code).toBe('InstanceTypeNotOffered');
      expect(t.sys.emulator.callLog({ clusterId: cluster.id, action: 'CreateClusterNodePool' }).map((c) => c.outcome)).toEqual(['OK', 'OK']);
      // only a was dispatched (b and c were stored waiting): the invocation that failed b drove c itself
      expect(t.sys.emulator.callLog({ action: 'InvokeFunction' }).length - invokesBefore).toBe(1);
    });

    it('learns from the tasks that ended how long they take, and asks about the next ones a few times only', async () => {
      // what earlier tests' tasks took, here and in the store (this process is the provision instance)
      taskDurations.clear();
      await t.sys.instance.store.db.query('DELETE FROM task_durations');
      const cluster = await t.admin('POST', '/clusters', { provider: 'ack', regionId: 'cn-beijing' });
      const ids: string[] = [];
      for (const name of ['a', 'b', 'c', 'd'].map((n) => uniqueName(n))) {
        const body = { provider: 'ack', regionId: 'cn-beijing', clusterId: cluster.id, request: ackExample(name, { desired_size: 1 }) };
        ids.push((await t.api('POST', '/v1/nodepool-requests', body)).json.id);
      }
      await t.idle();
      const requests = await Promise.all(ids.map(async (id) => (await t.api('GET', `/v1/nodepool-requests/${id}`)).json));
      expect(requests.map((r) => r.state)).toEqual(['active', 'active', 'active', 'active']);
      const asks = t.sys.emulator.callLog({ action: 'DescribeTaskInfo' });
      const counts = requests.map((r) => asks.filter((a) => a.path === `/tasks/${r.taskId}`).length);
      // without history, a task of 500 ms is asked about every 100 ms
      expect(counts[0]).toBeGreaterThanOrEqual(4);
      // the later ones (an earlier task of the region ended in this process) are asked about
      // just before and just after the time the earlier ones took
      for (const n of counts.slice(1)) expect(n).toBeLessThanOrEqual(3);
    });

    it('plans from what the other instances saw when this one has seen no task of the region end', async () => {
      taskDurations.clear(); // a new instance
      // what other instances saw: the region's tasks take (4 + 6 min) ÷ 1200 = 500 ms here
      await t.sys.instance.store.db.query('DELETE FROM task_durations');
      for (let i = 0; i < 3; i++) await recordTaskDuration(t.sys.instance.store.db, 'ack/cn-beijing', 500, new Date());
      const cluster = await t.admin('POST', '/clusters', { provider: 'ack', regionId: 'cn-beijing' });
      const body = { provider: 'ack', regionId: 'cn-beijing', clusterId: cluster.id, request: ackExample(uniqueName('n'), { desired_size: 1 }) };
      const id = (await t.api('POST', '/v1/nodepool-requests', body)).json.id;
      await t.idle();
      const request = (await t.api('GET', `/v1/nodepool-requests/${id}`)).json;
      expect(request.state).toBe('active');
      // asked about as the tasks with history were, not every 100 ms as without
      expect(t.sys.emulator.callLog({ action: 'DescribeTaskInfo' }).filter((a) => a.path === `/tasks/${request.taskId}`).length).toBeLessThanOrEqual(3);
    });
  });
});
