/**
 * ALERT_ROUTES, after Alertmanager's routing tree: which channels hear which alerts.
 *
 *   {"routes": [{"match": {"team": "payments"}, "channels": ["payments-dingtalk"], "groupBy": ["clusterId"],
 *                "routes": [...]},
 *               {"matchRe": {"severity": "critical"}, "channels": ["pager"], "continue": true}],
 *    "default": {"channels": ["ops-webhook"]}}
 *
 * A route matches an alert when every `match` label equals and every `matchRe` label matches
 * (the whole value) the alert's; the labels are the alert's own (rule, severity, provider,
 * regionId, clusterId, nodepoolName, nodepoolId) and its request's and cluster's labels. An
 * alert goes down the first matching route of each level (and on to the next ones of that
 * level after a route with `continue`); a route none of whose children match takes it itself;
 * one that matches no route goes to `default`. `groupBy` puts the alerts of one sweep that share
 * those labels in one message (all of a route's in one when it is empty), and
 * `repeatIntervalMinutes` repeats a firing alert on the route that often (REPEAT_INTERVAL_MINUTES
 * when not given). Checked at start: a route's channels must be named in ALERT_CHANNELS.
 */
export interface RouteConfig {
  /** Its place in the tree, such as `routes[0].routes[1]`, or `default`. */
  id: string;
  match: Record<string, string>;
  matchRe: Record<string, RegExp>;
  channels: string[];
  groupBy: string[];
  continue: boolean;
  /** How often the route repeats a firing alert; REPEAT_INTERVAL_MINUTES when not given. */
  repeatIntervalMinutes?: number;
  /** Who its messages mention on its chat channels, instead of the channels' own (a Feishu channel skips mobiles). */
  mentions?: Mentions;
  routes: RouteConfig[];
}

const FIELDS = ['match', 'matchRe', 'channels', 'groupBy', 'continue', 'repeatIntervalMinutes', 'mentions', 'routes'];
const MAX_DEPTH = 5;
const MAX_ROUTES = 100;

/** The routing tree (its root is the default route), or undefined without ALERT_ROUTES; problems are pushed by path. */
export function parseRoutes(raw: string | undefined, channelNames: string[], problems: string[]): RouteConfig | undefined {
  if (!raw) return undefined;
  let tree: unknown;
  try {
    tree = JSON.parse(raw);
  } catch {
    problems.push('ALERT_ROUTES must be JSON: {"routes": [...], "default": {"channels": [...]}}');
    return undefined;
  }
  if (!tree || typeof tree !== 'object' || Array.isArray(tree)) {
    problems.push('ALERT_ROUTES must be an object with "routes" and "default"');
    return undefined;
  }
  const t = tree as Record<string, unknown>;
  for (const k of Object.keys(t)) if (k !== 'routes' && k !== 'default') problems.push(`ALERT_ROUTES.${k} is not a known field (routes, default)`);
  let count = 0;
  const route = (v: unknown, at: string, depth: number, isDefault: boolean): RouteConfig => {
    const out: RouteConfig = { id: at.replace(/^ALERT_ROUTES\./, ''), match: {}, matchRe: {}, channels: [], groupBy: [], continue: false, routes: [] };
    if (++count > MAX_ROUTES) {
      if (count === MAX_ROUTES + 1) problems.push(`ALERT_ROUTES has more than ${MAX_ROUTES} routes`);
      return out;
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      problems.push(`${at} must be an object`);
      return out;
    }
    const r = v as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      if (!FIELDS.includes(k)) problems.push(`${at}.${k} is not a known field (${FIELDS.join(', ')})`);
      else if (isDefault && (k === 'match' || k === 'matchRe' || k === 'continue'))
        problems.push(`${at}.${k}: the default route takes every alert no route took`);
    }
    const strings = (k: string, value: unknown): Record<string, string> => {
      if (value === undefined) return {};
      if (!value || typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((x) => typeof x !== 'string')) {
        problems.push(`${at}.${k} must be an object of label names to strings`);
        return {};
      }
      return value as Record<string, string>;
    };
    out.match = strings('match', r.match);
    for (const [label, re] of Object.entries(strings('matchRe', r.matchRe))) {
      try {
        out.matchRe[label] = new RegExp(`^(?:${re})$`);
      } catch {
        problems.push(`${at}.matchRe.${label} is not a regular expression`);
      }
    }
    const list = (k: string, value: unknown): string[] => {
      if (value === undefined) return [];
      if (!Array.isArray(value) || value.some((x) => typeof x !== 'string' || !x)) {
        problems.push(`${at}.${k} must be a list of names`);
        return [];
      }
      return value as string[];
    };
    out.channels = list('channels', r.channels);
    for (const c of out.channels)
      if (!channelNames.includes(c)) problems.push(`${at}.channels: ${c} is not a channel of ALERT_CHANNELS (${channelNames.join(', ') || 'none'})`);
    out.groupBy = list('groupBy', r.groupBy);
    if (r.continue !== undefined && typeof r.continue !== 'boolean') problems.push(`${at}.continue must be true or false`);
    const mentions = parseMentions(r.mentions, 'route', `${at}.mentions`, problems);
    if (mentions) out.mentions = mentions;
    const repeat = r.repeatIntervalMinutes;
    if (repeat !== undefined) {
      if (typeof repeat !== 'number' || !Number.isInteger(repeat) || repeat < 1 || repeat > 10_080)
        problems.push(`${at}.repeatIntervalMinutes must be a whole number of minutes from 1 to 10080 (a week)`);
      else out.repeatIntervalMinutes = repeat;
    }
    out.continue = r.continue === true;
    if (r.routes !== undefined && !Array.isArray(r.routes)) problems.push(`${at}.routes must be a list`);
    if (Array.isArray(r.routes)) {
      if (depth >= MAX_DEPTH) problems.push(`${at}.routes: routes nest at most ${MAX_DEPTH} deep`);
      else out.routes = r.routes.map((child, i) => route(child, `${at}.routes[${i}]`, depth + 1, false));
    }
    if (!isDefault && !out.channels.length && !out.routes.length) problems.push(`${at} sends nowhere: give it channels or routes`);
    return out;
  };
  const root = route(t.default ?? { channels: [] }, 'ALERT_ROUTES.default', 0, true);
  root.id = 'default';
  if (t.routes !== undefined && !Array.isArray(t.routes)) problems.push('ALERT_ROUTES.routes must be a list');
  const top = Array.isArray(t.routes) ? t.routes : [];
  root.routes = top.map((child, i) => route(child, `ALERT_ROUTES.routes[${i}]`, 1, false));
  return root;
}

