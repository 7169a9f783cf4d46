'use strict';

// The Redis store, on one of three topologies (options.topology):
//   'single'   one native command connection (pipelined, on Node's loop);
//   'sentinel' the same behind a SentinelClient (lib/stores/sentinel.js), which finds the master
//              through the sentinels and follows failovers;
//   'cluster'  a native RedisClusterClient: one pipelined connection per master, each command
//              routed by the slot of its first key (every name a command touches is in one bucket,
//              so in one slot).
// When something needs to hear other processes (coalescing, invalidation announcements,
// application events), one subscriber connection (lib/stores/bus.js), to any node of a cluster.
// Key names: lib/stores/redis-keys.js (every name is in one of B buckets: 1 on one Redis, 64 on a
// cluster); scripts: lib/stores/redis-scripts.js. Everything one script touches is in one bucket;
// what spans buckets (an invalidation, a namespace bump, a key pattern) runs once per bucket.
// On Sentinel and Cluster every write of an invalidation is confirmed by the master's replicas
// (WAIT) and retried across a failover (docs/cluster.md). This file holds the store itself: reads,
// stores, namespace versions, events, the sweep. Its parts: the command client of each topology,
// confirmed writes and their retries in lib/stores/redis-topology.js; invalidation in
// lib/stores/redis-invalidate.js; lookups in lib/stores/redis-lookup.js; fill locks in
// lib/stores/redis-locks.js. The contract is in lib/stores/contract.js.
const crypto = require('crypto');
const { EventEmitter } = require('events');
const debug = require('debug')('respcache');
const { CacheClosedError, CorruptEntryError, CorruptIndexError, StoreError, EvictionPolicyError } = require('../errors');
const { decodeStored, ofFamily } = require('../entry');
const { entryIndexes, MAX_PATH_DEPTH } = require('../http/paths');
const { KEYS_FENCE, parseInvalidation } = require('./contract');
const { RedisBus } = require('./bus');
const scripts = require('./redis-scripts');
const { layout, BUCKETS_CLUSTER } = require('./redis-keys');
const locks = require('./redis-locks');
const { lookup } = require('./redis-lookup');
const topo = require('./redis-topology');
const inval = require('./redis-invalidate');
const { systemClock } = require('../clock');

const SWEEP_INTERVAL_MS = 60 * 1000;
const SWEEP_BATCH = 200;
// Bucket steps of one invalidation in flight at once.
const BUCKETS_IN_FLIGHT = 8;

// How long the subscriber may stay away from its node before it moves to another (Cluster).
const SUBSCRIBER_MOVE_MS = 500;

const SHAS = new Map(); // script text -> its SHA1
// Keys whose entries this process read or wrote lately, at most this many (see lookup()).
const HELD_LIMIT = 10000;

