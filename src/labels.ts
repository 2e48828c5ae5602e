/**
 * Labels a caller puts on a request (`team`, `env`, …): kept on the request and copied onto
 * its pool's alerts, where ALERT_ROUTES matches them. Bounded: at most 10, keys as Prometheus
 * label names in lower case, values 1 to 128 readable characters; the names the alerts
 * already carry are refused, so a label can never change what an alert is.
 */
import { type Issue, isStorableText, UNREADABLE_CHARS } from './text.js';

export type Labels = Record<string, string>;

const MAX_LABELS = 10;
const KEY = /^[a-z][a-z0-9_]{0,62}$/;
const VALUE_MAX = 128;
/** What every alert carries of its own (rules.ts), and Alertmanager's name for the rule. */
const RESERVED_LABELS = ['rule', 'severity', 'alertname', 'provider', 'regionId', 'clusterId', 'nodepoolName', 'nodepoolId'];

/** Every problem with a labels object, by path. */
export function labelIssues(value: unknown, path: string): Issue[] {
  if (value === undefined) return [];
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [{ path, message: 'must be an object of label names to values' }];
  const issues: Issue[] = [];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_LABELS) issues.push({ path, message: `must have at most ${MAX_LABELS} labels` });
  for (const [k, v] of entries) {
    const at = `${path}.${isStorableText(k) && !UNREADABLE_CHARS.test(k) ? k : '(unprintable key)'}`;
    if (!KEY.test(k)) issues.push({ path: at, message: 'the name must be 1 to 63 lower-case letters, digits or underscores, starting with a letter' });
    else if (RESERVED_LABELS.map((r) => r.toLowerCase()).includes(k))
      issues.push({ path: at, message: `is a name the alerts carry themselves (${RESERVED_LABELS.join(', ')})` });
    if (typeof v !== 'string' || v.length === 0 || v.length > VALUE_MAX) issues.push({ path: at, message: `must be a string of 1 to ${VALUE_MAX} characters` });
    else if (!isStorableText(v) || UNREADABLE_CHARS.test(v)) issues.push({ path: at, message: 'must not contain control characters or invalid Unicode' });
  }
  return issues;
}
