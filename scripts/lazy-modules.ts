/**
 * What a cold start loads, cut to what a path needs when it first needs it. The cloud SDK's
 * packages load every feature at import (a WebSocket client with ws and proxy agents, moment,
 * lodash, xml2js, every credentials provider with child_process), while a signed JSON call
 * needs a few. These esbuild plugins rewrite the few tsc-compiled CommonJS files that do so
 * into lazy getters with the same exports, and move the parts no function uses into a file of
 * their own beside the bundle, `sdk-extras.js`, loaded only if one of them is ever reached.
 * Each rewrite checks the shape it expects and fails the build if a package update changed it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Plugin } from 'esbuild';

export const EXTRAS_FILE = 'sdk-extras.js';

const require = createRequire(import.meta.url);
/** `spec` as `pkg` itself resolves it (the SDK's own dependencies, not this project's). */
const from = (pkg: string, spec: string) => createRequire(require.resolve(pkg)).resolve(spec);
const dara = (part: string) => from('@alicloud/tea-util', `@darabonba/typescript/dist/${part}`);

/**
 * The parts of the SDK no function reaches: @darabonba/typescript's features beside its core
 * (whose copy in sdk-extras.js is separate: its WebSocket client uses that copy), and the XML
 * parser that only reads XML error bodies (the APIs used here answer JSON).
 */
const EXTRAS: Record<string, () => string> = {
  teaXml: () => from('@alicloud/openapi-client', '@alicloud/tea-xml'),
  websocket: () => dara('websocket'),
  date: () => dara('date'),
  file: () => dara('file'),
  form: () => dara('form'),
  func: () => dara('func'),
  stream: () => dara('stream'),
  url: () => dara('url'),
  xml: () => dara('xml'),
};

/** The source of sdk-extras.js: each part, loaded on its first use. */
export function extrasEntry(): string {
  return Object.entries(EXTRAS)
    .map(([key, path]) => `Object.defineProperty(exports, ${JSON.stringify(key)}, { enumerable: true, get: () => require(${JSON.stringify(path())}) });`)
    .join('\n');
}

const LAZY = 'function __lazy(load) { var m; return function () { return m || (m = load()); }; }';
const LAZY_DEFAULT =
  'function __lazyDefault(load) { var m; return { get default() { if (!m) { m = load(); if (!(m && m.__esModule)) m = { default: m }; } return m.default; } }; }';

function unexpected(path: string, what: string): never {
  throw new Error(`lazy-modules: ${path} no longer has the expected shape (${what}); review scripts/lazy-modules.ts`);
}

/**
 * @darabonba/typescript's index: `__exportStar(require("./x"), exports)` and `var x_1 = require("./x")`
 * read in getters become getters that load the part on first use, from sdk-extras.js for the extras.
 */
