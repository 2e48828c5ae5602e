'use strict';
/**
 * index.js of a function's code package (written by scripts/build.ts). FC loads `index.handler`
 * and `index.initialize` from here; the code is bundle.js beside it. This loader
 *  - compiles bundle.js with V8's code cache (bundle.js.cache, made at build time by the same
 *    Node major) so that a cold start does not parse and compile it again; a cache V8 does not
 *    accept (another V8 build or flags) is ignored and the bundle is compiled as usual;
 *  - maps stack frames of bundle.js to the sources through bundle.js.map, read on the first
 *    stack trace that needs it rather than at every start as --enable-source-maps does.
 */
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { SourceMap, wrap } = require('node:module');

const file = path.join(__dirname, 'bundle.js');
let cachedData;
try {
  cachedData = fs.readFileSync(`${file}.cache`);
} catch {
  cachedData = undefined;
}
// Frames of the bundle name it `bundle.js` (a code cache keeps the name it was made with, so both use this one).
const SCRIPT_NAME = 'bundle.js';
const script = new vm.Script(wrap(fs.readFileSync(file, 'utf8')), { filename: SCRIPT_NAME, cachedData });
/** Whether the code cache was used: 'accepted', 'rejected' or 'absent' (read by the B3 benchmark). */
globalThis[Symbol.for('nodepool-pilot.codeCache')] = cachedData ? (script.cachedDataRejected ? 'rejected' : 'accepted') : 'absent';

// wrap() puts the module wrapper's head before line 1 of the bundle: columns there shift by its length.
const HEAD = wrap('\u0000').indexOf('\u0000');
/** The map's entry for a 1-based line and column of the compiled (wrapped) bundle. */
const entryAt = (map, line, column) => map.findEntry(line - 1, (line === 1 ? column - HEAD : column) - 1);

let sourceMap;
function mapOf() {
  if (sourceMap === undefined) {
    try {
      sourceMap = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
    } catch {
      sourceMap = null;
    }
  }
  return sourceMap;
}

/** One frame in V8's format, at its place in the sources when it is in bundle.js. */
function frame(site, next) {
  const map = site.getFileName() === SCRIPT_NAME ? mapOf() : null;
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  const entry = map && line && column ? entryAt(map, line, column) : undefined;
  if (!entry?.originalSource) return `    at ${site}`;
  // The name of the enclosing function as the sources spell it, else the one the next frame calls.
  const enclosing = entryAt(map, site.getEnclosingLineNumber(), site.getEnclosingColumnNumber());
  const caller = next && next.getFileName() === SCRIPT_NAME ? entryAt(map, next.getLineNumber(), next.getColumnNumber()) : undefined;
  const typeName = site.getTypeName();
  const name = enclosing.name || caller?.name || `${typeName && typeName !== 'global' ? `${typeName}.` : ''}${site.getFunctionName() || '<anonymous>'}`;
  const prefix = `${site.isAsync() ? 'async ' : ''}${site.isConstructor() ? 'new ' : ''}`;
  // The map's sources are relative to the project (scripts/build.ts writes them so): src/fc/runtime.ts.
  return `    at ${prefix}${name} (${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1})`;
}

// Node's own default formats as V8 does (`Error.prototype.toString`, then one `at` line per frame); so does this.
Error.prepareStackTrace = (error, sites) => {
  let head;
  try {
    head = Error.prototype.toString.call(error);
  } catch {
    head = 'Error';
  }
  return [head, ...sites.map((site, i) => frame(site, sites[i + 1]))].join('\n');
};

script.runInThisContext().call(module.exports, module.exports, require, module, file, __dirname);
