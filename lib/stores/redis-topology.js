'use strict';

// The Redis store's topology (RedisStore in lib/stores/redis.js; options.topology): its command
// client ('single': a native RedisClient; 'sentinel': a SentinelClient, lib/stores/sentinel.js;
// 'cluster': a native RedisClusterClient), where its subscriber connects, the nodes that hold
// entries, and how invalidation writes go (durable()): on Sentinel and Cluster confirmed by the
// master's replicas (WAIT) through a client of their own, and retried across a failover or a slot
// migration for up to ADMIN_RETRY_MS (docs/cluster.md); lock releases are retried the same way.
const debug = require('debug')('respcache');
const binding = require('../binding');
const { CacheClosedError } = require('../errors');
const scripts = require('./redis-scripts');

// How long an invalidation's write keeps being retried on Sentinel or Cluster while a failover or
// a slot migration keeps it from being confirmed.
const ADMIN_RETRY_MS = 15000;
const RETRY_PAUSE_MS = [50, 100, 200, 500];

/**
 * A command client of the topology.
 * @param {RedisStore} store
 * @param {(type: string, err?: Error) => void} onEvent
 * @param {(master: { host: string, port: number }) => void} onMaster Sentinel: the master moved
 * @returns {object} a native RedisClient or RedisClusterClient, or a SentinelClient
 */
function connect(store, onEvent, onMaster) {
  const { endpoint, connectTimeout, commandTimeout } = store.options;
  if (store.topology === 'cluster') {
    const { nodes, slotsRefreshInterval, maxRedirections } = store.options.cluster;
    return new binding.RedisClusterClient({
      nodes: nodes.map(({ host, port }) => ({ host, port })),
      username: endpoint.username,
      password: endpoint.password,
      ...(endpoint.tls ? { tls: endpoint.tls } : {}),
      preload: [scripts.LOOKUP_SCRIPT],
      connectTimeout, commandTimeout, slotsRefreshInterval, maxRedirections, onEvent,
    });
  }
  if (store.topology === 'sentinel') {
    const { SentinelClient } = require('./sentinel');
    const { nodes, name, auth, tls } = store.options.sentinel;
    return new SentinelClient({
      sentinels: nodes.map(({ host, port }) => ({ host, port })),
      name,
      endpoint: { username: endpoint.username, password: endpoint.password, db: endpoint.db, ...(endpoint.tls ? { tls: endpoint.tls } : {}) },
      sentinelAuth: { username: auth.username, password: auth.password },
      sentinelTls: tls || undefined,
      preload: [scripts.LOOKUP_SCRIPT],
      connectTimeout, commandTimeout, onEvent, onMaster,
    });
  }
  return new binding.RedisClient({ ...endpoint, connectTimeout, commandTimeout, onEvent });
}

/**
 * Where the subscriber connects: the Redis of a single node; the master a Sentinel named (null
 * until one did: the subscriber starts then); a node of the cluster, the next one each time
 * (the seeds, then the masters of the last topology).
 * @param {RedisStore} store
 * @returns {object|null} an endpoint of the options' shape
 */
function subscriberEndpoint(store) {
  const template = store.options.endpoint;
  if (store.topology === 'single') return template;
  if (store.topology === 'sentinel') return store.master === null ? null : { ...template, ...store.master };
  const nodes = store.options.cluster.nodes.map(({ host, port }) => ({ host, port }));
  if (store.client !== undefined) {
    for (const { addr } of store.client.masters) {
      const colon = addr.lastIndexOf(':');
      const node = { host: addr.slice(0, colon), port: Number(addr.slice(colon + 1)) };
      if (!nodes.some((n) => n.host === node.host && n.port === node.port)) nodes.push(node);
    }
  }
  return { ...template, ...nodes[store.nextNode++ % nodes.length] };
}

/**
 * An invalidation's write. On Sentinel and Cluster it resolves once the master's replicas
 * confirmed it (WAIT: a failover then keeps it), and a step that fails while the topology moves
 * (no master, a migrating slot, a replica that did not confirm) is sent again, for up to
 * ADMIN_RETRY_MS: every such step can run twice. `b` is the bucket of the names it touches.
 * @param {RedisStore} store
 * @param {Array<string|Buffer>} argv
 * @param {number} b
 * @returns {Promise<any>} the command's reply
 */
async function durable(store, argv, b) {
  if (store.closing) throw new CacheClosedError();
  if (store.topology === 'single') return store.client.command(argv, store.adminTimeout, true);
  const admin = adminClient(store);
  const send = store.topology === 'cluster'
    ? () => admin.commandDurable(argv, store.adminTimeout, store.names.slotOf(b))
    : () => admin.commandDurable(argv, store.adminTimeout);
  return retrying(store, send);
}

/**
 * Sentinel and Cluster: the client confirmed writes go through, apart from the lookups'. Redis
 * holds a connection that sent WAIT until the replicas answer (up to a second when one is slow
 * or gone): on the lookups' connection every lookup behind it would wait as long. Its
 * connection faults are the command client's to report.
 */
function adminClient(store) {
  // Sentinel: the SentinelClient keeps a connection of its own for them, always to the master
  // its data connection points at (two SentinelClients could follow a failover at different
  // moments).
  if (store.topology === 'sentinel') return store.client;
  if (store.admin === null) store.admin = connect(store, () => {}, () => {});
  return store.admin;
}

