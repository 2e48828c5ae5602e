/**
 * Server-side verification of the three request signatures that @alicloud/openapi-client
 * can produce: ACS3-HMAC-SHA256 (its default, RPC and ROA), RPC v2 HMAC-SHA1 and ROA v1
 * HMAC-SHA1. The canonical forms follow the public openapi-util algorithms; the wire
 * forms differ from them (Node's querystring leaves `!'()*` raw), so the verifier decodes
 * what it received and re-encodes it the way the signer did.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** RFC 3986 percent-encoding, as the SDK's `encode`: encodeURIComponent plus `!'()*`. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Parses a raw query string into decoded [key, value] pairs, keeping order and repeats. */
export function parseRawQuery(raw: string): Array<[string, string]> {
  if (!raw) return [];
  return raw
    .split('&')
    .filter((part) => part.length > 0)
    .map((part) => {
      const eq = part.indexOf('=');
      const k = eq < 0 ? part : part.slice(0, eq);
      const v = eq < 0 ? '' : part.slice(eq + 1);
      return [decodeComponent(k), decodeComponent(v)] as [string, string];
    });
}

function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

// ---------------------------------------------------------------- ACS3-HMAC-SHA256

export interface Acs3Authorization {
  algorithm: string;
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

export function parseAcs3Authorization(header: string): Acs3Authorization | undefined {
  const m = /^(ACS3-[A-Z0-9-]+)\s+(.*)$/.exec(header.trim());
  if (!m) return undefined;
  const fields = new Map<string, string>();
  for (const part of m[2]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signed = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || signed === undefined || !signature) return undefined;
  return { algorithm: m[1]!, accessKeyId: credential, signedHeaders: signed.split(';').filter(Boolean), signature };
}

/** The canonical query: keys sorted, not encoded; values percent-encoded. */
function acs3CanonicalQuery(query: Record<string, string | undefined>): string {
  return Object.keys(query)
    .sort()
    .map((k) => `${k}=${query[k] == null ? '' : percentEncode(query[k]!)}`)
    .join('&');
}

/** Canonical headers block (each line ends in \n) and the signed-header list, from given headers. */
function acs3CanonicalHeaders(
  headers: Record<string, string | string[] | undefined>,
  names?: string[],
): {
  canonical: string;
  signed: string;
} {
  const grouped = new Map<string, string[]>();
  for (const [rawName, rawValue] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    const included = names ? names.includes(name) : name.startsWith('x-acs-') || name === 'host' || name === 'content-type';
    if (!included || rawValue === undefined) continue;
    const values = Array.isArray(rawValue) ? rawValue : [rawValue];
    const list = grouped.get(name) ?? [];
    for (const v of values) list.push(String(v).trim());
    grouped.set(name, list);
  }
  const sorted = [...grouped.keys()].sort();
  const canonical = sorted.map((n) => `${n}:${grouped.get(n)!.sort().join(',')}\n`).join('');
  return { canonical, signed: sorted.join(';') };
}

function acs3CanonicalUri(pathname: string): string {
  return pathname.replace('+', '%20').replace('*', '%2A').replace('%7E', '~');
}

export function acs3Signature(input: {
  method: string;
  pathname: string;
  query: Record<string, string | undefined>;
  headers: Record<string, string | string[] | undefined>;
  signedHeaderNames?: string[];
  hashedPayload: string;
  secret: string;
  algorithm?: string;
}): { signature: string; signedHeaders: string; stringToSign: string } {
  const { canonical, signed } = acs3CanonicalHeaders(input.headers, input.signedHeaderNames);
  const canonicalRequest = [input.method, acs3CanonicalUri(input.pathname), acs3CanonicalQuery(input.query), canonical, signed, input.hashedPayload].join('\n');
  const algorithm = input.algorithm ?? 'ACS3-HMAC-SHA256';
  const stringToSign = `${algorithm}\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac('sha256', input.secret).update(stringToSign).digest('hex');
  return { signature, signedHeaders: signed, stringToSign };
}

// ---------------------------------------------------------------- RPC v2 (HMAC-SHA1)

export function rpcSignature(params: Record<string, string>, method: string, secret: string): string {
  const canonicalized = Object.keys(params)
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k] ?? '')}`)
    .join('&');
  const stringToSign = `${method}&${percentEncode('/')}&${percentEncode(canonicalized)}`;
  return createHmac('sha1', `${secret}&`).update(stringToSign, 'utf8').digest('base64');
}

// ---------------------------------------------------------------- ROA v1 (HMAC-SHA1)

export function roaStringToSign(input: {
  method: string;
  pathname: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
}): string {
  const h = (name: string): string => {
    const v = input.headers[name];
    return v === undefined ? '' : Array.isArray(v) ? v.join(',') : v;
  };
  const acsHeaders = Object.keys(input.headers)
    .filter((k) => k.startsWith('x-acs-'))
    .sort()
    .map(
      (k) =>
        `${k}:${h(k)
          .replace(/[\t\n\r\f]/g, ' ')
          .trim()}\n`,
    )
    .join('');
  const queryKeys = Object.keys(input.query).sort();
  const resource = queryKeys.length ? `${input.pathname}?${queryKeys.map((k) => `${k}=${input.query[k]}`).join('&')}` : input.pathname;
  return `${input.method}\n${h('accept')}\n${h('content-md5')}\n${h('content-type')}\n${h('date')}\n${acsHeaders}${resource}`;
}

export function roaSignature(stringToSign: string, secret: string): string {
  return createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64');
}

/** Constant-time string comparison. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
