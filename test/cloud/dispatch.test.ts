/**
 * Dispatching a creation to `provision`: FC 3.0 InvokeFunction through the openapi client,
 * and FC 2.0 through @alicloud/fc2, both signed and checked by the emulator.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { silentLogger } from '../../src/log.js';
import { Fc2Dispatcher, Fc3Dispatcher } from '../../src/pipeline/dispatch.js';
import { KEYS, useEmulator } from '../helpers/cloud.js';

const received: Array<{ functionName: string; invocationType: string; body: string }> = [];
const env = useEmulator({
  fcInvoker: async (input) => {
    received.push({ functionName: input.functionName, invocationType: input.invocationType, body: input.body.toString() });
    return input.functionName === 'missing'
      ? { status: 404, body: JSON.stringify({ Code: 'FunctionNotFound', Message: 'function missing does not exist', RequestId: input.requestId }) }
      : { status: 202, body: '', headers: { 'x-fc-request-id': input.requestId } };
  },
});

describe('dispatch', () => {
  it('invokes provision asynchronously through FC 3.0 InvokeFunction', async () => {
    await new Fc3Dispatcher(env.url, KEYS, 'nodepool-pilot-provision', systemClock).dispatch('npr_A', silentLogger);
    expect(received.at(-1)).toEqual({ functionName: 'nodepool-pilot-provision', invocationType: 'Async', body: '{"requestId":"npr_A"}' });
    expect(env.emulator.callLog({ product: 'fc' }).at(-1)).toMatchObject({ action: 'InvokeFunction', signature: 'ACS3-HMAC-SHA256', status: 202 });
  });

  it('sends one async task id per dispatch attempt, and a repeated one is refused with 409 and runs once', async () => {
    const d = new Fc3Dispatcher(env.url, KEYS, 'nodepool-pilot-provision', systemClock);
    const before = received.length;
    expect(await d.dispatch('npr_TWICE', silentLogger, 0)).toBe('dispatched');
    expect(await d.dispatch('npr_TWICE', silentLogger, 0)).toBe('already-dispatched');
    expect(received.length).toBe(before + 1);
    expect(env.emulator.callLog({ product: 'fc' }).at(-1)).toMatchObject({
      action: 'InvokeFunction',
      status: 409,
      outcome: 'StatefulAsyncInvocationAlreadyExists',
    });
    // the sweep's next re-drive is another attempt, so another task
    expect(await d.dispatch('npr_TWICE', silentLogger, 1)).toBe('dispatched');
    expect(received.length).toBe(before + 2);
  });

  it('reports a missing function as a final error', async () => {
    await expect(new Fc3Dispatcher(env.url, KEYS, 'missing', systemClock).dispatch('npr_B', silentLogger)).rejects.toMatchObject({
      code: 'FunctionNotFound',
      retryable: false,
    });
  });

  it('invokes through FC 2.0 with @alicloud/fc2 when a service is configured', async () => {
    const d = new Fc2Dispatcher({
      accountId: '1234567890123456',
      region: 'cn-hangzhou',
      endpoint: env.url,
      credentials: KEYS,
      serviceName: 'nodepool-pilot',
      functionName: 'provision',
      clock: systemClock,
    });
    await d.dispatch('npr_C', silentLogger);
    expect(received.at(-1)).toEqual({ functionName: 'provision', invocationType: 'Async', body: '{"requestId":"npr_C"}' });
    expect(env.emulator.callLog({ product: 'fc' }).at(-1)).toMatchObject({ signature: 'FC-HMAC-SHA256', status: 202 });
  });

  it('reports a wrong secret on FC 2.0 as a final signature error', async () => {
    const d = new Fc2Dispatcher({
      accountId: '1',
      region: 'cn-hangzhou',
      endpoint: env.url,
      credentials: { ...KEYS, accessKeySecret: 'wrong' },
      serviceName: 's',
      functionName: 'f',
      clock: systemClock,
    });
    await expect(d.dispatch('npr_D', silentLogger)).rejects.toMatchObject({ code: 'SignatureDoesNotMatch', statusCode: 400, retryable: false });
  });
});
