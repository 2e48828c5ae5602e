/**
 * The alert lifecycle, after Alertmanager: an alert fires once, is repeated every repeat
 * interval while it holds, and is resolved once, when it stops holding in a sweep that
 * could see it, with the values at resolution. Silencing (silence.ts), inhibition
 * (inhibit.ts) and who hears what (notify.ts) are decided apart from it.
 */
import { clusterKey } from '../cloud/cluster.js';
import type { AlertRecord, AlertStore, Annotations } from '../store/alerts.js';
import { type Candidate, RULES } from './rules.js';

export interface LifecycleResult {
  fired: AlertRecord[];
  repeated: AlertRecord[];
  resolved: AlertRecord[];
  /** Firing alerts never sent yet (silenced or inhibited until now). */
  unsent: AlertRecord[];
  /** Firing after this sweep. */
  firing: AlertRecord[];
}

/** The worst value of the rule's measure while the alert fires, kept as annotations. */
function withPeak(c: Candidate, previous?: Annotations): Annotations {
  if (!c.measure) return c.annotations;
  const before = typeof previous?.peakValue === 'number' ? previous.peakValue : undefined;
  const worse = before === undefined || (c.measure.worse === 'higher' ? c.measure.value > before : c.measure.value < before);
  return worse
    ? { ...c.annotations, peakValue: c.measure.value, peakDescription: (c.annotations.description as string | undefined) ?? null }
    : { ...c.annotations, peakValue: before, peakDescription: previous?.peakDescription ?? null };
}

export async function applyCandidates(
  store: AlertStore,
  candidates: Candidate[],
  options: {
    now: Date;
    listedClusters: Set<string>;
    repeatMs: number;
    /** What is true of a resolving alert's subject now (values at resolution). */
    resolution?: (a: AlertRecord) => Annotations;
  },
): Promise<LifecycleResult> {
  const { now } = options;
  const active: Candidate[] = [];
  const held: string[] = [];
  const holds = new Set(candidates.filter((c) => c.hold).map((c) => c.fingerprint));
  for (const c of candidates) {
    if (c.hold) continue;
    if (c.forMs <= 0) {
      active.push(c);
      continue;
    }
    held.push(c.fingerprint);
    const since = await store.holdCondition(c.fingerprint, c.clusterKey, now);
    if (now.getTime() - since.getTime() >= c.forMs) active.push({ ...c, annotations: { ...c.annotations, since: since.toISOString() } });
  }
  await store.clearConditions([...options.listedClusters], held);

  const result: LifecycleResult = { fired: [], repeated: [], resolved: [], unsent: [], firing: [] };
  const firing = new Map((await store.firing()).map((a) => [a.fingerprint, a]));
  const activeFps = new Set(active.map((c) => c.fingerprint));
  const refreshed: Array<{ id: number; annotations: Annotations; nodepoolRequestId?: string }> = [];
  for (const c of active) {
    const existing = firing.get(c.fingerprint);
    if (existing) {
      const annotations = { ...withPeak(c, existing.annotations), since: c.annotations.since ?? existing.annotations.since ?? existing.startsAt.toISOString() };
      refreshed.push({ id: existing.id, annotations, nodepoolRequestId: c.nodepoolRequestId });
      const current = { ...existing, annotations };
      if (!existing.lastNotifiedAt) result.unsent.push(current);
      else if (now.getTime() - existing.lastNotifiedAt.getTime() >= options.repeatMs) result.repeated.push(current);
      result.firing.push(current);
      continue;
    }
    const created = await store.fire({
      fingerprint: c.fingerprint,
      rule: c.rule,
      severity: c.severity,
      labels: c.labels,
      annotations: { ...withPeak(c), since: c.annotations.since ?? now.toISOString() },
      nodepoolRequestId: c.nodepoolRequestId,
      startsAt: now,
    });
    if (created) {
      result.fired.push(created);
      result.firing.push(created);
    }
  }
  await store.refresh(refreshed, now);
  const resolving: Array<{ id: number; annotations?: Annotations }> = [];
  for (const a of firing.values()) {
    if (activeFps.has(a.fingerprint)) continue;
    if (holds.has(a.fingerprint)) {
      result.firing.push(a);
      continue;
    }
    // Only what this sweep could see may resolve: creation alerts always, cluster and pool alerts when the cluster was listed.
    const poolOrCluster = RULES[a.rule as keyof typeof RULES]?.pool || a.rule === 'cluster_unreachable';
    if (poolOrCluster && !options.listedClusters.has(clusterKey(a.labels))) {
      result.firing.push(a);
      continue;
    }
    const current = options.resolution?.(a);
    resolving.push({ id: a.id, annotations: current ? { ...a.annotations, ...current } : undefined });
  }
  result.resolved.push(...(await store.resolve(resolving, now)));
  return result;
}
