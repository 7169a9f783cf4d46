'use strict';

// `npm run bench`: HTTP throughput of a respcache HIT (from Redis, and from the in-process tier of
// a near cache) against bare Express serving the same bytes, and GET throughput of respcache's
// native Redis client against ioredis.
//
// Placement on a 2-core machine (taskset):
//   core 0: the Node process under test (an HTTP server, or the Redis client benchmark)
//   core 1: the load generator (wrk, else autocannon) and redis-server
// Results are medians over alternating rounds, and only ratios measured within one run are
// compared with the targets. Written as JSON to $BENCH_OUT or <tmpdir>/respcache-bench/latest.json.
//
// Environment:
//   BENCH_DURATION        seconds per HTTP measurement (10)
//   BENCH_CONNECTIONS     HTTP connections (50)
//   BENCH_ROUNDS          alternating bare/HIT/local HIT rounds per body size (3)
//   BENCH_WARMUP          seconds of load before a server's first measurement (2)
//   BENCH_LOADGEN         wrk | autocannon (wrk when installed)
//   BENCH_REDIS_CORE      core for redis-server: 1 (with the load generator), 0 (with the server
//                         under test) or none (unpinned) (1)
//   BENCH_CLIENT_DURATION seconds per client measurement (3)
//   BENCH_CLIENT_ROUNDS   alternating native/ioredis rounds per value size (3)
//   BENCH_OUT             where to write the JSON results
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { makeBody } = require('./body');

const SIZES = [1024, 100 * 1024];
const TARGETS = {
  http: { 1024: 0.92, [100 * 1024]: 0.85 }, // HIT req/s divided by bare req/s, at least
  // local HIT (near cache, served from process memory) req/s divided by bare req/s, at least;
  // below it is a warning, not a failure
  httpLocal: { 1024: 0.97, [100 * 1024]: 0.95 },
  client: { 1024: 1.2, [100 * 1024]: 1.5 }, // native ops/s divided by ioredis ops/s, at least
};
const IN_FLIGHT = 100;
// HTTP scenarios: bare Express, a HIT from Redis, a HIT from the near cache's in-process tier, and
// no cache in front of a 20 ms data source.
const MODES = ['bare', 'hit', 'local', 'nocache'];
const CACHED = ['hit', 'local'];

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
};
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

async function startRedis() {
  const port = await freePort();
  const redisArgs = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'];
  const [cmd, args] = config.redisCore === 'none'
    ? ['redis-server', redisArgs]
    : pinned(Number(config.redisCore), 'redis-server', redisArgs);
  const { child } = await startChild(cmd, args,
    (out) => out.includes('Ready to accept connections'), 'redis-server');
  return { child, port, url: `redis://127.0.0.1:${port}/0` };
}

