/**
 * Masks secrets anywhere in a JSON-like value before it is logged, returned or stored in
 * plain form. A key is secret when its name says password, secret or token.
 */
export const MASK = '******';

const SECRET_KEY = /password|passwd|secret|token|signature|credential/i;

function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

export function redact<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redact(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = isSecretKey(k) && v !== undefined && v !== null && typeof v !== 'object' ? MASK : redact(v);
    }
    return out as T;
  }
  return value;
}

/**
 * The HTTP layer puts the request URL into timeout and connection messages, and ENS calls
 * carry every parameter, the password included, in the query. Messages keep the path only.
 */
export function scrubMessage(message: string): string {
  return message.replace(/\b(https?:\/\/[^\s?]*)\?[^\s]*/gi, '$1?…').replace(/\b(GET|POST|PUT|PATCH|DELETE|HEAD) (\/[^\s?]*)\?[^\s]*/g, '$1 $2?…');
}
