/**
 * A small declarative schema for request bodies: each node checks one value and reports
 * every problem with the path of the field, so one 400 lists all that is wrong.
 */
import { type Issue, isStorableText, UNREADABLE_CHARS } from '../text.js';

export type { Issue } from '../text.js';

export type Schema =
  | {
      type: 'string';
      required?: boolean;
      minLength?: number;
      maxLength?: number;
      pattern?: RegExp;
      patternHint?: string;
      enum?: readonly string[];
      base64?: boolean;
      readOnly?: boolean;
      problem?: (value: string) => string | undefined;
    }
  | { type: 'integer'; required?: boolean; min?: number; max?: number; multipleOf?: number; oneOf?: readonly number[]; readOnly?: boolean }
  | { type: 'boolean'; required?: boolean; readOnly?: boolean }
  | { type: 'array'; required?: boolean; items: Schema; minItems?: number; maxItems?: number; readOnly?: boolean }
  | {
      type: 'object';
      required?: boolean;
      properties: Record<string, Schema>;
      check?: (value: Record<string, unknown>, path: string, issues: Issue[]) => void;
      readOnly?: boolean;
    }
  /** A free-form JSON object (for example kubelet settings), checked only for being an object. */
  | { type: 'map'; required?: boolean; readOnly?: boolean }
  | { type: 'const'; value: string; required?: boolean };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export { isStorableText, UNREADABLE_CHARS } from '../text.js';

/**
 * ACK node-pool names: 1 to 63 characters of letters, digits, Chinese characters and hyphens,
 * not starting with a hyphen. Source: the naming rule on `nodepool_info.name` in the
 * official CS 2015-12-15 SDK models (@alicloud/cs20151215, ModifyClusterNodePoolRequest),
 * which describe the same node-pool model that CreateClusterNodePool takes.
 */
export const ACK_NODEPOOL_NAME = /^[0-9A-Za-z\p{Script=Han}][0-9A-Za-z\p{Script=Han}-]{0,62}$/u;
export const ACK_NODEPOOL_NAME_HINT = 'must be 1 to 63 letters, digits, Chinese characters or hyphens (-), and must not start with a hyphen (ACK naming rule)';

/**
 * ENS publishes no naming rule for node pools (the CreateClusterNodePool reference only says
 * "the name of the node pool"). Ours: no leading or trailing white space, nothing a person
 * cannot read (see UNREADABLE_CHARS) and no markup characters (< >).
 */
export function ensNodepoolNameProblem(name: string): string | undefined {
  if (/^\s|\s$/u.test(name)) return 'must not start or end with white space';
  if (UNREADABLE_CHARS.test(name)) return 'must not contain control, bidirectional or zero-width characters';
  if (/[<>]/.test(name)) return 'must not contain markup characters (< or >)';
  return undefined;
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** The path of the first key or string in `value` that the store cannot hold, if any. */
function unstorableIn(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path;
  if (!value || typeof value !== 'object') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const at = Array.isArray(value) ? join(path, Number(k)) : join(path, isStorableText(k) ? k : '(unprintable key)');
    if (!isStorableText(k)) return at;
    const bad = unstorableIn(v, at);
    if (bad !== undefined) return bad;
  }
  return undefined;
}

