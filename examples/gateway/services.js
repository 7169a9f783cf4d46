'use strict';

// Three small upstream services behind the gateway, plain node:http servers: users, orders and
// products. Each answers JSON after a short delay (a MISS costs it, a HIT does not), with the
// Cache-Control and ETag headers a real service would send, and answers If-None-Match with 304:
// - users:    GET /users/:id             max-age=30 (the gateway serves it fresh for 30 s)
// - orders:   GET /orders/:userId        no-cache (stored, but revalidated on every use: a 304 is cheap)
// - products: GET /products/recommended/:userId  max-age=60
const http = require('http');
const crypto = require('crypto');

const SERVICE_DELAY_MS = 30;

const USERS = { 1: { id: 1, name: 'Ada', city: 'London' }, 2: { id: 2, name: 'Grace', city: 'Arlington' } };
const ORDERS = { 1: [{ id: 'o-17', total: 42 }], 2: [{ id: 'o-23', total: 18 }, { id: 'o-24', total: 65 }] };
const PRODUCTS = [{ id: 1, name: 'Trowel' }, { id: 2, name: 'Desk lamp' }, { id: 3, name: 'Paperback: SICP' }];

/** Answers `value` as JSON with an ETag of its bytes, or 304 when the client already has them. */
function sendJson(req, res, status, value, cacheControl) {
  const body = Buffer.from(JSON.stringify(value));
  const etag = `"${crypto.createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`;
  const headers = { 'Cache-Control': cacheControl, ETag: etag };
  if (status === 200 && req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

const routes = {
  users(req, res, url) {
    const user = USERS[url.pathname.split('/')[2]];
    if (user) sendJson(req, res, 200, user, 'max-age=30');
    else sendJson(req, res, 404, { error: 'no such user' }, 'max-age=30');
  },
  orders(req, res, url) {
    sendJson(req, res, 200, ORDERS[url.pathname.split('/')[2]] || [], 'no-cache');
  },
  products(req, res, url) {
    const seed = Number(url.pathname.split('/')[3]) || 0;
    sendJson(req, res, 200, PRODUCTS.filter((p) => p.id !== seed), 'max-age=60');
  },
};

/**
 * Starts one service on 127.0.0.1:0.
 * @param {'users'|'orders'|'products'} name
 * @returns {Promise<{ name: string, url: string, requests: number, count(path: string): number,
 *   close(): Promise<void> }>} `requests`: how many requests it answered; `count(path)`: how many
 *   for that path and query (the demo checks the cache spared it some)
 */
async function startService(name) {
  const seen = new Map();
  const service = { name, url: '', requests: 0, count: (path) => seen.get(path) || 0 };
  const server = http.createServer((req, res) => {
    service.requests++;
    seen.set(req.url, service.count(req.url) + 1);
    setTimeout(() => routes[name](req, res, new URL(req.url, 'http://service')), SERVICE_DELAY_MS);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  service.url = `http://127.0.0.1:${server.address().port}`;
  // Stops listening and drops its connections: the gateway's next request to it fails.
  service.close = () => {
    if (!server.listening) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return service;
}

/** Starts the three services. */
async function startServices() {
  const [users, orders, products] = await Promise.all(['users', 'orders', 'products'].map(startService));
  return { users, orders, products };
}

module.exports = { startServices, startService, SERVICE_DELAY_MS };
