/** Request ids: `npr_` and a ULID, so that ids sort by creation time (the list cursor relies on it). */
import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The last id's millisecond and random digits: ids made in one millisecond count up from it. */
let last: { ms: number; digits: number[] } | undefined;

/**
 * A new id for a request accepted at `nowMs`. Within one millisecond, this process's ids
 * still sort in the order they were made (the random part of the one before, plus one), so
 * that requests for one ACK cluster accepted together keep their order here. Across
 * instances, ids made in one millisecond sort at random.
 */
export function newRequestId(nowMs: number): string {
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let digits: number[];
  if (last?.ms === nowMs) {
    digits = [...last.digits];
    let i = digits.length - 1;
    while (i >= 0 && digits[i] === 31) digits[i--] = 0;
    if (i >= 0) digits[i]! += 1;
    else digits = fresh(); // 32^16 ids in one millisecond: start again at random
  } else {
    digits = fresh();
  }
  last = { ms: nowMs, digits };
  return `npr_${time}${digits.map((d) => CROCKFORD[d]).join('')}`;
}

function fresh(): number[] {
  // The first digit below 16, so that counting up from it cannot run out.
  return [...randomBytes(16)].map((b, i) => (i === 0 ? b % 16 : b % 32));
}

export const REQUEST_ID_PATTERN = /^npr_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Where the API shows a request; `base` is PUBLIC_BASE_URL (empty for a relative link). */
export function requestLink(id: string, base = ''): string {
  return `${base}/v1/nodepool-requests/${id}`;
}
