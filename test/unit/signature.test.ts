import { describe, expect, it } from 'vitest';
import { acs3Signature, parseRawQuery, percentEncode, roaSignature, roaStringToSign, rpcSignature } from '../../sandbox/signature.js';

describe('request signatures', () => {
  it('reproduces the ACS3-HMAC-SHA256 test vector of the openapi-util suite', () => {
    // Prepare: the published vector (method undefined, empty path, two x-acs-test values)
    const out = acs3Signature({
      method: 'undefined',
      pathname: '',
      query: { test: 'ok', empty: '' },
      headers: { 'x-acs-TEST': 'https', 'x-acs-test': 'http' },
      hashedPayload: '55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23',
      secret: 'secret',
    });
    // Assess
    expect(out.signedHeaders).toBe('x-acs-test');
    expect(out.signature).toBe('0f2d549523cf082c83bb8135b5863614f7fe16ca7c2c7fc537e74d67374eeeac');
  });

  it('reproduces the RPC v2 HMAC-SHA1 test vector', () => {
    expect(rpcSignature({ test: 'ok' }, '', 'accessKeySecret')).toBe('jHx/oHoHNrbVfhncHEvPdHXZwHU=');
  });

  it('changes the ACS3 signature when any signed part changes', () => {
    const base = {
      method: 'POST',
      pathname: '/',
      query: { ClusterId: 'eck-1', NodepoolInfo: '{"Name":"a b"}' },
      headers: { host: 'ens.aliyuncs.com', 'x-acs-action': 'CreateClusterNodePool' },
      hashedPayload: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      secret: 's',
    };
    const sig = acs3Signature(base).signature;
    expect(acs3Signature({ ...base, query: { ...base.query, ClusterId: 'eck-2' } }).signature).not.toBe(sig);
    expect(acs3Signature({ ...base, headers: { ...base.headers, 'x-acs-action': 'DescribeClusterNodePools' } }).signature).not.toBe(sig);
    expect(acs3Signature({ ...base, secret: 't' }).signature).not.toBe(sig);
    expect(acs3Signature({ ...base, method: 'GET' }).signature).not.toBe(sig);
  });

  it('percent-encodes as RFC 3986, including the characters encodeURIComponent leaves', () => {
    expect(percentEncode("a b!'()*~")).toBe('a%20b%21%27%28%29%2A~');
  });

  it('decodes a raw query so that it can be re-encoded for signing', () => {
    expect(parseRawQuery('NodepoolName=my%20pool&x=a+b&flag')).toEqual([
      ['NodepoolName', 'my pool'],
      ['x', 'a b'],
      ['flag', ''],
    ]);
  });

  it('builds the ROA v1 string to sign from accept, type, date, x-acs headers and the resource', () => {
    const sts = roaStringToSign({
      method: 'GET',
      pathname: '/clusters/c1/nodepools',
      query: { NodepoolName: 'a' },
      headers: { accept: 'application/json', date: 'Sun, 22 Nov 2026 00:00:00 GMT', 'x-acs-version': '2015-12-15', 'x-acs-action': 'X' },
    });
    expect(sts).toBe(
      'GET\napplication/json\n\n\nSun, 22 Nov 2026 00:00:00 GMT\nx-acs-action:X\nx-acs-version:2015-12-15\n/clusters/c1/nodepools?NodepoolName=a',
    );
    expect(roaSignature(sts, 'k')).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });
});
