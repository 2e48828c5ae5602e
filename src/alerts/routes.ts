/**
 * Where an alert goes by ALERT_ROUTES (see config-routes.ts for the tree and its rules):
 * the routes that take it, each with its channels and grouping.
 */
import type { RouteConfig } from '../config-routes.js';
import type { AlertLabels } from '../store/alerts.js';

function matches(route: RouteConfig, labels: AlertLabels): boolean {
  for (const [k, v] of Object.entries(route.match)) if (labels[k] !== v) return false;
  for (const [k, re] of Object.entries(route.matchRe)) if (!re.test(labels[k] ?? '')) return false;
  return true;
}

/**
 * The routes under `route` that take the alert, or `route` itself when none of its children
 * does: from the root, which so takes what no route does.
 */
export function routesFor(route: RouteConfig, labels: AlertLabels): RouteConfig[] {
  const taken: RouteConfig[] = [];
  for (const child of route.routes) {
    if (!matches(child, labels)) continue;
    taken.push(...routesFor(child, labels));
    if (!child.continue) break;
  }
  return taken.length ? taken : [route];
}

/** The key an alert is grouped by on a route: the route and the values of its groupBy labels. */
export function groupKeyOf(route: RouteConfig, labels: AlertLabels): string {
  return [route.id, ...route.groupBy.map((k) => `${k}=${labels[k] ?? ''}`)].join('/');
}
