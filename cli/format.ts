/** How the command line shows things to a person: tables, durations, a request's progress. */

/** A plain table: a header row, columns padded to their widest cell. */
export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** 75 s as "1m15s"; 2 h as "2h0m". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "2h", "90m", "1h30m" or "1d" in milliseconds; undefined when it is none of these. */
export function parseDuration(text: string): number | undefined {
  if (!/^(?:\d{1,6}[smhd])+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) ms += Number(n) * UNITS[unit!]!;
  return ms > 0 ? ms : undefined;
}

/** One line on a request's way: state, nodes serving of desired, the cloud's own word, time since it was accepted. */
export function progressLine(r: any, now: number): string {
  const o = r.observed;
  const nodes = o ? `serving ${o.serving ?? 0}/${o.desired ?? '?'}` : 'serving -/-';
  const cloud = o?.cloudState ? ` (cloud: ${o.cloudState})` : '';
  return `${r.id}  ${r.state.padEnd(9)}  ${nodes}${cloud}  ${duration(now - Date.parse(r.createdAt))}`;
}

/** Why a request ended other than active, in the cloud's words where it gave any. */
export function failureReason(r: any): string {
  if (r.lastError) {
    const e = r.lastError;
    return `${e.code}: ${e.message}${e.requestId ? ` (cloud request id ${e.requestId})` : ''}`;
  }
  if (Array.isArray(r.rejectReasons)) return r.rejectReasons.map((x: any) => `${x.path || '(body)'}: ${x.message}`).join('; ');
  if (r.state === 'timed_out') return `no active pool before its deadline (${r.deadlineAt})`;
  return r.state;
}

/** A dry run's answer: each check with its verdict, then the call it would make. */
export function dryRunText(r: any): string {
  const mark: Record<string, string> = { passed: 'ok  ', warning: 'warn', failed: 'FAIL', error: 'err ' };
  const lines = r.checks.map((c: any) => `${mark[c.status] ?? c.status}  ${c.name.padEnd(14)}  ${c.code ? `${c.code}: ` : ''}${c.detail}`);
  const call = r.call ? `would call ${r.call.action} (${r.call.method} ${r.call.pathname})` : 'would make no call';
  return [...lines, r.ok ? call : `${call}, but a check failed: nothing was sent`].join('\n');
}
