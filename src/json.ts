/**
 * JSON from outside (HTTP bodies, queue messages, trigger events) is parsed only within
 * bounds: its size and its nesting depth are checked on the text before any object is
 * built, so that a message nested tens of thousands deep is refused at once instead of
 * overflowing the stack somewhere later.
 */

export interface JsonBounds {
  /** Bytes of UTF-8 text. */
  maxBytes: number;
  /** Arrays and objects inside each other; unbounded when left out. */
  maxDepth?: number;
}

/** Deep enough for every create body of both APIs (about 8 levels with the envelope), and far from the stack's limit. */
export const DEFAULT_MAX_JSON_DEPTH = 32;

/** `syntax`: not JSON at all; `bounds`: JSON, but larger or deeper than allowed. */
export type JsonParse = { ok: true; value: unknown } | { ok: false; kind: 'syntax' | 'bounds'; reason: string };

/** The deepest nesting of arrays and objects in `text`, stopping as soon as it passes `limit`. */
export function jsonDepthOver(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export function parseJsonWithin(text: string, bounds: JsonBounds): JsonParse {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > bounds.maxBytes) return { ok: false, kind: 'bounds', reason: `the JSON is ${bytes} bytes; the limit is ${bounds.maxBytes}` };
  if (bounds.maxDepth !== undefined && jsonDepthOver(text, bounds.maxDepth))
    return { ok: false, kind: 'bounds', reason: `the JSON is nested deeper than ${bounds.maxDepth} levels` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    // JSON.parse quotes the text around the error, and the text may hold a password: keep the position only.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    return { ok: false, kind: 'syntax', reason: position ? `syntax error at position ${position}` : 'not valid JSON' };
  }
}
