/**
 * The command line's only way in: the HTTP API, with the URL and token from the environment
 * (NODEPOOL_PILOT_URL, NODEPOOL_PILOT_TOKEN) or, for the local system, from what `npm start`
 * wrote beside its data. Every failure becomes an ApiError whose message is plain words.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const LOCAL_URL = 'http://127.0.0.1:9000';

export interface Target {
  url: string;
  token?: string;
  /** Where the token came from, to say so when it is refused. */
  tokenFrom: string;
}

/** The API to talk to: the environment's, else the local system `npm start` runs (its data directory holds the URL and the token it generated). */
export function targetFrom(env: NodeJS.ProcessEnv, cwd = process.cwd()): Target {
  let local: { url?: string; token?: string } = {};
  try {
    local = JSON.parse(readFileSync(resolve(cwd, env.DATA_DIR || '.data', 'local-api.json'), 'utf8'));
  } catch {
    // no local system started here
  }
  const url = (env.NODEPOOL_PILOT_URL || local.url || LOCAL_URL).replace(/\/+$/, '');
  if (env.NODEPOOL_PILOT_TOKEN) return { url, token: env.NODEPOOL_PILOT_TOKEN, tokenFrom: 'NODEPOOL_PILOT_TOKEN' };
  const sameHost = !env.NODEPOOL_PILOT_URL || env.NODEPOOL_PILOT_URL.replace(/\/+$/, '') === local.url;
  if (sameHost && local.token) return { url, token: local.token, tokenFrom: 'the token npm start generated' };
  return { url, tokenFrom: 'NODEPOOL_PILOT_TOKEN (not set)' };
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly problem?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** 503 answers are retried this many times, after the Retry-After the server asks for. */
  retries?: number;
  timeoutMs?: number;
}

/** One API call; answers the parsed JSON, or throws an ApiError that says what went wrong. */
export async function call(target: Target, method: string, path: string, options: CallOptions = {}): Promise<any> {
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${target.url}${path}`, {
        method,
        headers: {
          ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      const why = (err as Error).name === 'TimeoutError' ? 'did not answer in time' : 'cannot be reached';
      throw new ApiError(`the API at ${target.url} ${why} (is it running? npm start runs it locally; NODEPOOL_PILOT_URL points elsewhere)`, 0);
    }
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok) return json;
    if (res.status === 503 && attempt < retries) {
      const after = Number(res.headers.get('retry-after'));
      await sleep(Math.min(30, Number.isFinite(after) && after > 0 ? after : 2) * 1000);
      continue;
    }
    throw new ApiError(explain(res.status, json, target, res.headers.get('retry-after')), res.status, json);
  }
}

function explain(status: number, problem: any, target: Target, retryAfter: string | null): string {
  const detail = typeof problem?.detail === 'string' ? problem.detail : undefined;
  switch (status) {
    case 401:
      return target.token
        ? `the API refused the token (${target.tokenFrom}): ${detail ?? 'unauthorized'}`
        : 'no API token: set NODEPOOL_PILOT_TOKEN (npm start prints one)';
    case 400: {
      const fields = Array.isArray(problem?.errors) ? problem.errors.map((e: any) => `\n  ${e.path || '(body)'}: ${e.message}`).join('') : '';
      return `the request is not valid${fields || (detail ? `: ${detail}` : '')}`;
    }
    case 404:
      return detail ?? 'not found';
    case 409:
      return `conflict: ${detail ?? 'refused'}${problem?.existingId ? ` (existing request: ${problem.existingId})` : ''}`;
    case 503:
      return `the service is unavailable: ${detail ?? 'try again'}${retryAfter ? `; retry in ${retryAfter} s` : ''}`;
    default:
      return `the API answered ${status}${detail ? `: ${detail}` : ''}`;
  }
}
