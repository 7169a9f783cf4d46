'use strict';

// A small products API whose two read routes are cached in Redis by respcache, and one write
// route that invalidates what it changed. The "database" is an in-memory array behind a 20 ms
// delay, so a MISS costs about 20 ms and a HIT does not.
//
// Used by server.js (a runnable server) and demo.js (what `npm run demo` runs).
const express = require('express');
const { setTimeout: sleep } = require('timers/promises');

const DATA_SOURCE_DELAY_MS = 20;

function seedProducts() {
  return [
    { id: 1, name: 'Trowel', category: 'garden', price: 12.5, sellerId: 1 },
    { id: 2, name: 'Watering can', category: 'garden', price: 18, sellerId: 1 },
    { id: 3, name: 'Hedge shears', category: 'garden', price: 34.9, sellerId: 2 },
    { id: 4, name: 'Desk lamp', category: 'home', price: 29, sellerId: 2 },
    { id: 5, name: 'Wool blanket', category: 'home', price: 59, sellerId: 3 },
    { id: 6, name: 'Paperback: SICP', category: 'books', price: 42, sellerId: 3 },
    { id: 7, name: 'Paperback: TAOCP vol. 1', category: 'books', price: 65, sellerId: 1 },
  ];
}

function seedUsers() {
  return [
    { id: 1, name: 'Ada', city: 'London' },
    { id: 2, name: 'Grace', city: 'Arlington' },
    { id: 3, name: 'Edsger', city: 'Austin' },
  ];
}

/** The key the /api/users/:id route is cached under (cache.delete(userKey(prefix, id)) drops it). */
function userKey(prefix, id) {
  return `${prefix}:user:${id}`;
}

/**
 * Builds the Express app.
 * @param {{ cache: ReturnType<typeof import('../../lib').createCache>, keyPrefix?: string }} options
 *   cache: a respcache cache (createCache); keyPrefix: the prefix of this app's cache keys
 *   (default 'api'), given to the routes explicitly.
 * @returns {import('express').Express}
 */
function createApp({ cache, keyPrefix = 'api' }) {
  if (!cache || typeof cache.middleware !== 'function') {
    throw new TypeError('Expected the "cache" option to be a cache made by createCache()');
  }
  const products = seedProducts();
  const users = seedUsers();
  const app = express();

  // Every product list carries the tag 'products'; a user's profile carries `user:<id>`. The tag
  // indexes live in Redis, so an update on any instance invalidates what every instance stored.
  app.get('/api/products', cache.middleware({ ttl: 300, keyPrefix, tags: ['products'] }), async (req, res) => {
    await sleep(DATA_SOURCE_DELAY_MS);
    const { category } = req.query;
    const list = typeof category === 'string'
      ? products.filter((p) => p.category === category)
      : products;
    res.json({ products: list, count: list.length, generatedAt: new Date().toISOString() });
  });

  app.get('/api/users/:id', cache.middleware({
    ttl: 600,
    keyPrefix,
    keyBuilder: (req, prefix) => userKey(prefix, req.params.id),
    tags: (req) => [`user:${req.params.id}`],
  }), async (req, res) => {
    await sleep(DATA_SOURCE_DELAY_MS);
    const user = users.find((u) => String(u.id) === req.params.id);
    if (!user) {
      // Only 200 responses are stored (the default "statuses"), so this 404 is not cached.
      res.status(404).json({ error: `no user ${req.params.id}` });
      return;
    }
    const selling = products.filter((p) => p.sellerId === user.id)
      .map(({ id, name, price }) => ({ id, name, price }));
    res.json({ ...user, selling, generatedAt: new Date().toISOString() });
  });

  // Updates a product's name and/or price. On success (2xx) the cache removes the responses that
  // show it, every product list and the seller's profile, before the response's last byte goes
  // out, so the client that wrote reads its own write. A failed invalidation (Redis down) does not
  // fail the update: it is reported on the cache's 'error' event.
  app.post('/api/products/:id', express.json(), cache.middleware({
    invalidates: (req, res) => ['products', `user:${res.locals.sellerId}`],
  }), async (req, res) => {
    const product = products.find((p) => String(p.id) === req.params.id);
    if (!product) {
      res.status(404).json({ error: `no product ${req.params.id}` });
      return;
    }
    const { name, price } = req.body || {};
    if (name !== undefined && (typeof name !== 'string' || name === '')) {
      res.status(400).json({ error: '"name" must be a non-empty string' });
      return;
    }
    if (price !== undefined && !(typeof price === 'number' && Number.isFinite(price) && price >= 0)) {
      res.status(400).json({ error: '"price" must be a non-negative number' });
      return;
    }
    await sleep(DATA_SOURCE_DELAY_MS);
    if (name !== undefined) product.name = name;
    if (price !== undefined) product.price = price;
    res.locals.sellerId = product.sellerId;
    res.json({ product });
  });

  return app;
}

module.exports = { createApp, userKey, DATA_SOURCE_DELAY_MS };
