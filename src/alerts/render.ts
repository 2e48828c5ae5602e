/**
 * What a person on call reads: severity, rule, where (provider, region, cluster, pool),
 * the cloud state and node counts, since when, the cloud's error, and a link to the request.
 */
import type { NotificationItem, NotificationPayload } from './notify.js';

const ICON = { firing: '🔥', resolved: '✅' } as const;

export function title(p: NotificationPayload): string {
  const firing = p.alerts.filter((a) => a.status === 'firing').length;
  const resolved = p.alerts.length - firing;
  const parts = [firing ? `${firing} firing` : '', resolved ? `${resolved} resolved` : ''].filter(Boolean);
  return `nodepool-pilot: ${parts.join(', ')}`;
}

function counts(a: NotificationItem): string | undefined {
  const n = a.annotations.nodes as Record<string, number | null> | undefined;
  if (!n) return undefined;
  const v = (x: number | null | undefined) => (x === null || x === undefined ? '-' : String(x));
  return `serving ${v(n.serving)}/${v(n.desired)}, total ${v(n.total)}, initial ${v(n.initial)}, failed ${v(n.failed)}, offline ${v(n.offline)}, removing ${v(n.removing)}, healthy ${v(n.healthy)}`;
}

/** The facts of one alert as label/value lines. */
export function facts(a: NotificationItem): Array<[string, string]> {
  const l = a.labels;
  const rows: Array<[string, string | undefined]> = [
    ['severity', a.severity],
    ['rule', a.rule],
    ['provider', l.provider],
    ['region', l.regionId],
    ['cluster', l.clusterId],
    ['pool', l.nodepoolName ? `${l.nodepoolName}${l.nodepoolId ? ` (${l.nodepoolId})` : ''}` : undefined],
    ['cloud state', a.annotations.cloudState as string | undefined],
    ['nodes', counts(a)],
    ['failed nodes', a.annotations.failedInstances as string | undefined],
    ['since', String(a.annotations.since ?? a.startsAt)],
    [
      'after a silence',
      a.afterSilence
        ? `silence ${a.afterSilence.id}${a.afterSilence.comment ? ` ("${a.afterSilence.comment}")` : ''} ended at ${a.afterSilence.endedAt} while this fired`
        : undefined,
    ],
    ...(a.status === 'resolved' ? [['resolved at', a.endsAt] as [string, string | undefined]] : []),
    // At resolution the description says what holds now; the worst it got while firing is kept beside it.
    ...(a.status === 'resolved' && typeof a.annotations.peakDescription === 'string' && a.annotations.peakDescription !== a.annotations.description
      ? [['worst while firing', a.annotations.peakDescription] as [string, string]]
      : []),
    ['error', a.annotations.errorCode ? `${a.annotations.errorCode}: ${a.annotations.errorMessage ?? ''}` : undefined],
    ['cloud request id', (a.annotations.cloudRequestId as string | null) ?? undefined],
    ['request', a.annotations.requestLink as string | undefined],
  ];
  return rows.filter((r): r is [string, string] => typeof r[1] === 'string' && r[1].length > 0);
}

export function headline(a: NotificationItem): string {
  const what = a.annotations.summary ?? a.rule;
  const tag = a.status === 'resolved' ? 'RESOLVED' : a.reason === 'repeat' ? 'FIRING (repeat)' : a.afterSilence ? 'FIRING (silence ended)' : 'FIRING';
  return `${ICON[a.status]} [${tag}] ${what}: ${a.labels.nodepoolName ?? a.labels.clusterId}`;
}

export function detail(a: NotificationItem): string | undefined {
  return typeof a.annotations.description === 'string' ? a.annotations.description : undefined;
}

/** Markdown for DingTalk and WeCom. */
export function markdown(p: NotificationPayload): string {
  const blocks = p.alerts.map((a) => {
    const lines = [`### ${headline(a)}`];
    const d = detail(a);
    if (d) lines.push(`> ${d}`);
    for (const [k, v] of facts(a)) lines.push(`- **${k}**: ${v}`);
    return lines.join('\n');
  });
  return [`## ${title(p)}`, ...blocks].join('\n\n');
}

/** Plain text, the fallback of rich formats. */
export function plainText(p: NotificationPayload): string {
  return [title(p), ...p.alerts.map((a) => [headline(a), detail(a), ...facts(a).map(([k, v]) => `  ${k}: ${v}`)].filter(Boolean).join('\n'))].join('\n\n');
}

/** Cuts UTF-8 text to at most `maxBytes` bytes, on a character boundary, marking the cut. */
export function truncateBytes(text: string, maxBytes: number, marker = '\n\n… (truncated)'): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const budget = maxBytes - Buffer.byteLength(marker);
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > budget) break;
    out += ch;
    bytes += b;
  }
  return out + marker;
}
