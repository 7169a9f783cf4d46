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
// (WAIT) and retried across a failover for up to ADMIN_RETRY_MS (docs/cluster.md). The contract
// is in lib/stores/contract.js.
const crypto = require('crypto');
const { EventEmitter } = require('events');
const debug = require('debug')('respcache');
const binding = require('../binding');
const { CacheClosedError, CorruptEntryError, CorruptIndexError, StoreError, EvictionPolicyError } = require('../errors');
const { decodeStored, ofFamily } = require('../entry');
const { entryIndexes, MAX_PATH_DEPTH } = require('../http/paths');
const { FENCE_MS, KEYS_FENCE, parseInvalidation } = require('./contract');
const { RedisBus } = require('./bus');
const scripts = require('./redis-scripts');
const { layout, BUCKETS_CLUSTER } = require('./redis-keys');
const locks = require('./redis-locks');
const { lookup } = require('./redis-lookup');
const { systemClock } = require('../clock');

// Members popped per script run: a few milliseconds of Redis time at most.
const BATCH = 500;
const SWEEP_INTERVAL_MS = 60 * 1000;
const SWEEP_BATCH = 200;
// Bucket steps of one invalidation in flight at once.
const BUCKETS_IN_FLIGHT = 8;

// How long an invalidation's write keeps being retried on Sentinel or Cluster while a failover or
// a slot migration keeps it from being confirmed.
const ADMIN_RETRY_MS = 15000;
const RETRY_PAUSE_MS = [50, 100, 200, 500];
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
    this.nextNode = 0; // Cluster: the node the subscriber tries next
    this.client = this.connect((type, err) => this.onConnection(type, err), (master) => this.onMaster(master));
    this.admin = null; // the client of confirmed writes (Sentinel, Cluster), opened on first use
    this.sweeper = setInterval(() => this.sweep().catch(report), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /**
   * A command client of the topology.
   * @param {(type: string, err?: Error) => void} onEvent
   * @param {(master: { host: string, port: number }) => void} onMaster Sentinel: the master moved
   */
  connect(onEvent, onMaster) {
    const { endpoint, connectTimeout, commandTimeout } = this.options;
    if (this.topology === 'cluster') {
      const { nodes, slotsRefreshInterval, maxRedirections } = this.options.cluster;
      return new binding.RedisClusterClient({
        nodes: nodes.map(({ host, port }) => ({ host, port })),
        username: endpoint.username,
        password: endpoint.password,
        ...(endpoint.tls ? { tls: endpoint.tls } : {}),
        preload: [scripts.LOOKUP_SCRIPT],
        connectTimeout, commandTimeout, slotsRefreshInterval, maxRedirections, onEvent,
      });
    }
    if (this.topology === 'sentinel') {
      const { SentinelClient } = require('./sentinel');
      const { nodes, name, auth, tls } = this.options.sentinel;
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

  get status() {
    return this.client.status;
  }

  /** The subscriber side, started on first use. */
  bus() {
    if (this._bus === null) {
      this._bus = new RedisBus(this.options, this.subscriberEndpoint(), {
        invalidation: (payload) => this.onInvalidation(payload),
        event: (payload) => this.emit('event', payload),
        resubscribed: () => this.onResubscribed(),
        // Cluster: a subscriber away from its node moves to another (messages are broadcast to
        // every node of a cluster).
        away: this.topology === 'cluster' ? SUBSCRIBER_MOVE_MS : 0,
        moved: () => this.subscriberEndpoint(),
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

  /**
   * Where the subscriber connects: the Redis of a single node; the master a Sentinel named (null
   * until one did: the subscriber starts then); a node of the cluster, the next one each time
   * (the seeds, then the masters of the last topology).
   */
  subscriberEndpoint() {
    const template = this.options.endpoint;
    if (this.topology === 'single') return template;
    if (this.topology === 'sentinel') return this.master === null ? null : { ...template, ...this.master };
    const nodes = this.options.cluster.nodes.map(({ host, port }) => ({ host, port }));
    if (this.client !== undefined) {
      for (const { addr } of this.client.masters) {
        const colon = addr.lastIndexOf(':');
        const node = { host: addr.slice(0, colon), port: Number(addr.slice(colon + 1)) };
        if (!nodes.some((n) => n.host === node.host && n.port === node.port)) nodes.push(node);
      }
    }
    return { ...template, ...nodes[this.nextNode++ % nodes.length] };
  }

  /** Sentinel: the master moved (or was first found); the subscriber follows it. */
  onMaster(master) {
    this.master = { host: master.host, port: master.port };
    if (this._bus !== null) this._bus.moveTo(this.subscriberEndpoint());
  }

  /**
   * An invalidation's write. On Sentinel and Cluster it resolves once the master's replicas
   * confirmed it (WAIT: a failover then keeps it), and a step that fails while the topology moves
   * (no master, a migrating slot, a replica that did not confirm) is sent again, for up to
   * ADMIN_RETRY_MS: every such step can run twice. `b` is the bucket of the names it touches.
   */
  async durable(argv, b) {
    if (this.closing) throw new CacheClosedError();
    if (this.topology === 'single') return this.client.command(argv, this.adminTimeout, true);
    const admin = this.adminClient();
    const send = this.topology === 'cluster'
      ? () => admin.commandDurable(argv, this.adminTimeout, this.names.slotOf(b))
      : () => admin.commandDurable(argv, this.adminTimeout);
    return this.retrying(send);
  }

  /**
   * Sentinel and Cluster: the client confirmed writes go through, apart from the lookups'. Redis
   * holds a connection that sent WAIT until the replicas answer (up to a second when one is slow
   * or gone): on the lookups' connection every lookup behind it would wait as long. Its
   * connection faults are the command client's to report.
   */
  adminClient() {
    // Sentinel: the SentinelClient keeps a connection of its own for them, always to the master
    // its data connection points at (two SentinelClients could follow a failover at different
    // moments).
    if (this.topology === 'sentinel') return this.client;
    if (this.admin === null) this.admin = this.connect(() => {}, () => {});
    return this.admin;
  }

  /** A command of an invalidation that needs no confirmation (PUBLISH), retried as durable() is. */
  adminCommand(argv, route) {
    if (this.closing) return Promise.reject(new CacheClosedError());
    const send = () => this.client.command(argv, this.adminTimeout, true, route);
    return this.topology === 'single' ? send() : this.retrying(send);
  }

  async retrying(send) {
    const deadline = performance.now() + ADMIN_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        const pause = RETRY_PAUSE_MS[Math.min(attempt, RETRY_PAUSE_MS.length - 1)];
        if (this.closing || !retryable(err) || performance.now() + pause >= deadline) throw err;
        debug('retrying an invalidation step in %d ms: %s', pause, err.message);
        await new Promise((resolve) => setTimeout(resolve, pause));
        if (this.topology === 'cluster' && !this.closing) await this.refreshTopology();
      }
    }
  }

  /** Cluster: both clients read the slot map again (a step failed while it moved). */
  refreshTopology() {
    return Promise.all([this.client, this.admin].map((c) => (c === null ? null : c.refresh().catch(() => {}))));
  }

  /**
   * The nodes that hold entries, each with command(argv, timeoutMs): one Redis, or every master
   * (through the admin client when `admin`: a SCAN pass must not hold up lookups).
   */
  nodes(admin = true) {
    if (this.topology !== 'cluster') return [{ addr: 'redis', command: (argv, timeoutMs) => this.client.command(argv, timeoutMs) }];
    const via = admin ? this.adminClient() : this.client;
    return this.client.masters.map(({ addr }) => ({ addr, command: (argv, timeoutMs) => via.commandOnNode(addr, argv, timeoutMs) }));
  }

  /**
   * Sends a lock's release (RELEASE_LOCK). On Sentinel and Cluster a release that fails while the
   * topology moves is sent again, as invalidation steps are: the lock was replicated, and left in
   * place it would hold every later fill of its key up to lockTtl.
   */
  releaseLock(argv) {
    if (this.closing) return;
    const send = () => this.command(argv, undefined, true);
    (this.topology === 'single' ? send() : this.retrying(send)).catch((err) => {
      if (!(err && err.code === 'ERR_RESPCACHE_REDIS_CLOSED')) this.report(err);
    });
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

  async deleteEntry(key, fence) {
    if (fence) this.lastInvalidationAt = performance.now();
    const names = this.names;
    const b = names.bucketOf(key);
    const removal = fence
      ? ['EVAL', scripts.FENCE_SCRIPT, '3', names.keyFence(b, key), names.seq(b), names.entry(b, key), String(FENCE_MS)]
      : ['UNLINK', names.entry(b, key)];
    const [removed] = await Promise.all([
      this.durable(removal, b),
      // Other instances drop their in-process copies when this reaches them.
      this.adminCommand(['PUBLISH', this.channel.inval, `e:${key}`]),
    ]);
    return removed > 0;
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

  async invalidate(suffixes) {
    this.lastInvalidationAt = performance.now();
    if (suffixes.length === 0) return 0;
    const counts = await this.inBuckets((b) => this.invalidateBucket(b, suffixes));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /**
   * The invalidation of `suffixes` in bucket b: every fence set and the first batch of each index
   * listed (INVAL_BEGIN), then each index drained batch by batch (INVAL_DRAIN), each batch dropped
   * here and announced before the next is taken.
   */
  async invalidateBucket(b, suffixes) {
    const names = this.names;
    const keys = [names.seq(b), names.registry(b), ...suffixes.map((s) => names.index(b, s)), ...suffixes.map((s) => names.fence(b, s))];
    const lists = await this.durable(['EVAL', scripts.INVAL_BEGIN, String(keys.length), ...keys, String(FENCE_MS), String(BATCH), ...suffixes], b);
    this.reportMisplaced(lists[suffixes.length]);
    let removed = 0;
    for (let i = 0; i < suffixes.length; i++) removed += await this.drain(b, suffixes[i], lists[i]);
    return removed;
  }

  /** Removes the members of one index of bucket b, `members` first (Buffers, as Redis holds them). */
  async drain(b, suffix, members) {
    const names = this.names;
    const base = Buffer.from(names.base(b) + 'e:');
    let removed = 0;
    while (members.length > 0) {
      const entries = members.map((m) => Buffer.concat([base, m]));
      const [count, next, bad] = await this.durable(['EVAL', scripts.INVAL_DRAIN, String(2 + entries.length), names.index(b, suffix),
        names.registry(b), ...entries, String(BATCH), suffix, ...members], b);
      this.reportMisplaced(bad);
      removed += count;
      await this.dropped(members.map((m) => m.toString('utf8')));
      members = next;
    }
    return removed;
  }

  /** After entries left Redis: this process's copies go at once ('dropped'), others' on the announcement. */
  async dropped(keys) {
    if (keys.length === 0) return;
    this.emit('dropped', keys);
    await this.adminCommand(['PUBLISH', this.channel.inval, JSON.stringify({ keys })]);
  }

  /**
   * Removes the entries whose keys match a Redis MATCH pattern, in SCAN batches over the entry
   * family of every bucket. Fences first (every bucket's): a store that lands after the fence is
   * refused if its fill began before, one that landed before is in Redis for the SCAN to find.
   */
  async invalidateKeys(pattern) {
    this.lastInvalidationAt = performance.now();
    const names = this.names;
    await this.inBuckets((b) => this.durable(['EVAL', scripts.FENCE_SCRIPT, '2', names.fence(b, KEYS_FENCE), names.seq(b),
      String(FENCE_MS)], b));
    const match = names.entryMatch() + pattern;
    let removed = 0;
    if (this.topology !== 'cluster') {
      for (const node of this.nodes()) removed += await this.scanEntries(node, match);
      return removed;
    }
    // Cluster: one pass over every master. While slots move, an entry can go from a master not
    // yet scanned to one already scanned: a pass counts only if the slot layout was the same,
    // and nothing was migrating, before and after it. (The fences keep new old entries out, so
    // passes converge.)
    const deadline = performance.now() + ADMIN_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      let failure = null;
      const before = await this.slotLayout().catch((err) => { failure = err; return null; });
      if (before !== null && !before.moving) {
        try {
          for (const node of this.nodes()) removed += await this.scanEntries(node, match);
        } catch (err) {
          failure = err;
        }
        if (failure === null) {
          const after = await this.slotLayout().catch((err) => { failure = err; return null; });
          if (after !== null && !after.moving && after.text === before.text) return removed;
        }
      }
      if (failure !== null && (this.closing || !retryable(failure))) throw failure;
      const pause = RETRY_PAUSE_MS[Math.min(attempt, RETRY_PAUSE_MS.length - 1)];
      if (performance.now() + pause >= deadline) {
        throw failure || new StoreError(`invalidateKeys(${JSON.stringify(pattern)}): slots kept moving between masters for ${ADMIN_RETRY_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      await this.refreshTopology();
    }
  }

  /**
   * Cluster: what every master says it serves (CLUSTER NODES, its "myself" line's slots), as one
   * text, and whether a slot is migrating or importing anywhere.
   */
  async slotLayout() {
    const lines = await Promise.all(this.nodes().map(async (node) => {
      const text = (await node.command(['CLUSTER', 'NODES'], this.adminTimeout)).toString('utf8');
      const mine = text.split('\n').find((line) => line.includes('myself'));
      if (mine === undefined) throw new StoreError(`${node.addr} did not describe itself in CLUSTER NODES`);
      return `${node.addr} ${mine.split(' ').slice(8).join(' ')}`;
    }));
    const text = lines.sort().join('\n');
    return { text, moving: text.includes('[') };
  }

  /** SCANs one node for entry names matching `match`; UNLINKs them a bucket at a time. */
  async scanEntries(node, match) {
    if (this.closing) throw new CacheClosedError();
    let cursor = '0';
    let removed = 0;
    do {
      const [next, found] = await node.command(['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'], this.adminTimeout);
      cursor = next.toString('utf8');
      const byBucket = new Map(); // tag index -> { names, keys }
      for (const raw of found) {
        const name = raw.toString('utf8');
        const parsed = this.names.parseEntry(name);
        if (parsed === null) continue;
        let group = byBucket.get(parsed.bucket);
        if (group === undefined) byBucket.set(parsed.bucket, group = { names: [], keys: [] });
        group.names.push(raw);
        group.keys.push(parsed.key);
      }
      for (const [b, group] of byBucket) {
        removed += await this.durable(['UNLINK', ...group.names], b);
        await this.dropped(group.keys);
      }
    } while (cursor !== '0');
    return removed;
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

  async bumpNamespace(ns) {
    if (this.closing) throw new CacheClosedError();
    this.lastInvalidationAt = performance.now();
    const names = this.names;
    const home = names.bucketOf(ns);
    const version = String(await this.durable(['INCR', names.ns(home, ns)], home));
    // Every other bucket's copy (read by the lookups of its keys) raised to it before it is announced.
    await this.inBuckets((b) => (b === home ? null
      : this.durable(['EVAL', scripts.NS_RAISE, '1', names.ns(b, ns), version], b)));
    await this.adminCommand(['PUBLISH', this.channel.inval, JSON.stringify({ ns, version })]);
    this.learnNamespaceVersion(ns, version);
    return version;
  }

  tryLock(name, ttlMs) {
    return locks.tryLock(this, name, ttlMs);
  }

  unlock(name, token) {
    locks.unlock(this, name, token);
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

/** Whether a failed invalidation step may succeed when sent again (a failover, a slot migration). */
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
 * The sequence number a fill read with its lookup ("<bucket>:<seq>"), when its store goes to the
 * same bucket; else '' (the store script then compares the fill's start by time). Numbers of two
 * buckets' sequences are not comparable.
 */
function sequenceIn(fill, b) {
  if (fill.seq === undefined) return '';
  const colon = fill.seq.indexOf(':');
  return colon > 0 && Number(fill.seq.slice(0, colon)) === b ? fill.seq.slice(colon + 1) : '';
}

module.exports = { RedisStore, BATCH };
