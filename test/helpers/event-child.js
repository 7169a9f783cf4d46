'use strict';

// Run as a child process by test/integration/invalidation.test.js: a near cache (local tier in front of Redis)
// serving /p/:id tagged product:<id>, listening for 'product_updated' events. Writes one JSON line
// per happening to stdout: { port } once ready, { invalidated } per invalidation heard,
// { event, payload } per event; exits when stdin closes.
//   node event-child.js <redis-url>
const path = require('path');
const express = require('express');
const { createCache } = require(path.join(__dirname, '..', '..', 'lib'));
const { busReady } = require('./internals');

const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

async function main() {
  const cache = createCache({ redis: process.argv[2], local: { ttl: 60 }, commandTimeout: 2000 });
  cache.on('error', (err) => say({ error: err.code || err.message }));
  cache.on('invalidated', (name) => say({ invalidated: name }));
  await new Promise((resolve) => cache.once('ready', resolve));
  const off = cache.onEvent('product_updated', (payload) => say({ event: 'product_updated', payload }));
  await Promise.all([busReady(cache), off.ready]);
  const app = express();
  let runs = 0;
  app.get('/p/:id', cache.middleware({ tags: (req) => [`product:${req.params.id}`] }), (req, res) => res.send(`run ${++runs}`));
  const server = app.listen(0, '127.0.0.1', () => say({ port: server.address().port }));
  process.stdin.resume();
  process.stdin.on('end', async () => {
    server.close();
    await cache.close();
  });
}

main().catch((err) => {
  say({ fatal: String(err && err.stack) });
  process.exit(1);
});
