/** Timer trigger -> one sweep. */
import { defaultInstanceProvider, invocationBudgetMs, servicesFor, type InstanceProvider } from '../src/fc/runtime.js';
import type { FcContext } from '../src/fc/types.js';
import { trackRequests } from '../src/pipeline/track.js';

export function createWatchHandler(getInstance: InstanceProvider = defaultInstanceProvider) {
  return async (_event: unknown, context: FcContext): Promise<unknown> => {
    const instance = await getInstance();
    const services = servicesFor(instance, context);
    const started = instance.clock.now();
    const before = { ...services.cloud.metrics };
    const stats = await trackRequests(services, {
      deadline: started + invocationBudgetMs(instance.config, context),
      owner: context.requestId,
      dispatchGraceMs: instance.config.dispatchGraceSeconds * 1000,
    });
    const summary = {
      clusters: stats.clusters,
      clusterErrors: stats.clusterErrors,
      apiCalls: services.cloud.metrics.calls - before.calls,
      throttled: services.cloud.metrics.throttled - before.throttled,
      transitions: stats.transitions,
      redriven: stats.redriven,
      durationMs: instance.clock.now() - started,
    };
    services.log.info('sweep', summary);
    return summary;
  };
}

export const handler = createWatchHandler();

export const initialize = async (): Promise<void> => {
  await defaultInstanceProvider();
};
