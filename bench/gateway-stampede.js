'use strict';

// The gateway stampede (bench/run.js): 4 gateway processes (bench/server.js gateway, on one
// Redis, in front of one upstream) and 200 concurrent requests for one cold URL, spread round
// robin over them; the upstream counts how many reached it. Coalescing across the processes
// (the fill lock in Redis, then the fill notice) makes that 1.
//   node bench/gateway-stampede.js <redisUrl> <upstreamUrl> [trials=5] [concurrency=200] [gateways=4]
// Prints one JSON line: { trials, concurrency, gateways, upstreamRequests: [], ms: [] }.
const http = require('http');
const path = require('path');
const { spawn } = require('child_process');

const [redisUrl, upstreamUrl, trialsArg, concurrencyArg, gatewaysArg] = process.argv.slice(2);
const TRIALS = Number(trialsArg || 5);
const CONCURRENCY = Number(concurrencyArg || 200);
const GATEWAYS = Number(gatewaysArg || 4);

/** Starts one gateway process; resolves with { child, port } once it listens. */
function startGateway() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'server.js'), 'gateway', '1024', redisUrl],
      { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, RESPCACHE_BENCH_UPSTREAM: upstreamUrl } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, port: JSON.parse(line).port });
    });
    child.once('exit', (code) => reject(new Error(`a gateway exited (code ${code}) before it listened`)));
  });
}

// One Host for every gateway, as behind a load balancer: the gateway keys by the Host it
// received (it sends it upstream as X-Forwarded-Host).
const HOST = 'gateway.bench';

function get(agent, port, urlPath) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent, headers: { Host: HOST } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
}

async function upstreamCount(urlPath) {
  const url = new URL(upstreamUrl);
  const res = await fetch(`${url.origin}/__count?path=${encodeURIComponent(urlPath)}`);
  return (await res.json()).count;
}

async function main() {
  const gateways = [];
  try {
    for (let i = 0; i < GATEWAYS; i++) gateways.push(await startGateway());
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    // Open the sockets first, so the trials measure the cache, not TCP handshakes.
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => get(agent, gateways[i % GATEWAYS].port, '/stampede-warm')));
    const out = { trials: TRIALS, concurrency: CONCURRENCY, gateways: GATEWAYS, upstreamRequests: [], ms: [] };
    for (let t = 0; t < TRIALS; t++) {
      const urlPath = `/stampede-${process.pid}-${t}`;
      const t0 = process.hrtime.bigint();
      const statuses = await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => get(agent, gateways[i % GATEWAYS].port, urlPath)));
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (!statuses.every((s) => s === 200)) throw new Error(`non-200 answers for ${urlPath}: ${[...new Set(statuses)].join(', ')}`);
      // The gateway's proxy prefixes /cached (bench/server.js).
      out.upstreamRequests.push(await upstreamCount(`/cached${urlPath}`));
      out.ms.push(Math.round(ms * 10) / 10);
    }
    agent.destroy();
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    for (const g of gateways) g.child.stdin.end();
  }
}

main().catch((err) => {
  process.stderr.write(`gateway stampede failed: ${err.stack}\n`);
  process.exitCode = 1;
});
