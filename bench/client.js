'use strict';

// One Redis client measurement, started by bench/run.js (pinned to a core of its own):
//   node bench/client.js <native|ioredis|native-tls|ioredis-tls> <valueBytes> <seconds> <port> [inFlight=100]
// Stores one value of valueBytes, then keeps inFlight GETs of it outstanding (each completion
// issues the next) for a short warm-up and then for <seconds>, and prints one JSON line:
// {"client","valueBytes","ops","seconds","opsPerSec","badReplies"}.
//   native   respcache's own RedisClient (lib/binding.js), replies as Buffers
//   ioredis  ioredis with enableAutoPipelining: true, getBuffer() so both return Buffers
//   native-tls, ioredis-tls
//            the same over TLS: <port> is a TLS port, trusted through the CA certificate file
//            named by RESPCACHE_BENCH_CA (ioredis through node:tls, respcache through Node's
//            OpenSSL on its own loop)
//   native-cluster, ioredis-cluster
//            a Redis Cluster: <port> is a comma-separated list of node ports on 127.0.0.1 (the
//            seeds). 1000 keys spread over all slots each get a value of valueBytes; the GETs
//            go round them. native: RedisClusterClient without a route (the slot is computed in
//            C++, as ioredis computes it in JavaScript); ioredis: Redis.Cluster with
//            enableAutoPipelining and getBuffer(). bench/run.js runs them in its cluster
//            section; by hand, e.g. node bench/client.js native-cluster 1024 3 7000,7001,7002
const WARMUP_MS = 500;

const [kind, sizeArg, secondsArg, portArg, inFlightArg] = process.argv.slice(2);
const size = Number(sizeArg);
const seconds = Number(secondsArg);
const inFlight = Number(inFlightArg || 100);
const KINDS = ['native', 'ioredis', 'native-tls', 'ioredis-tls', 'native-cluster', 'ioredis-cluster'];
const overTls = kind && kind.endsWith('-tls');
const cluster = kind && kind.endsWith('-cluster');
const ports = String(portArg).split(',').map(Number);
const port = ports[0];
if (!KINDS.includes(kind) || !(size > 0) || !(seconds > 0) || !ports.every((p) => p > 0 && p < 65536)
    || (!cluster && ports.length !== 1) || (overTls && !process.env.RESPCACHE_BENCH_CA)) {
  console.error(`usage: node bench/client.js <${KINDS.join('|')}> <valueBytes> <seconds> <port> [inFlight]`
    + ' (the -tls kinds need RESPCACHE_BENCH_CA; the -cluster kinds take port,port,...)');
  process.exit(2);
}
const ca = overTls ? require('fs').readFileSync(process.env.RESPCACHE_BENCH_CA, 'utf8') : null;

// Started by run.js, stdin is a pipe from it: exit when it closes, so no client outlives the
// runner even if the runner is killed with SIGKILL.
const stdinStat = require('fs').fstatSync(0);
if (stdinStat.isFIFO() || stdinStat.isSocket()) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

const key = `respcache-bench:value:${size}`;
const value = Buffer.alloc(size, 'v');
// The cluster kinds' keys: 1000 names hash to slots all over the 16384 (and so to every master).
const CLUSTER_KEYS = Array.from({ length: 1000 }, (_, i) => `respcache-bench:cluster:${size}:${i}`);

/** @returns {Promise<{ get: () => Promise<Buffer|null>, set: () => Promise<unknown>, close: () => Promise<void> }>} */
async function open() {
  if (cluster) return openCluster();
  if (kind.startsWith('native')) {
    const { RedisClient } = require('../lib/binding');
    let client;
    await new Promise((resolve, reject) => {
      client = new RedisClient({
        host: '127.0.0.1', port, connectTimeout: 1000, commandTimeout: 10000,
        ...(overTls && { tls: require('../lib/tls-options').tlsOptions({ ca }, 'tls') }),
        onEvent(type, err) {
          if (type === 'ready') resolve();
          else if (type === 'error') reject(err);
        },
      });
    });
    return {
      get: () => client.command(['GET', key]),
      set: () => client.command(['SET', key, value]),
      close: () => client.close(),
    };
  }
  const Redis = require('ioredis');
  const client = new Redis({ host: '127.0.0.1', port, enableAutoPipelining: true, lazyConnect: true,
    ...(overTls && { tls: { ca } }) });
  await client.connect();
  return {
    get: () => client.getBuffer(key),
    set: () => client.set(key, value),
    close: async () => { await client.quit(); },
  };
}

/** A cluster client whose get() goes round CLUSTER_KEYS and whose set() stores all of them. */
async function openCluster() {
  const nodes = ports.map((p) => ({ host: '127.0.0.1', port: p }));
  let next = 0;
  const nextKey = () => {
    const k = CLUSTER_KEYS[next];
    next = next + 1 === CLUSTER_KEYS.length ? 0 : next + 1;
    return k;
  };
  if (kind === 'native-cluster') {
    const { RedisClusterClient } = require('../lib/binding');
    let client;
    await new Promise((resolve, reject) => {
      client = new RedisClusterClient({
        nodes, connectTimeout: 1000, commandTimeout: 10000,
        onEvent(type, err) {
          if (type === 'ready') resolve();
          else if (type === 'error') reject(err);
        },
      });
    });
    return {
      get: () => client.command(['GET', nextKey()]),
      set: () => Promise.all(CLUSTER_KEYS.map((k) => client.command(['SET', k, value]))),
      close: () => client.close(),
    };
  }
  const Redis = require('ioredis');
  const client = new Redis.Cluster(nodes, { enableAutoPipelining: true, lazyConnect: true });
  await client.connect();
  return {
    get: () => client.getBuffer(nextKey()),
    set: () => Promise.all(CLUSTER_KEYS.map((k) => client.set(k, value))),
    close: async () => { await client.quit(); },
  };
}

/** Keeps inFlight GETs outstanding until `ms` have passed; resolves with what completed in time. */
function drive(client, ms) {
  return new Promise((resolve, reject) => {
    let ops = 0;
    let badReplies = 0;
    let outstanding = 0;
    let stopped = false;
    let result = null;
    const t0 = process.hrtime.bigint();
    // Only completions before the deadline count; the ones still in flight are awaited, not counted.
    const timer = setTimeout(() => {
      stopped = true;
      result = { ops, badReplies, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
      if (outstanding === 0) resolve(result);
    }, ms);
    function issue() {
      outstanding++;
      client.get().then((reply) => {
        outstanding--;
        if (!stopped) {
          ops++;
          if (!reply || reply.length !== size) badReplies++;
          issue();
        } else if (outstanding === 0) {
          resolve(result);
        }
      }, (err) => {
        clearTimeout(timer);
        stopped = true;
        reject(err);
      });
    }
    for (let i = 0; i < inFlight; i++) issue();
  });
}

async function main() {
  const client = await open();
  await client.set();
  await drive(client, WARMUP_MS);
  const { ops, badReplies, seconds: measured } = await drive(client, seconds * 1000);
  await client.close();
  // Exit at once: after quit() ioredis keeps the process alive for seconds, which would only
  // slow the runner down (and blur its CPU-busy figures).
  process.stdout.write(`${JSON.stringify({
    client: kind, valueBytes: size, ops, seconds: measured, opsPerSec: ops / measured, badReplies,
  })}\n`, () => process.exit(0));
}

main().catch((err) => {
  console.error(`bench client (${kind}): ${err.stack || err}`);
  process.exit(1);
});
