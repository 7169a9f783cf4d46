'use strict';

// A real Redis Cluster for the tests: masters + replicas, each a redis-server of
// test/helpers/redis.js on a loopback port whose bus port (port + 10000) is free too, its
// nodes-<port>.conf in a temporary folder of the cluster's own. Built with `redis-cli --cluster
// create`, ready when every live node says cluster_state:ok and all of them describe the same
// shards. Faults on demand: kill a master (resolves once a replica took over), restart a node
// (it rejoins from its nodes.conf, as a replica when its slots moved), reshard slots with their
// keys. Every node is registered with closeAllServers (test/helpers/cleanup.js) and the fixture
// with onCloseAll, so a test that fails before close() leaves no process and no folder behind.
//
// Times are performance.now() values (milliseconds, monotonic), the clock of test/helpers/load.js,
// so a fault's window can be compared with the load's records.
const { execFile } = require('child_process');
const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');
const Redis = require('ioredis');
const { startRedis, onCloseAll, rawTls, disconnectClient, tempDir } = require('./redis');

const REDIS_CLI = process.env.RESPCACHE_TEST_REDIS_CLI || '/usr/bin/redis-cli';
const SLOTS = 16384;
const POLL_MS = 20;
// How long a node may say cluster_state:fail on its own before waitHealthy repairs its slots.
const STUCK_FAIL_MS = 5000;

