/**
 * A dry run: the pre-flight checks of a request and the exact call it would make, answered
 * at once. Nothing is stored and the cloud is only read.
 */
import { callView, preflight } from '../pipeline/preflight.js';
import type { Services } from '../pipeline/services.js';
import type { Submission } from '../requests/model.js';
import { type HttpResponse, json } from './types.js';

/** How long a dry run may spend reading the cloud. */
const DRY_RUN_BUDGET_MS = 15_000;

export async function dryRunAnswer(services: Services, s: Submission): Promise<HttpResponse> {
  const { checks, call } = await preflight(services, s, { deadline: services.clock.now() + DRY_RUN_BUDGET_MS }, { throwOnError: false });
  const ok = checks.length > 0 && checks.every((c) => c.status === 'passed' || c.status === 'warning');
  return json(200, {
    dryRun: true,
    ok,
    operation: s.operation,
    provider: s.provider,
    ...(s.regionId ? { regionId: s.regionId } : {}),
    clusterId: s.clusterId,
    nodepoolName: s.nodepoolName,
    checks,
    call: call ? callView(call) : null,
  });
}