/** Checks `value` against `schema`, appending problems to `issues`. */
export function check(schema: Schema, value: unknown, path: string, issues: Issue[]): void {
  if (value === undefined) {
    if (schema.required) issues.push({ path, message: 'is required' });
    return;
  }
  if ('readOnly' in schema && schema.readOnly) {
    issues.push({ path, message: 'is read-only: the cloud sets it' });
    return;
  }
  switch (schema.type) {
    case 'const':
      if (value !== schema.value) issues.push({ path, message: `must be "${schema.value}"` });
      return;
    case 'string': {
      if (typeof value !== 'string') return void issues.push({ path, message: `must be a string, not ${kind(value)}` });
      if (!isStorableText(value)) return void issues.push({ path, message: 'must not contain NUL characters or invalid Unicode' });
      if (schema.required && value.length === 0) return void issues.push({ path, message: 'must not be empty' });
      if (schema.enum && !schema.enum.includes(value)) return void issues.push({ path, message: `must be one of: ${schema.enum.join(', ')}` });
      if (schema.minLength !== undefined && value.length < schema.minLength)
        issues.push({ path, message: `must be at least ${schema.minLength} characters long` });
      if (schema.maxLength !== undefined && value.length > schema.maxLength)
        issues.push({ path, message: `must be at most ${schema.maxLength} characters long` });
      if (schema.pattern && !schema.pattern.test(value)) issues.push({ path, message: schema.patternHint ?? `must match ${schema.pattern}` });
      if (schema.base64 && !BASE64.test(value)) issues.push({ path, message: 'must be Base64-encoded' });
      const problem = schema.problem?.(value);
      if (problem) issues.push({ path, message: problem });
      return;
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return void issues.push({ path, message: `must be an integer, not ${kind(value)}` });
      if (schema.oneOf && !schema.oneOf.includes(value)) return void issues.push({ path, message: `must be one of: ${schema.oneOf.join(', ')}` });
      if (schema.min !== undefined && value < schema.min) issues.push({ path, message: `must be at least ${schema.min}` });
      if (schema.max !== undefined && value > schema.max) issues.push({ path, message: `must be at most ${schema.max}` });
      if (schema.multipleOf !== undefined && value % schema.multipleOf !== 0) issues.push({ path, message: `must be a multiple of ${schema.multipleOf}` });
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') issues.push({ path, message: `must be true or false, not ${kind(value)}` });
      return;
    case 'map': {
      if (kind(value) !== 'object') return void issues.push({ path, message: `must be an object, not ${kind(value)}` });
      // Free-form, but it is stored: every key and string inside must be storable text.
      const bad = unstorableIn(value, path);
      if (bad !== undefined) issues.push({ path: bad, message: 'must not contain NUL characters or invalid Unicode' });
      return;
    }
    case 'array': {
      if (!Array.isArray(value)) return void issues.push({ path, message: `must be an array, not ${kind(value)}` });
      if (schema.minItems !== undefined && value.length < schema.minItems) {
        issues.push({ path, message: schema.minItems === 1 ? 'must not be empty' : `must have at least ${schema.minItems} items` });
      }
      if (schema.maxItems !== undefined && value.length > schema.maxItems) issues.push({ path, message: `must have at most ${schema.maxItems} items` });
      value.forEach((item, i) => {
        if (item === undefined || item === null) issues.push({ path: join(path, i), message: 'must not be null' });
        else check(schema.items, item, join(path, i), issues);
      });
      return;
    }
    case 'object': {
      if (kind(value) !== 'object') return void issues.push({ path, message: `must be an object, not ${kind(value)}` });
      const obj = value as Record<string, unknown>;
      for (const key of Object.keys(obj)) {
        if (!Object.hasOwn(schema.properties, key)) issues.push({ path: join(path, key), message: 'is not a known field' });
      }
      for (const [key, sub] of Object.entries(schema.properties)) {
        const v = Object.hasOwn(obj, key) ? obj[key] : undefined;
        if (v === null) issues.push({ path: join(path, key), message: 'must not be null' });
        else check(sub, v, join(path, key), issues);
      }
      schema.check?.(obj, path, issues);
      return;
    }
  }
}

// Small constructors keep the schemas readable.
export const str = (o: Omit<Extract<Schema, { type: 'string' }>, 'type'> = {}): Schema => ({ type: 'string', ...o });
export const int = (o: Omit<Extract<Schema, { type: 'integer' }>, 'type'> = {}): Schema => ({ type: 'integer', ...o });
export const bool = (o: Omit<Extract<Schema, { type: 'boolean' }>, 'type'> = {}): Schema => ({ type: 'boolean', ...o });
export const arr = (items: Schema, o: Omit<Extract<Schema, { type: 'array' }>, 'type' | 'items'> = {}): Schema => ({ type: 'array', items, ...o });
export const obj = (properties: Record<string, Schema>, o: Omit<Extract<Schema, { type: 'object' }>, 'type' | 'properties'> = {}): Schema => ({
  type: 'object',
  properties,
  ...o,
});
export const map = (o: { required?: boolean } = {}): Schema => ({ type: 'map', ...o });
