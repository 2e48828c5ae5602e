/**
 * Who is calling: checks the request's signature against the emulator's key pairs and the
 * STS tokens it issued, and names the principal that flow control counts against.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../src/clock.js';
import { errors } from './errors.js';
import { acs3Signature, parseAcs3Authorization, roaSignature, roaStringToSign, rpcSignature, safeEqual, sha256Hex } from './signature.js';

export interface RawRequest {
  method: string;
  /** Path as received, still percent-encoded. */
  pathname: string;
  /** Decoded query parameters. */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Decoded form-body parameters, when the body is a form. */
  form: Record<string, string>;
}

export interface Principal {
  /** What flow control is counted against: the account or the assumed role. */
  id: string;
  accessKeyId: string;
  via: 'ACS3-HMAC-SHA256' | 'RPC-HMAC-SHA1' | 'ROA-HMAC-SHA1' | 'FC-HMAC-SHA256';
}

export interface StsCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  expiration: string;
}

interface StsEntry {
  secret: string;
  token: string;
  expiresAt: number;
  role: string;
}

const REQUIRED_ACS3_HEADERS = ['host', 'x-acs-action', 'x-acs-content-sha256', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-version'];
const NONCE_TTL_MS = 15 * 60_000;

export class Authenticator {
  private keys = new Map<string, string>();
  private sts = new Map<string, StsEntry>();
  private nonces = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    keyPairs: Array<{ accessKeyId: string; accessKeySecret: string }>,
  ) {
    for (const k of keyPairs) this.keys.set(k.accessKeyId, k.accessKeySecret);
  }

  /**
   * Accepts another key pair, with any security token: the local host uses it when it
   * drives the real cloud with real keys but still invokes its functions through here.
   */
  trustKey(accessKeyId: string, accessKeySecret: string): void {
    this.keys.set(accessKeyId, accessKeySecret);
  }

  /** Issues a temporary key pair for a role, like AssumeRole; FC hands these to handlers. */
  issueSts(role: string, ttlMs = 36 * 3600_000): StsCredentials {
    const accessKeyId = `STS.${randomBytes(12).toString('base64url')}`;
    const entry: StsEntry = {
      secret: randomBytes(24).toString('base64url'),
      token: `CAIS${randomBytes(48).toString('base64url')}`,
      expiresAt: this.clock.now() + ttlMs,
      role,
    };
    this.sts.set(accessKeyId, entry);
    return { accessKeyId, accessKeySecret: entry.secret, securityToken: entry.token, expiration: new Date(entry.expiresAt).toISOString() };
  }

  authenticate(req: RawRequest): Principal {
    const auth = headerValue(req.headers, 'authorization');
    if (auth?.startsWith('ACS3-')) return this.acs3(req, auth);
    if (auth?.startsWith('acs ')) return this.roa(req, auth);
    if (auth?.startsWith('FC ')) return this.fc2(req, auth);
    if (req.query.Signature !== undefined || req.form.Signature !== undefined) return this.rpc(req);
    throw errors.incompleteSignature('The request carries no Authorization header and no Signature parameter.');
  }

  private secretFor(accessKeyId: string, securityToken: string | undefined): { secret: string; principal: string } {
    const secret = this.keys.get(accessKeyId);
    if (secret !== undefined) return { secret, principal: `account:${accessKeyId}` };
    const sts = this.sts.get(accessKeyId);
    if (!sts) throw errors.invalidAccessKeyId();
    if (!securityToken) throw errors.securityTokenMissing();
    if (!securityToken.startsWith('CAIS')) throw errors.securityTokenMalformed();
    if (!safeEqual(securityToken, sts.token)) throw errors.securityTokenMismatch();
    if (sts.expiresAt <= this.clock.now()) throw errors.securityTokenExpired();
    return { secret: sts.secret, principal: `role:${sts.role}` };
  }

  private acs3(req: RawRequest, header: string): Principal {
    const parsed = parseAcs3Authorization(header);
    if (!parsed) throw errors.incompleteSignature('The Authorization header is malformed.');
    if (parsed.algorithm !== 'ACS3-HMAC-SHA256') {
      throw errors.incompleteSignature(`The signature algorithm ${parsed.algorithm} is not supported by the sandbox.`);
    }
    const missing = REQUIRED_ACS3_HEADERS.filter((h) => !parsed.signedHeaders.includes(h));
    if (missing.length) throw errors.incompleteSignature(`SignedHeaders must include ${missing.join(', ')}.`);
    const { secret, principal } = this.secretFor(parsed.accessKeyId, headerValue(req.headers, 'x-acs-security-token'));
    if (headerValue(req.headers, 'x-acs-content-sha256') !== sha256Hex(req.body)) throw errors.contentHashMismatch();
    const signedHeaders: Record<string, string | undefined> = {};
    for (const name of parsed.signedHeaders) signedHeaders[name] = headerValue(req.headers, name) ?? '';
    const expected = acs3Signature({
      method: req.method,
      pathname: req.pathname,
      query: req.query,
      headers: signedHeaders,
      signedHeaderNames: parsed.signedHeaders,
      hashedPayload: headerValue(req.headers, 'x-acs-content-sha256') ?? '',
      secret,
    });
    if (!safeEqual(expected.signature, parsed.signature)) throw errors.signatureDoesNotMatch(expected.stringToSign);
    this.useNonce(headerValue(req.headers, 'x-acs-signature-nonce'));
    return { id: principal, accessKeyId: parsed.accessKeyId, via: 'ACS3-HMAC-SHA256' };
  }

  private rpc(req: RawRequest): Principal {
    const params = { ...req.query, ...req.form };
    if (params.SignatureMethod !== 'HMAC-SHA1') throw errors.incompleteSignature('SignatureMethod must be HMAC-SHA1.');
    if (!params.AccessKeyId) throw errors.incompleteSignature('AccessKeyId is missing.');
    const { secret, principal } = this.secretFor(params.AccessKeyId, params.SecurityToken);
    const expected = rpcSignature(params, req.method, secret);
    if (!safeEqual(expected, params.Signature ?? '')) throw errors.signatureDoesNotMatch(`${req.method}&%2F&...`);
    this.useNonce(params.SignatureNonce);
    return { id: principal, accessKeyId: params.AccessKeyId, via: 'RPC-HMAC-SHA1' };
  }

  private roa(req: RawRequest, header: string): Principal {
    const m = /^acs ([^:]+):(.+)$/.exec(header);
    if (!m) throw errors.incompleteSignature('The Authorization header is malformed.');
    const { secret, principal } = this.secretFor(m[1]!, headerValue(req.headers, 'x-acs-security-token'));
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
    const stringToSign = roaStringToSign({ method: req.method, pathname: req.pathname, query: req.query, headers });
    if (!safeEqual(roaSignature(stringToSign, secret), m[2]!)) throw errors.signatureDoesNotMatch(stringToSign);
    this.useNonce(headerValue(req.headers, 'x-acs-signature-nonce'));
    return { id: principal, accessKeyId: m[1]!, via: 'ROA-HMAC-SHA1' };
  }

  /** FC 2.0's own scheme, as @alicloud/fc2 signs: `FC <id>:<base64 HMAC-SHA256>`. */
  private fc2(req: RawRequest, header: string): Principal {
    const m = /^FC ([^:]+):(.+)$/.exec(header);
    if (!m) throw errors.incompleteSignature('The Authorization header is malformed.');
    const { secret, principal } = this.secretFor(m[1]!, headerValue(req.headers, 'x-fc-security-token'));
    const fcHeaders = Object.keys(req.headers)
      .filter((k) => k.startsWith('x-fc-'))
      .sort()
      .map((k) => `${k}:${headerValue(req.headers, k)}\n`)
      .join('');
    const h = (n: string) => headerValue(req.headers, n) ?? '';
    const stringToSign = `${req.method}\n${h('content-md5')}\n${h('content-type')}\n${h('date')}\n${fcHeaders}${decodeURIComponent(req.pathname)}`;
    const expected = createHmac('sha256', secret).update(stringToSign, 'utf8').digest('base64');
    if (!safeEqual(expected, m[2]!)) throw errors.signatureDoesNotMatch(stringToSign);
    return { id: principal, accessKeyId: m[1]!, via: 'FC-HMAC-SHA256' };
  }

  /** A signature nonce may be used once within the replay window. */
  private useNonce(nonce: string | undefined): void {
    if (!nonce) return;
    const now = this.clock.now();
    if (this.nonces.size > 100_000) {
      for (const [n, at] of this.nonces) if (now - at > NONCE_TTL_MS) this.nonces.delete(n);
    }
    const seen = this.nonces.get(nonce);
    if (seen !== undefined && now - seen <= NONCE_TTL_MS) throw errors.signatureNonceUsed();
    this.nonces.set(nonce, now);
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
