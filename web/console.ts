/// <reference lib="dom" />
/**
 * The operator's console in the browser: Fleet, Requests, Alerts and Silences, read from the
 * HTTP API of the same origin with a token kept in sessionStorage (sent as the Bearer header;
 * no cookies). Every text from the API goes into the page as text, never as markup. The view
 * refreshes itself every few seconds while the page is visible.
 */

type Json = any;

const TOKEN_KEY = 'nodepool-pilot-token';
const REFRESH_MS = 4_000;
/** A last sweep older than this is shown as stale. */
const STALE_MS = 3 * 60_000;
const VIEWS = ['fleet', 'requests', 'alerts', 'silences'] as const;
type View = (typeof VIEWS)[number];

const state = {
  view: (VIEWS.includes(location.hash.slice(1) as View) ? location.hash.slice(1) : 'fleet') as View,
  openCluster: '' as string,
  openRequest: '' as string,
  openAlert: '' as string,
  filterState: '',
  filterCluster: '',
  lastSweepAt: null as string | null,
};

class ApiProblem extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** An element with attributes and children; strings become text nodes. */
function h(
  tag: string,
  attrs: Record<string, string | boolean | ((e: Event) => void)> = {},
  ...children: Array<Node | string | null | undefined | false>
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v as EventListener);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

