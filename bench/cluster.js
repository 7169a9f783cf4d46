'use strict';

// The Redis side of the benchmark's cluster section (bench/run.js): a cluster of `masters`
// redis-server nodes (--cluster-enabled yes, no replicas: on 2 cores a replica would take CPU from
// the core Redis shares with the load generator), created with `redis-cli --cluster create` and
// ready once every node says cluster_state:ok, knows every other node and sees all 16384 slots
// served; and the command counts of INFO commandstats, to count what a request sends to Redis.
// The runner passes in how a process starts (pinned, tracked and killed when it exits, like its
// other children): test/helpers/cluster.js is the tests' starter and depends on Jest.
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const SLOTS = 16384;
const POLL_MS = 50;

/** Resolves whether 127.0.0.1:port can be listened on now. */
function canListen(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A free loopback port whose cluster bus port (port + 10000) is free too. */
async function freeNodePort() {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const probe = net.createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address();
        probe.close(() => resolve(p));
      });
    });
    if (port + 10000 < 65536 && await canListen(port + 10000)) return port;
  }
  throw new Error('found no free port whose port + 10000 was free too');
}

/** INFO or CLUSTER INFO text as an object of strings. */
function parseInfo(text) {
  const out = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return out;
}

/**
 * Calls per command since the server started (or its last CONFIG RESETSTAT), summed over the
 * nodes on `ports`: { get: 12, 'cluster|shards': 3, ... }.
 * @param {(args: string[]) => Promise<string>} cli runs redis-cli with args, resolves with stdout
 * @param {number[]} ports
 */
async function commandCalls(cli, ports) {
  const total = {};
  for (const port of ports) {
    const info = parseInfo(await cli(['-h', '127.0.0.1', '-p', String(port), 'INFO', 'commandstats']));
    for (const [field, value] of Object.entries(info)) {
      const calls = /(?:^|,)calls=(\d+)/.exec(value);
      if (field.startsWith('cmdstat_') && calls) {
        const name = field.slice('cmdstat_'.length);
        total[name] = (total[name] || 0) + Number(calls[1]);
      }
    }
  }
  return total;
}

/** The per-command differences between two commandCalls() readings (zeros left out). */
function callsDelta(before, after) {
  const delta = {};
  for (const [name, calls] of Object.entries(after)) {
    const d = calls - (before[name] || 0);
    if (d !== 0) delta[name] = d;
  }
  return delta;
}

/**
 * One poll: null when every node says cluster_state:ok, knows all the others and sees every
 * slot assigned and ok; else what is not so.
 */
async function unready(cli, ports) {
  for (const port of ports) {
    let info;
    try {
      info = parseInfo(await cli(['-h', '127.0.0.1', '-p', String(port), 'CLUSTER', 'INFO']));
    } catch (err) {
      return `127.0.0.1:${port} did not answer CLUSTER INFO: ${err.message}`;
    }
    if (info.cluster_state !== 'ok') return `127.0.0.1:${port} says cluster_state:${info.cluster_state}`;
    if (Number(info.cluster_known_nodes) !== ports.length) {
      return `127.0.0.1:${port} knows ${info.cluster_known_nodes} of ${ports.length} nodes`;
    }
    if (Number(info.cluster_slots_ok) !== SLOTS) return `127.0.0.1:${port} sees ${info.cluster_slots_ok} slots ok`;
  }
  return null;
}

/**
 * Starts `masters` cluster nodes one at a time (two parallel port probes could pick ports 10000
 * apart: one's bus port would be the other's port), creates the cluster and polls until it is
 * ready. On failure every node started is stopped before the error is thrown.
 * @param {{ masters?: number, timeoutMs?: number,
 *   startNode: (args: string[]) => Promise<import('child_process').ChildProcess>,
 *   stopNode: (child: import('child_process').ChildProcess) => Promise<void>,
 *   cli: (args: string[], options?: { timeoutMs?: number }) => Promise<string> }} options
 *   startNode starts redis-server with args and resolves once it accepts connections
 * @returns {Promise<{ ports: number[], children: import('child_process').ChildProcess[],
 *   urls: string[], startedMs: number, close: () => Promise<void> }>}
 */
async function startCluster({ masters = 3, timeoutMs = 30000, startNode, stopNode, cli }) {
  const started = process.hrtime.bigint();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'respcache-bench-cluster-'));
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir);
  const nodes = [];
  const close = async () => {
    await Promise.all(nodes.map((n) => stopNode(n.child)));
    removeDir();
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freeNodePort();
      const child = await startNode(['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no',
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir]);
      nodes.push({ port, child });
    }
    const ports = nodes.map((n) => n.port);
    await cli(['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeoutMs });
    const deadline = Date.now() + timeoutMs;
    for (let why = await unready(cli, ports); why !== null; why = await unready(cli, ports)) {
      if (Date.now() > deadline) throw new Error(`the benchmark's Redis Cluster was not ready within ${timeoutMs} ms: ${why}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return {
      ports,
      children: nodes.map((n) => n.child),
      urls: ports.map((p) => `redis://127.0.0.1:${p}`),
      startedMs: Number(process.hrtime.bigint() - started) / 1e6,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

module.exports = { startCluster, commandCalls, callsDelta, parseInfo };
