/**
 * Passwords are never stored in plain text. They are lifted out of the request before it is
 * stored, sealed with AES-256-GCM under the configured key, and put back only in memory,
 * just before the create call.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { Provider } from '../cloud/nodepool.js';
import { MASK } from '../redact.js';
import { ACK_SECRET_PATHS } from './ack-schema.js';
import { ENS_SECRET_PATHS } from './ens-schema.js';

const VERSION = 'v1';

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
  }

  seal(value: Record<string, string>): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ct.toString('base64')].join(':');
  }

  open(sealed: string): Record<string, string> {
    const [version, iv, tag, ct] = sealed.split(':');
    if (version !== VERSION || !iv || !tag || !ct) throw new Error('sealed secret has an unknown format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    const pt = Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]);
    return JSON.parse(pt.toString('utf8')) as Record<string, string>;
  }

  /** A keyed hash: compares bodies (secrets included) without storing anything guessable. */
  mac(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('hex');
  }
}

function secretPaths(provider: Provider): ReadonlyArray<readonly string[]> {
  return provider === 'ens' ? ENS_SECRET_PATHS : ACK_SECRET_PATHS;
}

/** Splits a create request into a masked copy and the secrets it held, by dotted path. */
export function liftSecrets(provider: Provider, request: Record<string, unknown>): { masked: Record<string, unknown>; secrets: Record<string, string> } {
  const masked = structuredClone(request);
  const secrets: Record<string, string> = {};
  for (const path of secretPaths(provider)) {
    let node: Record<string, unknown> | undefined = masked;
    for (const key of path.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
    const last = path[path.length - 1]!;
    if (node && typeof node[last] === 'string') {
      secrets[path.join('.')] = node[last] as string;
      node[last] = MASK;
    }
  }
  return { masked, secrets };
}

/** Puts secrets back into a masked request (in memory only). */
export function restoreSecrets(request: Record<string, unknown>, secrets: Record<string, string>): Record<string, unknown> {
  const full = structuredClone(request);
  for (const [dotted, value] of Object.entries(secrets)) {
    const path = dotted.split('.');
    let node: Record<string, unknown> | undefined = full;
    for (const key of path.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
    if (node) node[path[path.length - 1]!] = value;
  }
  return full;
}

/** JSON with sorted keys, so equal bodies hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
