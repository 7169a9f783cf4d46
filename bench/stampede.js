'use strict';

// The stampede case, started by bench/run.js: 200 concurrent requests to one cold URL whose
// handler takes 50 ms, against a route with coalescing (the default) and one with coalesce: false.
//   node bench/stampede.js <redis-port> [trials=5] [concurrency=200]
// Prints one JSON line: { trials, concurrency, handlerMs, coalesced: {calls[], ms[]}, plain: {...} }.
// Server and client share this process (the figure of interest is handler runs, and the time until
// the last of the 200 answers arrived).
const http = require('http');
const express = require('express');
const { createCache } = require('../lib');
const { busReady } = require('../test/helpers/internals');

const [portArg, trialsArg, concurrencyArg] = process.argv.slice(2);
const TRIALS = Number(trialsArg || 5);
const CONCURRENCY = Number(concurrencyArg || 200);
const HANDLER_MS = 50;

async function main() {
  const cache = createCache({ redis: `redis://127.0.0.1:${portArg}`, keyPrefix: `stampede${process.pid}`, commandTimeout: 1000 });
  cache.on('error', () => {});
  const calls = new Map();
  const handler = (req, res) => {
    calls.set(req.originalUrl, (calls.get(req.originalUrl) || 0) + 1);
    setTimeout(() => res.json({ url: req.originalUrl, items: Array.from({ length: 20 }, (_, i) => i) }), HANDLER_MS);
  };
  const app = express();
  app.get('/coalesced', cache.middleware({ ttl: 60 }), handler);
  app.get('/plain', cache.middleware({ ttl: 60, coalesce: false }), handler);
  await new Promise((resolve) => cache.once('ready', resolve));
  await busReady(cache);
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const get = (path) => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.address().port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
  // Open the sockets first, so the trials measure the cache, not TCP handshakes.
  await Promise.all(Array.from({ length: CONCURRENCY }, () => get('/plain?warm')));
  const out = { trials: TRIALS, concurrency: CONCURRENCY, handlerMs: HANDLER_MS,
    coalesced: { calls: [], ms: [] }, plain: { calls: [], ms: [] } };
  for (let t = 0; t < TRIALS; t++) {
    for (const mode of ['coalesced', 'plain']) {
      const path = `/${mode}?trial=${t}`;
      const t0 = process.hrtime.bigint();
      const statuses = await Promise.all(Array.from({ length: CONCURRENCY }, () => get(path)));
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (!statuses.every((s) => s === 200)) throw new Error(`non-200 answers for ${path}`);
      out[mode].calls.push(calls.get(path));
      out[mode].ms.push(Math.round(ms * 10) / 10);
    }
  }
  agent.destroy();
  server.close();
  await cache.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stderr.write(`stampede bench failed: ${err.stack}\n`);
  process.exitCode = 1;
});
