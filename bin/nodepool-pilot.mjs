#!/usr/bin/env node
// The command line (cli/main.ts), run from its TypeScript source through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
