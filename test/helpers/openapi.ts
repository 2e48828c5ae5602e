/**
 * Checks an answer of the API against the OpenAPI document the API serves: the route and
 * method must be described, the status must be one of the operation's, and a JSON body must
 * match the schema given for that status. The system tests run every answer they receive
 * through this (test/helpers/system.ts).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openapiResponse } from '../../src/http/openapi.js';

type Operation = { responses: Record<string, { content?: Record<string, { schema: unknown }> }> };

const doc = JSON.parse(openapiResponse().body) as { paths: Record<string, Record<string, Operation>> };
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(doc, 'openapi');

const routes = Object.entries(doc.paths).map(([template, ops]) => ({
  match: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  ops,
}));

const validators = new Map<object, ValidateFunction>();

/** One compiled validator per schema of the document, reused by every answer; a reference is resolved against the document itself. */
function validatorFor(schema: { $ref?: string }): ValidateFunction {
  let v = validators.get(schema);
  if (!v) {
    v = ajv.compile(schema.$ref?.startsWith('#') ? { $ref: `openapi${schema.$ref}` } : schema);
    validators.set(schema, v);
  }
  return v;
}

/** Throws, saying why, when the answer does not conform; an unknown route is not checked (it answers 404 by design). */
export function checkAnswer(method: string, url: string, status: number, contentType: string | null, text: string): void {
  const path = new URL(url, 'http://x').pathname.replace(/\/+$/, '') || '/';
  const route = routes.find((r) => r.match.test(path));
  if (!route) return;
  const op = route.ops[method.toLowerCase() === 'head' ? 'get' : method.toLowerCase()];
  if (!op) {
    if (status === 405) return;
    throw new Error(`OpenAPI: ${method} ${path} is not described, but answered ${status}`);
  }
  const answer = op.responses[String(status)];
  if (!answer) throw new Error(`OpenAPI: ${method} ${path} answered ${status}, which the document does not list (${Object.keys(op.responses).join(', ')})`);
  const type = (contentType ?? '').split(';')[0]!.trim();
  const content = answer.content?.[type];
  if (!content) throw new Error(`OpenAPI: ${method} ${path} ${status} answered ${type}, which the document does not list`);
  if (method.toUpperCase() === 'HEAD' || !type.includes('json')) return;
  const validate = validatorFor(content.schema as { $ref?: string });
  if (!validate(JSON.parse(text)))
    throw new Error(`OpenAPI: ${method} ${path} ${status} does not conform: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 5000)}`);
}