function lazyDaraIndex(path: string, source = readFileSync(path, 'utf8')): string {
  const load = createRequire(path);
  const partFrom = (spec: string) => {
    const part = spec.slice(2);
    return part in EXTRAS ? `require("./${EXTRAS_FILE}")[${JSON.stringify(part)}]` : `require("${spec}")`;
  };
  const defined = new Set<string>();
  let text = source.replace(/^__exportStar\(require\("(\.\/[\w-]+)"\), exports\);$/gm, (_, spec: string) => {
    const keys = Object.keys(load(spec)).filter((k) => k !== 'default' && k !== '__esModule' && !defined.has(k));
    for (const k of keys) defined.add(k);
    const v = `__part_${spec.slice(2).replace(/\W/g, '_')}`;
    return [
      `var ${v} = __lazy(() => ${partFrom(spec)});`,
      ...keys.map((k) => `Object.defineProperty(exports, ${JSON.stringify(k)}, { enumerable: true, get: () => ${v}()[${JSON.stringify(k)}] });`),
    ].join('\n');
  });
  const holders: string[] = [];
  text = text.replace(/^var (\w+_1) = require\("(\.\/[\w-]+)"\);$/gm, (_, name: string, spec: string) => {
    holders.push(name);
    return `var ${name}__lazy = __lazy(() => ${partFrom(spec)});`;
  });
  for (const h of holders) text = text.replace(new RegExp(`\\b${h}\\b(?!__lazy)`, 'g'), `${h}__lazy()`);
  const eager = text.split('\n').filter((l) => /require\(/.test(l) && !/__lazy\(\(\) => require\(/.test(l));
  if (eager.length || defined.size === 0) unexpected(path, eager[0] ?? 'no __exportStar');
  return `${text}\n${LAZY}\n`;
}

/**
 * `const x_1 = __importDefault(require("spec"))` whose only uses are `x_1.default` becomes a
 * holder that loads on the first `.default`; `exports.K = x_1.default` becomes a getter.
 * `specs` picks which requires (all when omitted); `target` says where each one loads from.
 */
export function lazyDefaults(path: string, source: string, specs?: string[], target: (spec: string) => string = (s) => `require("${s}")`): string {
  const names: string[] = [];
  let text = source.replace(/^const (\w+) = __importDefault\(require\("([^"]+)"\)\);$/gm, (line, name: string, spec: string) => {
    if (specs && !specs.includes(spec)) return line;
    names.push(name);
    return `const ${name} = __lazyDefault(() => ${target(spec)});`;
  });
  if (names.length === 0 || (specs && names.length !== specs.length)) unexpected(path, `requires of ${specs?.join(', ') ?? 'relative modules'}`);
  for (const name of names) {
    text = text.replace(new RegExp(`^exports\\.(\\w+) = ${name}\\.default;$`, 'gm'), (_, key: string) => {
      return `Object.defineProperty(exports, ${JSON.stringify(key)}, { enumerable: true, configurable: true, get: () => ${name}.default });`;
    });
    const other = new RegExp(`\\b${name}\\b(?!\\.default\\b)(?! = __lazyDefault)`).exec(text);
    if (other) unexpected(path, `${name} used other than as ${name}.default`);
  }
  return `${text}\n${LAZY_DEFAULT}\n`;
}

const REWRITES: Array<{ filter: RegExp; rewrite: (path: string, source: string) => string }> = [
  { filter: /[\\/]@darabonba[\\/]typescript[\\/]dist[\\/]index\.js$/, rewrite: lazyDaraIndex },
  // Every credentials provider (ECS role, OIDC, CLI profile, external process, ...) is loaded on first use.
  { filter: /[\\/]@alicloud[\\/]credentials[\\/]dist[\\/]src[\\/]client\.js$/, rewrite: (p, s) => lazyDefaults(p, s) },
  // The XML parser reads only XML error bodies.
  {
    filter: /[\\/]@alicloud[\\/]openapi-client[\\/]dist[\\/]client\.js$/,
    rewrite: (p, s) => lazyDefaults(p, s, ['@alicloud/tea-xml'], () => `require("./${EXTRAS_FILE}").teaXml`),
  },
  // pg asks whether it runs in a Cloudflare Worker by building a `Response`, which on Node 20 (no
  // `navigator`) loads undici, Node's whole fetch, on the first connection. On Node the answer
  // is always no: Node's Response drops the `cf` option the probe looks for.
  {
    filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/,
    rewrite: (p, s) => {
      const probe = "if (typeof Response === 'function') {";
      if (!s.includes(probe)) unexpected(p, 'the Response probe');
      return s.replace(probe, 'if (false) {');
    },
  },
];

export const lazyModules: Plugin = {
  name: 'lazy-modules',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^\\./${EXTRAS_FILE.replace('.', '\\.')}$`) }, () => ({ path: `./${EXTRAS_FILE}`, external: true }));
    for (const { filter, rewrite } of REWRITES) {
      b.onLoad({ filter }, (args) => ({ contents: rewrite(args.path, readFileSync(args.path, 'utf8')), loader: 'js' }));
    }
  },
};
