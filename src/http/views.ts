/** What the API shows of a request: secrets masked, times as ISO strings. */
import type { HistoryEntry, NodepoolRequest } from '../requests/model.js';

export function requestLink(id: string, base = ''): string {
  return `${base}/v1/nodepool-requests/${id}`;
}

export function submitView(r: NodepoolRequest, base?: string) {
  return {
    id: r.id,
    state: r.state,
    provider: r.provider,
    ...(r.regionId ? { regionId: r.regionId } : {}),
    clusterId: r.clusterId,
    nodepoolName: r.nodepoolName,
    links: { self: requestLink(r.id, base) },
  };
}

export function requestView(r: NodepoolRequest, history: HistoryEntry[] | undefined, base?: string) {
  return {
    ...submitView(r, base),
    nodepoolId: r.nodepoolId ?? null,
    ...(r.taskId ? { taskId: r.taskId } : {}),
    attempts: r.attempts,
    deadlineAt: r.deadlineAt.toISOString(),
    nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
    lastError: r.lastError ?? null,
    observed: r.observed ?? null,
    ...(r.rejectReasons ? { rejectReasons: r.rejectReasons } : {}),
    source: r.source,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    request: r.request,
    ...(history
      ? { history: history.map((h) => ({ at: h.at.toISOString(), state: h.state, note: h.note, ...(h.cloudRequestId ? { cloudRequestId: h.cloudRequestId } : {}) })) }
      : {}),
  };
}