/**
 * Who a chat channel mentions in a firing message with an alert at or above `minSeverity`
 * (`critical` unless given): DingTalk `at.atMobiles`, `at.atUserIds` and `at.isAtAll`; WeCom
 * `mentioned_mobile_list` and `mentioned_list` (a text message, the type that takes them);
 * Feishu `at` elements of a post, by user id (Feishu mentions no phone number).
 */
export interface Mentions {
  mobiles: string[];
  userIds: string[];
  all: boolean;
  minSeverity: 'info' | 'warning' | 'critical';
}

const MENTION_TYPES: Record<string, Array<'mobiles' | 'userIds' | 'all'>> = {
  route: ['mobiles', 'userIds', 'all'],
  dingtalk: ['mobiles', 'userIds', 'all'],
  wecom: ['mobiles', 'userIds', 'all'],
  feishu: ['userIds', 'all'],
};

/** A channel's `mentions`, or undefined without one; problems are pushed by path. */
export function parseMentions(v: unknown, channelType: string, at: string, problems: string[]): Mentions | undefined {
  if (v === undefined) return undefined;
  const allowed = MENTION_TYPES[channelType];
  if (!allowed) {
    problems.push(`${at}: ${channelType} channels mention no one (mentions are for dingtalk, wecom and feishu)`);
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    problems.push(`${at} must be an object: {"mobiles"?, "userIds"?, "all"?, "minSeverity"?}`);
    return undefined;
  }
  const m = v as Record<string, unknown>;
  for (const k of Object.keys(m)) {
    if (k !== 'minSeverity' && !allowed.includes(k as never)) problems.push(`${at}.${k} is not something ${channelType} mentions by (${allowed.join(', ')})`);
  }
  const list = (k: string, pattern: RegExp): string[] => {
    const x = m[k];
    if (x === undefined) return [];
    if (!Array.isArray(x) || x.length > 50 || x.some((s) => typeof s !== 'string' || !pattern.test(s))) {
      problems.push(`${at}.${k} must be a list of at most 50 ${k === 'mobiles' ? 'phone numbers (digits, an optional leading +)' : 'user ids'}`);
      return [];
    }
    return x as string[];
  };
  const minSeverity = m.minSeverity ?? 'critical';
  if (minSeverity !== 'info' && minSeverity !== 'warning' && minSeverity !== 'critical') problems.push(`${at}.minSeverity must be info, warning or critical`);
  if (m.all !== undefined && typeof m.all !== 'boolean') problems.push(`${at}.all must be true or false`);
  return {
    mobiles: list('mobiles', /^\+?\d{5,20}$/),
    userIds: list('userIds', /^[\w.@-]{1,64}$/),
    all: m.all === true,
    minSeverity: minSeverity as Mentions['minSeverity'],
  };
}

/** The shortest repeat interval of the tree and the global one, in ms: how often a firing alert may be due again somewhere. */
export function shortestRepeatMs(root: RouteConfig | undefined, globalMinutes: number): number {
  let minutes = globalMinutes;
  const walk = (r: RouteConfig) => {
    if (r.repeatIntervalMinutes !== undefined) minutes = Math.min(minutes, r.repeatIntervalMinutes);
    r.routes.forEach(walk);
  };
  if (root) walk(root);
  return minutes * 60_000;
}
