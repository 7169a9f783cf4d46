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

/** The key the /api/users/:id route is cached under; the update route rebuilds it to delete it. */
function userKey(prefix, id) {
  return `${prefix}:user:${id}`;
}

/**
 * Builds the Express app.
 * @param {{ cache: ReturnType<typeof import('../../lib').createCache>, keyPrefix?: string }} options
 *   cache: a respcache cache (createCache); keyPrefix: the prefix of this app's cache keys
 *   (default 'api'), given to the routes explicitly so the update route knows the keys.
 * @returns {import('express').Express}
 */
function createApp({ cache, keyPrefix = 'api' }) {
  if (!cache || typeof cache.middleware !== 'function') {
    throw new TypeError('Expected the "cache" option to be a cache made by createCache()');
  }
  const products = seedProducts();
  const users = seedUsers();

  // The keys under which product lists were stored. The default key is a hash of the request
  // (method, host, path, sorted query), which the update route cannot rebuild; with exposeKey the
  // middleware puts it in X-Cache-Key, and the list handler (which runs only on a MISS) records
  // it. This works within one process: deleting by pattern, for several instances sharing a
  // Redis, is not part of respcache yet.
  const productListKeys = new Set();

  const app = express();

  app.get('/api/products', cache.middleware({ ttl: 300, keyPrefix, exposeKey: true }), async (req, res) => {
    const key = res.getHeader('X-Cache-Key');
    if (key) productListKeys.add(String(key));
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

  // Updates a product's name and/or price, then deletes the cached responses that show it: the
  // seller's profile (which lists what they sell) and every product list this process cached.
  app.post('/api/products/:id', express.json(), async (req, res) => {
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

    const listKeys = [...productListKeys];
    productListKeys.clear();
    const keys = [userKey(keyPrefix, product.sellerId), ...listKeys];
    // A failed delete (Redis down) must not fail the update: the stale entries then live until
    // their ttl runs out. The response says which keys could not be deleted, and the list keys
    // among them are kept to be tried again on the next update.
    const results = await Promise.allSettled(keys.map((key) => cache.delete(key)));
    const notInvalidated = keys.filter((_, i) => results[i].status === 'rejected');
    for (const key of notInvalidated) if (listKeys.includes(key)) productListKeys.add(key);
    res.json({ product, invalidated: keys.length - notInvalidated.length, notInvalidated });
  });

  return app;
}

module.exports = { createApp, userKey, DATA_SOURCE_DELAY_MS };
