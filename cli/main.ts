/**
 * `nodepool-pilot`, the command line: a thin client of the HTTP API (no store or cloud of its
 * own), after amtool and eksctl. Exit codes: 0 done (a waited request is active), 1 the request
 * ended failed, timed out or rejected, 2 the command line is wrong, 3 the API refused or
 * could not be reached.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { dryRunText, duration, failureReason, parseDuration, progressLine, table } from './format.js';
import { ApiError, call, type Target, targetFrom } from './http.js';

const USAGE = `usage: nodepool-pilot <command> [options]

  create -f FILE [--wait] [--idempotency-key K]   submit a request (JSON or YAML: the POST body)
  scale PROVIDER CLUSTER_ID POOL --size N [--region R]
  delete PROVIDER CLUSTER_ID POOL --confirm POOL [--force] [--region R]
                                                   scale or delete a pool (both take --wait and --idempotency-key)
  --dry-run                                        (create, scale, delete) the pre-flight checks and the exact call; nothing changes
  get ID                                           one request, with its history
  list [--state S] [--cluster C] [--limit N]       requests, newest first
  wait ID [--timeout 30m]                          follow a request until it ends
  alerts [--state firing|resolved]                 alerts, newest first
  silence add --pool P [--cluster C] [--rule R] --for 2h [--comment TEXT]
  silence list | silence expire ID
  clusters                                         the fleet as the last sweep saw it
  pools PROVIDER CLUSTER_ID                        one cluster's node pools

  --output json    JSON for scripts (every command); tables otherwise
  NODEPOOL_PILOT_URL, NODEPOOL_PILOT_TOKEN: the API and its token (default: what npm start runs here)`;

class UsageError extends Error {}
/** --timeout passed before the request ended (exit 1, as a request that did not come up). */
class WaitTimeout extends Error {}

const OPTIONS = {
  file: { type: 'string', short: 'f' },
  wait: { type: 'boolean' },
  'idempotency-key': { type: 'string' },
  state: { type: 'string' },
  cluster: { type: 'string' },
  limit: { type: 'string' },
  timeout: { type: 'string' },
  interval: { type: 'string' },
  pool: { type: 'string' },
  rule: { type: 'string' },
  provider: { type: 'string' },
  for: { type: 'string' },
  comment: { type: 'string' },
  'dry-run': { type: 'boolean' },
  size: { type: 'string' },
  region: { type: 'string' },
  confirm: { type: 'string' },
  force: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when stderr is a terminal: progress rewrites one line instead of adding lines. */
  tty: boolean;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

const ENDED = new Set(['active', 'deleted', 'failed', 'timed_out', 'rejected']);
const DONE = new Set(['active', 'deleted']);

function readRequestFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
}

const q = (params: Record<string, string | undefined>) => {
  const s = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return s ? `?${s}` : '';
};
const id = (positionals: string[], what: string) => {
  if (positionals.length !== 1) throw new UsageError(`give one ${what}`);
  return encodeURIComponent(positionals[0]!);
};

/** Follows a request until it ends; answers it as last seen. */
async function follow(target: Target, requestId: string, v: Values, io: Io, json: boolean): Promise<any> {
  const timeoutMs = v.timeout === undefined ? undefined : parseDuration(v.timeout);
  if (v.timeout !== undefined && timeoutMs === undefined) throw new UsageError('--timeout takes a duration such as 30m, 2h or 1h30m');
  const intervalMs = v.interval === undefined ? 2_000 : parseDuration(v.interval);
  if (intervalMs === undefined) throw new UsageError('--interval takes a duration such as 5s');
  const started = io.now();
  let last = '';
  for (;;) {
    const r = await call(target, 'GET', `/v1/nodepool-requests/${encodeURIComponent(requestId)}`);
    const line = progressLine(r, io.now());
    if (!json) {
      if (io.tty) io.err(`\r\x1b[2K${line}`);
      else if (line.replace(/\s+\S+$/, '') !== last.replace(/\s+\S+$/, '')) io.err(`${line}\n`);
      last = line;
    }
    if (ENDED.has(r.state)) {
      if (!json && io.tty) io.err('\n');
      return r;
    }
    if (timeoutMs !== undefined && io.now() - started >= timeoutMs) {
      if (!json && io.tty) io.err('\n');
      throw new WaitTimeout(`still ${r.state} after ${duration(io.now() - started)} (--timeout); the request goes on: nodepool-pilot wait ${r.id}`);
    }
    await io.sleep(intervalMs);
  }
}

