'use strict';

// `npm run bench`: HTTP cost of a respcache HIT against bare Express serving the same bytes, for
// three stores (Redis; the near cache's in-process tier in front of Redis; the embedded in-process
// store alone), plus GET throughput of respcache's native Redis client against ioredis and a
// stampede of cold requests.
//
// HTTP cases, at 1 KB and 100 KB bodies: bare Express 5, Redis HIT, Redis HIT over TLS (the same
// redis-server, on its --tls-port), near-cache (local tier) HIT, embedded HIT, the front lane's
// HITs, and no cache in front of a 20 ms data source (what a MISS costs). Each case is one
// server process (bench/server.js). For each case the table shows:
//   req/s          what the load generator measured
//   CPU µs/req     the server process's CPU time (utime + stime, /proc/<pid>/stat fields 14 and 15,
//                  in clock ticks of getconf CLK_TCK) over the measured load, divided by the
//                  requests completed. The load generator shares the machine, so req/s moves with
//                  whatever else runs; the CPU a request costs the server moves much less.
//                  redis-server's CPU per request is shown apart (the Redis HIT moves work there).
//   p50, p99       latency as the load generator saw it (ms)
//   vs bare        the case's req/s over bare Express req/s, and bare CPU/req over the case's
//                  CPU/req ("by CPU"), both from the same run
// Targets (issue #13): TLS HIT / plain Redis HIT >= 0.8 (1 KB), >= 0.7 (100 KB); the client
// benchmark over TLS: respcache >= 1.2x ioredis over TLS.
// Targets (issue #12), the cluster section: HIT through a Redis Cluster / HIT on one node >= 0.95
// (1 KB and 100 KB); the cluster client benchmark: respcache >= 1.5x ioredis's Redis.Cluster; a
// cold MISS sends no more commands to a cluster than to one node.
// Targets (issue #11), as ratios within one run: Redis HIT/bare >= 1.1 (1 KB), >= 0.95 (100 KB);
// in-process HIT/bare (near cache and embedded alike) >= 1.25 (1 KB), >= 1.2 (100 KB); every
// in-process HIT faster than the Redis HIT, with a p99 no worse. Each is printed with its value
// from req/s (the target) and from CPU/req (steadier). A missed target is a warning: the exit
// status is 1 only for problems (errors, requests that were not HITs beyond 1%, wrong replies,
// a stampede that ran its handler more than once).
//
// The cluster section (issue #12; BENCH_CLUSTER=0 leaves it out) starts a Redis Cluster of 3
// masters without replicas (bench/cluster.js: redis-cli --cluster create, then polled until every
// node says cluster_state:ok), pinned where redis-server is, and compares, at 1 KB and 100 KB:
//   HIT            the Redis HIT app (bench/server.js) on the single redis-server and on the
//                  cluster (createCache({ cluster: { nodes } })), in alternating rounds of their
//                  own. Both are loaded over the same 256 URLs (/data/0 ... /data/255), whose keys
//                  spread over every master; redis µs/req is summed over the cluster's nodes.
//   cold MISS      requests for URLs never asked before, one at a time, to each server in turn,
//                  counted over all the nodes behind it: the commands the clients sent per MISS
//                  (MONITOR, 50 MISSes; the target: no more on the cluster than on one node), the
//                  commands Redis ran per MISS (INFO commandstats deltas, 200 MISSes: scripts'
//                  own calls included) and the p50 and p99 latency of those 200 (without MONITOR).
//                  The measurement's INFO and MONITOR and the clients' background commands (PING,
//                  CLUSTER, CONFIG, CLIENT, SCRIPT, HELLO, (P)SUBSCRIBE) are left out.
//   client         GET ops/s over 1000 keys spread over all slots, 100 in flight: respcache's
//                  native cluster client against ioredis's Redis.Cluster (auto-pipelining).
// It ends with a ready-to-paste Markdown summary for docs/benchmarks.md ("Cluster").
//
// Placement on a 2-core machine (taskset):
//   core 0: the Node process under test (an HTTP server, or the Redis client benchmark)
//   core 1: the load generator (wrk, else autocannon) and redis-server
// Results are medians over rounds that alternate the order of the cases. Written as JSON to
// $BENCH_OUT or <tmpdir>/respcache-bench/latest.json (with per-sample figures and how busy each
// core was). Every child (servers, redis-server, load generator, clients) is killed when the
// runner exits, however it exits; servers and clients also exit when the runner's pipe closes.
//
// Environment:
//   BENCH_DURATION        seconds per HTTP measurement (10)
//   BENCH_CONNECTIONS     HTTP connections (50)
//   BENCH_ROUNDS          alternating bare/HIT/near-cache/embedded rounds per body size (3)
//   BENCH_WARMUP          seconds of load before a server's first measurement, 0 for none (2)
//   BENCH_LOADGEN         wrk | autocannon (wrk when installed)
//   BENCH_REDIS_CORE      core for redis-server: 1 (with the load generator), 0 (with the server
//                         under test) or none (unpinned) (1)
//   BENCH_CLIENT_DURATION seconds per client measurement (3)
//   BENCH_CLIENT_ROUNDS   alternating native/ioredis rounds per value size (3)
//   BENCH_OUT             where to write the JSON results
//   BENCH_CASES           comma-separated HTTP cases to measure (bare and hit always are), e.g.
//                         "hit-tls" for the TLS comparison alone; all when unset. "hit-cluster"
//                         selects the cluster section; named alone, the run is that section alone
//                         (no bare/hit rounds, single-node client benchmark or stampede)
//   BENCH_CLIENT_KINDS    plain, tls or both (both): which client comparisons to run
//   BENCH_CLUSTER         0 leaves the cluster section out; 1 (the default) runs it when
//                         BENCH_CASES is unset or names hit-cluster
//   BENCH_GATEWAY         0 leaves the gateway section out; 1 (the default) runs it when
//                         BENCH_CASES is unset or names gateway
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { makeBody } = require('./body');
const { startCluster, commandCalls, callsDelta } = require('./cluster');

