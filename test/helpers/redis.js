'use strict';

// A real redis-server for integration tests: started on a free loopback port, awaited until it
// accepts connections, stoppable and restartable on the same port, always killed when the test
// process exits. Also hands out a raw ioredis client for planting and inspecting keys. In TLS mode
// (startRedis({ tls })) the server listens with TLS only, on its port, with the certificates of
// test/helpers/tls-certs.js; the raw clients connect with TLS too. The Cluster and Sentinel
// fixtures (test/helpers/cluster.js, sentinel.js) are built from these servers: a config file
// ahead of the arguments, another line that means "ready", ports whose cluster bus port is free too.
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const Redis = require('ioredis');

const REDIS_SERVER = process.env.RESPCACHE_TEST_REDIS_SERVER || '/usr/bin/redis-server';
const START_TIMEOUT_MS = 10000;

const running = new Set();
const servers = new Set();
const closers = new Set();
const tempDirs = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A new temporary folder (for nodes' --dir, nodes.conf, Sentinel configs), removed when the
 * process exits if its fixture has not removed it before.
 * @param {string} prefix e.g. 'respcache-cluster-'
 */
function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Listens on 127.0.0.1:port (0: any) and resolves with the port, or null when it is taken. */
function probePort(port) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', (err) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(null) : reject(err)));
    probe.listen(port, '127.0.0.1', () => {
      const { port: bound } = probe.address();
      probe.close(() => resolve(bound));
    });
  });
}

// A cluster node also listens on port + 10000 (the cluster bus).
const CLUSTER_BUS_OFFSET = 10000;

/**
 * @param {{ withBusPort?: boolean }} [options] withBusPort: the port is below 55536 and
 *   port + 10000 (a cluster node's bus port) was free a moment ago too
 * @returns {Promise<number>} a TCP port on 127.0.0.1 that was free a moment ago
 */
async function freePort({ withBusPort = false } = {}) {
  for (let attempt = 1; ; attempt++) {
    const port = await probePort(0);
    if (port === null) continue;
    if (!withBusPort) return port;
    if (port + CLUSTER_BUS_OFFSET <= 65535 && await probePort(port + CLUSTER_BUS_OFFSET) !== null) return port;
    if (attempt >= 200) throw new Error('found no free port whose port + 10000 is free too');
  }
}

class RedisServer {
  /**
   * @param {number} port
   * @param {string[]} extraArgs more redis-server arguments (e.g. ['--unixsocket', path])
   * @param {string} [password] set as requirepass; the raw clients authenticate with it
   * @param {{ dir: string, cert?: string, authClients?: 'no'|'yes'|'optional', protocols?: string }} [tls]
   *   TLS only, with `<dir>/<cert>.crt/.key` (default 'server') and `<dir>/ca.crt` as the CA that
   *   client certificates must chain to; change `server.tls` and restart() to serve another one
   * @param {{ configFile?: string, readyPattern?: RegExp }} [more] configFile: passed first (a
   *   Sentinel's writable config); readyPattern: the log line meaning "accepting connections"
   *   (a Sentinel logs no "Ready to accept connections")
   */
  constructor(port, extraArgs, password, tls, { configFile, readyPattern } = {}) {
    this.port = port;
    this.password = password;
    this.tls = tls || null;
    this.host = '127.0.0.1';
    this.extraArgs = extraArgs;
    this.configFile = configFile || null;
    this.readyPattern = readyPattern || /Ready to accept connections/;
    this.child = null;
    this.output = '';
    this.clients = new Set();
    this._client = null;
    servers.add(this);
  }

  get url() { return `${this.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`; }
  get pid() { return this.child && this.child.pid; }
  get running() { return this.child !== null; }