/**
 * A command of an invalidation that needs no confirmation (PUBLISH), retried as durable() is.
 * @param {RedisStore} store
 * @param {Array<string|Buffer>} argv
 * @param {number} [route] Cluster: the slot of the connection it must go on
 * @returns {Promise<any>} the command's reply
 */
function adminCommand(store, argv, route) {
  if (store.closing) return Promise.reject(new CacheClosedError());
  const send = () => store.client.command(argv, store.adminTimeout, true, route);
  return store.topology === 'single' ? send() : retrying(store, send);
}

async function retrying(store, send) {
  const deadline = performance.now() + ADMIN_RETRY_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const pause = RETRY_PAUSE_MS[Math.min(attempt, RETRY_PAUSE_MS.length - 1)];
      if (store.closing || !retryable(err) || performance.now() + pause >= deadline) throw err;
      debug('retrying an invalidation step in %d ms: %s', pause, err.message);
      await new Promise((resolve) => setTimeout(resolve, pause));
      if (store.topology === 'cluster' && !store.closing) await refreshTopology(store);
    }
  }
}

/**
 * Whether a failed invalidation step may succeed when sent again (a failover, a slot migration).
 * @param {Error|undefined} err
 * @returns {boolean}
 */
function retryable(err) {
  if (!err) return false;
  switch (err.code) {
    case 'ERR_RESPCACHE_REDIS_UNCONFIRMED':
    case 'ERR_RESPCACHE_REDIS_UNAVAILABLE':
    case 'ERR_RESPCACHE_REDIS_TIMEOUT':
      return true;
    case 'ERR_RESPCACHE_REDIS_REPLY':
      return /^(TRYAGAIN|CLUSTERDOWN|READONLY|LOADING|MASTERDOWN|NOREPLICAS|MOVED|ASK)\b/.test(err.message);
    default:
      return false;
  }
}

/**
 * Cluster: both clients read the slot map again (a step failed while it moved).
 * @param {RedisStore} store
 * @returns {Promise<void[]>} never rejects
 */
function refreshTopology(store) {
  return Promise.all([store.client, store.admin].map((c) => (c === null ? null : c.refresh().catch(() => {}))));
}

/**
 * The nodes that hold entries, each with command(argv, timeoutMs): one Redis, or every master
 * (through the admin client when `admin`: a SCAN pass must not hold up lookups).
 * @param {RedisStore} store
 * @param {boolean} [admin]
 * @returns {Array<{ addr: string, command: (argv: Array<string|Buffer>, timeoutMs: number) => Promise<any> }>}
 */
function nodes(store, admin = true) {
  if (store.topology !== 'cluster') return [{ addr: 'redis', command: (argv, timeoutMs) => store.client.command(argv, timeoutMs) }];
  const via = admin ? adminClient(store) : store.client;
  return store.client.masters.map(({ addr }) => ({ addr, command: (argv, timeoutMs) => via.commandOnNode(addr, argv, timeoutMs) }));
}

// Sentinel: how long a lock release is kept to be sent again if the store then follows a
// failover, and at most how many (the oldest are dropped first).
const REPLAY_MS = 5000;
const REPLAY_MAX = 10000;

/**
 * Sends a lock's release (RELEASE_LOCK). On Sentinel and Cluster a release that fails while the
 * topology moves is sent again, as invalidation steps are: the lock was replicated, and left in
 * place it would hold every later fill of its key up to lockTtl. On Sentinel it is also kept for
 * REPLAY_MS, for replayReleases().
 * @param {RedisStore} store
 * @param {Array<string|Buffer>} argv
 * @param {number} b the bucket of the lock's name
 * @returns {void} faults are reported, not thrown
 */
function releaseLock(store, argv, b, onFault) {
  if (store.closing) return;
  if (store.topology === 'sentinel') {
    const now = performance.now();
    const recent = store.recentReleases;
    let old = 0;
    while (old < recent.length && (now - recent[old].at > REPLAY_MS || recent.length - old >= REPLAY_MAX)) old++;
    if (old > 0) recent.splice(0, old);
    recent.push({ argv, b, at: now });
  }
  const send = () => store.command(argv, undefined, true);
  (store.topology === 'single' ? send() : retrying(store, send)).catch((err) => {
    if (err && err.code === 'ERR_RESPCACHE_REDIS_CLOSED') return;
    store.report(err);
    if (onFault !== undefined && retryable(err)) onFault();
  });
}

/**
 * Sentinel: the store has just followed a failover. A release sent shortly before may have gone
 * to the demoted master, which takes writes until the Sentinels reconfigure it, while the
 * promoted replica still holds the lock (replicated before the promotion): every fill of that key
 * would wait for lockTtl (seen in the forced-failover scenario: requests held 5 s and more). The
 * releases of the last REPLAY_MS are sent again, confirmed by the new master's replicas. Sending
 * one twice is harmless: it deletes the lock only while it still holds this acquisition's token.
 * @param {RedisStore} store
 * @returns {void} faults are reported, not thrown
 */
function replayReleases(store) {
  const now = performance.now();
  const recent = store.recentReleases.filter((r) => now - r.at <= REPLAY_MS);
  store.recentReleases = [];
  for (const { argv, b } of recent) {
    durable(store, argv, b).catch((err) => {
      if (!store.closing && !(err && err.code === 'ERR_RESPCACHE_REDIS_CLOSED')) store.report(err);
    });
  }
}

module.exports = { connect, subscriberEndpoint, durable, adminCommand, refreshTopology, nodes, releaseLock, replayReleases,
  retryable,
  ADMIN_RETRY_MS, RETRY_PAUSE_MS };