const SIZES = [1024, 100 * 1024];
const KB100 = 100 * 1024;
// HTTP cases: what each server runs (bench/server.js), and how the tables name it.
const CASES = {
  bare: 'bare Express 5',
  hit: 'respcache HIT, Redis',
  'hit-tls': 'respcache HIT, Redis over TLS',
  local: 'respcache HIT, near cache (local tier)',
  embedded: 'respcache HIT, embedded store',
  'front-hit': 'respcache HIT, Redis, front lane',
  'front-local': 'respcache HIT, near cache, front lane',
  'front-embedded': 'respcache HIT, embedded, front lane',
  nocache: 'no cache, 20 ms source',
};
// The cluster section (benchCluster): the Redis HIT app over PATH_COUNT URLs on the single
// redis-server and on a cluster of CLUSTER_MASTERS masters, and what bench/server.js runs for each.
const PATH_COUNT = 256;
const CLUSTER_MASTERS = 3;
const COLD_MISSES = 200; // timed, counted by INFO commandstats
const MONITORED_MISSES = 50; // counted by MONITOR too (a pass of its own: MONITOR slows Redis)
const CLUSTER_CASES = {
  'hit-single': `respcache HIT, Redis, ${PATH_COUNT} URLs`,
  'hit-cluster': `respcache HIT, Redis Cluster (${CLUSTER_MASTERS} masters), ${PATH_COUNT} URLs`,
};
const CLUSTER_SERVER_MODE = { 'hit-single': 'hit', 'hit-cluster': 'cluster' };
// The gateway section (benchGateway, issue #14): cache.proxy() in front of bench/upstream.js (20 ms
// per request), storing (gateway) and forwarding every request (gateway-nocache), and the
// stampede of GATEWAY_STAMPEDE cold requests over GATEWAY_PROCESSES gateway processes.
const GATEWAY_CASES = {
  gateway: 'gateway HIT (cache.proxy, stored)',
  'gateway-nocache': 'the same gateway, upstream says no-store (20 ms)',
};
const GATEWAY_TARGET = { 1024: 3 }; // gateway HIT req/s over the same gateway without a cache, at least
const GATEWAY_PROCESSES = 4;
const GATEWAY_STAMPEDE = 200;
// Sections a run can be limited to (BENCH_CASES naming only these skips the single-node part).
const SECTIONS = ['hit-cluster', 'gateway'];
// Which cases this run measures (BENCH_CASES; bare and hit always, every case when unset;
// "hit-cluster" and/or "gateway" alone: those sections alone).
const SELECTED = (() => {
  const known = [...Object.keys(CASES), ...SECTIONS];
  const raw = process.env.BENCH_CASES;
  if (!raw) return new Set(known);
  const names = raw.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) {
    console.error(`BENCH_CASES: unknown case(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
    process.exit(2);
  }
  if (names.length && names.every((n) => SECTIONS.includes(n))) return new Set(names);
  return new Set(['bare', 'hit', ...names]);
})();
// bare and hit are selected unless BENCH_CASES asked for the cluster section alone: then the
// single-node HTTP rounds, client benchmark and stampede do not run.
const SINGLE_NODE = SELECTED.has('bare');
const only = (list) => list.filter((mode) => SELECTED.has(mode));
const MODES = only(Object.keys(CASES));
// measured in every round; nocache once
const ROUND = only(['bare', 'hit', 'hit-tls', 'local', 'embedded', 'front-hit', 'front-local', 'front-embedded']);
// servers given the Redis URL (hit-tls: the rediss:// one)
const REDIS_MODES = only(['hit', 'hit-tls', 'local', 'front-hit', 'front-local']);
const CACHED = only(['hit', 'hit-tls', 'local', 'embedded', 'front-hit', 'front-local', 'front-embedded']);
// HITs served from process memory (route middleware, and the front lane: cache.front(app))
const IN_PROCESS = only(['local', 'embedded', 'front-local', 'front-embedded']);
const TARGETS = {
  // a case's req/s divided by bare Express req/s in the same run, at least
  http: {
    hit: { 1024: 1.1, [KB100]: 0.95 },
    local: { 1024: 1.25, [KB100]: 1.2 },
    embedded: { 1024: 1.25, [KB100]: 1.2 },
    'front-hit': { 1024: 1.1, [KB100]: 0.95 },
    'front-local': { 1024: 1.25, [KB100]: 1.2 },
    'front-embedded': { 1024: 1.25, [KB100]: 1.2 },
  },
  client: { 1024: 1.2, [KB100]: 1.5 }, // native ops/s divided by ioredis ops/s, at least
  // TLS HIT req/s divided by the plain Redis HIT req/s, at least
  tls: { 1024: 0.8, [KB100]: 0.7 },
  clientTls: { 1024: 1.2, [KB100]: 1.2 }, // over TLS: native ops/s divided by ioredis ops/s
  // HIT req/s through the cluster divided by the single node's, over the same URLs, at least
  clusterHit: { 1024: 0.95, [KB100]: 0.95 },
  // on the cluster: native cluster client ops/s divided by ioredis Redis.Cluster ops/s, at least
  clusterClient: { 1024: 1.5, [KB100]: 1.5 },
};
const IN_FLIGHT = 100;

/** A number from the environment: positive, or also 0 when `zero` (BENCH_WARMUP=0: no warm-up). */
function envNumber(name, fallback, { zero = false } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n > 0 || (zero && n === 0))) {
    console.error(`${name} must be a ${zero ? 'non-negative' : 'positive'} number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const config = {
  duration: envNumber('BENCH_DURATION', 10),
  connections: Math.round(envNumber('BENCH_CONNECTIONS', 50)),
  rounds: Math.round(envNumber('BENCH_ROUNDS', 3)),
  warmup: envNumber('BENCH_WARMUP', 2, { zero: true }),
  clientDuration: envNumber('BENCH_CLIENT_DURATION', 3),
  clientRounds: Math.round(envNumber('BENCH_CLIENT_ROUNDS', 3)),
  loadgen: process.env.BENCH_LOADGEN || (hasCommand('wrk') ? 'wrk' : 'autocannon'),
  redisCore: process.env.BENCH_REDIS_CORE || '1',
  out: process.env.BENCH_OUT || path.join(os.tmpdir(), 'respcache-bench', 'latest.json'),
  clientKinds: process.env.BENCH_CLIENT_KINDS || 'both',
  cluster: process.env.BENCH_CLUSTER || '1',
  gateway: process.env.BENCH_GATEWAY || '1',
};
if (!['0', '1'].includes(config.cluster)) {
  console.error(`BENCH_CLUSTER must be 0 or 1, got ${JSON.stringify(config.cluster)}`);
  process.exit(2);
}
const RUN_CLUSTER = SELECTED.has('hit-cluster') && config.cluster === '1';
if (!['0', '1'].includes(config.gateway)) {
  console.error(`BENCH_GATEWAY must be 0 or 1, got ${JSON.stringify(config.gateway)}`);
  process.exit(2);
}
const RUN_GATEWAY = SELECTED.has('gateway') && config.gateway === '1';
if (!SINGLE_NODE && !RUN_CLUSTER && !RUN_GATEWAY) {
  console.error('BENCH_CASES names only sections that BENCH_CLUSTER=0 / BENCH_GATEWAY=0 leave out: nothing to run');
  process.exit(2);
}
if (!['plain', 'tls', 'both'].includes(config.clientKinds)) {
  console.error(`BENCH_CLIENT_KINDS must be plain, tls or both, got ${JSON.stringify(config.clientKinds)}`);
  process.exit(2);
}
if (!['0', '1', 'none'].includes(config.redisCore)) {
  console.error(`BENCH_REDIS_CORE must be 0, 1 or none, got ${JSON.stringify(config.redisCore)}`);
  process.exit(2);
}
if (!['wrk', 'autocannon'].includes(config.loadgen)) {
  console.error(`BENCH_LOADGEN must be wrk or autocannon, got ${JSON.stringify(config.loadgen)}`);
  process.exit(2);
}

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

const canPin = os.cpus().length >= 2 && hasCommand('taskset');

/** [command, args] that runs cmd on `core` (unpinned when there is no taskset or one core). */
function pinned(core, cmd, args) {
  return canPin ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
}

// ---- child processes: every one is tracked and killed when the runner exits, however it exits.
const children = new Set();

function track(child) {
  children.add(child);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    children.delete(child);
    resolve({ code, signal });
  }));
  return child;
}

function killAll() {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the benchmark`);
    const exited = [...children].map((child) => child.exited);
    killAll();
    // Wait (briefly) until they are gone, so none is left behind as a zombie of a dead parent.
    const deadline = setTimeout(() => process.exit(130), 2000);
    Promise.all(exited).then(() => {
      clearTimeout(deadline);
      process.exit(130);
    });
  });
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await child.exited;
  clearTimeout(timer);
}

/** Runs a command to completion; resolves with its stdout, rejects on a non-zero exit. */
function run(cmd, args, { timeoutMs } = {}) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    child.once('error', reject);
    const timer = timeoutMs && setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (code ${code}, signal ${signal}):\n${stderr || stdout}`));
    });
  });
}

/**
 * Starts a long-lived child and resolves once `ready(output)` returns a truthy value, with it.
 * @returns {Promise<{ child: import('child_process').ChildProcess, value: any }>}
 */
function startChild(cmd, args, ready, what, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    let output = '';
    let settled = false;
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else {
        resolve({ child, value });
      }
    };
    const onData = (chunk) => {
      output += chunk;
      if (settled) return;
      const value = ready(output);
      if (value) finish(null, value);
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (c) => { output += c; });
    child.once('error', (err) => finish(err));
    child.exited.then(({ code, signal }) => finish(new Error(
      `${what} exited (code ${code}, signal ${signal}) before it was ready:\n${output}`)));
    const timer = setTimeout(() => finish(new Error(`${what} was not ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
  });
}

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

// The TLS certificates (test/helpers/gen-certs.sh, into a temporary folder removed at exit). The
// CA file's path reaches the servers and clients through RESPCACHE_BENCH_CA.
function makeCerts() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'respcache-bench-certs-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync('bash', [path.join(__dirname, '..', 'test', 'helpers', 'gen-certs.sh'), dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gen-certs.sh failed: ${r.stderr}`);
  process.env.RESPCACHE_BENCH_CA = path.join(dir, 'ca.crt');
  return dir;
}

// One redis-server for every case, listening on a plain port and on a TLS port (server
// certificate for 127.0.0.1, TLS 1.3 by default): plain and TLS cases share its cores and config.
async function startRedis() {
  const port = await freePort();
  const tlsPort = await freePort();
  const certs = makeCerts();
  const redisArgs = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no',
    '--tls-port', String(tlsPort), '--tls-cert-file', path.join(certs, 'server.crt'),
    '--tls-key-file', path.join(certs, 'server.key'), '--tls-ca-cert-file', path.join(certs, 'ca.crt'),
    '--tls-auth-clients', 'no'];
  const child = await startRedisServer(redisArgs, 'redis-server');
  return { child, port, url: `redis://127.0.0.1:${port}/0`, tlsPort, tlsUrl: `rediss://127.0.0.1:${tlsPort}/0` };
}

/** A redis-server with `redisArgs` where BENCH_REDIS_CORE says, once it accepts connections. */
async function startRedisServer(redisArgs, what) {
  const [cmd, args] = config.redisCore === 'none'
    ? ['redis-server', redisArgs]
    : pinned(Number(config.redisCore), 'redis-server', redisArgs);
  const { child } = await startChild(cmd, args, (out) => out.includes('Ready to accept connections'), what);
  return child;
}

async function startServer(mode, size, redisUrl) {
  const [cmd, args] = pinned(0, process.execPath,
    [path.join(__dirname, 'server.js'), mode, String(size), ...(redisUrl ? [redisUrl] : [])]);
  const { child, value } = await startChild(cmd, args, (out) => {
    const m = /\{"port":(\d+),"pid":(\d+)\}/.exec(out);
    return m && { port: Number(m[1]), pid: Number(m[2]) };
  }, `bench server (${mode})`);
  return { child, port: value.port, pid: value.pid, mode };
}

function get(port, urlPath, agent = false) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

// ---- load generators: both report { rps, p50, p99 (ms), errors }.
function parseWrkDuration(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) throw new Error(`cannot read the wrk latency ${JSON.stringify(text)}`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2]];
}

/** wrk on GET /data, or with `script` (a Lua file) on the requests it makes. */
async function wrk(port, seconds, script) {
  const [cmd, args] = pinned(1, 'wrk', ['-t1', `-c${config.connections}`, `-d${seconds}s`,
    '--latency', ...(script ? ['-s', script] : []), `http://127.0.0.1:${port}/data`]);
  const out = await run(cmd, args, { timeoutMs: (seconds + 30) * 1000 });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p50 = /^\s+50%\s+(\S+)/m.exec(out);
  const p99 = /^\s+99%\s+(\S+)/m.exec(out);
  if (!rps || !p50 || !p99) throw new Error(`cannot read the wrk output:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = (non2xx ? Number(non2xx[1]) : 0)
    + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const total = /(\d+) requests in/.exec(out);
  return { rps: Number(rps[1]), p50: parseWrkDuration(p50[1]), p99: parseWrkDuration(p99[1]), errors,
    requests: total ? Number(total[1]) : NaN };
}

async function autocannon(port, seconds) {
  const bin = require.resolve('autocannon/autocannon.js');
  const [cmd, args] = pinned(1, process.execPath, [bin, '-c', String(config.connections),
    '-d', String(seconds), '-j', `http://127.0.0.1:${port}/data`]);
  return fromAutocannon(await run(cmd, args, { timeoutMs: (seconds + 30) * 1000 }));
}

/** The figures of autocannon's JSON result (its CLI's -j output, or bench/load-paths.js's). */
function fromAutocannon(out) {
  const result = JSON.parse(out.slice(out.indexOf('{')));
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: (result.non2xx || 0) + (result.errors || 0) + (result.timeouts || 0),
    requests: result.requests.total,
  };
}

