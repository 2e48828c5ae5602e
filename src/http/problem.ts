/** RFC 9457 problem details: every error the API answers has this shape. */
import type { Issue } from '../requests/schema.js';
import type { HttpResponse } from './types.js';

const TYPE_BASE = 'urn:nodepool-pilot:problem:';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: Issue[];
  [extension: string]: unknown;
}

export function problem(
  status: number,
  slug: string,
  title: string,
  detail?: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): HttpResponse {
  const body: Problem = { type: slug === 'about:blank' ? slug : TYPE_BASE + slug, title, status, ...(detail ? { detail } : {}), ...extra };
  return { status, headers: { 'content-type': 'application/problem+json', ...headers }, body: JSON.stringify(body) };
}

export const problems = {
  validation: (errors: Issue[]) =>
    problem(400, 'validation-error', 'The request is not valid', `${errors.length} field${errors.length === 1 ? '' : 's'} failed validation`, { errors }),
  malformedJson: (detail: string) => problem(400, 'malformed-json', 'The body is not valid JSON', detail),
  unauthorized: (detail: string) =>
    problem(401, 'unauthorized', 'Authentication required', detail, {}, { 'www-authenticate': 'Bearer realm="nodepool-pilot"' }),
  forbidden: (detail: string) => problem(403, 'forbidden', 'Forbidden', detail),
  notFound: (detail: string) => problem(404, 'not-found', 'Not found', detail),
  methodNotAllowed: (allowed: string[]) =>
    problem(405, 'method-not-allowed', 'Method not allowed', `allowed: ${allowed.join(', ')}`, {}, { allow: allowed.join(', ') }),
  conflict: (slug: string, detail: string, extra: Record<string, unknown>) => problem(409, slug, 'Conflict', detail, extra),
  tooLarge: (limit: number) => problem(413, 'payload-too-large', 'The body is too large', `the limit is ${limit} bytes`),
  unsupportedMediaType: (why: string) =>
    problem(415, 'unsupported-media-type', 'Unsupported media type', `send application/json in UTF-8: Content-Type ${why}`, {
      errors: [{ path: 'header.Content-Type', message: why }],
    }),
  unavailable: (detail: string) => problem(503, 'unavailable', 'Service unavailable', detail, {}, { 'retry-after': '5' }),
  internal: (requestId: string) => problem(500, 'internal-error', 'Internal error', `the error was logged with request id ${requestId}`),
};
