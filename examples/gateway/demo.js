'use strict';

// What `npm run demo:gateway` runs. Starts a throwaway redis-server (unless REDIS_URL is set), the
// three services of services.js and the gateway of app.js on free loopback ports, sends a scripted
// sequence of requests (MISS, HIT, a 304 revalidation, an aggregated profile, one service down:
// a partial profile, invalidation by tag: MISS again), prints what happened, closes everything and
// exits on its own: 0 when every check passed, 1 with the reasons otherwise.
const http = require('http');
const { setTimeout: sleep } = require('timers/promises');
const { createCache } = require('../../lib'); // require('respcache') in your own app
const { createGateway } = require('./app');
const { startServices } = require('./services');
const { demoRedis, demoCache, stopRedis, request } = require('../demo-kit');

const READY_TIMEOUT_MS = 5000;
const EXIT_GRACE_MS = 5000;
// Between two requests: the gateway stores a response once its body has been sent, so without a
// pause the next request could join that store instead of reading the entry it leaves.
const STEP_PAUSE_MS = 20;

const json = (r) => JSON.parse(r.body);

// The requests, in order: the X-Cache each must answer (null: the route is not cached), the
// status (200 unless said), what to do first, and extra checks. `s` holds the services.
const steps = [
  { path: '/users/1', expect: 'MISS', note: 'proxy: users says max-age=30' },
  { path: '/users/1', expect: 'HIT', note: 'fresh in Redis',
    check: (r, s) => s.users.count('/users/1') === 1 || `users got ${s.users.count('/users/1')} requests for /users/1, expected 1` },
  { path: '/orders/1', expect: 'MISS', note: 'proxy: orders says no-cache + ETag' },
  { path: '/orders/1', expect: 'REVALIDATED', note: 'If-None-Match -> 304, stored body served',
    check: (r, s) => (s.orders.count('/orders/1') === 2 && json(r)[0].id === 'o-17') || 'the orders were not revalidated' },
  { path: '/profile/1', expect: 'MISS', note: 'aggregate of users, orders, products',
    check: (r, s) => (json(r).partial === false && json(r).user.name === 'Ada' && s.users.count('/users/1') === 1)
      || 'the profile is not whole, or the user was fetched again instead of read from the gateway\'s entry' },
  { path: '/profile/1', expect: 'HIT', note: 'the aggregated response, cached 60 s' },
  { path: '/profile/2', expect: 'MISS', note: 'products service down: partial',
    before: (s) => s.products.close(),
    check: (r) => (json(r).partial === true && json(r).unavailable.join() === 'recommended' && json(r).user.name === 'Grace')
      || `expected a partial profile without "recommended", got ${r.body}` },
  { path: '/profile/2', expect: 'MISS', note: 'a partial profile is not stored' },
  { method: 'POST', path: '/admin/invalidate', json: { tags: ['user:1'] }, expect: null, note: 'invalidate tag user:1',
    check: (r) => json(r).removed >= 2 || `removed ${r.body}, expected the user and the profile` },
  { path: '/users/1', expect: 'MISS', note: 'dropped by the tag',
    check: (r, s) => s.users.count('/users/1') === 2 || `users got ${s.users.count('/users/1')} requests for /users/1, expected 2` },
  { path: '/profile/1', expect: 'MISS', note: 'dropped by the tag; products still cached',
    check: (r) => json(r).partial === false || 'the recommended products were not served from their entry' },
];

function printTable(rows) {
  const header = ['#', 'method', 'path', 'status', 'X-Cache', 'ms', 'what'];
  const cells = rows.map((r, i) => [String(i + 1), r.method, r.path, String(r.status), r.xcache || '-', r.ms.toFixed(1), r.note]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => (i === 5 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

async function main() {
  const failures = [];
  let redisChild = null;
  let cache = null;
  let server = null;
  let services = null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const rows = [];

  const stopAll = async () => {
    agent.destroy();
    if (server) {
      server.close();
      server.closeAllConnections();
    }
    if (services) await Promise.all(Object.values(services).map((s) => s.close()));
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
    let redisUrl;
    let keyPrefix;
    ({ redisUrl, redisChild, keyPrefix } = await demoRedis('gw'));
    let cacheErrors;
    let ready;
    ({ cache, cacheErrors, ready } = demoCache(createCache, redisUrl, keyPrefix, READY_TIMEOUT_MS));
    await ready;

    services = await startServices();
    const urls = { users: services.users.url, orders: services.orders.url, products: services.products.url };
    server = http.createServer(createGateway({ cache, services: urls }));
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address();
    console.log(`Services: users ${urls.users}, orders ${urls.orders}, products ${urls.products} (30 ms each)`);
    console.log(`Gateway: http://127.0.0.1:${port}\n`);

    for (const step of steps) {
      const method = step.method || 'GET';
      if (step.before) await step.before(services);
      const reply = await request(agent, port, method, step.path, step.json);
      const xcache = reply.headers['x-cache'] || null;
      rows.push({ method, path: step.path, status: reply.status, xcache, ms: reply.ms, note: step.note });
      const where = `${method} ${step.path} (request ${rows.length})`;
      if (reply.status !== (step.status || 200)) {
        failures.push(`${where}: status ${reply.status}, expected ${step.status || 200}: ${reply.body.toString().slice(0, 200)}`);
      } else {
        if (xcache !== step.expect) failures.push(`${where}: X-Cache ${xcache || '(none)'}, expected ${step.expect || '(none)'}`);
        if (step.check) {
          let verdict;
          try {
            verdict = step.check(reply, services);
          } catch (err) {
            verdict = err.message;
          }
          if (verdict !== true) failures.push(`${where}: ${verdict}`);
        }
      }
      await sleep(STEP_PAUSE_MS);
    }
    if (cacheErrors.length) {
      failures.push(`the cache reported ${cacheErrors.length} error(s), first: ${cacheErrors[0].code}: ${cacheErrors[0].message}`);
    }
    if (process.env.REDIS_URL) {
      // Leave the shared Redis as it was: every entry this run stored.
      await cache.invalidateTags(['user:1', 'user:2', 'products', 'profiles']).catch(() => {});
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
    console.log('\nOK: the gateway cached by the services\' own headers (HIT, 304 revalidation), the aggregated profile was cached,'
      + '\na service down gave a partial profile, and invalidating a tag made its entries MISS again.');
  }
  // Everything is closed, so the process should now exit by itself; if a handle was left open,
  // say so instead of hanging.
  setTimeout(() => {
    console.error(`Demo FAILED: the process did not exit within ${EXIT_GRACE_MS} ms of closing everything (a handle was left open)`);
    process.exit(1);
  }, EXIT_GRACE_MS).unref();
}

main();
