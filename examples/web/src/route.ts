import { useEffect, useState } from 'react';

/** The app's pages, from the URL's hash (#/, #/orders, #/orders/<id>, #/admin): moving between them loads nothing. */
export type Route = { page: 'shop' } | { page: 'orders' } | { page: 'order'; id: string } | { page: 'admin' };

export function routeOf(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const order = /^\/orders\/([^/]+)$/.exec(path);
  if (order) return { page: 'order', id: decodeURIComponent(order[1]!) };
  if (path === '/orders') return { page: 'orders' };
  if (path === '/admin') return { page: 'admin' };
  return { page: 'shop' };
}

export const hrefOf = (route: Route): string =>
  route.page === 'order' ? `#/orders/${encodeURIComponent(route.id)}` : route.page === 'shop' ? '#/' : `#/${route.page}`;

export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(routeOf(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

export function go(route: Route): void {
  window.location.hash = hrefOf(route);
}