const loadgen = config.loadgen === 'wrk' ? wrk : autocannon;

// The wrk script of loadPaths (written once, into a temporary folder removed at exit).
let wrkPathsScript = null;

/**
 * A load that goes round GET /data/0 ... /data/<PATH_COUNT - 1> (the cluster section): with wrk,
 * a Lua script builds each request; with autocannon, bench/load-paths.js (its CLI takes one URL).
 */
async function loadPaths(port, seconds) {
  if (config.loadgen === 'wrk') {
    if (!wrkPathsScript) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'respcache-bench-wrk-'));
      process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
      wrkPathsScript = path.join(dir, 'paths.lua');
      fs.writeFileSync(wrkPathsScript, `local n = -1\nrequest = function()\n  n = (n + 1) % ${PATH_COUNT}\n`
        + '  return wrk.format("GET", "/data/" .. n)\nend\n');
    }
    return wrk(port, seconds, wrkPathsScript);
  }
  const [cmd, args] = pinned(1, process.execPath, [path.join(__dirname, 'load-paths.js'), String(port),
    String(config.connections), String(seconds), String(PATH_COUNT)]);
  return fromAutocannon(await run(cmd, args, { timeoutMs: (seconds + 30) * 1000 }));
}

/** Per-core [busy, total] jiffies from /proc/stat (null where there is none, e.g. macOS). */
function cpuTimes() {
  try {
    return fs.readFileSync('/proc/stat', 'utf8').split('\n')
      .filter((line) => /^cpu\d+ /.test(line))
      .map((line) => {
        const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
        const total = user + nice + system + idle + iowait + irq + softirq + steal;
        return [total - idle - iowait, total];
      });
  } catch {
    return null;
  }
}

/** How busy each core was between two cpuTimes() readings, in percent. */
function busyPercent(before, after) {
  if (!before || !after) return null;
  return after.map(([busy, total], i) => Math.round(100 * (busy - before[i][0]) / Math.max(1, total - before[i][1])));
}

// Clock ticks per second, the unit of the CPU times in /proc/<pid>/stat.
const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = r.status === 0 ? Number(r.stdout.trim()) : NaN;
  return n > 0 ? n : 100;
})();

/** CPU time (user + system) process `pid` has used so far, in microseconds; null without /proc. */
function processCpuUs(pid) {
  let stat;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': count the fields
  // after its last ')'. There the first is field 3 (state), so utime (14) and stime (15) are the
  // 12th and 13th (proc(5)).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks * 1e6 / CLK_TCK : null;
}

/** CPU microseconds per request between two processCpuUs() readings (null when unknown). */
function cpuPerRequest(before, after, requests) {
  return before === null || after === null || !(requests > 0) ? null : (after - before) / requests;
}

// A load run, with the CPU time the server (and redis-server) spent on it per request, and how
// busy each core was: if core 1 (load generator, Redis) is saturated, req/s measures core 1, not
// the server on core 0; CPU per request does not depend on it.
// redisPids: every redis-server the server uses (a cluster's masters): their CPU is summed.
// generate: the load generator (loadgen, or loadPaths for the cluster section).
async function load(server, seconds, redisPids, generate = loadgen) {
  const redisCpu = () => {
    const times = redisPids.map(processCpuUs);
    return times.includes(null) ? null : times.reduce((a, b) => a + b, 0);
  };
  const before = { cores: cpuTimes(), server: processCpuUs(server.pid), redis: redisCpu() };
  const result = await generate(server.port, seconds);
  const after = { cores: cpuTimes(), server: processCpuUs(server.pid), redis: redisCpu() };
  return {
    ...result,
    cpuPerReq: cpuPerRequest(before.server, after.server, result.requests),
    redisCpuPerReq: cpuPerRequest(before.redis, after.redis, result.requests),
    cpuBusy: busyPercent(before.cores, after.cores),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median of the non-null values, or null when there is none. */
function medianOf(values) {
  const known = values.filter((v) => v !== null && Number.isFinite(v));
  return known.length ? median(known) : null;
}

function summarize(samples) {
  const cores = samples[0].cpuBusy ? samples[0].cpuBusy.length : 0;
  return {
    rps: median(samples.map((s) => s.rps)),
    cpuPerReq: medianOf(samples.map((s) => s.cpuPerReq)),
    redisCpuPerReq: medianOf(samples.map((s) => s.redisCpuPerReq)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    cpuBusy: cores ? Array.from({ length: cores }, (_, i) => median(samples.map((s) => s.cpuBusy[i]))) : null,
    errors: samples.reduce((a, s) => a + s.errors, 0),
    samples,
  };
}

const fmtSize = (bytes) => (bytes >= 1024 ? `${bytes / 1024} KB` : `${bytes} B`);
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n) => n.toFixed(2);
const fmtUs = (n) => (n === null ? 'n/a' : n.toFixed(1));
const fmtRatio = (n) => (n === null ? 'n/a' : n.toFixed(3));
const fmtTarget = (t, v) => (t.ms ? fmtMs(v) : fmtRatio(v));
const fmtBusy = (busy) => (busy ? busy.map((b) => `${Math.round(b)}%`).join('/') : 'n/a');

/** A text table; `align` has one 'l' or 'r' per column. */
function table(header, rows, align) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((v, i) => (align[i] === 'l' ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i])))
    .join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---- the HTTP benchmark
const SHORT = { hit: 'Redis HIT', 'hit-tls': 'TLS HIT', local: 'near-cache HIT', embedded: 'embedded HIT',
  'front-hit': 'Redis front HIT', 'front-local': 'near-cache front HIT', 'front-embedded': 'embedded front HIT' };

/** How many times cheaper `b` is than `a` in server CPU per request (null when unknown). */
const cheaper = (a, b) => (a.cpuPerReq > 0 && b.cpuPerReq > 0 ? a.cpuPerReq / b.cpuPerReq : null);

/**
 * The issue #11 targets for one body size, each with its value from req/s (what the target is
 * set on) and, for the ratios, the same ratio from server CPU per request.
 * @returns {{ name: string, wanted: string, value: number, pass: boolean, byCpu: number|null,
 *   byCpuPass: boolean|null }[]}
 */
function httpTargets(size, c) {
  const targets = [];
  if (c['hit-tls']) {
    const want = TARGETS.tls[size];
    const value = c['hit-tls'].rps / c.hit.rps;
    const byCpu = cheaper(c.hit, c['hit-tls']);
    targets.push({ name: 'TLS HIT / Redis HIT', wanted: `>= ${want}`, value, pass: value >= want,
      byCpu, byCpuPass: byCpu === null ? null : byCpu >= want });
  }
  for (const mode of CACHED.filter((m) => m !== 'hit-tls')) {
    const want = TARGETS.http[mode][size];
    const value = c[mode].rps / c.bare.rps;
    const byCpu = cheaper(c.bare, c[mode]);
    targets.push({ name: `${SHORT[mode]} / bare`, wanted: `>= ${want}`, value, pass: value >= want,
      byCpu, byCpuPass: byCpu === null ? null : byCpu >= want });
  }
  for (const mode of IN_PROCESS) {
    const value = c[mode].rps / c.hit.rps;
    const byCpu = cheaper(c.hit, c[mode]);
    targets.push({ name: `${SHORT[mode]} / Redis HIT`, wanted: '> 1', value, pass: value > 1,
      byCpu, byCpuPass: byCpu === null ? null : byCpu > 1 });
  }
  for (const mode of IN_PROCESS) {
    targets.push({ name: `${SHORT[mode]} p99 ms vs Redis HIT's`, wanted: `<= ${fmtMs(c.hit.p99)}`,
      value: c[mode].p99, pass: c[mode].p99 <= c.hit.p99, byCpu: null, byCpuPass: null, ms: true });
  }
  return targets;
}

// How long a cache that stopped answering (a lookup timed out on a busy machine: its connection is
// then replaced, and lookups BYPASS until it is back) may take to answer again while warming or
// measuring cold MISSes, and how often it is asked meanwhile.
const RECOVERY_MS = 15000;
const RETRY_MS = 50;

/**
 * Requests each of `paths` from a cached case's server until it answers a HIT (asking again
 * every RETRY_MS for RECOVERY_MS): the HIT must come from the right tier (process memory or
 * Redis) with the handler's bytes.
 * @param {{ port: number }} server
 * @param {string} label the case, for messages
 * @param {string[]} paths
 * @param {boolean} fromMemory whether its HITs come from process memory
 * @param {Buffer} expected the handler's body
 * @returns {Promise<number>} how many answers were not HITs: the handler runs warming took
 */
