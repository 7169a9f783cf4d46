'use strict';

// Runs the three services and the gateway:  PORT=3000 REDIS_URL=redis://127.0.0.1:6379/0 node examples/gateway/server.js
// Without a reachable Redis the gateway still answers every request (X-Cache: BYPASS).
const { createCache } = require('../../lib'); // require('respcache') in your own app
const { createGateway } = require('./app');
const { startServices } = require('./services');

const port = Number(process.env.PORT || 3000);
const redis = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';

async function main() {
  const cache = createCache({ redis, keyPrefix: 'gw', connectTimeout: 1000, commandTimeout: 100 });
  cache.on('error', (err) => console.warn(`respcache: ${err.code}: ${err.message}`));
  const services = await startServices();
  const urls = { users: services.users.url, orders: services.orders.url, products: services.products.url };
  const server = createGateway({ cache, services: urls }).listen(port, () => {
    console.log(`gateway on http://127.0.0.1:${server.address().port}`);
    console.log('  GET  /users/:id  /orders/:userId  /products/recommended/:userId  (proxied, cached by their headers)');
    console.log('  GET  /profile/:id  (aggregated, cached 60 s, tagged user:<id>)');
    console.log('  POST /admin/invalidate  {"tags": ["user:1"]}');
  });
  const stop = async () => {
    server.close();
    server.closeIdleConnections();
    await Promise.all(Object.values(services).map((s) => s.close()));
    await cache.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main();
