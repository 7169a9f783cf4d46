'use strict';

// Fixtures of the cache.proxy() tests: a real origin server whose answers each test scripts (and
// which records every request it gets, with an event per request), and the gateway mounted as a
// bare http.createServer handler or in an Express app.
const http = require('http');
const { EventEmitter } = require('events');
const express = require('express');
const { serve } = require('../helpers/http');
const { startRedis } = require('../helpers/redis');
const { openCache, closeCaches } = require('../helpers/cache');
const { fakeClock, withClock } = require('../helpers/clock');

/**
 * An origin on 127.0.0.1:0. `origin.handle = (req, res, body) => ...` answers each request (body:
 * the request body, read in full); `origin.requests` lists { method, url, headers, body }; an
 * 'request' event is emitted for each once its handler ran.
 */
async function startOrigin() {
  const origin = new EventEmitter();
  origin.requests = [];
  origin.handle = (req, res) => res.end('default');
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const seen = { method: req.method, url: req.url, headers: req.headers, body };
      origin.requests.push(seen);
      origin.handle(req, res, body);
      origin.emit('request', seen);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin.port = server.address().port;
  origin.url = `http://127.0.0.1:${origin.port}`;
  origin.count = (url) => origin.requests.filter((r) => url === undefined || r.url === url).length;
  origin.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return origin;
}

/** The gateway as a bare request listener: a `serve` client (test/helpers/http.js). */
function bareGateway(cache, upstream, options) {
  return serve(cache.proxy(upstream, options));
}

/** The gateway mounted at `mount` in an Express app, beside an app route /own. */
function expressGateway(cache, upstream, options, mount = '/api') {
  const app = express();
  app.get('/own', (req, res) => res.send('own route'));
  app.use(mount, cache.proxy(upstream, options));
  return serve(app);
}

/**
 * The hooks of a gateway test file: one real redis-server and one cache on a clock the test
 * moves (for the file), a flushed Redis and a new origin (for each test); the gateway a test
 * puts on `t.gw` is closed after it.
 * @returns {{ redis: object, cache: object, clock: object, origin: object, gw: object|null }}
 */
function gatewaySuite() {
  const t = { redis: null, cache: null, clock: fakeClock(), origin: null, gw: null };
  beforeAll(async () => {
    t.redis = await startRedis();
    ({ cache: t.cache } = await openCache(withClock({ redis: t.redis.url, commandTimeout: 1000 }, t.clock)));
  });
  afterAll(async () => {
    await closeCaches();
    if (t.redis) await t.redis.close();
  });
  beforeEach(async () => {
    await t.redis.client().flushall();
    t.origin = await startOrigin();
  });
  afterEach(async () => {
    if (t.gw) await t.gw.close();
    t.gw = null;
    await t.origin.close();
  });
  return t;
}

module.exports = { startOrigin, bareGateway, expressGateway, gatewaySuite };
