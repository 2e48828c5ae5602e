/**
 * Masks secrets anywhere in a JSON-like value before it is logged, returned or stored in
 * plain form. A key is secret when its name says password, secret or token.
 */
export const MASK = '******';

const SECRET_KEY = /password|passwd|secret|token|signature|credential/i;

export function isSecretKey(key: string): boolean {
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
