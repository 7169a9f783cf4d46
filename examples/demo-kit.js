'use strict';

// What the demos (`npm run demo`, `npm run demo:gateway`) share: a throwaway redis-server on a
// free loopback port, waiting for an event, and one HTTP request over a keep-alive agent.
const http = require('http');
const net = require('net');
const { spawn } = require('child_process');

const REDIS_START_TIMEOUT_MS = 10000;

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
 * Starts redis-server on 127.0.0.1:port with nothing persisted, and resolves with the child once
 * it logs "Ready to accept connections".
 * @returns {Promise<import('child_process').ChildProcess>}
 */
function startRedis(port) {
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port),
    '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server was not ready within ${REDIS_START_TIMEOUT_MS} ms:\n${output}`));
    }, REDIS_START_TIMEOUT_MS);
    const onData = (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout.removeListener('data', onData);
        child.stdout.resume(); // keep draining its log so it never blocks on a full pipe
        resolve(child);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (chunk) => { output += chunk; });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT'
        ? new Error('redis-server is not installed: run `npm run setup` (it installs it) or set REDIS_URL')
        : err);
    });
    child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (code ${code}) before it was ready:\n${output}`));
    });
  });
}

async function stopRedis(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await child.exited;
  clearTimeout(timer);
}

/** Resolves once `emitter` emits `event`, rejects after timeoutMs. */
function once(emitter, event, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, onEvent);
      reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    function onEvent() {
      clearTimeout(timer);
      resolve();
    }
    emitter.once(event, onEvent);
  });
}

/**
 * One request over the keep-alive agent.
 * @returns {Promise<{ status: number, headers: http.IncomingHttpHeaders, body: Buffer, ms: number }>}
 */
function request(agent, port, method, path, json) {
  const payload = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
  const headers = payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {};
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({
        status: res.statusCode,
        headers: res.headers,
        body: Buffer.concat(chunks),
        ms: Number(process.hrtime.bigint() - t0) / 1e6,
      }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * The demo's Redis: REDIS_URL when set (keys under a prefix of this run's own, so that keys of an
 * earlier run cannot turn a first request into a HIT), else a redis-server started here, else none
 * (the cache's embedded mode runs the demo).
 * @param {string} prefix the key prefix on a Redis of the demo's own
 * @returns {Promise<{ redisUrl: string|null, redisChild: import('child_process').ChildProcess|null, keyPrefix: string }>}
 */
async function demoRedis(prefix) {
  const url = process.env.REDIS_URL;
  if (url) {
    console.log(`Redis: ${url} (REDIS_URL)`);
    return { redisUrl: url, redisChild: null, keyPrefix: `${prefix}-demo-${process.pid}-${Date.now().toString(36)}` };
  }
  const port = await freePort();
  try {
    const child = await startRedis(port);
    console.log(`Redis: redis-server started by the demo on 127.0.0.1:${port} (pid ${child.pid})`);
    return { redisUrl: `redis://127.0.0.1:${port}/0`, redisChild: child, keyPrefix: prefix };
  } catch (err) {
    console.log(`Redis: none (${err.message.split('\n')[0]}); using the embedded in-process cache`);
    return { redisUrl: null, redisChild: null, keyPrefix: prefix };
  }
}

/**
 * A cache on the demo's Redis (or embedded), its 'error' events collected in cacheErrors; `ready`
 * resolves once it is connected and rejects when it does not connect within readyTimeoutMs.
 * @param {Function} createCache
 */
function demoCache(createCache, redisUrl, keyPrefix, readyTimeoutMs) {
  // The demos check each step's X-Cache: a lookup past commandTimeout answers BYPASS (as it
  // should) and fails the step. 1 s, not a production server's 100 ms (examples/*/server.js),
  // so that a machine busy with other work (npm test runs the demos beside other suites, also
  // under AddressSanitizer) does not fail them.
  const cache = redisUrl
    ? createCache({ redis: redisUrl, keyPrefix, connectTimeout: 1000, commandTimeout: 1000 })
    : createCache({ keyPrefix });
  const cacheErrors = [];
  cache.on('error', (err) => cacheErrors.push(err));
  const ready = once(cache, 'ready', readyTimeoutMs).catch(() => {
    const why = cacheErrors.length ? `${cacheErrors[0].code}: ${cacheErrors[0].message}` : 'no answer';
    throw new Error(`could not connect to Redis at ${redisUrl} (${why})`);
  });
  return { cache, cacheErrors, ready };
}

module.exports = { freePort, startRedis, stopRedis, once, request, demoRedis, demoCache };
