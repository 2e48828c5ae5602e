/**
 * ACK answers take the shape of the official SDK's response models (@alicloud/cs20151215):
 * exactly the model's keys at every level, each with the pool's value where it has one and
 * an empty value of the model's type where it does not. The models list their wire names and
 * types (`names()`, `types()`), so the emulator can neither add a key the cloud does not
 * answer nor leave one out.
 */
import * as cs from '@alicloud/cs20151215';

type Json = Record<string, unknown>;
interface ModelClass {
  names(): Record<string, string>;
  types(): Record<string, unknown>;
}

const exported = cs as unknown as Record<string, unknown> & { default: Record<string, unknown> };
const MODELS = (exported.DescribeClusterNodePoolsResponseBody ? exported : exported.default) as Record<string, ModelClass | undefined>;

export function ackModel(name: string): ModelClass {
  const m = MODELS[name];
  if (!m) throw new Error(`@alicloud/cs20151215 has no model ${name}`);
  return m;
}

function emptyOf(type: unknown): unknown {
  if (type === 'string') return '';
  if (type === 'number') return 0;
  if (type === 'boolean') return false;
  if (typeof type === 'function') return shapeAs(type as unknown as ModelClass, {});
  if ((type as { type?: string })?.type === 'array') return [];
  return {};
}

function valueAs(type: unknown, value: unknown): unknown {
  if (value === undefined || value === null) return emptyOf(type);
  if (typeof type === 'function')
    return value && typeof value === 'object' && !Array.isArray(value) ? shapeAs(type as unknown as ModelClass, value as Json) : emptyOf(type);
  const spec = type as { type?: string; itemType?: unknown };
  if (spec?.type === 'array') return Array.isArray(value) ? value.map((item) => valueAs(spec.itemType, item)) : [];
  return value;
}

/** `value` with exactly the keys of `model`: its values where it has them, empty ones where not. */
export function shapeAs(model: ModelClass, value: Json): Json {
  const names = model.names();
  const types = model.types();
  const out: Json = {};
  for (const [prop, wire] of Object.entries(names)) out[wire] = valueAs(types[prop], value[wire]);
  return out;
}