  /** Starts redis-server and resolves once it logs that it accepts connections. */
  start() {
    if (this.child) return Promise.reject(new Error('redis-server is already running'));
    const args = ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '',
      '--appendonly', 'no', '--loglevel', 'notice', ...this.extraArgs];
    if (this.tls) {
      const { dir, cert = 'server', authClients = 'no', protocols } = this.tls;
      args.splice(3, 1, '0');
      args.push('--tls-port', String(this.port), '--tls-cert-file', path.join(dir, `${cert}.crt`),
        '--tls-key-file', path.join(dir, `${cert}.key`), '--tls-ca-cert-file', path.join(dir, 'ca.crt'),
        '--tls-auth-clients', authClients);
      if (protocols) args.push('--tls-protocols', protocols);
    }
    if (this.password) args.push('--requirepass', this.password);
    if (this.configFile) args.unshift(this.configFile);
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.output = '';
    running.add(child);
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      running.delete(child);
      if (this.child === child) this.child = null;
      resolve({ code, signal });
    }));
    child.exited = exited;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err); else resolve(this);
      };
      const onData = (chunk) => {
        this.output += chunk.toString('utf8');
        if (this.readyPattern.test(this.output)) finish();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', finish);
      exited.then(({ code, signal }) => finish(new Error(
        `redis-server exited before it was ready (code ${code}, signal ${signal}):\n${this.output}`)));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(new Error(`redis-server was not ready within ${START_TIMEOUT_MS} ms:\n${this.output}`));
      }, START_TIMEOUT_MS);
    });
  }

  /** Stops the server (SIGKILL by default: no goodbye to clients) and resolves once it exited. */
  async stop(signal = 'SIGKILL') {
    const child = this.child;
    if (!child) return;
    try { process.kill(child.pid, 'SIGCONT'); } catch { /* not stopped or gone */ }
    child.kill(signal);
    await child.exited;
  }

  /** Kills the server and starts it again on the same port (empty: nothing is persisted). */
  async restart() {
    await this.stop('SIGKILL');
    await this.start();
  }

  /** Freezes the process (SIGSTOP): connections are still accepted by the kernel, nothing answers. */
  freeze() { process.kill(this.child.pid, 'SIGSTOP'); }
  thaw() { process.kill(this.child.pid, 'SIGCONT'); }

  /**
   * A raw ioredis client (shared, recreated after the server was restarted) for planting and
   * inspecting keys. It never retries and never queues while offline.
   * @returns {import('ioredis').Redis}
   */
  client(options = {}) {
    if (this._client && this._client.status !== 'end' && Object.keys(options).length === 0) {
      return this._client;
    }
    const client = new Redis({
      host: '127.0.0.1', port: this.port, lazyConnect: false, maxRetriesPerRequest: 0,
      retryStrategy: () => null, enableOfflineQueue: true, password: this.password,
      ...(this.tls && { tls: rawTls(this.tls.dir) }), ...options,
    });
    client.on('error', () => { /* the tests look at command results, not at this */ });
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    if (Object.keys(options).length === 0) this._client = client;
    return client;
  }

  /** Keys matching pattern in db (default 0), sorted. */
  async keys(pattern = '*', db = 0) {
    const client = this.client({ db });
    try {
      return (await client.keys(pattern)).sort();
    } finally {
      client.disconnect();
    }
  }

  /** Disconnects the raw clients and stops the server. */
  async close() {
    for (const client of this.clients) client.disconnect();
    this.clients.clear();
    this._client = null;
    await this.stop('SIGKILL');
  }
}

/**
 * Disconnects an ioredis client unless it has ended already: ioredis arms a 2 s timer on every
 * disconnect() of a client with a stream, which an ended stream never clears (an open handle
 * that keeps Jest waiting).
 */
function disconnectClient(client) {
  if (client.status !== 'end') client.disconnect();
}

/** node:tls options for a raw client of a TLS server: trusts the test CA, presents the client cert. */
function rawTls(dir) {
  const fs = require('fs');
  const read = (name) => fs.readFileSync(path.join(dir, name));
  return { ca: read('ca.crt'), cert: read('client.crt'), key: read('client.key') };
}

/**
 * Starts a redis-server on a free loopback port (or on `port`).
 * @param {{ port?: number, args?: string[] | ((port: number) => string[]), password?: string,
 *   tls?: object, withBusPort?: boolean, configFile?: string | ((port: number) => string),
 *   readyPattern?: RegExp }} [options]
 *   tls: see RedisServer (TLS only on that port); args and configFile may depend on the port
 *   picked (a cluster node's nodes-<port>.conf); withBusPort: see freePort (cluster nodes)
 * @returns {Promise<RedisServer>}
 */
async function startRedis({ port, args = [], password, tls, withBusPort, configFile, readyPattern } = {}) {
  for (let attempt = 1; ; attempt++) {
    const chosen = port || await freePort({ withBusPort });
    const server = new RedisServer(chosen, typeof args === 'function' ? args(chosen) : args, password, tls, {
      configFile: typeof configFile === 'function' ? configFile(chosen) : configFile, readyPattern,
    });
    try {
      return await server.start();
    } catch (err) {
      // Another process may have taken the probed port (or its bus port) in between: try another.
      servers.delete(server);
      if (port || attempt >= 5 || !/Address already in use/i.test(String(err.message))) throw err;
    }
  }
}

/**
 * Registers `close` (a fixture's own cleanup: clients, temporary folders) to run in
 * closeAllServers before the servers are killed; returns a function that unregisters it.
 * @param {() => Promise<void>|void} close
 */
function onCloseAll(close) {
  closers.add(close);
  return () => closers.delete(close);
}

/**
 * Closes every server this module started in this test file and their raw clients. The Jest
 * setup file runs it after each file, so a test that fails before its own close() cannot leave
 * a redis-server (and its stdio pipes) holding the run open.
 */
async function closeAllServers() {
  const fixtures = [...closers];
  closers.clear();
  for (const close of fixtures) {
    try { await close(); } catch { /* the servers below are killed anyway */ }
  }
  const all = [...servers];
  servers.clear();
  await Promise.all(all.map((server) => server.close()));
}

module.exports = {
  startRedis, freePort, RedisServer, closeAllServers, onCloseAll, rawTls, disconnectClient, tempDir,
  CLUSTER_BUS_OFFSET,
};
