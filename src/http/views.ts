/** What the API shows of a request: secrets masked, times as ISO strings. */

import { redact } from '../redact.js';
import { requestLink } from '../requests/ids.js';
import type { HistoryEntry, NodepoolRequest } from '../requests/model.js';
import type { AlertRecord, Silence } from '../store/alerts.js';

export function submitView(r: NodepoolRequest, base?: string) {
  return {
    id: r.id,
    operation: r.operation,
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
    ...(r.targetSize !== undefined ? { desiredSize: r.targetSize } : {}),
    createdBy: r.createdBy ?? null,
    labels: r.labels ?? {},
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
    // Secrets were lifted out before storing; masking again costs nothing and guards the output.
    request: redact(r.createParams),
    ...(history
      ? {
          history: history.map((h) => ({
            at: h.at.toISOString(),
            state: h.state,
            note: h.note,
            ...(h.cloudRequestId ? { cloudRequestId: h.cloudRequestId } : {}),
          })),
        }
      : {}),
  };
}

export function alertView(a: AlertRecord, extra: { silenced: boolean; inhibited: boolean; base?: string }) {
  return {
    id: String(a.id),
    fingerprint: a.fingerprint,
    rule: a.rule,
    severity: a.severity,
    state: a.state,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt.toISOString(),
    endsAt: a.endsAt?.toISOString() ?? null,
    lastNotifiedAt: a.lastNotifiedAt?.toISOString() ?? null,
    silenced: extra.silenced,
    inhibited: extra.inhibited,
    ...(a.nodepoolRequestId ? { requestId: a.nodepoolRequestId, links: { request: requestLink(a.nodepoolRequestId, extra.base) } } : {}),
  };
}

export function silenceView(s: Silence, now: number) {
  const state = s.endsAt.getTime() <= now ? 'expired' : s.startsAt.getTime() > now ? 'pending' : 'active';
  return {
    id: s.id,
    state,
    matchers: s.matchers,
    startsAt: s.startsAt.toISOString(),
    endsAt: s.endsAt.toISOString(),
    ...(s.comment ? { comment: s.comment } : {}),
    ...(s.createdBy ? { createdBy: s.createdBy } : {}),
    createdAt: s.createdAt.toISOString(),
  };
}