/** Prints how a followed request ended; answers the exit code. */
function ended(r: any, io: Io, json: boolean): number {
  if (json) io.out(`${JSON.stringify(r, null, 2)}\n`);
  else if (r.state === 'active')
    io.out(
      `active: node pool ${r.nodepoolId} (${r.nodepoolName}) serving ${r.observed?.serving ?? '?'} after ${duration(Date.parse(r.updatedAt) - Date.parse(r.createdAt))}\n`,
    );
  else if (r.state === 'deleted')
    io.out(`deleted: node pool ${r.nodepoolId} (${r.nodepoolName}) after ${duration(Date.parse(r.updatedAt) - Date.parse(r.createdAt))}\n`);
  else io.err(`${r.state}: ${failureReason(r)}\n`);
  return DONE.has(r.state) ? 0 : 1;
}

async function run(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values: v, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, ...rest] = positionals;
  if (v.help || !command) {
    io.out(`${USAGE}\n`);
    return command || v.help ? 0 : 2;
  }
  if (v.output !== undefined && v.output !== 'json' && v.output !== 'table') throw new UsageError('--output is json or table');
  const json = v.output === 'json';
  const print = (data: unknown, human: () => string) => io.out(`${json ? JSON.stringify(data, null, 2) : human()}\n`);
  const target = targetFrom(env);

  /** Posts a request (or, with --dry-run, asks for its checks) and, with --wait, follows it. */
  const submit = async (body: unknown): Promise<number> => {
    if (v['dry-run']) {
      const r = await call(target, 'POST', '/v1/nodepool-requests?dryRun=true', { body, retries: 3 });
      print(r, () => dryRunText(r));
      return r.ok ? 0 : 1;
    }
    const headers = v['idempotency-key'] ? { 'idempotency-key': v['idempotency-key'] } : undefined;
    // With a key, a POST is safe to repeat: a 503 is retried; without one it is not.
    const accepted = await call(target, 'POST', '/v1/nodepool-requests', { body, headers, retries: headers ? 3 : 0 });
    if (!v.wait) {
      print(accepted, () => `${accepted.id}  ${accepted.state}  ${accepted.provider}/${accepted.clusterId}/${accepted.nodepoolName}`);
      return 0;
    }
    if (!json) io.err(`accepted ${accepted.id}; waiting for it to end (Ctrl-C stops waiting, not the request)\n`);
    return ended(await follow(target, accepted.id, v, io, json), io, json);
  };

  switch (command) {
    case 'create':
      if (!v.file) throw new UsageError('create needs -f FILE (the POST body, as JSON or YAML)');
      return submit(readRequestFile(v.file));
    case 'scale':
    case 'delete': {
      if (rest.length !== 3) throw new UsageError(`${command} takes PROVIDER CLUSTER_ID POOL`);
      const [provider, clusterId, nodepoolName] = rest as [string, string, string];
      const address = { provider, ...(v.region ? { regionId: v.region } : {}), clusterId, nodepoolName };
      if (command === 'scale') {
        if (!v.size || !/^\d{1,6}$/.test(v.size)) throw new UsageError('scale needs --size N, the new number of nodes');
        return submit({ operation: 'scale', ...address, desiredSize: Number(v.size) });
      }
      if (v.confirm === undefined) throw new UsageError(`delete needs --confirm ${nodepoolName}: the pool's name again`);
      return submit({ operation: 'delete', ...address, confirm: v.confirm, ...(v.force ? { force: true } : {}) });
    }
    case 'wait':
      return ended(await follow(target, decodeURIComponent(id(rest, 'request ID')), v, io, json), io, json);
    case 'get': {
      const r = await call(target, 'GET', `/v1/nodepool-requests/${id(rest, 'request ID')}`);
      print(r, () =>
        [
          progressLine(r, io.now()),
          `pool ${r.nodepoolId ?? '-'}  ${r.provider}/${r.clusterId}/${r.nodepoolName}  attempts ${r.attempts}  deadline ${r.deadlineAt}`,
          ...(r.lastError || r.rejectReasons ? [`reason: ${failureReason(r)}`] : []),
          '',
          table(
            ['AT', 'STATE', 'NOTE'],
            (r.history ?? []).map((h: any) => [h.at, h.state, h.note + (h.cloudRequestId ? ` (cloud request id ${h.cloudRequestId})` : '')]),
          ),
        ].join('\n'),
      );
      return 0;
    }
    case 'list': {
      const page = await call(target, 'GET', `/v1/nodepool-requests${q({ state: v.state, clusterId: v.cluster, limit: v.limit })}`);
      print(page, () =>
        table(
          ['ID', 'STATE', 'PROVIDER', 'CLUSTER', 'POOL', 'SERVING', 'CREATED'],
          page.items.map((r: any) => [
            r.id,
            r.state,
            r.provider,
            r.clusterId,
            r.nodepoolName,
            r.observed ? `${r.observed.serving}/${r.observed.desired}` : '',
            r.createdAt,
          ]),
        ),
      );
      return 0;
    }
    case 'alerts': {
      const page = await call(target, 'GET', `/v1/alerts${q({ state: v.state, limit: v.limit })}`);
      print(page, () =>
        table(
          ['ID', 'STATE', 'SEVERITY', 'RULE', 'CLUSTER', 'POOL', 'SINCE', 'MARKS'],
          page.items.map((a: any) => [
            a.id,
            a.state,
            a.severity,
            a.rule,
            a.labels.clusterId,
            a.labels.nodepoolName ?? a.labels.nodepoolId,
            a.startsAt,
            [a.silenced ? 'silenced' : '', a.inhibited ? 'inhibited' : ''].filter(Boolean).join(','),
          ]),
        ),
      );
      return 0;
    }
    case 'silence':
      return silence(target, rest, v, io, print);
    case 'clusters': {
      const fleet = await call(target, 'GET', '/v1/clusters');
      print(fleet, () =>
        [
          `last sweep: ${fleet.lastSweepAt ?? 'none yet'}`,
          table(
            ['PROVIDER', 'REGION', 'CLUSTER', 'REACHABLE', 'POOLS', 'FAILED', 'DEGRADED', 'PROGRESSING', 'HEALTHY', 'FIRING'],
            fleet.items.map((c: any) => [
              c.provider,
              c.regionId,
              c.clusterId,
              c.reachable ? 'yes' : `no (${c.lastError?.code ?? 'error'})`,
              c.pools.total,
              c.pools.failed,
              c.pools.degraded,
              c.pools.progressing,
              c.pools.healthy,
              c.firingAlerts,
            ]),
          ),
        ].join('\n'),
      );
      return 0;
    }
    case 'pools': {
      if (rest.length !== 2) throw new UsageError('pools takes PROVIDER CLUSTER_ID');
      const out = await call(target, 'GET', `/v1/clusters/${encodeURIComponent(rest[0]!)}/${encodeURIComponent(rest[1]!)}/nodepools`);
      print(out, () =>
        table(
          ['POOL', 'ID', 'HEALTH', 'STATE', 'SERVING', 'FAILED', 'SINCE', 'REQUEST', 'ALERTS'],
          out.items.map((p: any) => [
            p.name,
            p.id,
            p.health,
            p.state,
            `${p.serving ?? '?'}/${p.desired ?? '?'}`,
            p.failed,
            p.stateSince,
            p.request?.id,
            p.alerts.map((a: any) => a.rule).join(','),
          ]),
        ),
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

async function silence(target: Target, rest: string[], v: Values, io: Io, print: (data: unknown, human: () => string) => void): Promise<number> {
  const [sub, ...args] = rest;
  if (sub === 'add') {
    if (!v.pool && !v.cluster && !v.rule) throw new UsageError('silence add needs at least one of --pool, --cluster, --rule');
    const forMs = v.for === undefined ? undefined : parseDuration(v.for);
    if (forMs === undefined) throw new UsageError('silence add needs --for with a duration such as 2h, 90m or 1d');
    const matchers = Object.fromEntries(
      Object.entries({ provider: v.provider, clusterId: v.cluster, pool: v.pool, rule: v.rule }).filter(([, x]) => x !== undefined),
    );
    const body = {
      matchers,
      endsAt: new Date(io.now() + forMs).toISOString(),
      // Who made it is the token's name (the API records it); the comment may say more.
      ...(v.comment ? { comment: v.comment } : {}),
    };
    const s = await call(target, 'POST', '/v1/silences', { body, retries: 0 });
    print(s, () => `${s.id}  ${s.state} until ${s.endsAt}`);
    return 0;
  }
  if (sub === 'expire') {
    const s = await call(target, 'DELETE', `/v1/silences/${id(args, 'silence ID')}`);
    print(s, () => `${s.id}  ${s.state} at ${s.endsAt}`);
    return 0;
  }
  if (sub === 'list') {
    const page = await call(target, 'GET', '/v1/silences');
    print(page, () =>
      table(
        ['ID', 'STATE', 'MATCHERS', 'ENDS', 'COMMENT'],
        page.items.map((s: any) => [
          s.id,
          s.state,
          Object.entries(s.matchers)
            .map(([k, x]) => `${k}=${x}`)
            .join(','),
          s.endsAt,
          s.comment,
        ]),
      ),
    );
    return 0;
  }
  throw new UsageError('silence takes add, list or expire');
}

/** Runs one command line; answers the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, io?: Partial<Io>): Promise<number> {
  const full: Io = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    tty: Boolean(process.stderr.isTTY),
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    ...io,
  };
  try {
    return await run(argv, env, full);
  } catch (err) {
    if (err instanceof WaitTimeout || err instanceof ApiError) {
      full.err(`error: ${err.message}\n`);
      return err instanceof WaitTimeout ? 1 : 3;
    }
    const usage = err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    if (usage) {
      full.err(`error: ${(err as Error).message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
}
