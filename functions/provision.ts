/** Async invocation {requestId}, or a queue batch -> one creation each. */
import { parseProvisionEvent } from '../src/fc/provision-events.js';
import { defaultInstanceProvider, flushCloudCalls, type InstanceProvider, invocationBudgetMs, servicesFor } from '../src/fc/runtime.js';
import type { FcContext } from '../src/fc/types.js';
import { handleMessages } from '../src/pipeline/intake.js';
import { provisionRequest } from '../src/pipeline/provision.js';
import type { Services } from '../src/pipeline/services.js';

export interface ProvisionHooks {
  /** Test hook: runs after the cloud accepted a create, before the commit. */
  afterCreate?: () => void;
}

export function createProvisionHandler(getInstance: InstanceProvider = defaultInstanceProvider, hooks: ProvisionHooks = {}) {
  return async (event: unknown, context: FcContext): Promise<unknown> => {
    const instance = await getInstance();
    const services = servicesFor(instance, context);
    const budgetMs = invocationBudgetMs(context, instance.config.provisionBudgetSeconds);
    try {
      return await provision(services, event, context, budgetMs, hooks);
    } finally {
      await flushCloudCalls(instance);
    }
  };
}

async function provision(services: Services, event: unknown, context: FcContext, budgetMs: number, hooks: ProvisionHooks): Promise<unknown> {
  const parsed = parseProvisionEvent(event);
  if (parsed.kind === 'invoke') {
    const { outcome } = await provisionRequest(services, parsed.requestId, { owner: context.requestId, budgetMs, afterCreate: hooks.afterCreate });
    return { requestId: parsed.requestId, outcome };
  }
  if (parsed.kind === 'messages') {
    const results = await handleMessages(services, parsed.messages, { owner: context.requestId, budgetMs });
    return { results };
  }
  // Acknowledge what cannot be understood: retrying it would never help.
  services.log.warn('ignored an event provision does not understand', { reason: parsed.reason });
  return { ignored: parsed.reason };
}

/** Hooks switched on by the environment (the crash test's). */
export function hooksFromEnv(env: Record<string, string | undefined> = process.env): ProvisionHooks {
  // Lets the crash test kill the process between the cloud's answer and the commit.
  if (env.NPP_TEST_CRASH_AFTER_CREATE !== '1') return {};
  return { afterCreate: () => process.kill(process.pid, 'SIGKILL') };
}

export const handler = createProvisionHandler(defaultInstanceProvider, hooksFromEnv());

export const initialize = async (): Promise<void> => {
  await defaultInstanceProvider();
};
