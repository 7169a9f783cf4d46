'use strict';

// Runs the products API:  PORT=3000 REDIS_URL=redis://127.0.0.1:6379/0 node examples/products-api/server.js
// Without a reachable Redis it still answers every request (X-Cache: BYPASS) and logs why.
const { createCache } = require('../../lib'); // require('respcache') in your own app
const { createApp } = require('./app');

const port = Number(process.env.PORT || 3000);
const redis = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0'; // createCache({}) without it: in-process only

const cache = createCache({ redis, keyPrefix: 'api', connectTimeout: 1000, commandTimeout: 100 });
cache.on('ready', () => console.log(`respcache: connected to ${redis}`));
// Cache faults never fail a request (the handler answers instead); they are reported here. While
// Redis is down every reconnect attempt reports one, so log each code once until 'ready' again.
const reported = new Set();
cache.on('error', (err) => {
  if (reported.has(err.code)) return;
  reported.add(err.code);
  console.warn(`respcache: ${err.code}: ${err.message} (serving without the cache)`);
});
cache.on('ready', () => reported.clear());

const app = createApp({ cache });
const server = app.listen(port, (err) => {
  if (err) {
    console.error(`cannot listen on port ${port}: ${err.message}`);
    process.exitCode = 1;
    cache.close();
    return;
  }
  console.log(`products API on http://127.0.0.1:${server.address().port}`);
  console.log('  GET  /api/products[?category=garden|home|books]');
  console.log('  GET  /api/users/:id');
  console.log('  POST /api/products/:id  {"price": 10}');
});

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: closing`);
  server.close();
  server.closeIdleConnections();
  await cache.close();
  // Nothing is left to keep the process alive: it exits on its own.
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
