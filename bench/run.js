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
// Targets (issue #11), as ratios within one run: Redis HIT/bare >= 1.1 (1 KB), >= 0.95 (100 KB);
// in-process HIT/bare (near cache and embedded alike) >= 1.25 (1 KB), >= 1.2 (100 KB); every
// in-process HIT faster than the Redis HIT, with a p99 no worse. Each is printed with its value
// from req/s (the target) and from CPU/req (steadier). A missed target is a warning: the exit
// status is 1 only for problems (errors, requests that were not HITs beyond 1%, wrong replies,
// a stampede that ran its handler more than once).
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
//   BENCH_WARMUP          seconds of load before a server's first measurement (2)
//   BENCH_LOADGEN         wrk | autocannon (wrk when installed)
//   BENCH_REDIS_CORE      core for redis-server: 1 (with the load generator), 0 (with the server
//                         under test) or none (unpinned) (1)
//   BENCH_CLIENT_DURATION seconds per client measurement (3)
//   BENCH_CLIENT_ROUNDS   alternating native/ioredis rounds per value size (3)
//   BENCH_OUT             where to write the JSON results
//   BENCH_CASES           comma-separated HTTP cases to measure (bare and hit always are), e.g.
//                         "hit-tls" for the TLS comparison alone; all when unset
//   BENCH_CLIENT_KINDS    plain, tls or both (both): which client comparisons to run
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { makeBody } = require('./body');

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
// Which cases this run measures (BENCH_CASES; bare and hit always, every case when unset).
const SELECTED = (() => {
  const raw = process.env.BENCH_CASES;
  if (!raw) return new Set(Object.keys(CASES));
  const names = raw.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(n in CASES));
  if (unknown.length) {
    console.error(`BENCH_CASES: unknown case(s) ${unknown.join(', ')}; known: ${Object.keys(CASES).join(', ')}`);
    process.exit(2);
  }
  return new Set(['bare', 'hit', ...names]);
})();
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
};
const IN_FLIGHT = 100;

