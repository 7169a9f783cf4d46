'use strict';

// Invalidation at scale: fills N entries (default 100,000) that share one tag and one path
// prefix, then times invalidateTags and invalidatePath('/items/*') over them, with Redis's SLOWLOG
// recording every command, to show that no single command holds Redis for long and that JS heap
// does not grow with N (members are popped in batches).
//   node bench/invalidate.js [entries=100000]      (npm run bench:invalidate)
// Starts its own redis-server on a free loopback port. Prints a table and one JSON line.
const { spawn } = require('child_process');
const net = require('net');
const { createCache } = require('../lib');
const binding = require('../lib/binding');
const { rawCommand, storeEntry } = require('../test/helpers/internals');

const ENTRIES = Number(process.argv[2] || 100000);
const IN_FLIGHT = 2000;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--slowlog-log-slower-than', '0', '--slowlog-max-len', '100000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
  return { port, child };
}

/** Stores n entries through the cache's own store path (tag 'big', path /items/<i>). */
async function fill(cache, n) {
  const now = Date.now();
  const body = Buffer.from(JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => i) }));
  const encoded = binding.encodeEntry(200, ['content-type', 'application/json'], body, now, now + 3600e3);
  for (let start = 0; start < n; start += IN_FLIGHT) {
    const batch = [];
    for (let i = start; i < Math.min(n, start + IN_FLIGHT); i++) {
      batch.push(storeEntry(cache, `bench:item:${i}`, encoded, 3600e3,
        { path: `/items/${i}`, tags: ['big', `item:${i % 100}`], startedAt: performance.now() }));
    }
    const stored = await Promise.all(batch);
    if (stored.some((ok) => !ok)) throw new Error('a store failed');
  }
}

async function slowlog(cache) {
  const entries = await rawCommand(cache, ['SLOWLOG', 'GET', '100000'], 10000);
  let longest = { micros: 0, command: '' };
  for (const entry of entries) {
    const micros = Number(entry[2]);
    const args = entry[3].map((a) => a.toString('utf8'));
    if (args[0] === 'SLOWLOG') continue;
    if (micros > longest.micros) {
      longest = { micros, command: `${args[0]} ${args[0] === 'EVAL' ? `(script of ${args[1].length} chars) ${args.slice(2, 5).join(' ')}` : args.slice(1, 4).join(' ')}` };
    }
  }
  return { commands: entries.length, longest };
}

async function measure(cache, name, run) {
  await fill(cache, ENTRIES);
  const dbsize = await rawCommand(cache, ['DBSIZE'], 10000);
  await rawCommand(cache, ['SLOWLOG', 'RESET'], 10000);
  global.gc && global.gc();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  const sampler = setInterval(() => { heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed); }, 5);
  const started = performance.now();
  const removed = await run();
  const ms = performance.now() - started;
  clearInterval(sampler);
  const log = await slowlog(cache);
  const left = await rawCommand(cache, ['EVAL', "return #redis.call('KEYS', ARGV[1])", '0', 'bench:{??}:e:*'], 10000);
  return { name, entries: ENTRIES, keysBefore: dbsize, removed, left, ms: Math.round(ms),
    longestCommandMicros: log.longest.micros, longestCommand: log.longest.command, commands: log.commands,
    heapGrowthMB: Number(((heapPeak - heapBefore) / 1048576).toFixed(1)) };
}

async function main() {
  const redis = await startRedis();
  const cache = createCache({ redis: `redis://127.0.0.1:${redis.port}`, keyPrefix: 'bench', commandTimeout: 5000 });
  cache.on('error', (err) => console.error(`cache error: ${err.code} ${err.message}`));
  try {
    await new Promise((resolve) => cache.once('ready', resolve));
    const results = [
      await measure(cache, "invalidateTags(['big'])", () => cache.invalidateTags(['big'])),
      await measure(cache, "invalidatePath('/items/*')", () => cache.invalidatePath('/items/*')),
    ];
    console.log(`Invalidating ${ENTRIES.toLocaleString('en-US')} entries (one Redis on loopback; SLOWLOG records every command)`);
    console.log('call                        removed  left      ms  longest Redis command  JS heap growth');
    for (const r of results) {
      console.log(`${r.name.padEnd(26)}  ${String(r.removed).padStart(7)}  ${String(r.left).padStart(4)}  ${String(r.ms).padStart(6)}`
        + `  ${`${(r.longestCommandMicros / 1000).toFixed(2)} ms`.padStart(21)}  ${`${r.heapGrowthMB} MB`.padStart(14)}`);
    }
    console.log(JSON.stringify(results));
    if (results.some((r) => r.removed !== ENTRIES || r.left !== 0)) process.exitCode = 1;
  } finally {
    await cache.close();
    redis.child.kill('SIGKILL');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
