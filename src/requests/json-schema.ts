/**
 * The request schemas (schema.ts) as JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1):
 * the same definitions that validate a body describe it, so the document cannot drift from the
 * checks. What JSON Schema cannot say (a rule in code, such as a cross-field check or the ENS
 * naming rule) is named in `x-nodepool-pilot-checks` and described in words.
 */
import type { Schema } from './schema.js';

export type JsonSchema = { [key: string]: unknown };

export function toJsonSchema(schema: Schema): JsonSchema {
  const readOnly =
    'readOnly' in schema && schema.readOnly ? { readOnly: true, description: 'read-only: the cloud sets it; a body that sends it is refused' } : {};
  switch (schema.type) {
    case 'const':
      return { const: schema.value };
    case 'string': {
      const minLength = schema.minLength ?? (schema.required ? 1 : undefined);
      return {
        type: 'string',
        ...(minLength !== undefined ? { minLength } : {}),
        ...(schema.maxLength !== undefined ? { maxLength: schema.maxLength } : {}),
        ...(schema.enum ? { enum: [...schema.enum] } : {}),
        ...(schema.pattern ? { pattern: schema.pattern.source } : {}),
        ...(schema.patternHint ? { description: schema.patternHint } : {}),
        ...(schema.base64 ? { contentEncoding: 'base64' } : {}),
        ...(schema.problem ? { 'x-nodepool-pilot-checks': ['a rule in code (see the README: pool names)'] } : {}),
        ...readOnly,
      };
    }
    case 'integer':
      return {
        type: 'integer',
        ...(schema.oneOf ? { enum: [...schema.oneOf] } : {}),
        ...(schema.min !== undefined ? { minimum: schema.min } : {}),
        ...(schema.max !== undefined ? { maximum: schema.max } : {}),
        ...(schema.multipleOf !== undefined ? { multipleOf: schema.multipleOf } : {}),
        ...readOnly,
      };
    case 'boolean':
      return { type: 'boolean', ...readOnly };
    case 'map':
      return { type: 'object', description: 'a free-form JSON object', ...readOnly };
    case 'array':
      return {
        type: 'array',
        items: toJsonSchema(schema.items),
        ...(schema.minItems !== undefined ? { minItems: schema.minItems } : {}),
        ...(schema.maxItems !== undefined ? { maxItems: schema.maxItems } : {}),
        ...readOnly,
      };
    case 'object': {
      const required = Object.entries(schema.properties)
        .filter(([, s]) => s.required)
        .map(([k]) => k);
      return {
        type: 'object',
        properties: Object.fromEntries(Object.entries(schema.properties).map(([k, s]) => [k, toJsonSchema(s)])),
        ...(required.length ? { required } : {}),
        additionalProperties: false,
        ...(schema.check ? { 'x-nodepool-pilot-checks': ['cross-field rules of the API reference, checked in code'] } : {}),
        ...readOnly,
      };
    }
  }
}