function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n > 0)) {
    console.error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const config = {
  duration: envNumber('BENCH_DURATION', 10),
  connections: Math.round(envNumber('BENCH_CONNECTIONS', 50)),
  rounds: Math.round(envNumber('BENCH_ROUNDS', 3)),
  warmup: envNumber('BENCH_WARMUP', 2),
  clientDuration: envNumber('BENCH_CLIENT_DURATION', 3),
  clientRounds: Math.round(envNumber('BENCH_CLIENT_ROUNDS', 3)),
  loadgen: process.env.BENCH_LOADGEN || (hasCommand('wrk') ? 'wrk' : 'autocannon'),
  redisCore: process.env.BENCH_REDIS_CORE || '1',
  out: process.env.BENCH_OUT || path.join(os.tmpdir(), 'respcache-bench', 'latest.json'),
  clientKinds: process.env.BENCH_CLIENT_KINDS || 'both',
};
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
  const [cmd, args] = config.redisCore === 'none'
    ? ['redis-server', redisArgs]
    : pinned(Number(config.redisCore), 'redis-server', redisArgs);
  const { child } = await startChild(cmd, args,
    (out) => out.includes('Ready to accept connections'), 'redis-server');
  return { child, port, url: `redis://127.0.0.1:${port}/0`, tlsPort, tlsUrl: `rediss://127.0.0.1:${tlsPort}/0` };
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

function get(port, urlPath) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
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

async function wrk(port, seconds) {
  const [cmd, args] = pinned(1, 'wrk', ['-t1', `-c${config.connections}`, `-d${seconds}s`,
    '--latency', `http://127.0.0.1:${port}/data`]);
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
  const out = await run(cmd, args, { timeoutMs: (seconds + 30) * 1000 });
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
async function load(server, seconds, redis) {
  const before = { cores: cpuTimes(), server: processCpuUs(server.pid), redis: processCpuUs(redis.child.pid) };
  const result = await loadgen(server.port, seconds);
  const after = { cores: cpuTimes(), server: processCpuUs(server.pid), redis: processCpuUs(redis.child.pid) };
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

/**
 * The issue #11 targets for one body size, each with its value from req/s (what the target is
 * set on) and, for the ratios, the same ratio from server CPU per request.
 * @returns {{ name: string, wanted: string, value: number, pass: boolean, byCpu: number|null,
 *   byCpuPass: boolean|null }[]}
 */
function httpTargets(size, c) {
  // How many times cheaper `b` is than `a` in server CPU per request (null when unknown).
  const cheaper = (a, b) => (a.cpuPerReq > 0 && b.cpuPerReq > 0 ? a.cpuPerReq / b.cpuPerReq : null);
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
    for (const mode of CACHED) {
      const first = await get(servers[mode].port, '/data');
      const second = await get(servers[mode].port, '/data');
      const tier = second.headers['x-cache-tier'];
      const fromMemory = IN_PROCESS.includes(mode);
      if (second.headers['x-cache'] !== 'HIT' || (tier === 'local') !== fromMemory) {
        throw new Error(`${CASES[mode]}: no HIT ${fromMemory ? 'from process memory' : 'from Redis'} after warming `
          + `(X-Cache: ${first.headers['x-cache']}, then ${second.headers['x-cache']}; X-Cache-Tier: ${tier || 'none'})`);
      }
      if (!second.body.equals(expected)) throw new Error(`${CASES[mode]}: the HIT body differs from the handler body`);
    }

    const samples = Object.fromEntries(MODES.map((mode) => [mode, []]));
    const requests = Object.fromEntries(MODES.map((mode) => [mode, 0])); // warm-up and measured
    const measure = async (mode) => {
      if (samples[mode].length === 0 && config.warmup > 0) {
        requests[mode] += (await loadgen(servers[mode].port, config.warmup)).requests;
      }
      const result = await load(servers[mode], config.duration, redis);
      requests[mode] += result.requests;
      samples[mode].push(result);
      process.stderr.write(`  ${fmtSize(size)} ${mode}: ${fmtInt(result.rps)} req/s, ${fmtUs(result.cpuPerReq)} µs/req, `
        + `p99 ${fmtMs(result.p99)} ms, cores busy ${fmtBusy(result.cpuBusy)}\n`);
    };
    // Rounds alternate the order (bare, hit, local, embedded; then the reverse), so a drift of the
    // machine over the run does not favour one case.
    for (let round = 0; round < config.rounds; round++) {
      for (const mode of round % 2 === 0 ? ROUND : [...ROUND].reverse()) await measure(mode);
    }
    if (MODES.includes('nocache')) await measure('nocache');

    // One handler call (the warming MISS): every other one answered a request that was not a HIT
    // (a BYPASS: the lookup failed or timed out). A few do not change the figures; more than 1%
    // would make them a blend of HITs and bare handler runs. The in-process cases must also have
    // served their HITs from process memory, not from Redis.
    const checks = {};
    for (const mode of CACHED) {
      const stats = JSON.parse((await get(servers[mode].port, '/__stats')).body);
      if (!Number.isInteger(stats.hits) || !Number.isInteger(stats.localHits)) {
        throw new Error(`the ${mode} server did not report its HIT counters: ${JSON.stringify(stats)}`);
      }
      const notHits = stats.handlerCalls - 1;
      const notHitShare = notHits / requests[mode];
      if (notHits !== 0 || stats.cacheErrors !== 0) {
        const message = `${fmtSize(size)}: during the ${SHORT[mode]} runs ${notHits} of ${fmtInt(requests[mode])} requests `
          + `(${(100 * notHitShare).toFixed(2)}%) were not HITs (the handler ran), and the cache reported `
          + `${stats.cacheErrors} error(s)${stats.firstCacheError ? `, first: ${stats.firstCacheError}` : ''}`;
        if (notHitShare > 0.01) problems.push(message);
        else warnings.push(message);
      }
      const fromMemory = IN_PROCESS.includes(mode);
      const counted = fromMemory ? stats.localHits : stats.hits;
      if (counted < requests[mode] - notHits) {
        warnings.push(`${fmtSize(size)}: the ${SHORT[mode]} server counted ${fmtInt(counted)} HITs`
          + `${fromMemory ? ' from process memory' : ''} for ${fmtInt(requests[mode] - notHits)} requests that did not run the handler`);
      }
      const redisHits = stats.hits - stats.localHits;
      if (fromMemory && redisHits > 0) {
        warnings.push(`${fmtSize(size)}: during the ${SHORT[mode]} runs ${redisHits} of ${fmtInt(stats.hits)} `
          + 'HITs came from Redis, not from the in-process tier');
      }
      checks[mode] = { requests: requests[mode], handlerCalls: stats.handlerCalls, notHits, cacheErrors: stats.cacheErrors,
        hits: stats.hits, localHits: stats.localHits, redisHits };
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

async function benchClient(size, redis, problems, tls = false) {
  const [nativeKind, ioredisKind] = tls ? ['native-tls', 'ioredis-tls'] : ['native', 'ioredis'];
  const samples = { [nativeKind]: [], [ioredisKind]: [] };
  for (let round = 0; round < config.clientRounds; round++) {
    for (const kind of round % 2 === 0 ? [nativeKind, ioredisKind] : [ioredisKind, nativeKind]) {
      const result = await clientOnce(kind, size, tls ? redis.tlsPort : redis.port);
      if (result.badReplies) problems.push(`${kind} ${fmtSize(size)}: ${result.badReplies} replies of the wrong size`);
      samples[kind].push(result.opsPerSec);
      process.stderr.write(`  ${fmtSize(size)} ${kind}: ${fmtInt(result.opsPerSec)} ops/s, cores busy ${fmtBusy(result.cpuBusy)}\n`);
    }
  }
  const native = median(samples[nativeKind]);
  const ioredis = median(samples[ioredisKind]);
  const target = (tls ? TARGETS.clientTls : TARGETS.client)[size];
  return {
    valueBytes: size,
    tls,
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
    http: [],
    client: [],
    problems,
    warnings,
  };
  try {
    console.error(`HTTP: ${config.loadgen}, ${config.connections} connections, ${config.duration} s x ${config.rounds} rounds`);
    for (const size of SIZES) results.http.push(await benchHttp(size, redis, problems, warnings));
    console.error(`Redis client: GET, ${IN_FLIGHT} in flight, ${config.clientDuration} s x ${config.clientRounds} rounds`);
    for (const tls of { plain: [false], tls: [true], both: [false, true] }[config.clientKinds]) {
      for (const size of SIZES) results.client.push(await benchClient(size, redis, problems, tls));
    }
    console.error('Stampede: 200 concurrent requests to one cold URL, handler 50 ms');
    results.stampede = await benchStampede(redis, problems);
  } finally {
    await stop(redis.child);
  }

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
  const passMiss = (pass) => (pass === null ? '' : pass ? 'PASS' : 'MISS');
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
    results.client.map((r) => [fmtSize(r.valueBytes), r.tls ? 'TLS' : 'TCP', fmtInt(r.native.opsPerSec),
      fmtInt(r.ioredis.opsPerSec), r.ratio.toFixed(3), `>= ${r.target}`, r.meetsTarget ? 'ok' : 'BELOW TARGET']),
    ['l', 'l', 'r', 'r', 'r', 'r', 'l']));
  for (const size of SIZES) {
    const plain = results.client.find((r) => !r.tls && r.valueBytes === size);
    const overTls = results.client.find((r) => r.tls && r.valueBytes === size);
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

main().catch((err) => {
  console.error(`benchmark failed: ${err.stack || err}`);
  killAll();
  process.exitCode = 1;
});