const $ = (id: string) => document.getElementById(id)!;
const ago = (iso: string | null) => {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.floor(s / 60)} min ago` : `${Math.floor(s / 3600)} h ago`;
};
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '-');

async function api(method: string, path: string, body?: unknown): Promise<Json> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new ApiProblem('Enter an API token to see the fleet.', 401);
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });
  } catch {
    throw new ApiProblem('The API cannot be reached. Is nodepool-pilot running?', 0);
  }
  const data = await res.json().catch(() => undefined);
  if (res.ok) return data;
  const detail = data?.errors?.map((e: Json) => `${e.path}: ${e.message}`).join('; ') || data?.detail || res.statusText;
  if (res.status === 401) throw new ApiProblem('The API refused this token (401). Enter a valid API token.', 401);
  if (res.status === 503) throw new ApiProblem(`The service is unavailable right now (503): ${detail}. It will be tried again.`, 503);
  throw new ApiProblem(`The API answered ${res.status}: ${detail}`, res.status);
}

function showError(message: string | null) {
  const box = $('error');
  box.textContent = message ?? '';
  box.hidden = !message;
}

function askForToken(message?: string) {
  $('token-form').hidden = false;
  $('token-message').textContent = message ?? '';
  ($('token-input') as HTMLInputElement).focus();
}

const bar = (serving: number | null | undefined, desired: number | null | undefined) => {
  const max = Math.max(1, desired ?? 0);
  const value = Math.min(max, serving ?? 0);
  return h(
    'span',
    { class: 'progress' },
    h('progress', { max: String(max), value: String(value), 'aria-label': `serving ${serving ?? 0} of ${desired ?? '?'}` }),
    ` ${serving ?? 0}/${desired ?? '?'}`,
  );
};
const badge = (text: string, kind = text) => h('span', { class: `badge ${kind}` }, text);

/** A button that opens or closes the detail of one item (`slot` holds which one is open); its key keeps the focus across refreshes. */
function toggle(slot: 'openCluster' | 'openRequest' | 'openAlert', id: string, label: string): HTMLElement {
  const open = state[slot] === id;
  return h(
    'button',
    {
      class: 'link',
      'aria-expanded': String(open),
      'data-key': `${slot}:${id}`,
      onclick: () => {
        state[slot] = open ? '' : id;
        void render();
      },
    },
    label,
  );
}

// ------------------------------------------------------------------ views

async function fleet(): Promise<Node> {
  const data = await api('GET', '/v1/clusters');
  state.lastSweepAt = data.lastSweepAt;
  const rows: Node[] = [];
  for (const c of data.items) {
    const key = `${c.provider}/${c.clusterId}`;
    const open = state.openCluster === key;
    rows.push(
      h(
        'tr',
        { class: c.reachable ? '' : 'attention' },
        h('td', {}, toggle('openCluster', key, c.clusterId)),
        h('td', {}, c.provider, c.regionId ? ` ${c.regionId}` : ''),
        h('td', {}, c.reachable ? badge('reachable', 'healthy') : badge(`unreachable: ${c.lastError?.code ?? 'error'}`, 'failed')),
        h(
          'td',
          {},
          ...(c.pools.total
            ? (['failed', 'degraded', 'progressing', 'unknown', 'healthy'] as const).filter((k) => c.pools[k]).map((k) => badge(`${c.pools[k]} ${k}`, k))
            : ['no pools']),
        ),
        h('td', {}, c.firingAlerts ? badge(`${c.firingAlerts} firing`, 'failed') : '-'),
        h('td', {}, ago(c.lastListedAt)),
      ),
    );
    if (open) {
      const pools = await api('GET', c.links.nodepools);
      rows.push(
        h(
          'tr',
          { class: 'detail' },
          h(
            'td',
            { colspan: '6' },
            table(
              ['Pool', 'Health', 'State', 'Serving', 'Since', 'Created by', 'Alerts'],
              pools.items.map((p: Json) => [
                h('span', {}, p.name, h('small', {}, ` ${p.id}`)),
                badge(p.health),
                p.state ?? '-',
                bar(p.serving, p.desired),
                when(p.stateSince),
                p.request ? p.request.id : 'not by us',
                p.alerts.map((a: Json) => a.rule).join(', ') || '-',
              ]),
            ),
          ),
        ),
      );
    }
  }
  return h(
    'section',
    {},
    h('h2', {}, 'Fleet'),
    data.items.length
      ? h(
          'table',
          {},
          h('thead', {}, h('tr', {}, ...['Cluster', 'Provider', 'Listing', 'Pools', 'Alerts', 'Listed'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, ...rows),
        )
      : h('p', {}, 'No cluster is watched yet: the first sweep lists them.'),
  );
}

function table(headers: string[], rows: Array<Array<Node | string>>): HTMLElement {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

async function requests(): Promise<Node> {
  const q = new URLSearchParams({ limit: '50' });
  if (state.filterState) q.set('state', state.filterState);
  if (state.filterCluster) q.set('clusterId', state.filterCluster);
  const page = await api('GET', `/v1/nodepool-requests?${q}`);
  const detail = state.openRequest ? await api('GET', `/v1/nodepool-requests/${encodeURIComponent(state.openRequest)}`).catch(() => null) : null;
  const filters = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e) => {
        e.preventDefault();
        const f = e.target as HTMLFormElement;
        state.filterState = (f.elements.namedItem('state') as HTMLSelectElement).value;
        state.filterCluster = (f.elements.namedItem('cluster') as HTMLInputElement).value.trim();
        void render();
      },
    },
    h(
      'label',
      {},
      'State ',
      h(
        'select',
        { name: 'state' },
        ...['', 'accepted', 'submitting', 'creating', 'applying', 'active', 'deleted', 'failed', 'timed_out', 'rejected'].map((s) =>
          h('option', { value: s, selected: s === state.filterState }, s || 'any'),
        ),
      ),
    ),
    h('label', {}, 'Cluster ', h('input', { name: 'cluster', value: state.filterCluster, placeholder: 'any', size: '24' })),
    h('button', { type: 'submit' }, 'Filter'),
  );
  return h(
    'section',
    {},
    h('h2', {}, 'Requests'),
    filters,
    table(
      ['Request', 'Operation', 'State', 'Cluster', 'Pool', 'Progress', 'Created'],
      page.items.map((r: Json) => [
        toggle('openRequest', r.id, r.id),
        r.operation === 'scale' ? `scale to ${r.desiredSize}` : (r.operation ?? 'create'),
        badge(r.state),
        r.clusterId,
        r.nodepoolName,
        bar(r.observed?.serving, r.desiredSize ?? r.observed?.desired ?? r.request?.ScalingGroup?.DesiredSize ?? r.request?.scaling_group?.desired_size),
        when(r.createdAt),
      ]),
    ),
    detail ? requestDetail(detail) : null,
  );
}

function requestDetail(r: Json): Node {
  return h(
    'article',
    { class: 'detail', 'aria-label': `request ${r.id}` },
    h('h3', {}, `${r.operation ?? 'create'} ${r.nodepoolName} `, badge(r.state)),
    h('p', {}, `${r.provider} cluster ${r.clusterId}, pool ${r.nodepoolId ?? 'not yet created'}, ${r.attempts} attempt(s), deadline ${when(r.deadlineAt)}`),
    r.lastError
      ? h(
          'p',
          { class: 'problem' },
          h('strong', {}, r.lastError.code),
          `: ${r.lastError.message}`,
          r.lastError.requestId ? ` (cloud request id ${r.lastError.requestId})` : '',
        )
      : null,
    h(
      'ol',
      { class: 'timeline' },
      ...(r.history ?? []).map((e: Json) =>
        h(
          'li',
          {},
          h('time', { datetime: e.at }, when(e.at)),
          ' ',
          badge(e.state),
          ` ${e.note}`,
          e.cloudRequestId ? ` (cloud request id ${e.cloudRequestId})` : '',
        ),
      ),
    ),
  );
}

async function alerts(): Promise<Node> {
  const page = await api('GET', '/v1/alerts?limit=100');
  const items = [...page.items].sort((a: Json, b: Json) => (a.state === b.state ? 0 : a.state === 'firing' ? -1 : 1));
  const open = items.find((a: Json) => a.id === state.openAlert);
  return h(
    'section',
    {},
    h('h2', {}, 'Alerts'),
    items.length
      ? table(
          ['Alert', 'State', 'Severity', 'Cluster', 'Pool', 'Since', 'Marks'],
          items.map((a: Json) => [
            toggle('openAlert', a.id, a.rule),
            badge(a.state, a.state === 'firing' ? 'failed' : 'healthy'),
            badge(a.severity),
            a.labels.clusterId,
            a.labels.nodepoolName ?? a.labels.nodepoolId ?? '-',
            when(a.startsAt),
            h('span', {}, a.silenced ? badge('silenced') : '', a.inhibited ? badge('inhibited') : ''),
          ]),
        )
      : h('p', {}, 'No alerts.'),
    open ? alertDetail(open) : null,
  );
}

function alertDetail(a: Json): Node {
  const pool = a.labels.nodepoolId ?? a.labels.nodepoolName;
  return h(
    'article',
    { class: 'detail', 'aria-label': `alert ${a.rule}` },
    h('h3', {}, `${a.rule} on ${pool ?? a.labels.clusterId}`),
    h('h4', {}, 'Labels'),
    h('pre', {}, JSON.stringify(a.labels, null, 2)),
    h('h4', {}, 'Annotations'),
    h('pre', {}, JSON.stringify(a.annotations, null, 2)),
    a.state === 'firing'
      ? h(
          'form',
          {
            class: 'silence',
            onsubmit: async (e) => {
              e.preventDefault();
              const f = e.target as HTMLFormElement;
              const hours = Number((f.elements.namedItem('hours') as HTMLSelectElement).value);
              const comment = (f.elements.namedItem('comment') as HTMLInputElement).value.trim();
              try {
                await api('POST', '/v1/silences', {
                  matchers: { provider: a.labels.provider, clusterId: a.labels.clusterId, ...(pool ? { pool } : {}), rule: a.rule },
                  endsAt: new Date(Date.now() + hours * 3600_000).toISOString(),
                  ...(comment ? { comment } : {}),
                });
                showError(null);
                await render();
              } catch (err) {
                showError((err as Error).message);
              }
            },
          },
          h('h4', {}, 'Silence it'),
          h(
            'label',
            {},
            'For ',
            h('select', { name: 'hours' }, ...[1, 2, 4, 8, 24].map((n) => h('option', { value: String(n), selected: n === 2 }, `${n} h`))),
          ),
          h('label', {}, ' Comment ', h('input', { name: 'comment', size: '30' })),
          h('button', { type: 'submit' }, 'Silence'),
        )
      : null,
  );
}

async function silences(): Promise<Node> {
  const page = await api('GET', '/v1/silences');
  return h(
    'section',
    {},
    h('h2', {}, 'Silences'),
    page.items.length
      ? table(
          ['Silence', 'State', 'Matchers', 'Ends', 'Comment', ''],
          page.items.map((s: Json) => [
            s.id,
            badge(s.state, s.state === 'active' ? 'progressing' : 'unknown'),
            Object.entries(s.matchers)
              .map(([k, v]) => `${k}=${v}`)
              .join(', '),
            when(s.endsAt),
            s.comment ?? '',
            s.state === 'expired'
              ? ''
              : h(
                  'button',
                  {
                    onclick: async () => {
                      try {
                        await api('DELETE', `/v1/silences/${encodeURIComponent(s.id)}`);
                        await render();
                      } catch (err) {
                        showError((err as Error).message);
                      }
                    },
                  },
                  'Expire',
                ),
          ]),
        )
      : h('p', {}, 'No silences.'),
  );
}

// ------------------------------------------------------------------ frame

const RENDER: Record<View, () => Promise<Node>> = { fleet, requests, alerts, silences };
let rendering = false;

async function render(): Promise<void> {
  if (rendering) return;
  rendering = true;
  try {
    for (const v of VIEWS) $(`nav-${v}`).setAttribute('aria-current', String(v === state.view));
    const view = await RENDER[state.view]();
    if (state.view !== 'fleet') state.lastSweepAt = (await api('GET', '/v1/clusters')).lastSweepAt;
    // Keep the keyboard where it was: the element with the same key gets the focus back.
    const focused = document.activeElement?.getAttribute('data-key');
    $('view').replaceChildren(view);
    if (focused) ($('view').querySelector(`[data-key="${CSS.escape(focused)}"]`) as HTMLElement | null)?.focus();
    const sweep = $('sweep');
    sweep.textContent = `last sweep: ${ago(state.lastSweepAt)}`;
    sweep.className = state.lastSweepAt && Date.now() - Date.parse(state.lastSweepAt) > STALE_MS ? 'stale' : '';
    showError(null);
  } catch (err) {
    const problem = err as ApiProblem;
    showError(problem.message);
    if (problem.status === 401) askForToken(problem.message);
  } finally {
    rendering = false;
  }
}

function start(): void {
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('token-input') as HTMLInputElement;
    if (!input.value.trim()) return;
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    input.value = '';
    $('token-form').hidden = true;
    void render();
  });
  $('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $('view').replaceChildren();
    askForToken();
  });
  for (const v of VIEWS)
    $(`nav-${v}`).addEventListener('click', () => {
      state.view = v;
      history.replaceState(null, '', `#${v}`);
      void render();
    });
  if (sessionStorage.getItem(TOKEN_KEY)) void render();
  else askForToken();
  setInterval(() => {
    // Not while someone types into a form of the view: a refresh would throw their input away.
    const typing = $('view').contains(document.activeElement) && /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement!.tagName);
    if (document.visibilityState === 'visible' && sessionStorage.getItem(TOKEN_KEY) && !typing) void render();
  }, REFRESH_MS);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && sessionStorage.getItem(TOKEN_KEY)) void render();
  });
}

start();
