'use strict';

// Run by scripts/test-package.sh from a folder where the packed tarball was installed: proves
// that the installed package loads its addon and caches through Redis. It starts a throwaway
// redis-server on a free loopback port, serves one cached Express route and checks that the
// first request is a MISS and the second a HIT; then stops everything. Exit code 0 on success,
// 1 with the reason otherwise.
//
// respcache and express are resolved from the current folder (the install under test), never
// from this repository.
//
// Environment:
//   REDIS_SERVER         redis-server to run (default /usr/bin/redis-server); an absolute path,
//                        as the no-toolchain run has a PATH without it
//   SMOKE_EXPECT_ADDON   the addon file that must be the one loaded, relative to the installed
//                        package (e.g. prebuilds/linux-x64/respcache.node)
//   SMOKE_TLS_DIR        a folder made by test/helpers/gen-certs.sh: adds a rediss:// round trip
//                        (redis-server with --tls-port and server.crt; the cache trusts ca.crt)
const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const { createRequire } = require('module');
const net = require('net');
const path = require('path');

const REDIS_SERVER = process.env.REDIS_SERVER || '/usr/bin/redis-server';
const TLS_DIR = process.env.SMOKE_TLS_DIR || '';
const START_TIMEOUT_MS = 10000;
const READY_TIMEOUT_MS = 5000;

const installed = createRequire(path.join(process.cwd(), 'package.json'));

/** @returns {Promise<number>} a loopback TCP port that was free a moment ago */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts redis-server on loopback and resolves once it accepts connections.
 * @param {string[]} args the listening arguments (--port, --tls-port, ...)
 * @returns {Promise<import('child_process').ChildProcess>}
 */
function startRedis(args) {
  const child = spawn(REDIS_SERVER, ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  child.exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server was not ready within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${REDIS_SERVER}: ${err.message}`));
    });
    child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (code ${code}) before it was ready:\n${output}`));
    });
  });
}

/** Resolves once `emitter` emits `event`; rejects after timeoutMs, naming `errors` seen so far. */
function once(emitter, event, timeoutMs, errors) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, onEvent);
      const seen = errors.map((err) => `${err.code}: ${err.message}`).join('; ') || 'none';
      reject(new Error(`no "${event}" event within ${timeoutMs} ms (errors: ${seen})`));
    }, timeoutMs);
    function onEvent() {
      clearTimeout(timer);
      resolve();
    }
    emitter.once(event, onEvent);
  });
}

/** @returns {Promise<{ status: number, xCache: string|undefined, body: string }>} */
function get(port, urlPath) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, xCache: res.headers['x-cache'], body }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/**
 * One cache on `cacheOptions`, one cached route: a MISS (the handler runs), then a HIT with the
 * same body (the handler does not run again).
 */
async function roundTrip(label, cacheOptions) {
  const { createCache } = installed('respcache');
  const express = installed('express');
  const cache = createCache(cacheOptions);
  const errors = [];
  cache.on('error', (err) => errors.push(err));
  let server;
  try {
    await once(cache, 'ready', READY_TIMEOUT_MS, errors);
    let calls = 0;
    const app = express();
    app.get('/smoke', cache.middleware({ ttl: 60 }), (req, res) => {
      calls += 1;
      res.json({ calls });
    });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const { port } = server.address();
    const first = await get(port, '/smoke');
    const second = await get(port, '/smoke');
    const seen = `${first.status} ${first.xCache} ${first.body}, then ${second.status} ${second.xCache} ${second.body}`;
    if (first.status !== 200 || first.xCache !== 'MISS' || second.status !== 200 ||
        second.xCache !== 'HIT' || second.body !== first.body || calls !== 1) {
      const seenErrors = errors.map((err) => `${err.code}: ${err.message}`).join('; ') || 'none';
      throw new Error(`${label}: expected 200 MISS then 200 HIT with the same body, got ${seen} ` +
        `(cache errors: ${seenErrors})`);
    }
    console.log(`package smoke: ${label}: MISS then HIT (${seen})`);
  } finally {
    if (server) await new Promise((resolve) => server.close(resolve));
    await cache.close();
  }
}

/** The .node file that was loaded, relative to the installed package. */
function loadedAddon() {
  const pkg = path.dirname(installed.resolve('respcache/package.json'));
  const addons = Object.keys(require.cache).filter((file) => file.endsWith('.node'));
  if (addons.length !== 1) throw new Error(`expected one addon loaded, found: ${addons.join(', ') || 'none'}`);
  return path.relative(pkg, addons[0]);
}

async function main() {
  const port = await freePort();
  const args = ['--port', String(port)];
  let tlsPort = 0;
  if (TLS_DIR) {
    tlsPort = await freePort();
    const cert = (name) => path.join(TLS_DIR, name);
    args.push('--tls-port', String(tlsPort), '--tls-cert-file', cert('server.crt'),
      '--tls-key-file', cert('server.key'), '--tls-ca-cert-file', cert('ca.crt'),
      '--tls-auth-clients', 'no');
  }
  const redis = await startRedis(args);
  try {
    await roundTrip('redis://', { redis: `redis://127.0.0.1:${port}`, keyPrefix: 'smoke' });
    if (TLS_DIR) {
      // Node's own OpenSSL, reached from the packed binary.
      await roundTrip('rediss://', {
        redis: `rediss://127.0.0.1:${tlsPort}`, keyPrefix: 'smoke-tls',
        tls: { ca: fs.readFileSync(path.join(TLS_DIR, 'ca.crt'), 'utf8') },
      });
    }
    const addon = loadedAddon();
    const expected = process.env.SMOKE_EXPECT_ADDON;
    if (expected && addon !== expected) throw new Error(`loaded ${addon}, expected ${expected}`);
    console.log(`package smoke: addon ${addon}`);
  } finally {
    redis.kill('SIGTERM');
    await redis.exited;
  }
}

main().then(() => {
  process.exitCode = 0;
}, (err) => {
  console.error(`package smoke: FAILED: ${err.stack || err.message}`);
  process.exitCode = 1;
});
