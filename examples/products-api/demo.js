'use strict';

// What `npm run demo` runs. Starts a throwaway redis-server on a free loopback port (unless
// REDIS_URL is set), serves the products API on a free port, sends a few requests, prints what
// happened, checks that the cache behaved (MISS, then HIT, then MISS after an update), closes
// everything and exits on its own: 0 when every check passed, 1 with the reasons otherwise.
const http = require('http');
const { createCache } = require('../../lib'); // require('respcache') in your own app
const { createApp } = require('./app');
const { demoRedis, demoCache, stopRedis, request } = require('../demo-kit');

const READY_TIMEOUT_MS = 5000;
const EXIT_GRACE_MS = 5000;

// The requests, in order, with the X-Cache each must answer (null: the route is not cached) and
// extra checks on the reply. `seen` holds earlier replies by label.
const steps = [
  { label: 'list', method: 'GET', path: '/api/products', expect: 'MISS' },
  { method: 'GET', path: '/api/products', expect: 'HIT',
    check: (r, seen) => r.body.equals(seen.list.body) || 'the HIT body differs from the MISS body' },
  { method: 'GET', path: '/api/products?category=garden', expect: 'MISS',
    check: (r) => JSON.parse(r.body).products.every((p) => p.category === 'garden') || 'the filter was not applied' },
  { method: 'GET', path: '/api/products?category=garden', expect: 'HIT' },
  { method: 'GET', path: '/api/users/1', expect: 'MISS' },
  { method: 'GET', path: '/api/users/1', expect: 'HIT' },
  { method: 'HEAD', path: '/api/products', expect: 'HIT',
    check: (r, seen) => (r.body.length === 0 && Number(r.headers['content-length']) === seen.list.body.length)
      || 'HEAD did not answer the GET entry\'s headers without a body' },
  { method: 'POST', path: '/api/products/1', json: { price: 9.99 }, expect: 'BYPASS',
    check: (r) => JSON.parse(r.body).product.price === 9.99 || 'the update was not applied' },
  { method: 'GET', path: '/api/users/1', expect: 'MISS',
    check: (r) => JSON.parse(r.body).selling.some((p) => p.id === 1 && p.price === 9.99)
      || 'user 1 does not show the updated price' },
  { method: 'GET', path: '/api/products', expect: 'MISS',
    check: (r) => JSON.parse(r.body).products.some((p) => p.id === 1 && p.price === 9.99)
      || 'the product list does not show the updated price' },
  { method: 'GET', path: '/api/products', expect: 'HIT' },
];

function printTable(rows) {
  const header = ['method', 'path', 'status', 'X-Cache', 'ms'];
  const cells = rows.map((r) => [r.method, r.path, String(r.status), r.xcache || '-', r.ms.toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => (i === 4 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

async function main() {
  const failures = [];
  let redisChild = null;
  let cache = null;
  let server = null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const rows = [];

  const stopAll = async () => {
    agent.destroy();
    if (server) {
      server.close();
      server.closeAllConnections();
    }
    if (cache) await cache.close();
    await stopRedis(redisChild);
  };
  const onSignal = (signal) => {
    console.error(`\n${signal}: stopping`);
    if (redisChild) redisChild.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // On a Redis of your own (REDIS_URL), this run's keys get a prefix of their own, deleted at the end.
    let redisUrl;
    let keyPrefix;
    ({ redisUrl, redisChild, keyPrefix } = await demoRedis('api'));
    let cacheErrors;
    let ready;
    ({ cache, cacheErrors, ready } = demoCache(createCache, redisUrl, keyPrefix, READY_TIMEOUT_MS));
    await ready;

    server = http.createServer(createApp({ cache, keyPrefix }));
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address();
    console.log(`App: http://127.0.0.1:${port} (each MISS waits for a 20 ms data source)\n`);

    const seen = {};
    for (const step of steps) {
      const reply = await request(agent, port, step.method, step.path, step.json);
      const xcache = reply.headers['x-cache'] || null;
      rows.push({ method: step.method, path: step.path, status: reply.status, xcache, ms: reply.ms });
      if (step.label) seen[step.label] = reply;
      const where = `${step.method} ${step.path} (request ${rows.length})`;
      if (reply.status !== 200) {
        failures.push(`${where}: status ${reply.status}, expected 200: ${reply.body.toString().slice(0, 200)}`);
        continue;
      }
      if (xcache !== step.expect) {
        failures.push(`${where}: X-Cache ${xcache || '(none)'}, expected ${step.expect || '(none)'}`);
      }
      if (step.check) {
        let verdict;
        try {
          verdict = step.check(reply, seen);
        } catch (err) {
          verdict = err.message;
        }
        if (verdict !== true) failures.push(`${where}: ${verdict}`);
      }
    }
    if (cacheErrors.length) {
      failures.push(`the cache reported ${cacheErrors.length} error(s), first: ${cacheErrors[0].code}: ${cacheErrors[0].message}`);
    }
    if (process.env.REDIS_URL) {
      // Leave the shared Redis as it was: every entry stored through a route, whatever its key.
      await cache.invalidatePath('/*').catch(() => {});
    }
  } catch (err) {
    failures.push(err.message);
  } finally {
    if (rows.length) printTable(rows);
    try {
      await stopAll();
    } catch (err) {
      failures.push(`while closing: ${err.message}`);
    }
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  if (failures.length) {
    console.error(`\nDemo FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log('\nOK: first requests were MISSes, repeats were HITs, and the update invalidated user 1 and the list.');
  }
  // Everything is closed, so the process should now exit by itself; if a handle was left open,
  // say so instead of hanging.
  setTimeout(() => {
    console.error(`Demo FAILED: the process did not exit within ${EXIT_GRACE_MS} ms of closing everything (a handle was left open)`);
    process.exit(1);
  }, EXIT_GRACE_MS).unref();
}

main();
