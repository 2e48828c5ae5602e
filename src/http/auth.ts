/**
 * Bearer tokens from API_TOKENS, compared in constant time. With no token configured the
 * API fails closed: every authenticated route answers 401.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type Authenticate = (authorization: string | undefined) => { ok: true } | { ok: false; reason: string };

export function bearerAuthenticator(tokens: string[]): Authenticate {
  // Comparing fixed-length digests keeps the comparison time independent of the token.
  const digests = tokens.map((t) => createHash('sha256').update(t).digest());
  return (authorization) => {
    if (digests.length === 0) return { ok: false, reason: 'the API has no tokens configured (set API_TOKENS)' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return { ok: false, reason: 'send Authorization: Bearer <token>' };
    const given = createHash('sha256').update(m[1]!).digest();
    let match = false;
    for (const d of digests) match = timingSafeEqual(d, given) || match;
    return match ? { ok: true } : { ok: false, reason: 'the token is not valid' };
  };
}