async function warm(server, label, paths, fromMemory, expected) {
  let handlerRuns = 0;
  for (const urlPath of paths) {
    const seen = [(await get(server.port, urlPath)).headers['x-cache']];
    if (seen[0] !== 'HIT') handlerRuns++;
    let tries = 1;
    for (const deadline = Date.now() + RECOVERY_MS; ;) {
      const res = await get(server.port, urlPath);
      const tier = res.headers['x-cache-tier'];
      if (res.headers['x-cache'] === 'HIT' && (tier === 'local') === fromMemory) {
        if (!res.body.equals(expected)) throw new Error(`${label}: the HIT body differs from the handler body`);
        break;
      }
      if (res.headers['x-cache'] !== 'HIT') handlerRuns++;
      if (seen.length < 5) seen.push(`${res.headers['x-cache']} (X-Cache-Tier: ${tier || 'none'})`);
      tries++;
      if (Date.now() > deadline) {
        const stats = JSON.parse((await get(server.port, '/__stats')).body);
        throw new Error(`${label}: no HIT ${fromMemory ? 'from process memory' : 'from Redis'} for ${urlPath} in `
          + `${tries} tries over ${RECOVERY_MS} ms of warming (X-Cache: ${seen.join(', then ')} ...; the cache reported `
          + `${stats.cacheErrors} error(s)${stats.firstCacheError ? `, first: ${stats.firstCacheError}` : ''})`);
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  return handlerRuns;
}

/**
 * After a cached case's runs, from its server's /__stats: the handler ran `warmed` times for the
 * warming MISSes, and every other run answered a request that was not a HIT (a BYPASS: the lookup
 * failed or timed out). A few do not change the figures (a warning); more than 1% would make them
 * a blend of HITs and bare handler runs (a problem). In-process cases must also have served their
 * HITs from process memory, not from Redis.
 * @param {{ port: number }} server
 * @param {{ size: number, name: string, requests: number, warmed: number, fromMemory: boolean }} run
 *   requests: all the case's server answered under load (warm-up and measured)
 * @returns {Promise<object>} the counters, for the JSON results
 */
async function checkHits(server, { size, name, requests, warmed, fromMemory }, problems, warnings) {
  const stats = JSON.parse((await get(server.port, '/__stats')).body);
  if (!Number.isInteger(stats.hits) || !Number.isInteger(stats.localHits)) {
    throw new Error(`the ${name} server did not report its HIT counters: ${JSON.stringify(stats)}`);
  }
  const notHits = stats.handlerCalls - warmed;
  const notHitShare = notHits / requests;
  if (notHits !== 0 || stats.cacheErrors !== 0) {
    const message = `${fmtSize(size)}: during the ${name} runs ${notHits} of ${fmtInt(requests)} requests `
      + `(${(100 * notHitShare).toFixed(2)}%) were not HITs (the handler ran), and the cache reported `
      + `${stats.cacheErrors} error(s)${stats.firstCacheError ? `, first: ${stats.firstCacheError}` : ''}`;
    if (notHitShare > 0.01) problems.push(message);
    else warnings.push(message);
  }
  const counted = fromMemory ? stats.localHits : stats.hits;
  if (counted < requests - notHits) {
    warnings.push(`${fmtSize(size)}: the ${name} server counted ${fmtInt(counted)} HITs`
      + `${fromMemory ? ' from process memory' : ''} for ${fmtInt(requests - notHits)} requests that did not run the handler`);
  }
  const redisHits = stats.hits - stats.localHits;
  if (fromMemory && redisHits > 0) {
    warnings.push(`${fmtSize(size)}: during the ${name} runs ${redisHits} of ${fmtInt(stats.hits)} `
      + 'HITs came from Redis, not from the in-process tier');
  }
  return { requests, handlerCalls: stats.handlerCalls, notHits, cacheErrors: stats.cacheErrors,
    hits: stats.hits, localHits: stats.localHits, redisHits };
}

/**
 * Load runs of the servers of one body size, kept per case (mode): `samples` (load() results)
 * and `requests` (all the load generator completed, warm-up included: the HIT checks count them).
 * measure(mode) runs one measurement, after a warm-up before the first; rounds(modes) measures
 * modes in config.rounds rounds that alternate their order (then the reverse), so a drift of the
 * machine over the run does not favour one case.
 * @param {(mode: string) => number[]} redisPidsOf the redis-server processes behind a mode
 * @param {(port: number, seconds: number) => Promise<object>} generate loadgen or loadPaths
 */
function measurer(size, servers, redisPidsOf, generate) {
  const samples = {};
  const requests = {};
  const measure = async (mode) => {
    if (!samples[mode]) {
      samples[mode] = [];
      requests[mode] = config.warmup > 0 ? (await generate(servers[mode].port, config.warmup)).requests : 0;
    }
    const result = await load(servers[mode], config.duration, redisPidsOf(mode), generate);
    requests[mode] += result.requests;
    samples[mode].push(result);
    process.stderr.write(`  ${fmtSize(size)} ${mode}: ${fmtInt(result.rps)} req/s, ${fmtUs(result.cpuPerReq)} µs/req, `
      + `p99 ${fmtMs(result.p99)} ms, cores busy ${fmtBusy(result.cpuBusy)}\n`);
  };
  const rounds = async (modes) => {
    for (let round = 0; round < config.rounds; round++) {
      for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) await measure(mode);
    }
  };
  return { samples, requests, measure, rounds };
}

async function benchHttp(size, redis, problems, warnings) {
  const servers = {};
  try {
    for (const mode of MODES) {
      const url = mode === 'hit-tls' ? redis.tlsUrl : redis.url;
      servers[mode] = await startServer(mode, size, REDIS_MODES.includes(mode) ? url : undefined);
    }
    // The same bytes everywhere, and a warm HIT from the right tier before any measurement.
    const expected = makeBody(size);
    const bare = await get(servers.bare.port, '/data');
    if (!bare.body.equals(expected)) throw new Error(`bare Express did not answer the ${size}-byte body`);
    const warmed = {};
    for (const mode of CACHED) warmed[mode] = await warm(servers[mode], CASES[mode], ['/data'], IN_PROCESS.includes(mode), expected);

    const { samples, requests, measure, rounds } = measurer(size, servers, () => [redis.child.pid], loadgen);
    await rounds(ROUND);
    if (MODES.includes('nocache')) await measure('nocache');

    const checks = {};
    for (const mode of CACHED) {
      checks[mode] = await checkHits(servers[mode], { size, name: SHORT[mode], requests: requests[mode], warmed: warmed[mode],
        fromMemory: IN_PROCESS.includes(mode) }, problems, warnings);
    }

    const cases = Object.fromEntries(MODES.map((mode) => [mode, summarize(samples[mode])]));
    for (const mode of MODES) {
      const c = cases[mode];
      c.ratio = c.rps / cases.bare.rps;
      c.cpuRatio = c.cpuPerReq > 0 && cases.bare.cpuPerReq > 0 ? cases.bare.cpuPerReq / c.cpuPerReq : null;
      if (c.errors) problems.push(`${fmtSize(size)} ${mode}: ${c.errors} failed or non-2xx responses`);
    }
    const targets = httpTargets(size, cases);
    for (const t of targets.filter((x) => !x.pass)) {
      warnings.push(`${fmtSize(size)}: target missed: ${t.name} ${fmtTarget(t, t.value)} (wanted ${t.wanted})`
        + `${t.byCpu === null ? '' : `; by server CPU/req ${t.byCpu.toFixed(3)}`}`);
    }
    return { bodyBytes: size, cases, checks, targets };
  } finally {
    await Promise.all(Object.values(servers).map((s) => stop(s.child)));
  }
}

// ---- the Redis client benchmark
async function clientOnce(kind, size, port) {
  const [cmd, args] = pinned(0, process.execPath, [path.join(__dirname, 'client.js'), kind,
    String(size), String(config.clientDuration), String(port), String(IN_FLIGHT)]);
  const before = cpuTimes();
  const out = await run(cmd, args, { timeoutMs: (config.clientDuration + 30) * 1000 });
  return { ...JSON.parse(out.trim().split('\n').pop()), cpuBusy: busyPercent(before, cpuTimes()) };
}

// What each client comparison runs (bench/client.js kinds) and its target.
const CLIENT_TRANSPORTS = {
  TCP: { kinds: ['native', 'ioredis'], target: TARGETS.client },
  TLS: { kinds: ['native-tls', 'ioredis-tls'], target: TARGETS.clientTls },
  cluster: { kinds: ['native-cluster', 'ioredis-cluster'], target: TARGETS.clusterClient },
};

/**
 * native against ioredis in alternating rounds, over `transport`: TCP or TLS to the single
 * redis-server, or to the cluster (`port` is then its nodes' ports, comma-separated).
 */
async function benchClient(size, port, problems, transport = 'TCP') {
  const [nativeKind, ioredisKind] = CLIENT_TRANSPORTS[transport].kinds;
  const samples = { [nativeKind]: [], [ioredisKind]: [] };
  for (let round = 0; round < config.clientRounds; round++) {
    for (const kind of round % 2 === 0 ? [nativeKind, ioredisKind] : [ioredisKind, nativeKind]) {
      const result = await clientOnce(kind, size, port);
      if (result.badReplies) problems.push(`${kind} ${fmtSize(size)}: ${result.badReplies} replies of the wrong size`);
      samples[kind].push(result.opsPerSec);
      process.stderr.write(`  ${fmtSize(size)} ${kind}: ${fmtInt(result.opsPerSec)} ops/s, cores busy ${fmtBusy(result.cpuBusy)}\n`);
    }
  }
  const native = median(samples[nativeKind]);
  const ioredis = median(samples[ioredisKind]);
  const target = CLIENT_TRANSPORTS[transport].target[size];
  return {
    valueBytes: size,
    transport,
    tls: transport === 'TLS',
    native: { opsPerSec: native, samples: samples[nativeKind] },
    ioredis: { opsPerSec: ioredis, samples: samples[ioredisKind] },
    ratio: native / ioredis,
    target,
    meetsTarget: native / ioredis >= target,
  };
}

function versionOf(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout || r.stderr).trim().split('\n')[0] : null;
}

async function benchStampede(redis, problems) {
  const [cmd, args] = pinned(0, process.execPath, [path.join(__dirname, 'stampede.js'), String(redis.port)]);
  const out = JSON.parse((await run(cmd, args, { timeoutMs: 120000 })).trim().split('\n').pop());
  if (!out.coalesced.calls.every((c) => c === 1)) {
    problems.push(`stampede: the coalescing route ran its handler ${out.coalesced.calls.join(', ')} times (want 1)`);
  }
  return out;
}

// ---- the cluster section (issue #12)
const redisCli = (args, options) => run('redis-cli', args, options);

// Commands clients send on their own, not for a request (health checks, topology refreshes,
// connection set-up, pub/sub), and the measurement's own INFO and MONITOR: left out of the
// commands per MISS. (commandstats names subcommands "cluster|shards"; MONITOR shows "cluster".)
const BACKGROUND_COMMAND = /^(info|monitor|ping|hello|auth|select|subscribe|psubscribe|ssubscribe|(cluster|config|client|script|command)(\|.*)?)$/;

/** Splits calls per command into those for requests and the background ones. */
function splitBackground(calls) {
  const split = { request: {}, background: {} };
  for (const [name, n] of Object.entries(calls)) split[BACKGROUND_COMMAND.test(name) ? 'background' : 'request'][name] = n;
  return split;
}

const sum = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Per command, n / misses, most first. */
const perMiss = (counts, misses) => Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1])
  .map(([name, n]) => [name, n / misses]));

