'use strict';

// A gateway in front of the three services of services.js, cached in Redis by respcache:
// - /users/*, /orders/*, /products/*: cache.proxy() to each service, an RFC 9111 shared cache that
//   follows the services' own Cache-Control and ETag (fresh HITs, 304 revalidations);
// - /profile/:id: one response aggregated from the three services with cache.aggregate() (each
//   call cached by its own rules), itself cached 60 s by cache.middleware() and tagged `user:<id>`;
// - POST /admin/invalidate {"tags": [...]}: drops every entry carrying one of the tags.
// Used by server.js (a runnable gateway) and demo.js (what `npm run demo:gateway` runs).
const express = require('express');

const PROFILE_TIMEOUT_MS = 1000;

/** The user id of a users-service URL (/users/:id), for its tag. */
function userTags(request) {
  const id = new URL(request.url).pathname.split('/')[2];
  return id ? [`user:${id}`] : [];
}

/**
 * Builds the gateway app.
 * @param {{ cache: ReturnType<typeof import('../../lib').createCache>,
 *   services: { users: string, orders: string, products: string } }} options the services' base URLs
 * @returns {import('express').Express}
 */
function createGateway({ cache, services }) {
  if (!cache || typeof cache.proxy !== 'function') {
    throw new TypeError('Expected the "cache" option to be a cache made by createCache()');
  }
  const app = express();

  // Mounted at '/users', Express hands the proxy '/1' for '/users/1': the upstream URL's path
  // ('/users') is put back in front, so the gateway asks the service for '/users/1'.
  // These services build no links from X-Forwarded-Host/-Proto, so none are sent
  // (xForwarded: false): the entries are then keyed by the URL alone, as cache.fetch()'s are,
  // and the profile's service calls below read what these routes stored.
  const proxied = { xForwarded: false };
  app.use('/users', cache.proxy(`${services.users}/users`, { ...proxied, tags: userTags }));
  app.use('/orders', cache.proxy(`${services.orders}/orders`, proxied));
  app.use('/products', cache.proxy(`${services.products}/products`, { ...proxied, tags: ['products'] }));

  // The aggregated profile. Its service calls are the very URLs the proxy routes store, so they
  // share entries; a profile with a part missing says so (partial) and is not stored.
  app.get('/profile/:id', cache.middleware({ ttl: 60, tags: (req) => [`user:${req.params.id}`, 'profiles'] }),
    async (req, res, next) => {
      const id = encodeURIComponent(req.params.id);
      try {
        const { results, partial, errors } = await cache.aggregate({
          user: { url: `${services.users}/users/${id}`, tags: [`user:${id}`] },
          orders: { url: `${services.orders}/orders/${id}` },
          recommended: { url: `${services.products}/products/recommended/${id}`, tags: ['products'] },
        }, { timeout: PROFILE_TIMEOUT_MS });
        if (errors.user) {
          const status = errors.user.status === 404 ? 404 : 502;
          res.status(status).set('Cache-Control', 'no-store').json({ error: `user ${id}: ${errors.user.message}` });
          return;
        }
        if (partial) res.set('Cache-Control', 'no-store');
        res.json({
          user: results.user.body,
          orders: results.orders ? results.orders.body : null,
          recommended: results.recommended ? results.recommended.body : null,
          partial,
          unavailable: Object.keys(errors),
        });
      } catch (err) {
        next(err);
      }
    });

  app.post('/admin/invalidate', express.json(), async (req, res, next) => {
    const tags = req.body && req.body.tags;
    if (!Array.isArray(tags) || tags.length === 0 || !tags.every((t) => typeof t === 'string' && t.length > 0)) {
      res.status(400).json({ error: 'expected {"tags": ["<tag>", ...]}' });
      return;
    }
    try {
      res.json({ removed: await cache.invalidateTags(tags) });
    } catch (err) {
      next(err);
    }
  });

  return app;
}

module.exports = { createGateway };
