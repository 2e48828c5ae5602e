/**
 * The operator's console: `GET /` (the page) and `GET /console.js` (its script, web/console.ts
 * compiled), served by `api` on the API's own origin with no network fetch at run time. The
 * page itself holds no data and needs no token; every view asks the API with the token the
 * operator enters. A strict Content-Security-Policy allows only this origin's script and the
 * page's own style.
 */
import { createHash } from 'node:crypto';
import { consoleScript } from './console-script.js';
import { problems } from './problem.js';
import type { HttpResponse } from './types.js';

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #c62828; --warn: #b26a00; --info: #0b5cad; --muted: #666; font: 15px/1.45 system-ui, sans-serif; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid #8884; }
header h1 { font-size: 1.1rem; margin: 0 1rem 0 0; }
nav { display: flex; gap: .25rem; flex-wrap: wrap; }
nav button[aria-current="true"] { font-weight: 700; text-decoration: underline; }
#sweep { margin-left: auto; color: var(--muted); }
#sweep.stale { color: var(--bad); font-weight: 700; }
main { padding: 0 1rem 2rem; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #8883; vertical-align: top; }
tr.attention td { background: #c628281a; }
tr.detail > td { background: #8881; }
button { font: inherit; padding: .25rem .6rem; cursor: pointer; }
button.link { background: none; border: none; padding: 0; color: var(--info); text-decoration: underline; text-align: left; }
button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid var(--info); outline-offset: 2px; }
.badge { display: inline-block; padding: 0 .4rem; margin: 0 .2rem .1rem 0; border-radius: .6rem; font-size: .85em; border: 1px solid currentColor; }
.healthy, .active, .info { color: var(--ok); }
.failed, .timed_out, .rejected, .critical, .unreachable { color: var(--bad); }
.degraded, .warning, .silenced, .inhibited { color: var(--warn); }
.progressing, .creating, .submitting, .accepted, .unknown { color: var(--info); }
.progress progress { width: 7rem; vertical-align: middle; }
.problem { color: var(--bad); }
#error { margin: .5rem 1rem; padding: .5rem .75rem; border: 2px solid var(--bad); color: var(--bad); border-radius: .3rem; }
#token-form { margin: 1rem; padding: 1rem; border: 1px solid #8886; max-width: 32rem; }
.filters, .silence { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin: .5rem 0; }
ol.timeline { padding-left: 1.2rem; }
pre { white-space: pre-wrap; word-break: break-word; background: #8881; padding: .5rem; }
small { color: var(--muted); }
@media (max-width: 640px) { :root { font-size: 14px; } th, td { padding: .25rem; } .progress progress { width: 4rem; } }
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nodepool-pilot</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>nodepool-pilot</h1>
  <nav aria-label="views">
    <button id="nav-fleet" type="button">Fleet</button>
    <button id="nav-requests" type="button">Requests</button>
    <button id="nav-alerts" type="button">Alerts</button>
    <button id="nav-silences" type="button">Silences</button>
  </nav>
  <span id="sweep" aria-live="polite">last sweep: -</span>
  <button id="sign-out" type="button">Change token</button>
</header>
<div id="error" role="alert" hidden></div>
<form id="token-form" hidden>
  <label for="token-input">API token</label>
  <p id="token-message"></p>
  <input id="token-input" type="password" autocomplete="off" size="40" required>
  <button type="submit">Use token</button>
  <p><small>Kept in this tab only (sessionStorage), sent as the Bearer header.</small></p>
</form>
<main id="view" aria-live="polite"></main>
<script src="/console.js" defer></script>
</body>
</html>
`;

const styleHash = createHash('sha256').update(STYLE).digest('base64');
const SECURITY = {
  'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'sha256-${styleHash}'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Answers `/` and `/console.js`, or undefined (at once, with no await on the API's path) for any other path. */
export function consoleRoute(path: string, method: string): Promise<HttpResponse> | undefined {
  if (path !== '/' && path !== '/console.js') return undefined;
  if (method !== 'GET' && method !== 'HEAD') return Promise.resolve(problems.methodNotAllowed(['GET', 'HEAD']));
  if (path === '/') return Promise.resolve({ status: 200, headers: { 'content-type': 'text/html; charset=utf-8', ...SECURITY }, body: PAGE });
  return consoleScript().then((body) => ({ status: 200, headers: { 'content-type': 'text/javascript; charset=utf-8', ...SECURITY }, body }));
}