/**
 * redis-cli MONITOR on each of `ports`, counting per command name what clients sent and what
 * scripts ran (MONITOR's "[0 lua]" lines): INFO commandstats counts both alike, and only the
 * first are trips to Redis (pipelined ones share a trip: a command sent is at most one).
 * @returns {Promise<{ counts: { sent: object, inScripts: object }, stop: () => Promise<void> }>}
 */
async function monitor(ports) {
  const counts = { sent: {}, inScripts: {} };
  const children = [];
  try {
    for (const port of ports) {
      const { child } = await startChild('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'MONITOR'],
        (out) => /^OK\r?\n/.test(out), `redis-cli MONITOR on port ${port}`);
      children.push(child);
      let pending = '';
      child.stdout.on('data', (chunk) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop();
        for (const line of lines) {
          const m = /^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"/.exec(line);
          if (!m) continue;
          const bucket = m[1] === 'lua' ? counts.inScripts : counts.sent;
          const name = m[2].toLowerCase();
          bucket[name] = (bucket[name] || 0) + 1;
        }
      });
    }
  } catch (err) {
    await Promise.all(children.map(stop));
    throw err;
  }
  return { counts, stop: () => Promise.all(children.map(stop)).then(() => {}) };
}

/** Polls `read` every 20 ms until two readings in a row agree (at most 5 s); the last reading. */
async function settled(read, same) {
  let last = await read();
  for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const next = await read();
    const agree = same(last, next);
    last = next;
    if (agree) break;
  }
  return last;
}

/**
 * `count` requests for URLs nobody asked for before, one at a time over one keep-alive
 * connection per server, to each server in turn. Per server: the commands its Redis nodes ran
 * per MISS (INFO commandstats deltas summed over the nodes: a script's own calls count too) and
 * the latencies; with `withMonitor`, also the commands the clients sent per MISS (MONITOR), in a
 * pass of its own since MONITOR slows Redis down.
 * @param {{ mode: string, server: { port: number }, ports: number[] }[]} sides
 * @param {string} prefix makes the URLs new: /data/<prefix>-<i>
 */
