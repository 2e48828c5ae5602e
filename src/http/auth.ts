/**
 * Bearer tokens from API_TOKENS, compared in constant time, each with its name and scope
 * (API_TOKENS in config.ts). With no token configured the API fails closed: every authenticated route
 * answers 401. A `read` token is refused every write with 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiToken, Scope } from '../config.js';

/** Who is calling: a token's name and scope, never the token itself. */
export interface Caller {
  name: string;
  scope: Scope;
}

export type Authenticate = (authorization: string | undefined) => { ok: true; caller: Caller } | { ok: false; reason: string };

export function bearerAuthenticator(tokens: ApiToken[]): Authenticate {
  // Comparing fixed-length digests keeps the comparison time independent of the token.
  const known = tokens.map((t) => ({ digest: createHash('sha256').update(t.token).digest(), caller: { name: t.name, scope: t.scope } }));
  return (authorization) => {
    if (known.length === 0) return { ok: false, reason: 'the API has no tokens configured (set API_TOKENS)' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return { ok: false, reason: 'send Authorization: Bearer <token>' };
    const given = createHash('sha256').update(m[1]!).digest();
    let caller: Caller | undefined;
    // Every digest is compared, whichever matches.
    for (const k of known) if (timingSafeEqual(k.digest, given)) caller ??= k.caller;
    return caller ? { ok: true, caller } : { ok: false, reason: 'the token is not valid' };
  };
}

/** Whether a method changes something (and so needs a `write` token). */
export const isWrite = (method: string): boolean => method !== 'GET' && method !== 'HEAD';