/** Runs redis-cli with `args`; resolves with its stdout, rejects with stdout + stderr. */
function redisCli(args, { timeout = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(REDIS_CLI, args, { timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.slice(0, 2).join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** redis-cli arguments for a TLS cluster (the test CA, the client certificate). */
function cliTls(tls) {
  if (!tls) return [];
  return ['--tls', '--cacert', path.join(tls.dir, 'ca.crt'), '--cert', path.join(tls.dir, 'client.crt'),
    '--key', path.join(tls.dir, 'client.key')];
}

/** Parses CLUSTER NODES into [{ id, host, port, flags, master (id or null), slots: [[a, b]] }]. */
function parseNodes(text) {
  return text.trim().split('\n').filter(Boolean).map((line) => {
    const [id, addr, flags, master, , , , , ...slots] = line.split(' ');
    const [hostPort] = addr.split('@');
    const colon = hostPort.lastIndexOf(':');
    return {
      id, host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)),
      flags: flags.split(','), master: master === '-' ? null : master,
      // Importing/migrating markers ("[5-<-id]") are not owned ranges.
      slots: slots.filter((s) => !s.startsWith('[')).map((s) => s.split('-').map(Number))
        .map(([a, b]) => [a, b === undefined ? a : b]),
    };
  });
}

/** Parses INFO / CLUSTER INFO text into an object of strings. */
function parseInfo(text) {
  const out = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return out;
}

/** One node: its server (a RedisServer), its cluster id (fixed for life: it is in nodes.conf). */
class ClusterNode {
  constructor(server, id) {
    this.server = server;
    this.id = id;
  }

  get host() { return '127.0.0.1'; }
  get port() { return this.server.port; }
  get addr() { return `127.0.0.1:${this.server.port}`; }
  get running() { return this.server.running; }
  get tls() { return this.server.tls; }
}

class Cluster {
  /**
   * @param {ClusterNode[]} nodes
   * @param {string} dir the temporary folder of the nodes' --dir and nodes.conf files
   * @param {object|null} tls
   */
  constructor(nodes, dir, tls) {
    this._nodes = nodes;
    this.dir = dir;
    this.tls = tls;
    this.clients = new Set();
    this._client = null;
    this._unregister = onCloseAll(() => this.close());
  }

  /** @returns {ClusterNode[]} every node, running or not, in start order */
  nodes() { return [...this._nodes]; }

  /** @returns {ClusterNode[]} the nodes whose process runs */
  live() { return this._nodes.filter((n) => n.running); }

  byId(id) { return this._nodes.find((n) => n.id === id) || null; }

  /** A short-lived raw connection to `node` (no retries, fails fast when the node is down). */
  _raw(node) {
    const client = new Redis({
      host: '127.0.0.1', port: node.port, lazyConnect: false, maxRetriesPerRequest: 0,
      retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 2000,
      ...(this.tls && { tls: rawTls(this.tls.dir) }),
    });
    client.on('error', () => { /* results are what counts */ });
    return client;
  }

  /** Runs `fn(client)` on a fresh raw connection to `node`, always disconnecting it. */
  async _on(node, fn) {
    const client = this._raw(node);
    try {
      return await fn(client);
    } finally {
      disconnectClient(client);
    }
  }

  /** CLUSTER NODES as one live node sees it (the first that answers). */
  async _view() {
    for (const node of this.live()) {
      try {
        return parseNodes(await this._on(node, (c) => c.cluster('NODES')));
      } catch { /* try the next one */ }
    }
    throw new Error('no live node answered CLUSTER NODES');
  }

  /**
   * The masters that own slots, ordered by their lowest slot (so index 0 is slot 0's owner until
   * a reshard or a failover changes ownership), as the first live node sees them.
   * @returns {Promise<{ node: ClusterNode, id: string, port: number, slots: number[][], slotCount: number }[]>}
   */
  async masters() {
    const view = await this._view();
    return view.filter((n) => n.flags.includes('master') && n.slots.length > 0 && !n.flags.includes('fail'))
      .sort((a, b) => a.slots[0][0] - b.slots[0][0])
      .map((n) => ({
        node: this.byId(n.id), id: n.id, port: n.port, slots: n.slots,
        slotCount: n.slots.reduce((sum, [a, b]) => sum + b - a + 1, 0),
      }));
  }

  /**
   * @param {{ id: string } | string} master a masters() entry or a node id
   * @returns {Promise<ClusterNode[]>} the nodes listed as its replicas (running or not)
   */
  async replicasOf(master) {
    const id = typeof master === 'string' ? master : master.id;
    const view = await this._view();
    return view.filter((n) => n.master === id).map((n) => this.byId(n.id));
  }

  /**
   * An ioredis Cluster (shared; recreated once ended) for planting and inspecting keys. Reads go
   * to masters.
   * @param {import('ioredis').ClusterOptions} [options] a fresh, unshared client when given
   * @returns {import('ioredis').Cluster}
   */
  client(options) {
    if (!options && this._client && this._client.status !== 'end') return this._client;
    const client = new Redis.Cluster(this.live().map((n) => ({ host: '127.0.0.1', port: n.port })), {
      redisOptions: { connectTimeout: 1000, ...(this.tls && { tls: rawTls(this.tls.dir) }) },
      clusterRetryStrategy: (times) => (times > 50 ? null : 100),
      ...options,
    });
    client.on('error', () => { /* the tests look at command results */ });
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    if (!options) this._client = client;
    return client;
  }

  /**
   * A raw ioredis client of one node (its RedisServer's shared client; READONLY is sent first
   * when `readonly`, so a replica answers reads of its master's slots).
   */
  async nodeClient(node, { readonly = false } = {}) {
    const client = node.server.client();
    if (readonly) await client.readonly();
    return client;
  }

  /**
   * One poll of the cluster's health: every live node says cluster_state:ok, sees every other
   * live node without a fail flag, and all of them report the same slot owners and replicas.
   * @returns {Promise<string|null>} null when healthy, else what is not
   */
  async _unhealthy() {
    const live = this.live();
    let reference = null;
    for (const node of live) {
      let info;
      let replication;
      let view;
      try {
        const [infoText, replicationText, nodesText] = await this._on(node, (c) => Promise.all([
          c.cluster('INFO'), c.info('replication'), c.cluster('NODES')]));
        info = parseInfo(infoText);
        replication = parseInfo(replicationText);
        view = parseNodes(nodesText);
      } catch (err) {
        return `${node.addr} did not answer: ${err.message}`;
      }
      if (info.cluster_state !== 'ok') return `${node.addr} says cluster_state:${info.cluster_state}`;
      // A replica that has not finished its first sync would refuse to take over (no data).
      if (replication.role === 'slave' && replication.master_link_status !== 'up') {
        return `${node.addr} is a replica whose link to its master is ${replication.master_link_status}`;
      }
      const viewById = new Map(view.map((n) => [n.id, n]));
      for (const other of live) {
        const seen = viewById.get(other.id);
        if (!seen) return `${node.addr} does not know ${other.addr}`;
        if (seen.flags.some((f) => f === 'fail' || f === 'fail?' || f === 'handshake' || f === 'noaddr')) {
          return `${node.addr} flags ${other.addr} ${seen.flags.join(',')}`;
        }
      }
      // Only live nodes count: a killed node's entry may say fail on some nodes and pfail on others.
      const shape = JSON.stringify(view.filter((n) => live.some((l) => l.id === n.id))
        .map((n) => [n.id, n.flags.includes('master') ? 'master' : 'replica', n.master, n.slots])
        .sort((a, b) => (a[0] < b[0] ? -1 : 1)));
      if (reference === null) reference = shape;
      else if (shape !== reference) return `${node.addr} disagrees about slots or roles`;
    }
    return null;
  }

  /**
   * Polls until the cluster is healthy (see _unhealthy) and resolves with the performance.now()
   * of the poll that found it so.
   * @param {{ timeout?: number }} [options]
   * @returns {Promise<number>}
   */
  async waitHealthy({ timeout = 15000 } = {}) {
    const deadline = performance.now() + timeout;
    let why;
    let failSince = null;
    for (;;) {
      why = await this._unhealthy();
      if (why === null) return performance.now();
      // A master can come out of a failover that raced a slot move without a slot every other node
      // says it owns, and then reports cluster_state:fail for good (seen with redis-server 7.0
      // after a reshard, then SIGKILL and restart): after 5 s, it is told what the others agree on.
      const stuck = / says cluster_state:fail$/.test(why) ? why : null;
      if (stuck === null) failSince = null;
      else if (failSince === null) failSince = performance.now();
      else if (performance.now() - failSince > STUCK_FAIL_MS) {
        await this._claimAgreedSlots(why.slice(0, why.indexOf(' '))).catch(() => {});
        failSince = null;
      }
      if (performance.now() > deadline) {
        throw new Error(`the cluster was not healthy within ${timeout} ms: ${why}\n${await this._diagnose()}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /**
   * On the live master at `addr`: `CLUSTER SETSLOT <slot> NODE <its id>` for each slot that every
   * other live node assigns to it and its own view does not (what an operator would do by hand).
   */
  async _claimAgreedSlots(addr) {
    const node = this.live().find((n) => n.addr === addr);
    if (!node) return;
    const owned = (view, id) => {
      const entry = view.find((n) => n.id === id);
      const slots = new Set();
      for (const [a, b] of entry ? entry.slots : []) for (let slot = a; slot <= b; slot++) slots.add(slot);
      return slots;
    };
    const mine = owned(parseNodes(await this._on(node, (c) => c.cluster('NODES'))), node.id);
    let agreed = null;
    for (const other of this.live().filter((n) => n !== node)) {
      const theirs = owned(parseNodes(await this._on(other, (c) => c.cluster('NODES'))), node.id);
      agreed = agreed === null ? theirs : new Set([...agreed].filter((slot) => theirs.has(slot)));
    }
    const missing = [...(agreed || [])].filter((slot) => !mine.has(slot));
    if (missing.length === 0) return;
    console.log(`cluster fixture: ${addr} says cluster_state:fail and lacks slots ${missing.join(', ')} that the others `
      + 'say it owns: CLUSTER SETSLOT ... NODE on it');
    await this._on(node, (c) => Promise.all(missing.map((slot) => c.cluster('SETSLOT', String(slot), 'NODE', node.id))));
  }

  /** Each live node's view and the end of its log, for a failure message. */
  async _diagnose() {
    const parts = [];
    for (const node of this.live()) {
      let view;
      try {
        view = await this._on(node, (c) => c.cluster('NODES'));
      } catch (err) {
        view = `(no answer: ${err.message})`;
      }
      const log = node.server.output.trim().split('\n').slice(-8).join('\n');
      parts.push(`--- ${node.addr} (${node.id}) CLUSTER NODES:\n${view.trim()}\n--- its log:\n${log}`);
    }
    return parts.join('\n');
  }

  /**
   * SIGKILLs the master masters()[i] and resolves once one of its replicas was promoted and the
   * cluster is healthy again. The promotion happened between notPromotedAt (when the last poll
   * that found no replica promoted began) and promotedAt (when the one that found it ended):
   * nothing served the killed master's slots in [killedAt, notPromotedAt].
   * @returns {Promise<{ killed: ClusterNode, promoted: ClusterNode, killedAt: number,
   *   notPromotedAt: number, promotedAt: number, healthyAt: number, promotedMs: number,
   *   healthyMs: number }>}
   */
  async killMaster(i = 0, { timeout = 15000 } = {}) {
    const masters = await this.masters();
    const target = masters[i];
    if (!target) throw new Error(`there is no master ${i} (${masters.length} masters)`);
    const candidates = (await this.replicasOf(target)).filter((n) => n.running);
    if (candidates.length === 0) throw new Error(`master ${target.node.addr} has no running replica`);
    const killedAt = performance.now();
    await target.node.server.stop('SIGKILL');
    let promoted = null;
    let promotedAt;
    let notPromotedAt = killedAt;
    const deadline = killedAt + timeout;
    while (!promoted) {
      const pollStarted = performance.now();
      for (const candidate of candidates) {
        try {
          const role = await this._on(candidate, (c) => c.role());
          if (role[0] === 'master') { promoted = candidate; break; }
        } catch { /* not answering this time */ }
      }
      promotedAt = performance.now();
      if (promoted) break;
      notPromotedAt = pollStarted;
      if (promotedAt > deadline) throw new Error(`no replica of ${target.node.addr} was promoted within ${timeout} ms`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const healthyAt = await this.waitHealthy({ timeout: Math.max(1000, deadline - performance.now()) });
    return {
      killed: target.node, promoted, killedAt, notPromotedAt, promotedAt, healthyAt,
      promotedMs: promotedAt - killedAt, healthyMs: healthyAt - killedAt,
    };
  }

  /**
   * Starts a stopped node again on its port with its nodes.conf: it rejoins (as a replica of the
   * node that took its slots when it was a failed-over master). Resolves once the cluster is
   * healthy with it.
   * @returns {Promise<{ node: ClusterNode, role: string, healthyAt: number, ms: number }>}
   */
  async restart(node, { timeout = 15000 } = {}) {
    const started = performance.now();
    if (node.running) await node.server.stop('SIGKILL');
    await node.server.start();
    const healthyAt = await this.waitHealthy({ timeout });
    const role = (await this._on(node, (c) => c.role()))[0];
    return { node, role, healthyAt, ms: healthyAt - started };
  }

  /**
   * Moves `n` slots (with their keys, MIGRATEd by redis-cli) from one master to another and
   * resolves once the cluster is healthy again.
   * @param {string} fromId @param {string} toId node ids (masters()[i].id)
   * @returns {Promise<{ ms: number, healthyAt: number }>}
   */
  async reshard(fromId, toId, n, { timeout = 60000 } = {}) {
    const started = performance.now();
    const via = this.live()[0];
    await redisCli([...cliTls(this.tls), '--cluster', 'reshard', via.addr, '--cluster-from', fromId,
      '--cluster-to', toId, '--cluster-slots', String(n), '--cluster-yes', '--cluster-pipeline', '100'], { timeout });
    const healthyAt = await this.waitHealthy();
    return { ms: healthyAt - started, healthyAt };
  }

  /** Disconnects the clients, kills every node and removes the temporary folder. */
  async close() {
    this._unregister();
    for (const client of this.clients) disconnectClient(client);
    this.clients.clear();
    this._client = null;
    await Promise.all(this._nodes.map((n) => n.server.close()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Starts `masters * (1 + replicas)` cluster nodes, creates the cluster and waits until it is
 * healthy.
 * @param {{ masters?: number, replicas?: number, nodeTimeout?: number,
 *   tls?: { dir: string, cert?: string, authClients?: string } }} [options]
 *   nodeTimeout: --cluster-node-timeout in ms; tls: TLS only, for clients, the bus and
 *   replication (see RedisServer; the raw clients and redis-cli use the test CA and client cert)
 * @returns {Promise<Cluster & { startedMs: number }>}
 */
async function startCluster({ masters = 3, replicas = 1, nodeTimeout = 1000, tls } = {}) {
  const started = performance.now();
  const dir = tempDir('respcache-cluster-');
  const servers = [];
  let cluster = null;
  const unregister = onCloseAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  try {
    const args = (port) => ['--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
      '--cluster-node-timeout', String(nodeTimeout), '--appendonly', 'no', '--save', '',
      // The first sync of a replica starts at once, not after the default 5 s of waiting for more.
      '--repl-diskless-sync-delay', '0',
      // The bus and replication links are TLS clients too: they present the test client
      // certificate (the server one is for serverAuth only and would be refused).
      ...(tls ? ['--tls-cluster', 'yes', '--tls-replication', 'yes',
        '--tls-client-cert-file', path.join(tls.dir, 'client.crt'), '--tls-client-key-file', path.join(tls.dir, 'client.key')] : [])];
    const count = masters * (1 + replicas);
    // One at a time: two parallel probes could pick ports 10000 apart (one's bus is the other's port).
    for (let i = 0; i < count; i++) servers.push(await startRedis({ args, tls, withBusPort: true }));
    const nodes = await Promise.all(servers.map(async (server) => {
      const client = server.client();
      return new ClusterNode(server, await client.cluster('MYID'));
    }));
    await redisCli([...cliTls(tls), '--cluster', 'create', ...nodes.map((n) => n.addr),
      '--cluster-replicas', String(replicas), '--cluster-yes']);
    unregister();
    cluster = new Cluster(nodes, dir, tls || null);
    await cluster.waitHealthy();
    const view = await cluster.masters();
    const covered = view.reduce((sum, m) => sum + m.slotCount, 0);
    if (view.length !== masters || covered !== SLOTS) {
      throw new Error(`the cluster came up with ${view.length} masters covering ${covered} slots`);
    }
    cluster.startedMs = performance.now() - started;
    return cluster;
  } catch (err) {
    if (cluster) await cluster.close();
    else {
      unregister();
      await Promise.all(servers.map((s) => s.close()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
    throw err;
  }
}

module.exports = { startCluster, Cluster, ClusterNode, parseNodes, parseInfo, redisCli, SLOTS };
