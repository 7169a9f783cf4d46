'use strict';

// Run as a child process by test/integration/cache-lifecycle.test.js. Creates a cache, serves requests through a
// real Express app, prints what it saw as one JSON line, then closes everything and is expected to
// exit on its own (no process.exit) unless the stage says otherwise.
//
// Usage: node child-app.js <stage> <redis-url>
//   immediately     createCache, then close() at once (while still connecting)
//   after-ready     wait for 'ready', close()
//   after-requests  wait for 'ready', serve a MISS and a HIT, close()
//   in-flight       wait for 'ready', close() while a request's lookup is in flight
//   redis-down      Redis unreachable: serve two BYPASS requests, close()
//   no-listener     Redis unreachable and no 'error' listener: serve two requests, close()
//   cache-response  cacheResponse() with REDIS_URL: a MISS and a HIT, then process.exit(0)
const http = require('http');
const path = require('path');
const express = require('express');
const respcache = require(path.join(__dirname, '..', '..', 'lib'));

const [stage, url] = process.argv.slice(2);

function get(port, p = '/r') {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, xCache: res.headers['x-cache'],
        key: res.headers['x-cache-key'], body: Buffer.concat(chunks).toString() }));
    }).on('error', reject);
  });
}

function listen(app) {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function closeServer(server) {
  return new Promise((resolve) => server.close(resolve));
}

function ready(cache) {
  return new Promise((resolve) => cache.once('ready', resolve));
}

async function main() {
  const report = { stage, errors: [] };
  if (stage === 'cache-response') {
    try {
      respcache.cacheResponse({ ttl: -1 });
      report.invalid = 'no throw';
    } catch (err) {
      report.invalid = { name: err.name, message: err.message };
    }
    const app = express();
    app.get('/r', respcache.cacheResponse({ ttl: 60, exposeKey: true, condition: () => true }),
      (req, res) => res.send('shared default cache'));
    const server = await listen(app);
    const { port } = server.address();
    report.replies = [];
    // The shared cache connects in the background; the first requests may bypass. A cache that
    // never serves keeps this loop to its deadline: far longer than a start under the sanitizer on
    // a loaded machine, and below the test's kill timer (cache-lifecycle.test.js), so that the
    // report still says what was seen.
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      const reply = await get(port);
      report.replies.push(reply);
      if (reply.xCache === 'HIT') break;
      if (reply.xCache === 'BYPASS') await new Promise((r) => setTimeout(r, 50));
    }
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(0);
  }

  // The stages that reach Redis expect MISS, HIT and no 'error': a command timeout far beyond a
  // loaded machine's stalls (the timeout is not what these stages test).
  const cache = respcache.createCache({ redis: url, connectTimeout: 500, commandTimeout: 2000 });
  if (stage !== 'no-listener') cache.on('error', (err) => report.errors.push(err.code || err.message));

  if (stage === 'immediately') {
    await cache.close();
  } else if (stage === 'after-ready') {
    await ready(cache);
    await cache.close();
  } else if (stage === 'after-requests' || stage === 'redis-down' || stage === 'no-listener') {
    if (stage === 'after-requests') await ready(cache);
    const app = express();
    app.get('/r', cache.middleware(), (req, res) => res.send('child body'));
    const server = await listen(app);
    const { port } = server.address();
    report.replies = [await get(port), await get(port)];
    await closeServer(server);
    await cache.close();
  } else if (stage === 'in-flight') {
    await ready(cache);
    const app = express();
    app.get('/r', cache.middleware(), (req, res) => res.send('child body'));
    const server = await listen(app);
    const { port } = server.address();
    const pending = get(port);
    // Close as soon as the request has reached the middleware (its lookup is then in flight).
    await new Promise((resolve) => server.once('request', () => setImmediate(resolve)));
    const closed = cache.close();
    report.replies = [await pending];
    await closed;
    await closeServer(server);
  } else {
    throw new Error(`unknown stage ${stage}`);
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err) => {
  process.stderr.write(`child failed: ${err && err.stack}\n`);
  process.exitCode = 3;
});
