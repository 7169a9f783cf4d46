'use strict';

// One benchmark server, started by bench/run.js (pinned to a core of its own):
//   node bench/server.js <bare|hit|hit-tls|local|embedded|front-hit|front-local|front-embedded|cluster|nocache>
//     <bodyBytes> [redisUrl]
// GET /data and GET /data/<anything> (a route of its own, so a load can go round many cache keys)
// answer the same JSON-ish bytes in every mode:
//   bare      plain Express 5, default settings, res.send(buffer)
//   hit       the same handler behind cache.middleware() on Redis; once warmed every request is a
//             HIT read from Redis
//   hit-tls   hit over TLS: redisUrl is a rediss:// URL, trusted through the CA certificate file
//             named by RESPCACHE_BENCH_CA
//   local     the near cache: the in-process tier in front of Redis (local: 256 MiB, ttl 3600);
//             once warmed every request is a HIT served from process memory (X-Cache-Tier: local)
//   embedded  the in-process store alone, no Redis (local: 256 MiB); once warmed every request is
//             a HIT served from process memory (X-Cache-Tier: local)
//   front-hit, front-local, front-embedded
//             hit, local and embedded with the route's `front: true` and the server listening with
//             http.createServer(cache.front(app)): HITs answered before Express runs
//   cluster   hit on a Redis Cluster: redisUrl is a comma-separated list of its nodes' redis://
//             URLs, given as createCache({ cluster: { nodes } }); the runner requests many URLs,
//             whose keys spread over every master
//   nocache   the same handler after a simulated 20 ms data source, no cache (what a MISS costs)
//   gateway, gateway-nocache
//             cache.proxy() in front of the upstream service bench/upstream.js (its URL in
//             RESPCACHE_BENCH_UPSTREAM; 20 ms per request), mounted on the Express app: gateway
//             forwards to its /cached/ paths (stored: every request after the first is a HIT),
//             gateway-nocache to its /nocache/ paths (no-store: the same gateway forwarding every
//             request)
// GET /__stats reports how often the handler ran and how many cache errors were seen, so the
// runner can tell a run of HITs from a run that silently bypassed (and, with a cache, how many
// HITs there were and how many of those the in-process tier served).
// Prints {"port":N,"pid":P} on stdout once it listens (the runner reads this process's CPU time
// from /proc/P/stat: P is this process, whatever wrapper, e.g. taskset, started it); exits when
// its stdin closes (the runner went away).
const http = require('http');
const express = require('express');
const { setTimeout: sleep } = require('timers/promises');
const { makeBody } = require('./body');

const [mode, sizeArg, redisUrl] = process.argv.slice(2);
const size = Number(sizeArg);
const MODES = ['bare', 'hit', 'hit-tls', 'local', 'embedded', 'front-hit', 'front-local', 'front-embedded', 'cluster',
  'nocache', 'gateway', 'gateway-nocache'];
const REDIS_MODES = ['hit', 'hit-tls', 'local', 'front-hit', 'front-local', 'cluster', 'gateway', 'gateway-nocache'];
const GATEWAY_MODES = ['gateway', 'gateway-nocache'];
if (!MODES.includes(mode) || !Number.isInteger(size) || size <= 0 || REDIS_MODES.includes(mode) !== Boolean(redisUrl)) {
  console.error(`usage: node bench/server.js <${MODES.join('|')}> <bodyBytes> [redisUrl]\n`
    + `  (a redisUrl for ${REDIS_MODES.join(', ')}, and for them only; for cluster, url,url,...)`);
  process.exit(2);
}
if (GATEWAY_MODES.includes(mode) && !process.env.RESPCACHE_BENCH_UPSTREAM) {
  console.error(`bench server (${mode}): set RESPCACHE_BENCH_UPSTREAM to the upstream's URL (bench/upstream.js)`);
  process.exit(2);
}

// Started by run.js, stdin is a pipe from it: exit when it closes, so no server outlives the
// runner even if the runner is killed with SIGKILL.
const stdinStat = require('fs').fstatSync(0);
if (stdinStat.isFIFO() || stdinStat.isSocket()) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

const body = makeBody(size);
let handlerCalls = 0;
let cacheErrors = 0;
let firstCacheError = null;

function handler(req, res) {
  handlerCalls++;
  res.set('Content-Type', 'application/json; charset=utf-8');
  res.send(body);
}

async function main() {
  const app = express();
  let cache = null;
  app.get('/__stats', (req, res) => {
    // cache.stats() (a snapshot); earlier versions had a plain cache.stats object.
    const counters = cache === null ? { hits: 0, localHits: 0 }
      : typeof cache.stats === 'function' ? cache.stats() : cache.stats;
    res.json({ handlerCalls, cacheErrors, firstCacheError, hits: counters.hits, localHits: counters.localHits });
  });

  // /data/:n after /data: a request for /data matches the first route it tries, as before the
  // second route existed.
  const route = (...handlers) => {
    app.get('/data', ...handlers);
    app.get('/data/:n', ...handlers);
  };
  if (mode === 'bare') {
    route(handler);
  } else if (mode === 'nocache') {
    route(async (req, res) => {
      await sleep(20);
      handler(req, res);
    });
  } else {
    const { createCache } = require('../lib');
    const maxBytes = 256 * 1024 * 1024;
    if (mode === 'embedded' || mode === 'front-embedded') {
      // Without a "redis" option createCache() falls back to REDIS_URL: the embedded case must
      // not quietly become a near cache because the caller's shell has one set.
      delete process.env.REDIS_URL;
      cache = createCache({ keyPrefix: 'bench', local: { maxBytes } });
    } else if (mode === 'cluster') {
      cache = createCache({ cluster: { nodes: redisUrl.split(',') }, keyPrefix: 'bench' });
    } else {
      cache = createCache({ redis: redisUrl, keyPrefix: 'bench',
        ...(mode === 'hit-tls' ? { tls: { ca: require('fs').readFileSync(process.env.RESPCACHE_BENCH_CA) } } : {}),
        ...(mode === 'local' || mode === 'front-local' ? { local: { maxBytes, ttl: 3600 } } : {}) });
    }
    cache.on('error', (err) => {
      cacheErrors++;
      if (!firstCacheError) firstCacheError = `${err.code}: ${err.message}`;
    });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cache not ready: ${firstCacheError}`)), 5000);
      cache.once('ready', () => { clearTimeout(timer); resolve(); });
    });
    if (GATEWAY_MODES.includes(mode)) {
      const prefix = mode === 'gateway' ? '/cached' : '/nocache';
      app.use(cache.proxy(`${process.env.RESPCACHE_BENCH_UPSTREAM}${prefix}`));
    } else {
      route(cache.middleware({ ttl: 3600, maxBodySize: Math.max(1 << 20, size),
        front: mode.startsWith('front-') }), handler);
    }
  }

  // front-*: the app behind the cache's front lane (cache.front(app)), which answers the route's
  // in-process HITs before Express runs.
  const listener = mode.startsWith('front-') ? cache.front(app) : app;
  const server = http.createServer(listener).listen(0, '127.0.0.1', (err) => {
    if (err) throw err;
    process.stdout.write(`${JSON.stringify({ port: server.address().port, pid: process.pid })}\n`);
  });
}

main().catch((err) => {
  console.error(`bench server (${mode}): ${err.stack || err}`);
  process.exit(1);
});
