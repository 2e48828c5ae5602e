/** FC HTTP trigger -> the API core. */

import { isHttpResponse, requestFromHttpEvent, toFcResponse } from '../src/fc/http-adapter.js';
import { defaultInstanceProvider, type Instance, type InstanceProvider, servicesFor } from '../src/fc/runtime.js';
import type { FcContext, FcHttpResponse } from '../src/fc/types.js';
import { type ApiApp, createApiApp } from '../src/http/app.js';
import { problems } from '../src/http/problem.js';
import type { Services } from '../src/pipeline/services.js';

export function createApiHandler(getInstance: InstanceProvider = defaultInstanceProvider) {
  let app: ApiApp | undefined;
  return async (event: unknown, context: FcContext): Promise<FcHttpResponse> => {
    const req = requestFromHttpEvent(event, context.requestId);
    if (isHttpResponse(req)) return toFcResponse(req);
    let instance: Instance;
    try {
      instance = await getInstance();
    } catch (err) {
      console.error(JSON.stringify({ level: 'error', msg: 'cannot start', requestId: context.requestId, error: (err as Error).message }));
      return toFcResponse(problems.unavailable('the service is misconfigured or its store is down; see the function log'));
    }
    app ??= createApiApp({ tokens: instance.config.apiTokens });
    let services: Services;
    try {
      services = servicesFor(instance, context);
    } catch (err) {
      console.error(
        JSON.stringify({ level: 'error', msg: 'cannot build the invocation services', requestId: context.requestId, error: (err as Error).message }),
      );
      return toFcResponse(problems.unavailable('the service is misconfigured; see the function log'));
    }
    const started = instance.clock.now();
    const res = await app.handle(req, services);
    services.log.info('http', { method: req.method, path: req.path, status: res.status, ms: instance.clock.now() - started });
    return toFcResponse(res);
  };
}

export const handler = createApiHandler();

/** FC initializer: validate config and open the store before the first request. */
export const initialize = async (): Promise<void> => {
  await defaultInstanceProvider();
};