class RedisStore extends EventEmitter {
  /**
   * @param {object} options the cache options (endpoint, keyPrefix, connectTimeout, commandTimeout)
   * @param {(err: Error) => void} report
   * @param {{ now(): number }} [clock] the clock entries' times are stamped with
   */
  constructor(options, report, clock = systemClock) {
    super();
    this.options = options;
    this.report = report;
    this.clock = clock;
    this.topology = options.topology || 'single';
    // key -> expiresAt of its entry, as last read or written here: a lookup of a key held fresh
    // is likely a HIT, and is then a GET alone.
    this.held = new Map();
    // options._buckets: test-only (see lib/stores/contract.js).
    const buckets = this.topology === 'cluster' ? BUCKETS_CLUSTER : options._buckets === undefined ? 1 : options._buckets;
    this.names = layout(options.keyPrefix, buckets);
    this.channel = { inval: `${options.keyPrefix}:inval`, fill: `${options.keyPrefix}:fill`, events: `${options.keyPrefix}:events` };
    this.adminTimeout = Math.max(options.commandTimeout, 1000);
    this.nsVersions = new Map(); // namespace -> version last seen (only grows)
    this.lastInvalidationAt = -1;
    this.closing = null;
    this._bus = null;
    this.master = null; // Sentinel: the master's { host, port } once found
    this.recentReleases = []; // Sentinel: lock releases of the last moments (topo.replayReleases)
    this.faultReleases = { list: [], timer: null, attempt: 0 }; // locks.releaseAfterFault
    this.nextNode = 0; // Cluster: the node the subscriber tries next
    this.client = topo.connect(this, (type, err) => this.onConnection(type, err), (master) => this.onMaster(master));
    this.admin = null; // the client of confirmed writes (Sentinel, Cluster), opened on first use
    this.sweeper = setInterval(() => this.sweep().catch(report), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  get status() {
    return this.client.status;
  }

  /** The subscriber side, started on first use. */
  bus() {
    if (this._bus === null) {
      this._bus = new RedisBus(this.options, topo.subscriberEndpoint(this), {
        invalidation: (payload) => this.onInvalidation(payload),
        event: (payload) => this.emit('event', payload),
        resubscribed: () => this.onResubscribed(),
        // Cluster: a subscriber away from its node moves to another (messages are broadcast to
        // every node of a cluster).
        away: this.topology === 'cluster' ? SUBSCRIBER_MOVE_MS : 0,
        moved: () => topo.subscriberEndpoint(this),
      });
      if (!this.closing) this._bus.start();
      else this._bus.close(); // settles bus.ready: nothing will be subscribed any more
    }
    return this._bus;
  }

  get busReady() {
    return this.bus().ready;
  }

  listen() {
    this.bus();
  }

  listenForEvents() {
    return this.bus().listenForEvents();
  }

  /** Sentinel: the master moved (or was first found); the subscriber follows it. */
  onMaster(master) {
    const moved = this.master !== null;
    this.master = { host: master.host, port: master.port };
    if (moved) topo.replayReleases(this);
    if (this._bus !== null) this._bus.moveTo(topo.subscriberEndpoint(this));
  }

  /** An invalidation's write, confirmed and retried on Sentinel and Cluster (lib/stores/redis-topology.js). */
  durable(argv, b) {
    return topo.durable(this, argv, b);
  }

  /** A command of an invalidation that needs no confirmation (PUBLISH), retried as durable() is. */
  adminCommand(argv, route) {
    return topo.adminCommand(this, argv, route);
  }

  /** Cluster: both clients read the slot map again. */
  refreshTopology() {
    return topo.refreshTopology(this);
  }

  /** The nodes that hold entries, each with command(argv, timeoutMs). */
  nodes(admin = true) {
    return topo.nodes(this, admin);
  }

  /** Sends a lock's release, retried on Sentinel and Cluster as invalidation steps are. */
  releaseLock(argv, b, onFault) {
    topo.releaseLock(this, argv, b, onFault);
  }

  /** The route of a keyless command that must share the connection of bucket b's names (Cluster). */
  routeOf(b) {
    return this.topology === 'cluster' ? this.names.slotOf(b) : undefined;
  }

  /** The command connection, or a CacheClosedError once close() was called. */
  command(argv, timeoutMs, flush, route) {
    if (this.closing) return Promise.reject(new CacheClosedError());
    return this.client.command(argv, timeoutMs, flush, route);
  }

  /** A script by its SHA1 (EVALSHA), sent in full when Redis does not have it (after a restart). */
  script(text, keys, args, timeoutMs) {
    let sha = SHAS.get(text);
    if (sha === undefined) SHAS.set(text, sha = crypto.createHash('sha1').update(text).digest('hex'));
    const n = String(keys.length);
    return this.command(['EVALSHA', sha, n, ...keys, ...args], timeoutMs).catch((err) => {
      if (err && err.code === 'ERR_RESPCACHE_REDIS_REPLY' && /^NOSCRIPT/.test(err.message)) {
        return this.command(['EVAL', text, n, ...keys, ...args], timeoutMs);
      }
      throw err;
    });
  }

  /** (sync) Nothing is held in this process. */
  peek() {
    return null;
  }

  /** (sync) Whether this process read or wrote the entry of `key` lately and it should be fresh. */
  holds(key) {
    const until = this.held.get(key);
    return until !== undefined && until > this.clock.now();
  }

  /** Remembers that the entry of `key` is fresh until expiresAt (ms on the entries' clock). */
  hold(key, expiresAt) {
    this.held.delete(key);
    this.held.set(key, expiresAt);
    if (this.held.size > HELD_LIMIT) this.held.delete(this.held.keys().next().value);
  }

  /** The lookup of a request (lib/stores/redis-lookup.js). */
  lookup(key, fill, want) {
    return lookup(this, key, fill, want);
  }

  /**
   * Decoded stored bytes when they are a valid record of the kind `family` holds, of the namespace
   * version `nsVersion` (undefined: not namespaced), that `accept` takes; else null. Bytes that
   * are no such record at all are deleted and reported; an entry of another namespace version is
   * kept (it expires by itself), and so is one of an earlier release's format (a MISS: the next
   * store replaces it).
   */
  usable(name, family, bytes, nsVersion, accept) {
    const entry = Buffer.isBuffer(bytes) ? decodeStored(bytes) : 'not a string value';
    if (entry === 'outdated') return null;
    if (typeof entry === 'string') {
      this.discard(name, entry);
      return null;
    }
    if (entry.nsVersion !== nsVersion && ofFamily(entry, family)) return null;
    if (!ofFamily(entry, family) || entry.nsVersion !== nsVersion || (accept !== null && !accept(entry))) {
      this.discard(name, 'not an entry of its kind');
      return null;
    }
    entry.bytes = bytes;
    entry.tier = 'redis';
    return entry;
  }

  getEntry(key, fill) {
    return fill && fill.ns ? this.getNamespaced(key, fill) : this.getRecord('e:', key, null);
  }

  /** The entry and the namespace's version in one MGET; an entry of another version is a MISS. */
  getNamespaced(key, fill) {
    const b = this.names.bucketOf(key);
    const name = this.names.entry(b, key);
    return this.client.command(['MGET', name, this.names.ns(b, fill.ns)]).then(([bytes, version]) => {
      fill.nsVersion = version === null ? '0' : version.toString('utf8');
      // Learnt, not set: this reply may have been computed before a bump whose announcement (on
      // the subscriber connection) was handled first.
      this.learnNamespaceVersion(fill.ns, fill.nsVersion);
      return bytes === null ? null : this.usable(name, 'e:', bytes, fill.nsVersion, null);
    });
  }

  getRecord(family, key, accept) {
    const name = this.names.record(this.names.bucketOf(key), family, key);
    return this.client.command(['GET', name]).then((bytes) => {
      if (bytes === null) return null;
      return this.usable(name, family, bytes, undefined, accept);
    }, (err) => {
      if (err && err.code === 'ERR_RESPCACHE_REDIS_REPLY' && /^WRONGTYPE/.test(err.message)) {
        this.discard(name, 'wrong type');
        return null;
      }
      throw err;
    });
  }

  discard(name, reason) {
    this.report(new CorruptEntryError(`"${name}" does not hold a valid entry (${reason}); deleted`));
    this.client.command(['DEL', name]).catch(this.report);
  }

  putEntry(key, bytes, ttlMs, fill) {
    const suffixes = entryIndexes(fill.path, fill.tags);
    if (suffixes === null) {
      debug('not storing %s: path deeper than %d levels', key, MAX_PATH_DEPTH);
      return Promise.resolve(null);
    }
    const elapsed = Math.max(0, Math.ceil(performance.now() - fill.startedAt));
    const names = this.names;
    const b = names.bucketOf(key);
    const keys = [names.entry(b, key), names.registry(b), ...suffixes.map((s) => names.index(b, s)),
      ...suffixes.map((s) => names.fence(b, s)), names.keyFence(b, key), names.fence(b, KEYS_FENCE)];
    const argv = ['EVAL', scripts.STORE_SCRIPT, String(keys.length), ...keys,
      bytes, String(ttlMs), key, String(elapsed), sequenceIn(fill, b), String(suffixes.length), ...suffixes];
    const expiresAt = this.clock.now() + ttlMs;
    return this.command(argv, undefined, true).then((reply) => {
      if (!Array.isArray(reply)) {
        if (reply === 1 && fill.ns == null) this.hold(key, expiresAt);
        return reply === 1;
      }
      throw new StoreError(`the response for "${key}" was not stored: ${scripts.misplacedKeys(reply).join('; ')}`);
    });
  }

  putRecord(family, key, bytes, ttlMs, timeoutMs) {
    return this.command(['SET', this.names.record(this.names.bucketOf(key), family, key), bytes, 'PX', String(ttlMs)], timeoutMs, true);
  }

  /** Reports each key of another type a script found at one of the cache's names (and deleted). */
  reportMisplaced(bad) {
    for (const sentence of scripts.misplacedKeys(bad)) this.report(new CorruptIndexError(sentence));
  }

  /** Invalidation (lib/stores/redis-invalidate.js). */
  deleteEntry(key, fence) {
    return inval.deleteEntry(this, key, fence);
  }

  invalidate(suffixes) {
    return inval.invalidate(this, suffixes);
  }

  invalidateKeys(pattern) {
    return inval.invalidateKeys(this, pattern);
  }

  bumpNamespace(ns) {
    return inval.bumpNamespace(this, ns);
  }

  /** Runs step(b) for every bucket, a few at a time; resolves with the results in bucket order. */
  async inBuckets(step) {
    const results = new Array(this.names.buckets);
    let next = 0;
    const worker = async () => {
      while (next < results.length) {
        const b = next++;
        results[b] = await step(b);
      }
    };
    await Promise.all(Array.from({ length: Math.min(BUCKETS_IN_FLIGHT, results.length) }, worker));
    return results;
  }

  namespaceVersion(ns) {
    return this.nsVersions.get(ns) || '0';
  }

  knownNamespaceVersion(ns) {
    return this.nsVersions.get(ns);
  }

  /** Versions only grow: an older announcement arriving late changes nothing. */
  learnNamespaceVersion(ns, version) {
    const known = this.nsVersions.get(ns);
    if (known === undefined || Number(version) > Number(known)) this.nsVersions.set(ns, version);
  }

  tryLock(name, ttlMs) {
    return locks.tryLock(this, name, ttlMs);
  }

  unlock(name, token, afterFaultTtl) {
    locks.unlock(this, name, token, afterFaultTtl);
  }

  acquire(name, read, timing) {
    return locks.acquire(this, name, read, timing);
  }

  release(name, token, filled) {
    locks.release(this, name, token, filled);
  }

  giveBack(name, token) {
    locks.giveBack(this, name, token);
  }

  publish(message) {
    return this.command(['PUBLISH', this.channel.events, message], this.adminTimeout, true);
  }

  /** An invalidation announced by any instance (this one included). */
  onInvalidation(payload) {
    this.lastInvalidationAt = performance.now();
    const parsed = parseInvalidation(payload);
    if (parsed !== null && parsed.ns !== null) this.learnNamespaceVersion(parsed.ns.name, parsed.ns.version);
    this.emit('invalidation', parsed === null ? [] : parsed.names);
  }

  /** Another instance's invalidations may have been missed while the subscriber was away. */
  onResubscribed() {
    this.nsVersions.clear();
    this.emit('resubscribed');
  }

  /** Deletes indexes all of whose entries have expired. */
  async sweep() {
    if (this.closing || this.client.status !== 'ready') return 0;
    const counts = await this.inBuckets(async (b) => {
      let total = 0;
      for (;;) {
        const [swept, bad] = await this.client.command(['EVAL', scripts.SWEEP_SCRIPT, '1', this.names.registry(b), this.names.base(b),
          String(SWEEP_BATCH)], this.adminTimeout);
        this.reportMisplaced(bad);
        total += swept;
        if (swept < SWEEP_BATCH) return total;
      }
    });
    return counts.reduce((sum, n) => sum + n, 0);
  }

  localStats() {
    return null;
  }

  /**
   * Under an allkeys-* maxmemory policy Redis may evict an invalidation index while the entries it
   * lists live on, and those could then no longer be invalidated by tag or path: reported once per
   * connection. (Index keys have no TTL, so volatile-* policies never evict them.)
   */
  checkEvictionPolicy() {
    for (const node of this.nodes(false)) this.checkNodeEvictionPolicy(node);
  }

  checkNodeEvictionPolicy(node) {
    node.command(['CONFIG', 'GET', 'maxmemory-policy'], this.adminTimeout).then((reply) => {
      const policy = Array.isArray(reply) && reply.length === 2 ? reply[1].toString('utf8') : '';
      if (policy.startsWith('allkeys-')) {
        const where = this.topology === 'cluster' ? `Redis at ${node.addr}` : 'Redis';
        this.report(new EvictionPolicyError(`${where} evicts with maxmemory-policy ${policy}: it may evict the `
          + 'invalidation indexes of live entries, which tag and path invalidation would then miss; use a volatile-* '
          + 'policy or noeviction'));
      }
    }, (err) => debug('maxmemory-policy not checked: %s', err && err.message));
  }

  onConnection(type, err) {
    if (type === 'topology') return; // Cluster: the slot map changed (nothing to do here)
    if (type === 'ready') {
      // Loaded before any lookup of this connection is sent, so lookups find it (EVALSHA). The
      // cluster and Sentinel clients load it in each connection's handshake (preload).
      if (this.topology === 'single') this.client.command(['SCRIPT', 'LOAD', scripts.LOOKUP_SCRIPT], this.adminTimeout).catch(() => {});
      this.checkEvictionPolicy();
    }
    if (type === 'error') this.emit('error', err);
    else this.emit(type);
  }

  close() {
    if (!this.closing) {
      clearInterval(this.sweeper);
      this.closing = Promise.all([this.client.close(), this.admin === null ? null : this.admin.close(),
        this._bus === null ? null : this._bus.close()]).then(() => undefined);
    }
    return this.closing;
  }
}


/**
 * The sequence number a fill read with its lookup ("<bucket>:<seq>"), when its store goes to the
 * same bucket; else '' (the store script then compares the fill's start by time). Numbers of two
 * buckets' sequences are not comparable.
 */
function sequenceIn(fill, b) {
  if (fill.seq === undefined) return '';
  const colon = fill.seq.indexOf(':');
  return colon > 0 && Number(fill.seq.slice(0, colon)) === b ? fill.seq.slice(colon + 1) : '';
}

module.exports = { RedisStore, BATCH: inval.BATCH };
