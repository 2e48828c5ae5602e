/** Request ids: `npr_` and a ULID, so that ids sort by creation time (the list cursor relies on it). */
import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newRequestId(nowMs: number): string {
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rnd = randomBytes(16);
  let random = '';
  for (let i = 0; i < 16; i++) random += CROCKFORD[rnd[i]! % 32];
  return `npr_${time}${random}`;
}

export const REQUEST_ID_PATTERN = /^npr_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Where the API shows a request; `base` is PUBLIC_BASE_URL (empty for a relative link). */
export function requestLink(id: string, base = ''): string {
  return `${base}/v1/nodepool-requests/${id}`;
}
