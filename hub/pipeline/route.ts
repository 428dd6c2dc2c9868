/** Routing: which systems receive an accepted document. Never back to the system it came from. */
import type { CanonicalType } from '../../schemas/index';
import type { RouteConfig } from '../config/schema';

export interface RoutePlan {
  routeId: string;
  target: string;
  /** `change-request` when a non-owner's change is forwarded to the owner (propose policy). */
  kind: 'update' | 'change-request';
}

/**
 * The routes an accepted document of `type` from `source` goes out on.
 * @example routesFor(routes, 'ProductionOrder', order, 'erp') // [{ routeId: 'orders-to-mes', target: 'mes', kind: 'update' }]
 */
export function routesFor(
  routes: RouteConfig[],
  type: CanonicalType,
  document: Record<string, unknown>,
  source: string,
): RoutePlan[] {
  return routes
    .filter((route) => route.target !== source && route.types.includes(type) && matches(route.filter, document))
    .map((route) => ({ routeId: route.id, target: route.target, kind: 'update' as const }));
}

/** The route a change request to `owner` takes: the first route to the owner that carries the type. */
export function changeRequestRoute(routes: RouteConfig[], type: CanonicalType, owner: string): RoutePlan | undefined {
  const route = routes.find((candidate) => candidate.target === owner && candidate.types.includes(type));
  return route && { routeId: route.id, target: owner, kind: 'change-request' };
}

function matches(filter: RouteConfig['filter'], document: Record<string, unknown>): boolean {
  if (!filter) return true;
  return Object.entries(filter).every(([path, expected]) => {
    const value = path
      .split('.')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
    const allowed = Array.isArray(expected) ? expected : [expected];
    return typeof value === 'string' && allowed.includes(value);
  });
}
