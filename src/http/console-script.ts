/**
 * The console's script (web/console.ts) as JavaScript. Run from source (npm start, the tests),
 * it is compiled on first use with esbuild; the build replaces this module with one that
 * carries the compiled script inline, so a code package reads nothing at run time.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let compiled: Promise<string> | undefined;

export function consoleScript(): Promise<string> {
  compiled ??= (async () => {
    const { transform } = await import('esbuild');
    const source = readFileSync(fileURLToPath(new URL('../../web/console.ts', import.meta.url)), 'utf8');
    return (await transform(source, { loader: 'ts', format: 'iife', target: 'es2022', minify: true })).code;
  })();
  return compiled;
}
