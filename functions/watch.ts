/** Timer trigger -> one sweep. */
import { type Channel, createChannel } from '../src/alerts/channels/index.js';
import { defaultInstanceProvider, flushCloudCalls, type InstanceProvider, invocationBudgetMs, servicesFor } from '../src/fc/runtime.js';
import type { FcContext } from '../src/fc/types.js';
import { sweep } from '../src/watch/sweep.js';

export function createWatchHandler(getInstance: InstanceProvider = defaultInstanceProvider) {
  let channels: Channel[] | undefined;
  return async (_event: unknown, context: FcContext): Promise<unknown> => {
    const instance = await getInstance();
    const services = servicesFor(instance, context);
    const { config } = instance;
    channels ??= (config.alertChannels.length ? config.alertChannels : [{ type: 'console' as const, name: 'console', minSeverity: 'warning' as const }]).map(
      (c) => createChannel(c, { timeoutMs: config.channelTimeoutMs, externalUrl: config.publicBaseUrl, write: instance.logSink }),
    );
    try {
      return await sweep(services, channels, { owner: context.requestId, deadline: instance.clock.now() + invocationBudgetMs(context) });
    } finally {
      await flushCloudCalls(instance);
    }
  };
}

export const handler = createWatchHandler();

export const initialize = async (): Promise<void> => {
  await defaultInstanceProvider();
};