async function startServer(mode, size, redisUrl) {
  const [cmd, args] = pinned(0, process.execPath,
    [path.join(__dirname, 'server.js'), mode, String(size), ...(redisUrl ? [redisUrl] : [])]);
  const { child, value: port } = await startChild(cmd, args, (out) => {
    const m = /\{"port":(\d+)\}/.exec(out);
    return m && Number(m[1]);
  }, `bench server (${mode})`);
  return { child, port, mode };
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

// A load run, with how busy each core was: if core 1 (load generator, Redis) is saturated, the
// figure measures core 1, not the server on core 0.
async function load(port, seconds) {
  const before = cpuTimes();
  const result = await loadgen(port, seconds);
  return { ...result, cpuBusy: busyPercent(before, cpuTimes()) };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function summarize(samples) {
  const cores = samples[0].cpuBusy ? samples[0].cpuBusy.length : 0;
  return {
    rps: median(samples.map((s) => s.rps)),
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
const fmtBusy = (busy) => (busy ? busy.map((b) => `${Math.round(b)}%`).join('/') : 'n/a');

/** A text table; `align` has one 'l' or 'r' per column. */
function table(header, rows, align) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((v, i) => (align[i] === 'l' ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i])))
    .join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---- the HTTP benchmark
async function benchHttp(size, redis, problems, warnings) {
  const servers = {};
  try {
    for (const mode of MODES) {
      servers[mode] = await startServer(mode, size, CACHED.includes(mode) ? redis.url : undefined);
    }
    // The same bytes everywhere, and a warm HIT before any measurement.
    const expected = makeBody(size);
    const bare = await get(servers.bare.port, '/data');
    const first = await get(servers.hit.port, '/data');
    const second = await get(servers.hit.port, '/data');
    if (!bare.body.equals(expected)) throw new Error(`bare Express did not answer the ${size}-byte body`);
    if (second.headers['x-cache'] !== 'HIT') {
      throw new Error(`respcache did not answer a HIT after warming (X-Cache: ${first.headers['x-cache']}, `
        + `then ${second.headers['x-cache']})`);
    }
    if (!second.body.equals(expected)) throw new Error('the respcache HIT body differs from the handler body');
    // The near cache: the first request fills both tiers, the second must come from process memory.
    const localFirst = await get(servers.local.port, '/data');
    const localSecond = await get(servers.local.port, '/data');
    if (localSecond.headers['x-cache'] !== 'HIT' || localSecond.headers['x-cache-tier'] !== 'local') {
      throw new Error('respcache (near cache) did not answer a local HIT after warming '
        + `(X-Cache: ${localFirst.headers['x-cache']}, then ${localSecond.headers['x-cache']}; `
        + `X-Cache-Tier: ${localSecond.headers['x-cache-tier']})`);
    }
    if (!localSecond.body.equals(expected)) throw new Error('the respcache local HIT body differs from the handler body');

    const samples = { bare: [], hit: [], local: [], nocache: [] };
    const requests = { hit: 0, local: 0 };
    const measure = async (mode) => {
      if (samples[mode].length === 0 && config.warmup > 0) {
        const warm = await load(servers[mode].port, config.warmup);
        if (mode in requests) requests[mode] += warm.requests;
      }
      const result = await load(servers[mode].port, config.duration);
      if (mode in requests) requests[mode] += result.requests;
      samples[mode].push(result);
      process.stderr.write(`  ${fmtSize(size)} ${mode}: ${fmtInt(result.rps)} req/s, cores busy ${fmtBusy(result.cpuBusy)}\n`);
    };
    // Rounds alternate the order (bare, hit, local; then local, hit, bare), so a drift of the
    // machine over the run does not favour one scenario.
    for (let round = 0; round < config.rounds; round++) {
      for (const mode of round % 2 === 0 ? ['bare', 'hit', 'local'] : ['local', 'hit', 'bare']) await measure(mode);
    }
    await measure('nocache');

    // One handler call (the warming MISS): every other one answered a request that was not a HIT
    // (a BYPASS: the lookup failed or timed out). A few do not change the figures; more than 1%
    // would make them a blend of HITs and bare handler runs.
    const checkHits = async (mode, label) => {
      const stats = JSON.parse((await get(servers[mode].port, '/__stats')).body);
      const notHits = stats.handlerCalls - 1;
      const notHitShare = notHits / requests[mode];
      if (notHits !== 0 || stats.cacheErrors !== 0) {
        const message = `${fmtSize(size)}: during the ${label} runs ${notHits} of ${fmtInt(requests[mode])} requests `
          + `(${(100 * notHitShare).toFixed(2)}%) were not HITs (the handler ran), and the cache reported `
          + `${stats.cacheErrors} error(s)${stats.firstCacheError ? `, first: ${stats.firstCacheError}` : ''}`;
        if (notHitShare > 0.01) problems.push(message);
        else warnings.push(message);
      }
      return { stats, notHits };
    };
    const hitCheck = await checkHits('hit', 'HIT');
    const localCheck = await checkHits('local', 'local HIT');
    // In the near cache every HIT should come from process memory; HITs from Redis would make
    // the local figure a blend of both tiers.
    if (!Number.isInteger(localCheck.stats.hits) || !Number.isInteger(localCheck.stats.localHits)) {
      throw new Error(`the near-cache server did not report its HIT counters: ${JSON.stringify(localCheck.stats)}`);
    }
    const redisHits = localCheck.stats.hits - localCheck.stats.localHits;
    if (redisHits > 0) {
      warnings.push(`${fmtSize(size)}: during the local HIT runs ${redisHits} of ${fmtInt(localCheck.stats.hits)} `
        + 'HITs came from Redis, not from the in-process tier');
    }
    const result = {
      bodyBytes: size,
      bare: summarize(samples.bare),
      hit: summarize(samples.hit),
      local: summarize(samples.local),
      nocache: summarize(samples.nocache),
      hitRequests: requests.hit,
      hitNotHits: hitCheck.notHits,
      hitCacheErrors: hitCheck.stats.cacheErrors,
      localRequests: requests.local,
      localNotHits: localCheck.notHits,
      localCacheErrors: localCheck.stats.cacheErrors,
      localTierHits: localCheck.stats.localHits,
      localRedisHits: redisHits,
    };
    result.ratio = result.hit.rps / result.bare.rps;
    result.target = TARGETS.http[size];
    result.meetsTarget = result.ratio >= result.target;
    result.localRatio = result.local.rps / result.bare.rps;
    result.localTarget = TARGETS.httpLocal[size];
    result.localMeetsTarget = result.localRatio >= result.localTarget;
    if (!result.localMeetsTarget) {
      warnings.push(`${fmtSize(size)}: local HIT/bare ${result.localRatio.toFixed(3)} is below its target `
        + `(>= ${result.localTarget})`);
    }
    for (const mode of MODES) {
      if (result[mode].errors) problems.push(`${fmtSize(size)} ${mode}: ${result[mode].errors} failed or non-2xx responses`);
    }
    return result;
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

async function benchClient(size, redis, problems) {
  const samples = { native: [], ioredis: [] };
  for (let round = 0; round < config.clientRounds; round++) {
    for (const kind of round % 2 === 0 ? ['native', 'ioredis'] : ['ioredis', 'native']) {
      const result = await clientOnce(kind, size, redis.port);
      if (result.badReplies) problems.push(`${kind} ${fmtSize(size)}: ${result.badReplies} replies of the wrong size`);
      samples[kind].push(result.opsPerSec);
      process.stderr.write(`  ${fmtSize(size)} ${kind}: ${fmtInt(result.opsPerSec)} ops/s, cores busy ${fmtBusy(result.cpuBusy)}\n`);
    }
  }
  const native = median(samples.native);
  const ioredis = median(samples.ioredis);
  return {
    valueBytes: size,
    native: { opsPerSec: native, samples: samples.native },
    ioredis: { opsPerSec: ioredis, samples: samples.ioredis },
    ratio: native / ioredis,
    target: TARGETS.client[size],
    meetsTarget: native / ioredis >= TARGETS.client[size],
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
    machine: { cpus: os.cpus().length, model: os.cpus()[0].model.trim(), platform: `${os.type()} ${os.release()}`,
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
    for (const size of SIZES) results.client.push(await benchClient(size, redis, problems));
    console.error('Stampede: 200 concurrent requests to one cold URL, handler 50 ms');
    results.stampede = await benchStampede(redis, problems);
  } finally {
    await stop(redis.child);
  }

  console.log(`\nHTTP GET /data: ${config.loadgen}, ${config.connections} connections, `
    + `median of ${config.rounds} x ${config.duration} s (no cache: 1 run)`);
  const httpRows = [];
  for (const r of results.http) {
    const row = (label, m, note = '') => [label, fmtInt(m.rps), fmtMs(m.p50), fmtMs(m.p99), fmtBusy(m.cpuBusy), note];
    httpRows.push([fmtSize(r.bodyBytes), ...row('bare Express 5', r.bare)]);
    httpRows.push(['', ...row('respcache HIT', r.hit,
      `HIT/bare ${r.ratio.toFixed(3)} (target >= ${r.target}) ${r.meetsTarget ? 'ok' : 'BELOW TARGET'}`)]);
    httpRows.push(['', ...row('respcache local HIT', r.local,
      `local/bare ${r.localRatio.toFixed(3)} (target >= ${r.localTarget}) ${r.localMeetsTarget ? 'ok' : 'BELOW TARGET'}`)]);
    httpRows.push(['', ...row('no cache, 20 ms source', r.nocache)]);
  }
  console.log(table(['body', 'scenario', 'req/s', 'p50 ms', 'p99 ms', 'core0/1 busy', ''], httpRows,
    ['l', 'l', 'r', 'r', 'r', 'r', 'l']));

  console.log(`\nRedis GET, ${IN_FLIGHT} in flight: median of ${config.clientRounds} x ${config.clientDuration} s`);
  console.log(table(['value', 'respcache ops/s', 'ioredis (auto-pipelining) ops/s', 'ratio', 'target', ''],
    results.client.map((r) => [fmtSize(r.valueBytes), fmtInt(r.native.opsPerSec), fmtInt(r.ioredis.opsPerSec),
      r.ratio.toFixed(3), `>= ${r.target}`, r.meetsTarget ? 'ok' : 'BELOW TARGET']),
    ['l', 'r', 'r', 'r', 'r', 'l']));

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