async function coldMisses(sides, prefix, count, withMonitor) {
  const agents = sides.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const monitors = [];
  try {
    const before = [];
    for (const side of sides) before.push(splitBackground(await commandCalls(redisCli, side.ports)));
    if (withMonitor) for (const side of sides) monitors.push(await monitor(side.ports));
    const ms = sides.map(() => []);
    // Answers other than a MISS (a BYPASS: the lookup failed or timed out, on a busy machine): the
    // request is not timed and another new URL is asked for (every RETRY_MS, for RECOVERY_MS at
    // most), but Redis may have run its commands.
    const others = sides.map(() => 0);
    for (let i = 0; i < count; i++) {
      for (const [j, side] of sides.entries()) {
        for (let attempt = 0, deadline = Date.now() + RECOVERY_MS; ; attempt++) {
          const t0 = process.hrtime.bigint();
          const res = await get(side.server.port, `/data/${prefix}-${i}-${attempt}`, agents[j]);
          const took = Number(process.hrtime.bigint() - t0) / 1e6;
          if (res.status === 200 && res.headers['x-cache'] === 'MISS') {
            ms[j].push(took);
            break;
          }
          others[j]++;
          if (Date.now() > deadline) {
            throw new Error(`${CLUSTER_CASES[side.mode]}: no cold request answered 200 with X-Cache: MISS for `
              + `${RECOVERY_MS} ms (the last: ${res.status}, X-Cache: ${res.headers['x-cache']})`);
          }
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    }
    // The store may still be writing the last entries after their answers went out, and MONITOR's
    // lines may still be on their way.
    const after = [];
    for (const side of sides) {
      after.push(await settled(async () => splitBackground(await commandCalls(redisCli, side.ports)),
        (a, b) => sum(a.request) === sum(b.request)));
    }
    for (const m of monitors) await settled(() => sum(m.counts.sent) + sum(m.counts.inScripts), (a, b) => a === b);
    return Object.fromEntries(sides.map((side, j) => {
      const request = callsDelta(before[j].request, after[j].request);
      const sorted = [...ms[j]].sort((a, b) => a - b);
      const out = {
        misses: count,
        notMisses: others[j],
        commandsPerMiss: sum(request) / count,
        byCommand: perMiss(request, count),
        background: callsDelta(before[j].background, after[j].background),
        p50: median(sorted),
        p99: sorted[Math.ceil(0.99 * sorted.length) - 1],
      };
      if (withMonitor) {
        const { sent, inScripts } = monitors[j].counts;
        const sentForRequests = splitBackground(sent).request;
        out.sentPerMiss = sum(sentForRequests) / count;
        out.sentByCommand = perMiss(sentForRequests, count);
        out.inScriptsPerMiss = sum(inScripts) / count;
      }
      return [side.mode, out];
    }));
  } finally {
    for (const agent of agents) agent.destroy();
    await Promise.all(monitors.map((m) => m.stop()));
  }
}

/**
 * The issue #12 targets for one body size: cluster HIT / one-node HIT (from req/s, and by
 * server CPU per request), and a cold MISS's commands on the cluster against one node's.
 */
function clusterTargets(size, c, miss) {
  const want = TARGETS.clusterHit[size];
  const value = c['hit-cluster'].rps / c['hit-single'].rps;
  const byCpu = cheaper(c['hit-single'], c['hit-cluster']);
  const single = miss['hit-single'].monitored.sentPerMiss;
  const onCluster = miss['hit-cluster'].monitored.sentPerMiss;
  return [
    { name: 'cluster HIT / one-node HIT', wanted: `>= ${want}`, value, pass: value >= want,
      byCpu, byCpuPass: byCpu === null ? null : byCpu >= want },
    { name: 'cold MISS: commands sent to the cluster', wanted: `<= ${fmtRatio(single)} (one node)`, value: onCluster,
      pass: onCluster <= single, byCpu: null, byCpuPass: null },
  ];
}

/** The cluster section's HTTP part for one body size: HIT rounds, then cold MISSes. */
async function benchClusterHttp(size, redis, cluster, problems, warnings) {
  const modes = Object.keys(CLUSTER_CASES);
  const backend = {
    'hit-single': { url: redis.url, pids: [redis.child.pid], ports: [redis.port] },
    'hit-cluster': { url: cluster.urls.join(','), pids: cluster.children.map((c) => c.pid), ports: cluster.ports },
  };
  const servers = {};
  try {
    for (const mode of modes) servers[mode] = await startServer(CLUSTER_SERVER_MODE[mode], size, backend[mode].url);
    const paths = Array.from({ length: PATH_COUNT }, (_, i) => `/data/${i}`);
    const warmed = {};
    for (const mode of modes) warmed[mode] = await warm(servers[mode], CLUSTER_CASES[mode], paths, false, makeBody(size));
    // Where the warmed entries went: the HITs must read every master.
    const keysPerNode = [];
    for (const port of cluster.ports) keysPerNode.push(Number((await redisCli(['-h', '127.0.0.1', '-p', String(port), 'DBSIZE'])).trim()));
    if (keysPerNode.some((n) => n === 0)) {
      throw new Error(`the ${PATH_COUNT} URLs' entries are not on every master (keys per node: ${keysPerNode.join(', ')})`);
    }

    const { samples, requests, rounds } = measurer(size, servers, (mode) => backend[mode].pids, loadPaths);
    await rounds(modes);
    const checks = {};
    for (const mode of modes) {
      checks[mode] = await checkHits(servers[mode], { size, name: CLUSTER_CASES[mode], requests: requests[mode],
        warmed: warmed[mode], fromMemory: false }, problems, warnings);
    }
    const cases = Object.fromEntries(modes.map((mode) => [mode, summarize(samples[mode])]));
    for (const mode of modes) {
      const c = cases[mode];
      c.ratio = c.rps / cases['hit-single'].rps;
      c.cpuRatio = cheaper(cases['hit-single'], c);
      if (c.errors) problems.push(`${fmtSize(size)} ${mode}: ${c.errors} failed or non-2xx responses`);
    }

    const sides = modes.map((mode) => ({ mode, server: servers[mode], ports: backend[mode].ports }));
    const timed = await coldMisses(sides, `cold-${size}`, COLD_MISSES, false);
    const counted = await coldMisses(sides, `sent-${size}`, MONITORED_MISSES, true);
    const coldMiss = Object.fromEntries(modes.map((mode) => [mode, { ...timed[mode], monitored: counted[mode] }]));
    for (const mode of modes) {
      const others = coldMiss[mode].notMisses + coldMiss[mode].monitored.notMisses;
      if (others) {
        warnings.push(`${fmtSize(size)}: ${others} cold requests to the ${CLUSTER_CASES[mode]} server were not MISSes `
          + '(a BYPASS: the lookup failed or timed out); the commands they caused are in its commands per MISS');
      }
    }
    for (const mode of modes) {
      const m = coldMiss[mode];
      process.stderr.write(`  ${fmtSize(size)} ${mode} cold MISS: ${m.monitored.sentPerMiss.toFixed(2)} commands sent `
        + `(${byCommand(m.monitored.sentByCommand)}), ${m.commandsPerMiss.toFixed(2)} run, p50 ${fmtMs(m.p50)} ms\n`);
    }
    const targets = clusterTargets(size, cases, coldMiss);
    for (const t of targets.filter((x) => !x.pass)) {
      warnings.push(`${fmtSize(size)}: target missed: ${t.name} ${fmtTarget(t, t.value)} (wanted ${t.wanted})`
        + `${t.byCpu === null ? '' : `; by server CPU/req ${t.byCpu.toFixed(3)}`}`);
    }
    return { bodyBytes: size, cases, checks, keysPerNode, coldMiss, targets };
  } finally {
    await Promise.all(Object.values(servers).map((s) => stop(s.child)));
  }
}

/** The cluster section: a Redis Cluster of CLUSTER_MASTERS masters, HTTP and client benchmarks. */
async function benchCluster(redis, problems, warnings) {
  const cluster = await startCluster({
    masters: CLUSTER_MASTERS,
    startNode: (args) => startRedisServer(args, 'redis-server (cluster node)'),
    stopNode: stop,
    cli: redisCli,
  });
  try {
    console.error(`Redis Cluster: ${CLUSTER_MASTERS} masters on ports ${cluster.ports.join(', ')}, `
      + `ready in ${Math.round(cluster.startedMs)} ms`);
    const out = { masters: CLUSTER_MASTERS, ports: cluster.ports, startedMs: cluster.startedMs, http: [], client: [] };
    console.error(`Cluster HTTP: ${config.loadgen} over ${PATH_COUNT} URLs, ${config.connections} connections, `
      + `${config.duration} s x ${config.rounds} rounds; then ${COLD_MISSES} cold MISSes per server`);
    for (const size of SIZES) out.http.push(await benchClusterHttp(size, redis, cluster, problems, warnings));
    console.error(`Cluster client: GET over 1000 keys, ${IN_FLIGHT} in flight, ${config.clientDuration} s x ${config.clientRounds} rounds`);
    for (const size of SIZES) out.client.push(await benchClient(size, cluster.ports.join(','), problems, 'cluster'));
    for (const r of out.client.filter((x) => !x.meetsTarget)) {
      warnings.push(`${fmtSize(r.valueBytes)}: target missed: cluster client ${r.ratio.toFixed(3)}x ioredis (wanted >= ${r.target})`);
    }
    out.targets = clusterVerdicts(out);
    return out;
  } finally {
    await cluster.close();
  }
}

async function main() {
  // problems make the run fail (exit code 1); warnings are printed and kept in the JSON.
  const problems = [];
  const warnings = [];
  const redisPlace = { 1: 'redis-server on core 1', 0: 'redis-server on core 0', none: 'redis-server unpinned' }[config.redisCore];
  const placement = canPin
    ? `Node under test on core 0; load generator on core 1; ${redisPlace} (taskset)`
    : 'UNPINNED (needs taskset and 2 cores): figures are less comparable';
  console.log(`respcache benchmark: ${os.cpus().length} x ${os.cpus()[0].model.trim()}, Node ${process.version}, `
    + `${os.type()} ${os.release()}`);
  console.log(`${placement}\n`);

  const redis = await startRedis();
  const results = {
    date: new Date().toISOString(),
    placement,
    machine: { cpus: os.cpus().length, clockTicksPerSecond: CLK_TCK, model: os.cpus()[0].model.trim(), platform: `${os.type()} ${os.release()}`,
      node: process.version, redis: versionOf('redis-server', ['--version']),
      loadgen: config.loadgen === 'wrk' ? versionOf('wrk', ['--version']) : `autocannon ${require('autocannon/package.json').version}`,
      ioredis: require('ioredis/package.json').version, pinned: canPin },
    config: { ...config, inFlight: IN_FLIGHT },
    targets: TARGETS,
    http: [],
    client: [],
    cluster: null,
    problems,
    warnings,
  };
  try {
    if (SINGLE_NODE) {
      console.error(`HTTP: ${config.loadgen}, ${config.connections} connections, ${config.duration} s x ${config.rounds} rounds`);
      for (const size of SIZES) results.http.push(await benchHttp(size, redis, problems, warnings));
      console.error(`Redis client: GET, ${IN_FLIGHT} in flight, ${config.clientDuration} s x ${config.clientRounds} rounds`);
      for (const tls of { plain: [false], tls: [true], both: [false, true] }[config.clientKinds]) {
        for (const size of SIZES) {
          results.client.push(await benchClient(size, tls ? redis.tlsPort : redis.port, problems, tls ? 'TLS' : 'TCP'));
        }
      }
      console.error('Stampede: 200 concurrent requests to one cold URL, handler 50 ms');
      results.stampede = await benchStampede(redis, problems);
    }
    if (RUN_CLUSTER) results.cluster = await benchCluster(redis, problems, warnings);
    if (RUN_GATEWAY) results.gateway = await benchGateway(redis, problems, warnings);
  } finally {
    await stop(redis.child);
  }

  if (SINGLE_NODE) printSingleNode(results);
  if (results.cluster) printCluster(results);
  if (results.gateway) printGateway(results);

  fs.mkdirSync(path.dirname(config.out), { recursive: true });
  fs.writeFileSync(config.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nResults (JSON): ${config.out}`);
  if (warnings.length) {
    console.error(`\nWarnings:\n${warnings.map((w) => `  - ${w}`).join('\n')}`);
  }
  if (problems.length) {
    console.error(`\nProblems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exitCode = 1;
  }
}

// ---- the gateway section (issue #14)
/** The upstream service (bench/upstream.js) for `size`-byte bodies, on the load generator's core. */
async function startUpstream(size) {
  const [cmd, args] = pinned(1, process.execPath, [path.join(__dirname, 'upstream.js'), String(size), '20']);
  const { child, value } = await startChild(cmd, args, (out) => {
    const m = /\{"port":(\d+),"pid":(\d+)\}/.exec(out);
    return m && { port: Number(m[1]), pid: Number(m[2]) };
  }, 'upstream (bench/upstream.js)');
  return { child, url: `http://127.0.0.1:${value.port}`, pid: value.pid };
}

/** How many requests for `urlPath` reached the upstream. */
async function upstreamCount(upstream, urlPath) {
  const port = Number(new URL(upstream.url).port);
  return JSON.parse((await get(port, `/__count?path=${encodeURIComponent(urlPath)}`)).body).count;
}

async function benchGatewayHttp(size, redis, problems, warnings) {
  const upstream = await startUpstream(size);
  const servers = {};
  try {
    process.env.RESPCACHE_BENCH_UPSTREAM = upstream.url;
    for (const mode of Object.keys(GATEWAY_CASES)) servers[mode] = await startServer(mode, size, redis.url);
    const expected = makeBody(size);
    const forwarded = await get(servers['gateway-nocache'].port, '/data');
    if (!forwarded.body.equals(expected)) throw new Error(`the no-cache gateway did not answer the ${size}-byte body`);
    await warm(servers.gateway, GATEWAY_CASES.gateway, ['/data'], false, expected);
    const { samples, requests, rounds } = measurer(size, servers, () => [redis.child.pid], loadgen);
    await rounds(Object.keys(GATEWAY_CASES));
    const cases = Object.fromEntries(Object.keys(GATEWAY_CASES).map((mode) => [mode, summarize(samples[mode])]));
    const base = cases['gateway-nocache'];
    for (const c of Object.values(cases)) {
      c.ratio = c.rps / base.rps;
      c.cpuRatio = c.cpuPerReq > 0 && base.cpuPerReq > 0 ? base.cpuPerReq / c.cpuPerReq : null;
      if (c.errors) problems.push(`${fmtSize(size)} gateway: ${c.errors} failed or non-2xx responses`);
    }
    // Every request of the storing gateway but the first must have been a HIT: the upstream saw
    // /cached/data once (a few more would mean lookups that failed and were forwarded).
    const reached = await upstreamCount(upstream, '/cached/data');
    const hitRequests = requests.gateway;
    if (reached > 1 + hitRequests / 100) {
      problems.push(`${fmtSize(size)} gateway: ${reached} of ${hitRequests} requests reached the upstream (want 1)`);
    } else if (reached > 1) {
      // A lookup that failed (a Redis timeout under load) is forwarded: the cache's errors say so.
      const stats = JSON.parse((await get(servers.gateway.port, '/__stats')).body);
      warnings.push(`${fmtSize(size)} gateway: ${reached - 1} requests after the first reached the upstream `
        + `(the cache reported ${stats.cacheErrors} error(s)${stats.firstCacheError ? `, first: ${stats.firstCacheError}` : ''})`);
    }
    const target = GATEWAY_TARGET[size];
    const verdict = target === undefined ? null : { wanted: `>= ${target}`, value: cases.gateway.ratio, pass: cases.gateway.ratio >= target };
    if (verdict && !verdict.pass) {
      warnings.push(`${fmtSize(size)}: target missed: gateway HIT / no cache ${cases.gateway.ratio.toFixed(3)} (wanted >= ${target})`);
    }
    return { bodyBytes: size, cases, upstreamRequests: reached, requests: hitRequests, verdict };
  } finally {
    await Promise.all(Object.values(servers).map((srv) => stop(srv.child)));
    await stop(upstream.child);
  }
}

/**
 * The stampede, twice: on both cores (the target: the 4 gateway processes and the client spread
 * over the machine, as gateways run), then all on core 0 (informational: five busy processes on
 * one core, where a lookup can wait past the 100 ms commandTimeout for its process to run; such a
 * request is forwarded as BYPASS, coalesced within its process only).
 */
async function benchGatewayStampede(redis, problems) {
  const upstream = await startUpstream(1024);
  const argv = [path.join(__dirname, 'gateway-stampede.js'), redis.url, upstream.url, '5', String(GATEWAY_STAMPEDE),
    String(GATEWAY_PROCESSES)];
  const once = async ([cmd, args]) => JSON.parse((await run(cmd, args, { timeoutMs: 120000 })).trim().split('\n').pop());
  try {
    const out = await once(canPin ? ['taskset', ['-c', '0,1', process.execPath, ...argv]] : [process.execPath, argv]);
    if (!out.upstreamRequests.every((n) => n === 1)) {
      problems.push(`gateway stampede: the upstream saw ${out.upstreamRequests.join(', ')} requests per trial (want 1)`);
    }
    if (canPin) out.oneCore = await once(pinned(0, process.execPath, argv));
    return out;
  } finally {
    await stop(upstream.child);
  }
}

async function benchGateway(redis, problems, warnings) {
  console.error(`Gateway: ${config.loadgen}, ${config.connections} connections, ${config.duration} s x ${config.rounds} rounds; `
    + `upstream 20 ms per request; then ${GATEWAY_STAMPEDE} cold requests over ${GATEWAY_PROCESSES} gateway processes`);
  const out = { http: [] };
  for (const size of SIZES) out.http.push(await benchGatewayHttp(size, redis, problems, warnings));
  out.stampede = await benchGatewayStampede(redis, problems);
  return out;
}

/** The gateway section's table and targets, then a Markdown block for docs/benchmarks.md. */
function printGateway(results) {
  const gw = results.gateway;
  const rows = [];
  for (const r of gw.http) {
    Object.keys(GATEWAY_CASES).forEach((mode, i) => {
      const c = r.cases[mode];
      rows.push([i === 0 ? fmtSize(r.bodyBytes) : '', GATEWAY_CASES[mode], fmtInt(c.rps), i === 0 ? fmtRatio(c.ratio) : '',
        fmtUs(c.cpuPerReq), i === 0 ? fmtRatio(c.cpuRatio) : '', fmtMs(c.p50), fmtMs(c.p99)]);
    });
  }
  const header = ['body', 'case', 'req/s', 'vs no cache', 'CPU µs/req', 'by CPU', 'p50 ms', 'p99 ms'];
  const align = ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'];
  console.log(`\nGateway: GET /data through cache.proxy(), ${config.loadgen}, ${config.connections} connections, `
    + `median of ${config.rounds} x ${config.duration} s; upstream answers after 20 ms`);
  console.log(table(header, rows, align));
  const st = gw.stampede;
  const stampedeLine = `Stampede: ${st.concurrency} concurrent requests for one cold URL over ${st.gateways} gateway processes `
    + `(one Redis), on both cores: upstream requests per trial ${st.upstreamRequests.join(', ')}; last answer after `
    + `${st.ms.join(', ')} ms${st.oneCore ? `. The same with the gateways and the client all on core 0 (overloaded: `
    + `lookups can wait past commandTimeout for their process to run, and go BYPASS): upstream requests per trial `
    + `${st.oneCore.upstreamRequests.join(', ')}` : ''}`;
  console.log(stampedeLine);
  const verdicts = gw.http.filter((r) => r.verdict).map((r) => `gateway HIT / no cache at ${fmtSize(r.bodyBytes)}: `
    + `${fmtRatio(r.verdict.value)} (${r.verdict.wanted}) ${r.verdict.pass ? 'met' : 'MISSED'}`);
  verdicts.push(`stampede: upstream requests ${st.upstreamRequests.every((n) => n === 1) ? '1 per trial: met' : 'MISSED'}`);
  console.log(`Targets (issue #14): ${verdicts.join('; ')}`);
  console.log('\nFor docs/benchmarks.md, "Gateway" (paste between the scissors):\n----8<----');
  const m = results.machine;
  const invocation = [...Object.keys(process.env).filter((k) => k.startsWith('BENCH_') && k !== 'BENCH_OUT').sort()
    .map((k) => `${k}=${process.env[k]}`), 'npm run bench'].join(' ');
  console.log(`Measured on ${results.date.slice(0, 10)} with \`${invocation}\` (${config.rounds} x ${config.duration} s, `
    + `${config.connections} connections, ${config.loadgen}): ${m.cpus} x ${m.model}, Node ${m.node}. ${results.placement}; `
    + 'the upstream on core 1.\n');
  console.log(`| ${header.join(' | ')} |\n|${align.map((a) => (a === 'r' ? '---:|' : '---|')).join('')}`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log(`\n${stampedeLine}.\n\nTargets: ${verdicts.join('; ')}.`);
  console.log('----8<----');
}

const passMiss = (pass) => (pass === null ? '' : pass ? 'PASS' : 'MISS');

/**
 * Every issue #12 target of the cluster section with its verdict: per body size, cluster HIT /
 * one-node HIT and a cold MISS's commands, then the cluster client's ratio.
 * @returns {{ size: number, name: string, wanted: string, value: number, pass: boolean,
 *   byCpu: number|null, byCpuPass: boolean|null }[]}
 */
function clusterVerdicts(cluster) {
  return [
    ...cluster.http.flatMap((r) => r.targets.map((t) => ({ size: r.bodyBytes, ...t }))),
    ...cluster.client.map((r) => ({ size: r.valueBytes, name: 'cluster client / ioredis Redis.Cluster',
      wanted: `>= ${r.target}`, value: r.ratio, pass: r.meetsTarget, byCpu: null, byCpuPass: null })),
  ];
}

/** The cluster section's tables and targets, then a Markdown summary for docs/benchmarks.md. */
function printCluster(results) {
  const cl = results.cluster;
  console.log(`\nRedis Cluster of ${cl.masters} masters, no replicas (nodes pinned as redis-server is): `
    + `GET /data/0 ... /data/${PATH_COUNT - 1}, ${config.loadgen}, ${config.connections} connections, `
    + `median of ${config.rounds} x ${config.duration} s; keys per node after warming: `
    + `${cl.http.map((r) => `${fmtSize(r.bodyBytes)} ${r.keysPerNode.join('/')}`).join(', ')} (cumulative)`);
  console.log('vs one node: the case\'s req/s over the one-node HIT\'s; by CPU: one-node CPU/req over the case\'s; '
    + 'redis µs/req: summed over the cluster\'s nodes.');
  const httpRows = [];
  for (const r of cl.http) {
    Object.keys(CLUSTER_CASES).forEach((mode, i) => {
      const c = r.cases[mode];
      const first = i === 0;
      httpRows.push([first ? fmtSize(r.bodyBytes) : '', CLUSTER_CASES[mode], fmtInt(c.rps), first ? '' : fmtRatio(c.ratio),
        fmtUs(c.cpuPerReq), first ? '' : fmtRatio(c.cpuRatio), fmtUs(c.redisCpuPerReq), fmtMs(c.p50), fmtMs(c.p99)]);
    });
  }
  console.log(table(['body', 'case', 'req/s', 'vs one node', 'CPU µs/req', 'by CPU', 'redis µs/req', 'p50 ms', 'p99 ms'],
    httpRows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));

  console.log(`\nCold MISS, new URLs one at a time to each server in turn, summed over the nodes: sent/MISS, the commands `
    + `the clients sent (MONITOR, ${MONITORED_MISSES} MISSes: each is one trip at most); run/MISS, all Redis ran (INFO `
    + `commandstats, ${COLD_MISSES} MISSes: the scripts' own calls too); latency from those ${COLD_MISSES}. Background `
    + 'commands (PING, CLUSTER, CONFIG, CLIENT, SCRIPT, HELLO, SUBSCRIBE, INFO) are left out.');
  const missRows = [];
  for (const r of cl.http) {
    Object.keys(CLUSTER_CASES).forEach((mode, i) => {
      const m = r.coldMiss[mode];
      missRows.push([i === 0 ? fmtSize(r.bodyBytes) : '', missLabel(mode, cl), m.monitored.sentPerMiss.toFixed(2),
        byCommand(m.monitored.sentByCommand), m.commandsPerMiss.toFixed(2), fmtMs(m.p50), fmtMs(m.p99)]);
    });
  }
  console.log(table(['body', 'Redis', 'sent/MISS', 'sent, by command', 'run/MISS', 'p50 ms', 'p99 ms'], missRows,
    ['l', 'l', 'r', 'l', 'r', 'r', 'r']));

  console.log(`\nRedis Cluster GET over 1000 keys, ${IN_FLIGHT} in flight: median of ${config.clientRounds} x ${config.clientDuration} s`);
  console.log(table(['value', 'respcache ops/s', 'ioredis Redis.Cluster ops/s', 'ratio', 'target', ''],
    cl.client.map((r) => [fmtSize(r.valueBytes), fmtInt(r.native.opsPerSec), fmtInt(r.ioredis.opsPerSec),
      r.ratio.toFixed(3), `>= ${r.target}`, r.meetsTarget ? 'ok' : 'BELOW TARGET']),
    ['l', 'r', 'r', 'r', 'r', 'l']));

  const verdicts = cl.targets;
  console.log('\nTargets (issue #12), within this run: the value from req/s is the target; "by CPU" is the same ratio '
    + 'from server CPU per request');
  console.log(table(['body', 'target', 'wanted', 'measured', '', 'by CPU', ''],
    verdicts.map((t) => [fmtSize(t.size), t.name, t.wanted, fmtRatio(t.value), passMiss(t.pass),
      t.byCpu === null ? '' : fmtRatio(t.byCpu), passMiss(t.byCpuPass)]),
    ['l', 'l', 'l', 'r', 'l', 'r', 'l']));
  const met = verdicts.filter((t) => t.pass).length;
  console.log(`${met} of ${verdicts.length} cluster targets met${met < verdicts.length ? ' (the misses are listed under Warnings)' : ''}`);

  console.log('\nFor docs/benchmarks.md, "Cluster" (paste between the scissors):\n----8<----');
  console.log(clusterMarkdown(results, verdicts));
  console.log('----8<----');
}

const missLabel = (mode, cl) => (mode === 'hit-cluster' ? `Redis Cluster (${cl.masters} masters)` : 'one node');

/** "evalsha 1.00, get 1.00" (commands per MISS, most first). */
function byCommand(counts) {
  return Object.entries(counts).map(([name, n]) => `${name} ${n.toFixed(2)}`).join(', ') || 'none';
}

/** The cluster section's figures as Markdown, in the shape of docs/benchmarks.md's results. */
function clusterMarkdown(results, verdicts) {
  const cl = results.cluster;
  const m = results.machine;
  const invocation = [...Object.keys(process.env).filter((k) => k.startsWith('BENCH_') && k !== 'BENCH_OUT').sort()
    .map((k) => `${k}=${process.env[k]}`), 'npm run bench'].join(' ');
  const loadgen = config.loadgen === 'wrk' ? 'wrk' : 'autocannon';
  const lines = [];
  const redisVersion = /v=(\S+)/.exec(m.redis || '');
  lines.push(`Measured on ${results.date.slice(0, 10)} with \`${invocation}\` (HTTP: ${config.rounds} x ${config.duration} s, `
    + `${config.connections} connections, ${loadgen}; client: ${config.clientRounds} x ${config.clientDuration} s): `
    + `${m.cpus} x ${m.model}, Node ${m.node}, redis-server ${redisVersion ? redisVersion[1] : '(version unknown)'}, `
    + `ioredis ${m.ioredis}. ${results.placement}; the cluster's ${cl.masters} nodes where redis-server is.`, '');
  const head = SIZES.map((size) => `${fmtSize(size)} req/s | vs one node | CPU us/req | redis us/req | p99 ms`).join(' | ');
  lines.push(`| case | ${head} |`, `|---|${SIZES.map(() => '---:|'.repeat(5)).join('')}`);
  for (const mode of Object.keys(CLUSTER_CASES)) {
    const cells = cl.http.map((r) => {
      const c = r.cases[mode];
      return [fmtInt(c.rps), mode === 'hit-single' ? '' : c.ratio.toFixed(2), fmtUs(c.cpuPerReq), fmtUs(c.redisCpuPerReq),
        fmtMs(c.p99)].join(' | ');
    });
    lines.push(`| ${CLUSTER_CASES[mode].replace('respcache HIT, ', 'HIT, ')} | ${cells.join(' | ')} |`);
  }
  lines.push('', `| cold MISS | ${SIZES.map((size) => `${fmtSize(size)}: commands sent | run | p50 ms | p99 ms`).join(' | ')} |`,
    `|---|${SIZES.map(() => '---|---:|---:|---:|').join('')}`);
  for (const mode of Object.keys(CLUSTER_CASES)) {
    const cells = cl.http.map((r) => {
      const miss = r.coldMiss[mode];
      return [`${miss.monitored.sentPerMiss.toFixed(2)} (${byCommand(miss.monitored.sentByCommand)})`,
        miss.commandsPerMiss.toFixed(2), fmtMs(miss.p50), fmtMs(miss.p99)].join(' | ');
    });
    lines.push(`| ${missLabel(mode, cl)} | ${cells.join(' | ')} |`);
  }
  lines.push('', `Commands sent per cold MISS: seen by MONITOR over ${MONITORED_MISSES} MISSes (a command sent is one `
    + `trip to Redis at most; pipelined ones share one); run: INFO commandstats over ${COLD_MISSES} MISSes (with the `
    + 'calls scripts make); latency of those, one request at a time. Summed over the nodes, background commands left out.');
  lines.push('', `| value | respcache cluster client GET/s | ioredis Redis.Cluster GET/s | ratio (target) |`, '|---|---:|---:|---:|');
  for (const r of cl.client) {
    lines.push(`| ${fmtSize(r.valueBytes)} | ${fmtInt(r.native.opsPerSec)} | ${fmtInt(r.ioredis.opsPerSec)} | `
      + `${r.ratio.toFixed(2)} (>= ${r.target}) |`);
  }
  const met = verdicts.filter((t) => t.pass).length;
  lines.push('', `Targets met: ${met} of ${verdicts.length}. `
    + verdicts.map((t) => `${t.name} at ${fmtSize(t.size)}: ${fmtRatio(t.value)} (${t.wanted}${t.byCpu === null ? ''
      : `; by server CPU ${fmtRatio(t.byCpu)}`}) ${t.pass ? 'met' : 'MISSED'}`).join('; ') + '.');
  return lines.join('\n');
}

/** The tables of the single-node HTTP cases, client benchmarks and stampede. */
function printSingleNode(results) {
  console.log(`\nHTTP GET /data: ${config.loadgen}, ${config.connections} connections, `
    + `median of ${config.rounds} x ${config.duration} s (no cache: 1 run)`);
  console.log('CPU µs/req: the server process\'s CPU time (utime + stime, /proc) per request completed; '
    + 'redis µs/req: redis-server\'s.');
  console.log('vs bare: the case\'s req/s over bare Express req/s; by CPU: bare CPU/req over the case\'s CPU/req.');
  const httpRows = [];
  for (const r of results.http) {
    MODES.forEach((mode, i) => {
      const c = r.cases[mode];
      httpRows.push([i === 0 ? fmtSize(r.bodyBytes) : '', CASES[mode], fmtInt(c.rps),
        mode === 'bare' ? '' : fmtRatio(c.ratio), fmtUs(c.cpuPerReq), mode === 'bare' ? '' : fmtRatio(c.cpuRatio),
        REDIS_MODES.includes(mode) ? fmtUs(c.redisCpuPerReq) : '', fmtMs(c.p50), fmtMs(c.p99)]);
    });
  }
  console.log(table(['body', 'case', 'req/s', 'vs bare', 'CPU µs/req', 'by CPU', 'redis µs/req', 'p50 ms', 'p99 ms'],
    httpRows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));

  console.log('\nTargets (issues #11 and #13), within this run: the value from req/s is the target; "by CPU" is the same '
    + 'ratio from server CPU per request (steadier while other work shares the cores)');
  const targetRows = [];
  let met = 0;
  let total = 0;
  for (const r of results.http) {
    r.targets.forEach((t, i) => {
      total++;
      if (t.pass) met++;
      targetRows.push([i === 0 ? fmtSize(r.bodyBytes) : '', t.name, t.wanted, fmtTarget(t, t.value), passMiss(t.pass),
        t.byCpu === null ? '' : fmtRatio(t.byCpu), passMiss(t.byCpuPass)]);
    });
  }
  console.log(table(['body', 'target', 'wanted', 'measured', '', 'by CPU', ''], targetRows,
    ['l', 'l', 'l', 'r', 'l', 'r', 'l']));
  console.log(`${met} of ${total} targets met${met < total ? ' (the misses are listed under Warnings)' : ''}`);

  console.log(`\nRedis GET, ${IN_FLIGHT} in flight: median of ${config.clientRounds} x ${config.clientDuration} s`);
  console.log(table(['value', 'transport', 'respcache ops/s', 'ioredis (auto-pipelining) ops/s', 'ratio', 'target', ''],
    results.client.map((r) => [fmtSize(r.valueBytes), r.transport, fmtInt(r.native.opsPerSec),
      fmtInt(r.ioredis.opsPerSec), r.ratio.toFixed(3), `>= ${r.target}`, r.meetsTarget ? 'ok' : 'BELOW TARGET']),
    ['l', 'l', 'r', 'r', 'r', 'r', 'l']));
  for (const size of SIZES) {
    const plain = results.client.find((r) => r.transport === 'TCP' && r.valueBytes === size);
    const overTls = results.client.find((r) => r.transport === 'TLS' && r.valueBytes === size);
    if (plain && overTls) {
      console.log(`  ${fmtSize(size)}: respcache over TLS ${fmtRatio(overTls.native.opsPerSec / plain.native.opsPerSec)}x `
        + `its plain-TCP ops/s; ioredis ${fmtRatio(overTls.ioredis.opsPerSec / plain.ioredis.opsPerSec)}x`);
    }
  }

  const st = results.stampede;
  console.log(`\nStampede: ${st.concurrency} concurrent requests to one cold URL, handler ${st.handlerMs} ms, `
    + `median of ${st.trials} trials`);
  console.log(table(['route', 'handler runs', 'ms until all answered'], [
    ['respcache (coalesce: true, default)', String(median(st.coalesced.calls)), fmtMs(median(st.coalesced.ms))],
    ['respcache with coalesce: false', String(median(st.plain.calls)), fmtMs(median(st.plain.ms))],
  ], ['l', 'r', 'r']));
}

main().catch((err) => {
  console.error(`benchmark failed: ${err.stack || err}`);
  killAll();
  process.exitCode = 1;
});
