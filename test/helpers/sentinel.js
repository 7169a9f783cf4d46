'use strict';

// A real Sentinel setup for the tests: a master, its replica(s) (--replicaof) and three Sentinels
// (`redis-server <tmp>/sentinel-<port>.conf --sentinel`: this machine has no redis-sentinel binary;
// the config file must be writable, Sentinel rewrites it), all on loopback ports, in a temporary
// folder of their own. Ready when every Sentinel sees the others and every replica. Faults on
// demand: a forced failover (SENTINEL FAILOVER), killing the master (resolves at +switch-master),
// restarting any node. Registered with closeAllServers (test/helpers/cleanup.js) through
// onCloseAll, so a test that fails before close() leaves no process and no folder behind.
//
// Times are performance.now() values (milliseconds, monotonic), the clock of test/helpers/load.js.
const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');
const Redis = require('ioredis');
const { startRedis, onCloseAll, disconnectClient, tempDir, rawTls } = require('./redis');

const POLL_MS = 20;
const SENTINEL_READY = /Sentinel ID is/;

/** Parses INFO text into an object of strings. */
function parseInfo(text) {
  const out = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return out;
}

/** A flat [k1, v1, k2, v2] reply (SENTINEL replicas/sentinels entries) as an object. */
function pairs(flat) {
  const out = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

async function poll(probe, { timeout, what }) {
  const deadline = performance.now() + timeout;
  let last;
  for (;;) {
    try { last = await probe(); } catch (err) { last = `error: ${err.message}`; }
    if (last === true) return performance.now();
    if (performance.now() > deadline) throw new Error(`${what} not met within ${timeout} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

class Sentinels {
  /**
   * @param {{ name: string, dataNodes: import('./redis').RedisServer[],
   *   sentinels: import('./redis').RedisServer[], dir: string, quorum: number }} parts
   */
  constructor({ name, dataNodes, sentinels, dir, quorum, periods, tls }) {
    this.name = name;
    this.tls = tls || null;
    this.periods = periods;
    this.dataNodes = dataNodes;
    this.sentinelNodes = sentinels;
    this.dir = dir;
    this.quorum = quorum;
    this.subscribers = new Set();
    this._unregister = onCloseAll(() => this.close());
  }

  /** Applies the test's Sentinel periods (SENTINEL DEBUG: not kept in the config file). */
  async _tune(sentinel) {
    if (this.periods.length) await this._on(sentinel, (c) => c.call('SENTINEL', 'DEBUG', ...this.periods));
  }

  /** @returns {{ host: string, port: number }[]} the Sentinels' addresses (for a client's options) */
  sentinelAddrs() { return this.sentinelNodes.map((s) => ({ host: '127.0.0.1', port: s.port })); }

  /** @returns {import('./redis').RedisServer[]} the master and replicas, running or not */
  nodes() { return [...this.dataNodes]; }

  byPort(port) { return this.dataNodes.find((n) => n.port === Number(port)) || null; }

  /**
   * ioredis options for a node of this setup: its password, and TLS with the test certificates
   * when the setup has TLS.
   */
  _connection(server, more) {
    return { host: '127.0.0.1', port: server.port, password: server.password, maxRetriesPerRequest: 0,
      retryStrategy: () => null, ...(this.tls && { tls: rawTls(this.tls.dir) }), ...more };
  }

  /** Runs `fn(client)` on a fresh connection to `server`, always disconnecting it. */
  async _on(server, fn) {
    const client = new Redis(this._connection(server, { lazyConnect: false, connectTimeout: 1000, commandTimeout: 2000 }));
    client.on('error', () => { /* results are what counts */ });
    try {
      return await fn(client);
    } finally {
      disconnectClient(client);
    }
  }

  /** The master's address per each running Sentinel ([{ sentinel, port }]). */
  async _addrs() {
    return Promise.all(this.sentinelNodes.filter((s) => s.running).map(async (s) => {
      const reply = await this._on(s, (c) => c.call('SENTINEL', 'get-master-addr-by-name', this.name));
      return { sentinel: s.port, port: reply ? Number(reply[1]) : null };
    }));
  }

  /**
   * The master per SENTINEL get-master-addr-by-name on the first Sentinel that answers.
   * @returns {Promise<{ host: string, port: number, server: import('./redis').RedisServer }>}
   */
  async master() {
    for (const s of this.sentinelNodes.filter((n) => n.running)) {
      try {
        const [host, port] = await this._on(s, (c) => c.call('SENTINEL', 'get-master-addr-by-name', this.name));
        return { host, port: Number(port), server: this.byPort(port) };
      } catch { /* ask the next one */ }
    }
    throw new Error('no Sentinel answered get-master-addr-by-name');
  }

  /**
   * One poll: every running Sentinel agrees on the master, sees the other running Sentinels and
   * lists every running replica under that master; every such replica says its link is up.
   */
  async _unready() {
    const running = this.sentinelNodes.filter((s) => s.running);
    const { port: masterPort } = await this.master();
    const replicaPorts = this.dataNodes.filter((n) => n.running && n.port !== masterPort).map((n) => n.port);
    for (const s of running) {
      const [addr, others, replicas] = await this._on(s, (c) => Promise.all([
        c.call('SENTINEL', 'get-master-addr-by-name', this.name),
        c.call('SENTINEL', 'sentinels', this.name), c.call('SENTINEL', 'replicas', this.name)]));
      if (Number(addr[1]) !== masterPort) return `sentinel ${s.port} says the master is ${addr[1]}`;
      const seen = others.map(pairs).filter((o) => !/s_down|disconnected/.test(o.flags)).map((o) => Number(o.port));
      const missing = running.filter((o) => o !== s && !seen.includes(o.port));
      if (missing.length) return `sentinel ${s.port} does not see sentinel ${missing[0].port}`;
      // Not its master-link-status or master-port: a Sentinel refreshes a replica's INFO every 10 s
      // only, so it may still report the sync of a demoted master as not done (the replica itself
      // is asked below).
      // role-reported: this Sentinel has seen the node as a replica since it last reported
      // master. Without that, a Sentinel that missed a restarted master's short replica time
      // may turn it back into a replica right after a failover promotes it (seen here).
      const listed = replicas.map(pairs).filter((r) => !/s_down|disconnected/.test(r.flags)
        && r['role-reported'] === 'slave').map((r) => Number(r.port));
      const absent = replicaPorts.filter((p) => !listed.includes(p));
      if (absent.length) return `sentinel ${s.port} does not list ${absent[0]} as a replica of ${masterPort}`;
    }
    for (const port of replicaPorts) {
      const info = parseInfo(await this._on(this.byPort(port), (c) => c.info('replication')));
      if (info.role !== 'slave' || Number(info.master_port) !== masterPort || info.master_link_status !== 'up') {
        return `${port} is ${info.role} of ${info.master_port}, link ${info.master_link_status}`;
      }
    }
    return true;
  }

  /**
   * Polls until every running Sentinel agrees on the master, sees the other Sentinels and every
   * running replica with its link up.
   * @returns {Promise<number>} the performance.now() of the poll that found it so
   */
  waitReady({ timeout = 15000 } = {}) {
    return poll(() => this._unready(), { timeout, what: 'Sentinels ready' });
  }

  /** Resolves once every running Sentinel names `port` as the master and it says role:master. */
  _waitMaster(port, timeout) {
    return poll(async () => {
      const addrs = await this._addrs();
      const behind = addrs.find((a) => a.port !== port);
      if (behind) return `sentinel ${behind.sentinel} says ${behind.port}`;
      const role = await this._on(this.byPort(port), (c) => c.role());
      return role[0] === 'master' || `${port} says role ${role[0]}`;
    }, { timeout, what: `every Sentinel naming ${port} the master` });
  }

  /**
   * Forced failover (SENTINEL FAILOVER: no agreement needed, no master failure). Resolves once
   * every running Sentinel names the new master and it says role:master. The old master stays a
   * master (accepting writes nobody reads) until a Sentinel's next INFO of it (one info period:
   * 10 s with Sentinel's default, measured), then turns replica: call waitReady() before a fault
   * that needs it as a replica (killing the new master right away leaves no replica to promote).
   * @returns {Promise<{ from: number, to: number, startedAt: number, doneAt: number, ms: number }>}
   */
  async failover({ timeout = 15000 } = {}) {
    const { port: from } = await this.master();
    const startedAt = performance.now();
    const sentinel = this.sentinelNodes.find((s) => s.running);
    await this._on(sentinel, (c) => c.call('SENTINEL', 'FAILOVER', this.name));
    let to = null;
    let askedAt = performance.now();
    await poll(async () => {
      const { port } = await this.master();
      if (port !== from) {
        to = port;
        return true;
      }
      // A Sentinel may take the order and then give the failover up (no replica good enough yet,
      // right after an earlier one): ordered again every 2 s until one happens.
      if (performance.now() - askedAt > 2000) {
        askedAt = performance.now();
        await this._on(sentinel, (c) => c.call('SENTINEL', 'FAILOVER', this.name)).catch(() => {});
      }
      return 'not yet switched';
    }, { timeout, what: 'a new master after SENTINEL FAILOVER' });
    const doneAt = await this._waitMaster(to, timeout);
    return { from, to, startedAt, doneAt, ms: doneAt - startedAt };
  }

  /**
   * Calls `fn(event)` for every +switch-master a running Sentinel publishes (each Sentinel
   * publishes its own: one failover gives up to one event per Sentinel).
   * @param {(event: { name: string, from: { host: string, port: number }, to: { host: string,
   *   port: number }, sentinel: number, at: number }) => void} fn
   * @returns {Promise<() => void>} resolves once subscribed everywhere; call it to unsubscribe
   */
  async subscribe(fn) {
    const clients = await Promise.all(this.sentinelNodes.filter((s) => s.running).map(async (s) => {
      const client = new Redis(this._connection(s));
      client.on('error', () => { /* a killed Sentinel ends its subscription */ });
      this.subscribers.add(client);
      client.on('message', (channel, message) => {
        const [name, fromHost, fromPort, toHost, toPort] = message.split(' ');
        fn({
          name, from: { host: fromHost, port: Number(fromPort) }, to: { host: toHost, port: Number(toPort) },
          sentinel: s.port, at: performance.now(),
        });
      });
      await client.subscribe('+switch-master');
      return client;
    }));
    return () => {
      for (const client of clients) {
        disconnectClient(client);
        this.subscribers.delete(client);
      }
    };
  }

  /**
   * SIGKILLs the master and resolves at the first +switch-master (then waits until every
   * Sentinel names the new master and it says role:master).
   * @returns {Promise<{ from: number, to: number, killedAt: number, switchedAt: number,
   *   switchMs: number, agreedAt: number, agreedMs: number }>}
   */
  async killMaster({ timeout = 15000 } = {}) {
    const { port: from, server } = await this.master();
    let resolveSwitch;
    const switched = new Promise((resolve) => { resolveSwitch = resolve; });
    const unsubscribe = await this.subscribe((event) => {
      if (event.name === this.name && event.from.port === from) resolveSwitch(event);
    });
    let timer;
    try {
      const killedAt = performance.now();
      await server.stop('SIGKILL');
      const event = await Promise.race([switched, new Promise((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no +switch-master within ${timeout} ms of killing ${from}`)), timeout);
      })]);
      const agreedAt = await this._waitMaster(event.to.port, timeout);
      return {
        from, to: event.to.port, killedAt, switchedAt: event.at, switchMs: event.at - killedAt,
        agreedAt, agreedMs: agreedAt - killedAt,
      };
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
  }

  /**
   * Starts a stopped node again (SIGKILLs it first when it runs). A data node comes back with its
   * first arguments (an old master as a master): resolves once it is a replica of the current
   * master with its link up (Sentinel reconfigures it) and every Sentinel sees it. A Sentinel:
   * resolves once all are ready again.
   * @returns {Promise<{ ms: number, readyAt: number }>}
   */
  async restart(node, { timeout = 20000 } = {}) {
    const started = performance.now();
    if (node.running) await node.stop('SIGKILL');
    await node.start();
    if (this.sentinelNodes.includes(node)) await this._tune(node);
    if (this.dataNodes.includes(node)) {
      await poll(async () => {
        const { port } = await this.master();
        const info = parseInfo(await this._on(node, (c) => c.info('replication')));
        return (info.role === 'slave' && Number(info.master_port) === port && info.master_link_status === 'up')
          || `${node.port} is ${info.role} of ${info.master_port}, link ${info.master_link_status}`;
      }, { timeout, what: `${node.port} a linked replica of the master` });
    }
    const readyAt = await this.waitReady({ timeout });
    return { ms: readyAt - started, readyAt };
  }

  /** Ends the subscriptions, kills every node and removes the temporary folder. */
  async close() {
    this._unregister();
    for (const client of this.subscribers) disconnectClient(client);
    this.subscribers.clear();
    await Promise.all([...this.sentinelNodes, ...this.dataNodes].map((n) => n.close()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Starts a master, `replicas` replicas and `sentinels` Sentinels monitoring it as `name`.
 * @param {{ replicas?: number, sentinels?: number, downAfterMs?: number,
 *   failoverTimeoutMs?: number, name?: string, quorum?: number, infoPeriodMs?: number|null,
 *   helloPeriodMs?: number|null }} [options]
 *   quorum defaults to a majority of the Sentinels. infoPeriodMs / helloPeriodMs: how often each
 *   Sentinel sends INFO to the nodes and hellos to the others (SENTINEL DEBUG info-period /
 *   publish-period); Sentinel's own 10 s / 2 s when null. The test default (1 s / 0.5 s) makes
 *   Sentinels notice a demoted or restarted node in about a second instead of up to ten.
 *   tls: { dir } (test/helpers/tls-certs.js certDir()) makes every node and Sentinel listen with
 *   TLS only (startRedis's tls), replicas and Sentinels reach the nodes with TLS
 *   (tls-replication yes: a Sentinel then also announces its TLS port to the others), and this
 *   fixture's own clients use TLS.
 *   password: every data node's requirepass (and masterauth; the Sentinels' auth-pass);
 *   sentinelPassword: the Sentinels' own requirepass (and sentinel-pass between them). The
 *   fixture's clients use them (RedisServer.password).
 * @returns {Promise<Sentinels & { startedMs: number }>}
 */
async function startSentinels({
  replicas = 1, sentinels = 3, downAfterMs = 1000, failoverTimeoutMs = 5000, name = 'mymaster',
  quorum = Math.floor(sentinels / 2) + 1, infoPeriodMs = 1000, helloPeriodMs = 500, tls = null,
  password, sentinelPassword,
} = {}) {
  const started = performance.now();
  const dir = tempDir('respcache-sentinel-');
  const dataNodes = [];
  const sentinelNodes = [];
  const unregister = onCloseAll(async () => {
    await Promise.all([...sentinelNodes, ...dataNodes].map((n) => n.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  let setup = null;
  try {
    // Each data node its own --dir: a replica's sync never touches another node's files.
    const dataArgs = (port) => {
      const own = path.join(dir, `data-${port}`);
      fs.mkdirSync(own, { recursive: true });
      return ['--dir', own, '--repl-diskless-sync-delay', '0', ...tlsArgs, ...(password ? ['--masterauth', password] : [])];
    };
    const tlsArgs = tls ? ['--tls-replication', 'yes'] : [];
    const master = await startRedis({ args: dataArgs, tls, password });
    dataNodes.push(master);
    for (let i = 0; i < replicas; i++) {
      dataNodes.push(await startRedis({ args: (port) => [...dataArgs(port), '--replicaof', '127.0.0.1', String(master.port)], tls, password }));
    }
    const sentinelConf = (port) => {
      const conf = path.join(dir, `sentinel-${port}.conf`);
      fs.writeFileSync(conf, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'sentinel resolve-hostnames no',
        `sentinel monitor ${name} 127.0.0.1 ${master.port} ${quorum}`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
        ...(password ? [`sentinel auth-pass ${name} ${password}`] : []),
        ...(sentinelPassword ? [`sentinel sentinel-pass ${sentinelPassword}`] : []), '',
      ].join('\n'));
      return conf;
    };
    for (let i = 0; i < sentinels; i++) {
      sentinelNodes.push(await startRedis({ configFile: sentinelConf, args: ['--sentinel', ...tlsArgs], readyPattern: SENTINEL_READY, tls, password: sentinelPassword }));
    }
    unregister();
    const periods = [...(infoPeriodMs ? ['info-period', String(infoPeriodMs)] : []),
      ...(helloPeriodMs ? ['publish-period', String(helloPeriodMs)] : [])];
    setup = new Sentinels({ name, dataNodes, sentinels: sentinelNodes, dir, quorum, periods, tls });
    await Promise.all(sentinelNodes.map((n) => setup._tune(n)));
    await setup.waitReady();
    setup.startedMs = performance.now() - started;
    return setup;
  } catch (err) {
    if (setup) await setup.close();
    else {
      unregister();
      await Promise.all([...sentinelNodes, ...dataNodes].map((n) => n.close()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
    throw err;
  }
}

module.exports = { startSentinels, Sentinels };
