'use strict';

// The cache object: one Redis connection (native), the entry key family, lookups that never throw
// at requests, stores that are fire-and-forget, and error reporting on the 'error' event.
const { EventEmitter } = require('events');
const debug = require('debug')('respcache');
const binding = require('./binding');
const errors = require('./errors');
const { cacheOptions, wrapOptions } = require('./options');
const { createMiddleware } = require('./middleware');
const { Coalescer } = require('./coalesce');
const { Metrics } = require('./metrics');
const { warm } = require('./warm');
const { Invalidator, checkTags, checkNamespace, pathIndexes } = require('./invalidation');

// A stalled Redis times out every lookup, and a keyspace filled with garbage makes every lookup
// find a corrupt entry: such per-lookup faults are reported once per interval per code, the rest
// counted in stats().suppressedErrors. Connection events and the app's own faults (keyBuilder,
// condition) are always reported, once per request.
const REPORT_INTERVAL_MS = 1000;
const RATE_LIMITED = new Set(['ERR_RESPCACHE_REDIS_TIMEOUT', 'ERR_RESPCACHE_REDIS_UNAVAILABLE',
  'ERR_RESPCACHE_CORRUPT_ENTRY']);

const QUIET_FAULTS = new Set(['ERR_RESPCACHE_REDIS_UNAVAILABLE', 'ERR_RESPCACHE_REDIS_CLOSED']);

// Values of get/set/wrap use the entry envelope: status 200, one header naming the type, the bytes.
const VALUE_TYPE_HEADER = 'x-respcache-type';
const VALUE_TYPES = new Set(['buffer', 'string', 'json']);
const { NS_HEADER, wellFormed } = require('./policy');

/** Decodes stored entry bytes: the entry, or a string saying why they are not one. */
function decodeStored(bytes) {
  const entry = binding.decodeEntry(bytes);
  if (typeof entry !== 'string' && entry.headers[0] === NS_HEADER) {
    entry.nsVersion = entry.headers[1];
    entry.headers = entry.headers.slice(2);
  }
  return entry;
}

// Keys, tags, paths and patterns become Redis bytes as UTF-8, which has no form for a lone UTF-16
// surrogate ('\uD800' and '\uD801' would both become U+FFFD and name the same thing).
function checkValueKey(key, method) {
  if (typeof key !== 'string' || key.length === 0 || !wellFormed(key)) {
    throw new errors.InvalidArgumentError(`Expected cache.${method}(key) to be given a non-empty, well-formed string key`);
  }
}

function encodeValue(value, ttlMs) {
  let type;
  let bytes;
  if (Buffer.isBuffer(value)) {
    type = 'buffer';
    bytes = value;
  } else if (typeof value === 'string') {
    type = 'string';
    bytes = Buffer.from(value, 'utf8');
  } else {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`a ${typeof value} cannot be stored (not JSON-serialisable)`);
    type = 'json';
    bytes = Buffer.from(json, 'utf8');
  }
  const now = Date.now();
  return binding.encodeEntry(200, [VALUE_TYPE_HEADER, type], bytes, now, now + ttlMs);
}

function decodeValue(entry) {
  const type = entry.headers[1];
  if (type === 'buffer') return Buffer.from(entry.body);
  if (type === 'string') return entry.body.toString('utf8');
  return JSON.parse(entry.body.toString('utf8'));
}

class Cache extends EventEmitter {
  /**
   * Use createCache(options); see README for the options.
   * @param {object} [options]
   */
  constructor(options) {
    super();
    const o = cacheOptions(options);
    this.keyPrefix = o.keyPrefix;
    this.options = o;
    this._counters = { hits: 0, localHits: 0, stale: 0, misses: 0, bypasses: 0, coalesced: 0, stores: 0, errors: 0,
      suppressedErrors: 0, invalidationEvents: 0, storeFailures: 0, storesFenced: 0, invalidated: 0 };
    this._metrics = null;
    this._coalescer = null;
    this._entryPrefix = `${o.keyPrefix}:e:`;
    this._valuePrefix = `${o.keyPrefix}:v:`;
    this._wraps = new Map();
    this._lastReport = new Map();
    this._closing = null;
    this._local = o.local === null ? null : new binding.LocalStore(o.local.maxBytes);
    this._client = null;
    // Namespace versions seen in Redis or announced by bumps; a local copy of a namespaced entry
    // is served only when its version is the one known here.
    this._nsVersions = new Map();
    // performance.now() when this process last started or heard of an invalidation.
    this._lastInvalidationAt = -1;
    this._everReady = false; // the command connection was ready once (a later 'ready' is a return)
    this._eventHandlers = new Map(); // event name -> Set<handler>
    this._eventsChannel = `${o.keyPrefix}:events`;
    if (o.endpoint === null) {
      this._invalidator = new Invalidator(this);
      // Embedded: the in-process tier alone. Ready at once (announced asynchronously, as with Redis).
      setImmediate(() => { if (!this._closing) this.emit('ready'); });
      return;
    }
    this._client = new binding.RedisClient({
      ...o.endpoint,
      connectTimeout: o.connectTimeout,
      commandTimeout: o.commandTimeout,
      onEvent: (type, err) => this._onEvent(type, err),
    });
    this._invalidator = new Invalidator(this);
    // A near cache must hear other instances' invalidations from the start; so must a listener
    // of 'invalidated'. (Coalescing routes start the subscriber when they are set up.)
    if (this._local !== null) this.coalescer();
    else {
      this.on('newListener', (event) => {
        if (event === 'invalidated' && this._coalescer === null && !this._closing) this.coalescer();
      });
    }
  }

  /** 'connecting' | 'ready' | 'reconnecting' | 'closed' */
  get status() {
    if (this._client !== null) return this._client.status;
    return this._closing ? 'closed' : 'ready';
  }

  /**
   * Counters since the cache was created, and the in-process tier's figures.
   * @returns {{ hits: number, localHits: number, stale: number, misses: number, bypasses: number, coalesced: number,
   *   stores: number, storeFailures: number, errors: number, suppressedErrors: number,
   *   invalidationEvents: number, local: object|null }}
   */
  stats() {
    return { ...this._counters, local: this.localStats() };
  }

  /**
   * Registers Prometheus metrics for this cache with a prom-client registry (prom-client is an
   * optional peer dependency): requests by route and outcome, stores, errors by code, lookup and
   * store latency histograms, and in-process tier gauges. Call once per registry.
   * @param {import('prom-client').Registry} register
   * @param {{ prefix?: string }} [options] metric name prefix, default 'respcache_'
   */
  metrics(register, { prefix = 'respcache_' } = {}) {
    if (!register || typeof register.registerMetric !== 'function') {
      throw new TypeError('Expected cache.metrics(register) to be given a prom-client Registry');
    }
    if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
      throw new TypeError('Expected the "prefix" option of cache.metrics() to be a valid metric name prefix');
    }
    this._metrics = new Metrics(this, register, prefix);
    return this._metrics;
  }

  /**
   * Fills entries through the app's own routes: a GET to the app's own server for each path
   * (every middleware and store rule runs as for a client). Resolves with each path's status
   * and X-Cache; a path that fails is reported in its result, not thrown.
   * @param {import('http').Server | string} target the listening server, or its base URL
   * @param {string[]} paths
   * @param {{ headers?: object, concurrency?: number, timeout?: number }} [options]
   */
  warm(target, paths, options) {
    return warm(target, paths, options);
  }

  /** Counts one request's outcome: hit, hit_local, hit_coalesced, stale (also a hit), miss or bypass. */
  _outcome(req, outcome) {
    const c = this._counters;
    if (outcome === 'miss') c.misses++;
    else if (outcome === 'bypass') c.bypasses++;
    else {
      c.hits++;
      if (outcome === 'hit_local') c.localHits++; // a request answered from process memory
      else if (outcome === 'hit_coalesced') c.coalesced++;
      else if (outcome === 'stale') c.stale++;
    }
    if (this._metrics !== null) this._metrics.request(req, outcome);
  }

  /** The in-process tier's figures (entries, bytes, maxBytes, hits, misses, evictions, expirations), or null. */
  localStats() {
    return this._local === null ? null : this._local.stats();
  }

  /**
   * The Redis key an entry for `key` is stored under: a family of its own, so no key a builder
   * returns can name another entry or any other key of the cache.
   * @param {string} key
   * @returns {string}
   */
  entryKey(key) {
    return this._entryPrefix + key;
  }

  /**
   * Returns an Express middleware caching the route's responses.
   * @param {object} [options] route options (ttl, keyPrefix, keyBuilder, condition, statuses,
   *   methods, maxBodySize, exposeKey)
   * @returns {import('express').RequestHandler}
   */
  middleware(options) {
    return createMiddleware(this, options);
  }

  /**
   * The request coalescer of this cache, created (with its subscriber connection) when the first
   * coalescing route is set up.
   * @returns {import('./coalesce').Coalescer}
   */
  coalescer() {
    if (this._coalescer === null) {
      this._coalescer = new Coalescer(this);
      if (!this._closing) this._coalescer.start();
    }
    return this._coalescer;
  }

  /**
   * Looks `key` up. Resolves with the decoded entry or null (not found, or not a valid entry: it
   * is then deleted); rejects when Redis cannot answer in time (the caller bypasses).
   * @param {string} key
   * @param {{ ns: string|null, nsVersion: string|null }} [fill] for a namespaced route: the
   *   namespace; its current version is set here (an entry of another version is not returned)
   * @returns {Promise<{ status: number, headers: string[], body: Buffer, storedAt: number, expiresAt: number } | null>}
   */
  lookup(key, fill) {
    if (this._metrics === null) return this._readEntry(key, fill);
    const started = process.hrtime.bigint();
    const done = (entry) => {
      const tier = entry !== null && entry.tier === 'local' ? 'local' : 'redis';
      this._metrics.lookupSeconds.observe({ tier }, Number(process.hrtime.bigint() - started) / 1e9);
      return entry;
    };
    return this._readEntry(key, fill).then(done);
  }

  /** lookup() without the metrics. */
  _readEntry(key, fill) {
    return fill && fill.ns ? this._readNamespaced(key, fill) : this._read('e:', key, null);
  }

  /**
   * A namespaced lookup: the entry and the namespace's version in one MGET; an entry stored
   * under another version is a MISS. A local copy is served only under the version known here.
   */
  _readNamespaced(key, fill) {
    const localKey = `e:${key}`;
    const known = this._nsVersions.get(fill.ns);
    if (this._local !== null && (known !== undefined || this._client === null)) {
      const bytes = this._local.get(localKey);
      if (bytes !== null) {
        const entry = decodeStored(bytes);
        if (typeof entry !== 'string' && entry.nsVersion === (known || '0')) {
          entry.bytes = bytes;
          entry.tier = 'local';
          fill.nsVersion = entry.nsVersion;
          return Promise.resolve(entry);
        }
      }
    }
    if (this._client === null) {
      if (this._closing) return Promise.reject(new errors.CacheClosedError());
      fill.nsVersion = known || '0';
      return Promise.resolve(null);
    }
    const redisKey = `${this.keyPrefix}:${localKey}`;
    const askedAt = this._local === null ? 0 : performance.now(); // for _keepLocal only
    return this._client.command(['MGET', redisKey, `${this.keyPrefix}:n:${fill.ns}`]).then(([bytes, version]) => {
      fill.nsVersion = version === null ? '0' : version.toString('utf8');
      // Not set but learnt: this reply may have been computed before a bump whose announcement
      // (on the subscriber connection) was handled first.
      this._learnNamespaceVersion(fill.ns, fill.nsVersion);
      if (bytes === null) return null;
      const entry = decodeStored(bytes);
      if (typeof entry === 'string') {
        this._discard(redisKey, entry);
        return null;
      }
      if (entry.nsVersion !== fill.nsVersion) return null; // an older version: replaced on store
      entry.bytes = bytes;
      this._keepLocal(localKey, bytes, entry.expiresAt - Date.now(), askedAt);
      return entry;
    });
  }

  /** Decodes stored entry bytes (as handed between requests of one process). */
  decodeStored(bytes) {
    return decodeStored(bytes);
  }

  /**
   * One read path for entries ('e:') and values ('v:'): the in-process tier first, then Redis
   * (whose answer refills the in-process tier). `accept` may refuse a decoded entry (it is then
   * discarded as corrupt) and may add to it.
   */
  _read(family, key, accept) {
    const localKey = family + key;
    if (this._local !== null) {
      const bytes = this._local.get(localKey);
      if (bytes !== null) {
        const entry = decodeStored(bytes);
        if (typeof entry !== 'string' && entry.nsVersion === undefined && (accept === null || accept(entry))) {
          entry.bytes = bytes;
          entry.tier = 'local';
          return Promise.resolve(entry);
        }
        this._local.delete(localKey);
      }
    }
    if (this._client === null) {
      return this._closing ? Promise.reject(new errors.CacheClosedError()) : Promise.resolve(null);
    }
    const redisKey = `${this.keyPrefix}:${localKey}`;
    const askedAt = this._local === null ? 0 : performance.now(); // for _keepLocal only
    return this._client.command(['GET', redisKey]).then((bytes) => {
      if (bytes === null) return null;
      const entry = Buffer.isBuffer(bytes) ? decodeStored(bytes) : 'not a string value';
      if (typeof entry !== 'string' && entry.nsVersion !== undefined) return null; // a namespaced route's
      if (typeof entry !== 'string' && (accept === null || accept(entry))) {
        entry.bytes = bytes;
        this._keepLocal(localKey, bytes, entry.expiresAt - Date.now(), askedAt);
        return entry;
      }
      this._discard(redisKey, typeof entry === 'string' ? entry : 'not an entry of its kind');
      return null;
    }, (err) => {
      if (err && err.code === 'ERR_RESPCACHE_REDIS_REPLY' && /^WRONGTYPE/.test(err.message)) {
        this._discard(redisKey, 'wrong type');
        return null;
      }
      throw err;
    });
  }

  /**
   * Copies bytes into the in-process tier. `since` (performance.now() when the bytes were asked
   * of Redis or sent to it): no copy when an invalidation was made or heard after that moment,
   * since the invalidation may already have dropped the copies it reaches (a reply that predates
   * it would otherwise put an invalidated entry back, out of reach of every index).
   */
  _keepLocal(localKey, bytes, ttlMs, since = Infinity) {
    if (this._local === null || this._closing || since <= this._lastInvalidationAt) return true;
    const ms = Math.floor(Math.min(ttlMs, this.options.local.ttlMs));
    // false: refused (larger than local.maxBytes): for the embedded store, a failed store
    return ms < 1 || this._local.set(localKey, bytes, ms);
  }

  /** The embedded store cannot hold these bytes at all (bigger than local.maxBytes). */
  _tooLargeForMemory(what, bytes) {
    return new errors.StoreError(`${what} (${bytes.length} bytes) does not fit in the in-process store `
      + `(local.maxBytes ${this.options.local.maxBytes})`);
  }

  /** Writes to both tiers; the Redis SET goes to the socket before this returns. */
  _write(family, key, encoded, ttlMs, timeoutMs) {
    const kept = this._keepLocal(family + key, encoded, ttlMs);
    if (this._client === null) {
      if (this._closing) return Promise.reject(new errors.CacheClosedError());
      return kept ? Promise.resolve() : Promise.reject(this._tooLargeForMemory(`the value for "${key}"`, encoded));
    }
    return this._client.command(['SET', `${this.keyPrefix}:${family}${key}`, encoded, 'PX', String(ttlMs)],
      timeoutMs, true);
  }

  /**
   * An invalidation announced by any instance (this one included): '<family><key>' for one key,
   * {"keys": [...]} for a batch of entry keys, {"ns": name, "version": v} for a namespace bump.
   */
  _onInvalidation(payload) {
    this._lastInvalidationAt = performance.now();
    this._counters.invalidationEvents++;
    const text = payload.toString('utf8');
    if (text[0] !== '{') {
      if (this._local !== null) this._local.delete(text);
      this.emit('invalidated', text);
      return;
    }
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return; // not ours
    }
    if (Array.isArray(message.keys)) {
      for (const key of message.keys) {
        if (typeof key !== 'string') continue;
        if (this._local !== null) this._local.delete(`e:${key}`);
        this.emit('invalidated', `e:${key}`);
      }
    } else if (typeof message.ns === 'string' && typeof message.version === 'string') {
      this._learnNamespaceVersion(message.ns, message.version);
      this.emit('invalidated', `n:${message.ns}`);
    }
  }

  /** Another instance's invalidations may have been missed while the subscriber was away. */
  _onSubscriberReconnected() {
    if (this._local !== null) this._local.clear();
    this._nsVersions.clear();
  }

  /** An application event (cache.publish) from any instance. */
  _onAppEvent(payload) {
    let message;
    try {
      message = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (message === null || typeof message.event !== 'string') return;
    const handlers = this._eventHandlers.get(message.event);
    if (!handlers) return;
    for (const handler of [...handlers]) {
      const failed = (err) => this.report(new errors.EventHandlerError(
        `the handler of event "${message.event}" failed: ${err && err.message}`, { cause: err }));
      try {
        const result = handler(message.payload);
        if (result && typeof result.then === 'function') result.then(undefined, failed);
      } catch (err) {
        failed(err);
      }
    }
  }

  _discard(redisKey, reason) {
    this.report(new errors.CorruptEntryError(`"${redisKey}" does not hold a valid entry (${reason}); deleted`));
    if (this._client !== null) this._client.command(['DEL', redisKey]).catch((err) => this.report(err));
  }

  /**
   * Stores an encoded entry with its invalidation indexes. The command is issued before this
   * returns, so a later lookup on this connection sees it; failures are reported, never thrown.
   * An invalidation of the entry's path, tags or key since the fill began refuses the store.
   * @param {string} key
   * @param {Buffer} encoded from binding.encodeEntry
   * @param {number} ttlMs how long Redis keeps it
   * @param {{ path: string | string[], tags: string[], startedAt: number }} fill
   * @returns {Promise<boolean>} whether it was stored (never rejects)
   */
  store(key, encoded, ttlMs, fill) {
    const started = this._metrics === null ? 0n : process.hrtime.bigint();
    // A fill that began before this process last heard of an invalidation is kept in process
    // memory only once Redis accepted it; any other at once (Redis refuses it only in that case).
    const keptEarly = fill.startedAt > this._lastInvalidationAt;
    const fits = !keptEarly || this._keepLocal(`e:${key}`, encoded, ttlMs);
    const sentAt = performance.now();
    let writing;
    try {
      writing = this._client === null && !fits
        ? Promise.reject(this._tooLargeForMemory(`the response for "${key}"`, encoded))
        : this._invalidator.store(key, encoded, ttlMs, fill);
    } catch (err) {
      writing = Promise.reject(err);
    }
    // A copy Redis refused (fenced, or a key of another type at an index name) is no copy of ours:
    // no index lists it, so no invalidation would reach it. A store that failed in transit
    // (Redis down, a timeout) keeps it, as serving it while Redis is down is what the near cache
    // is for: the whole in-process tier is flushed when either connection comes back (a store
    // that never reached Redis is in no index), and a timed-out store that Redis still runs is
    // indexed like any other.
    const forgetEarlyCopy = () => { if (keptEarly && this._local !== null) this._local.delete(`e:${key}`); };
    const failed = (err) => {
      if (err instanceof errors.StoreError) forgetEarlyCopy();
      this._counters.storeFailures++;
      if (this._metrics !== null) this._metrics.stores.inc({ result: 'failed' });
      this.report(err);
      return false;
    };
    return writing.then((stored) => {
      if (stored === null) { // not storable (a path too deep to index): no invalidation involved
        forgetEarlyCopy();
        return false;
      }
      if (!stored) {
        this._counters.storesFenced++;
        forgetEarlyCopy();
        debug('not storing %s: invalidated while it was being filled', key);
        return false;
      }
      if (!keptEarly && !this._keepLocal(`e:${key}`, encoded, ttlMs, sentAt) && this._client === null) {
        return failed(this._tooLargeForMemory(`the response for "${key}"`, encoded));
      }
      this._counters.stores++;
      if (this._metrics !== null) {
        this._metrics.stores.inc({ result: 'ok' });
        this._metrics.storeSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      }
      return true;
    }, failed);
  }

  /**
   * Reads a value stored by set() or wrap(). Resolves with undefined when there is none, or when
   * Redis cannot answer (reported on 'error').
   * @param {string} key
   * @returns {Promise<any>}
   */
  async get(key) {
    checkValueKey(key, 'get');
    let entry;
    try {
      entry = await this._readValue(key);
    } catch (err) {
      if (!QUIET_FAULTS.has(err && err.code)) this.report(err);
      return undefined;
    }
    return entry === null ? undefined : entry.value;
  }

  /**
   * Stores a value: a Buffer (comes back a Buffer), a string, or anything JSON can represent.
   * @param {string} key
   * @param {any} value
   * @param {{ ttl?: number }} [options] ttl in seconds, default 300
   * @returns {Promise<void>} rejects when Redis cannot take it
   */
  async set(key, value, options) {
    checkValueKey(key, 'set');
    const { ttlMs } = wrapOptions(options);
    await this._write('v:', key, encodeValue(value, ttlMs), ttlMs, Math.max(this.options.commandTimeout, 1000));
  }

  /**
   * Cache-aside: resolves with the value stored for `key`, or runs `fn` once for all concurrent
   * callers (in this process and, through Redis, across processes), stores what it resolves with
   * and hands it to every caller. A rejection reaches every concurrent caller and is not stored.
   * If Redis is unavailable, fn runs (once per process for concurrent callers).
   * @template T
   * @param {string} key
   * @param {() => T | Promise<T>} fn
   * @param {{ ttl?: number, coalesceTimeout?: number, lockTtl?: number }} [options]
   * @returns {Promise<T>}
   */
  wrap(key, fn, options) {
    checkValueKey(key, 'wrap');
    if (typeof fn !== 'function') throw new TypeError('Expected cache.wrap(key, fn) to be given a function');
    const timing = wrapOptions(options);
    const running = this._wraps.get(key);
    if (running) return running;
    const promise = this._fillValue(key, fn, timing).finally(() => this._wraps.delete(key));
    this._wraps.set(key, promise);
    return promise;
  }

  async _fillValue(key, fn, timing) {
    let decision = { own: true };
    try {
      const stored = await this._readValue(key);
      if (stored !== null) return stored.value;
      decision = await this.coalescer().acquire(`v:${key}`, () => this._readValue(key), timing);
    } catch (err) {
      if (!QUIET_FAULTS.has(err && err.code)) this.report(err);
    }
    if (decision.entry) return decision.entry.value;
    let value;
    try {
      value = await fn();
    } catch (err) {
      if (decision.token) this._coalescer.release(`v:${key}`, decision.token, false);
      throw err;
    }
    let encoded = null;
    try {
      encoded = encodeValue(value, timing.ttlMs);
    } catch (err) {
      this.report(new errors.StoreError(`the value for "${key}" cannot be stored: ${err.message}`, { cause: err }));
    }
    if (encoded !== null) {
      this._write('v:', key, encoded, timing.ttlMs, undefined).catch((err) => this.report(err));
    }
    if (decision.token) this._coalescer.release(`v:${key}`, decision.token, encoded !== null);
    return value;
  }

  _readValue(key) {
    return this._read('v:', key, (entry) => {
      if (entry.headers.length !== 2 || entry.headers[0] !== VALUE_TYPE_HEADER || !VALUE_TYPES.has(entry.headers[1])) {
        return false;
      }
      try {
        entry.value = decodeValue(entry);
        return true;
      } catch {
        return false; // planted bytes that are not JSON
      }
    });
  }

  /**
   * Deletes the entry stored for `key` (the string a keyBuilder returned, or an X-Cache-Key).
   * @param {string} key
   * @returns {Promise<boolean>} whether an entry was deleted
   */
  async delete(key) {
    checkValueKey(key, 'delete');
    this._invalidating();
    return this._invalidator.deleteKey(key);
  }

  /**
   * Removes every entry carrying any of the tags (route option `tags`). Resolves with the number
   * of entries removed once Redis and this process no longer hold any of them; other processes
   * drop their in-process copies when the event reaches them.
   * @param {string[]} tags non-empty strings
   * @returns {Promise<number>}
   */
  async invalidateTags(tags) {
    const list = checkTags(tags, 'the tags of cache.invalidateTags()');
    this._invalidating();
    return this._counted(await this._invalidator.invalidate(list.map((tag) => `t:${tag}`)));
  }

  /**
   * Removes the entries stored for a request path, whatever their query strings and varied
   * headers: '/api/users/42' (that path), '/api/users/*' (every path under '/api/users/', and
   * '/api/users' itself); a '*' anywhere else is literal. Paths are compared in normal form
   * (README "Invalidation"), so every spelling of the path is reached. Resolves with the number
   * removed.
   * @param {string | string[]} paths
   * @returns {Promise<number>}
   */
  async invalidatePath(paths) {
    const list = Array.isArray(paths) ? paths : [paths];
    const suffixes = [...new Set(list.flatMap(pathIndexes))];
    this._invalidating();
    return this._counted(await this._invalidator.invalidate(suffixes));
  }

  /**
   * Removes the entries whose keys (as keyBuilders return them) match a Redis glob pattern, e.g.
   * 'api:user:42:*', in SCAN batches over the cache's entry family only (never KEYS). Every fill
   * under way when it runs is then refused its store, whatever its key.
   * @param {string} pattern
   * @returns {Promise<number>}
   */
  async invalidateKeys(pattern) {
    if (typeof pattern !== 'string' || pattern.length === 0 || !wellFormed(pattern)) {
      throw new errors.InvalidArgumentError('Expected cache.invalidateKeys(pattern) to be given a non-empty, well-formed glob pattern');
    }
    this._invalidating();
    return this._counted(await this._invalidator.invalidateKeys(pattern));
  }

  /**
   * Makes every entry of a namespace (route option `namespace`) a MISS at once, in O(1): the
   * namespace's version is incremented and old entries expire by themselves. Resolves with the
   * new version.
   * @param {string} ns
   * @returns {Promise<number>}
   */
  async bumpNamespace(ns) {
    checkNamespace(ns);
    if (this._closing) throw new errors.CacheClosedError();
    this._invalidating();
    let version;
    if (this._client === null) {
      version = String(Number(this._namespaceVersion(ns)) + 1);
    } else {
      const timeout = Math.max(this.options.commandTimeout, 1000);
      version = String(await this._client.command(['INCR', `${this.keyPrefix}:n:${ns}`], timeout, true));
      await this._client.command(['PUBLISH', `${this.keyPrefix}:inval`, JSON.stringify({ ns, version })], timeout, true);
    }
    this._learnNamespaceVersion(ns, version);
    return Number(version);
  }

  /** The version of `ns` last seen in this process ('0' when none). */
  _namespaceVersion(ns) {
    return this._nsVersions.get(ns) || '0';
  }

  /** Versions only grow: an older announcement arriving late changes nothing. */
  _learnNamespaceVersion(ns, version) {
    const known = this._nsVersions.get(ns);
    if (known === undefined || Number(version) > Number(known)) this._nsVersions.set(ns, version);
  }

  /**
   * Publishes an application event to every instance sharing this Redis and key prefix (this one
   * included); their onEvent handlers receive the payload (anything JSON can represent).
   * @param {string} event
   * @param {any} [payload]
   * @returns {Promise<void>}
   */
  async publish(event, payload) {
    if (typeof event !== 'string' || event.length === 0) {
      throw new errors.InvalidArgumentError('Expected cache.publish(event) to be given a non-empty event name');
    }
    const message = JSON.stringify({ event, payload });
    if (this._closing) throw new errors.CacheClosedError();
    if (this._client === null) {
      setImmediate(() => this._onAppEvent(Buffer.from(message)));
      return;
    }
    await this._client.command(['PUBLISH', this._eventsChannel, message], Math.max(this.options.commandTimeout, 1000), true);
  }

  /**
   * Calls handler(payload) for each `event` published by any instance. Handlers are called in
   * every instance; one that throws or rejects is reported on 'error'. Events published while
   * this instance's subscriber connection was down are not redelivered (see README).
   * @param {string} event
   * @param {(payload: any) => void | Promise<void>} handler
   * @returns {(() => void) & { ready: Promise<void> }} removes the handler; its `ready` resolves
   *   once this instance's subscription is confirmed (events published before may be missed)
   */
  onEvent(event, handler) {
    if (typeof event !== 'string' || event.length === 0) {
      throw new TypeError('Expected cache.onEvent(event, handler) to be given a non-empty event name');
    }
    if (typeof handler !== 'function') throw new TypeError('Expected cache.onEvent(event, handler) to be given a function');
    let handlers = this._eventHandlers.get(event);
    if (!handlers) this._eventHandlers.set(event, handlers = new Set());
    handlers.add(handler);
    const ready = this.coalescer().listenForEvents();
    const off = () => {
      handlers.delete(handler);
      if (handlers.size === 0 && this._eventHandlers.get(event) === handlers) this._eventHandlers.delete(event);
    };
    off.ready = ready;
    return off;
  }

  _invalidating() {
    this._lastInvalidationAt = performance.now();
  }

  _counted(removed) {
    this._counters.invalidated += removed;
    return removed;
  }

  /**
   * Closes the Redis connection once commands in flight have settled. Later lookups bypass and
   * later delete() calls reject with ERR_RESPCACHE_REDIS_CLOSED. Safe to call more than once.
   * @returns {Promise<void>}
   */
  close() {
    if (!this._closing) {
      const closing = [];
      if (this._client !== null) closing.push(this._client.close());
      if (this._coalescer !== null) closing.push(this._coalescer.close());
      this._invalidator.close();
      if (this._local !== null) this._local.clear();
      this._closing = Promise.all(closing).then(() => undefined);
    }
    return this._closing;
  }

  /**
   * Reports a cache fault on the 'error' event (only when someone listens: a cache fault must
   * never crash the app); per-lookup faults (timeouts, Redis unavailable, corrupt entries) are
   * rate-limited per code.
   * @param {Error} err
   */
  report(err) {
    this._counters.errors++;
    if (this._metrics !== null) this._metrics.errors.inc({ code: (err && err.code) || 'unknown' });
    const code = err && err.code;
    if (RATE_LIMITED.has(code)) {
      const now = Date.now();
      const last = this._lastReport.get(code);
      if (last !== undefined && now - last < REPORT_INTERVAL_MS) {
        this._counters.suppressedErrors++;
        return;
      }
      this._lastReport.set(code, now);
    }
    debug('cache error: %s', err && err.message);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /**
   * Under an allkeys-* maxmemory policy Redis may evict an invalidation index while the entries it
   * lists live on, and those could then no longer be invalidated by tag or path: reported once per
   * connection. (Index keys have no TTL, so volatile-* policies never evict them.)
   */
  _checkEvictionPolicy() {
    this._client.command(['CONFIG', 'GET', 'maxmemory-policy'], Math.max(this.options.commandTimeout, 1000)).then((reply) => {
      const policy = Array.isArray(reply) && reply.length === 2 ? reply[1].toString('utf8') : '';
      if (policy.startsWith('allkeys-')) {
        this.report(new errors.EvictionPolicyError(`Redis evicts with maxmemory-policy ${policy}: it may evict the `
          + 'invalidation indexes of live entries, which tag and path invalidation would then miss; use a volatile-* '
          + 'policy or noeviction'));
      }
    }, (err) => debug('maxmemory-policy not checked: %s', err && err.message));
  }

  _onEvent(type, err) {
    if (type === 'error') {
      this._counters.errors++;
      if (this._metrics !== null) this._metrics.errors.inc({ code: (err && err.code) || 'unknown' });
      debug('redis error: %s', err && err.message);
      if (this.listenerCount('error') > 0) this.emit('error', err);
    } else {
      if (type === 'ready') {
        this._lastReport.clear();
        this._checkEvictionPolicy();
        // Back after a loss: copies kept from stores that never reached Redis are in no index.
        if (this._everReady && this._local !== null) this._local.clear();
        this._everReady = true;
      }
      debug('redis %s', type);
      this.emit(type);
    }
  }
}

/**
 * Creates a cache connected to Redis. It connects in the background: until it is ready (and
 * whenever Redis is unreachable or slow) requests are served by their handlers with
 * X-Cache: BYPASS.
 * @param {object} [options] { redis, keyPrefix, connectTimeout, commandTimeout }
 * @returns {Cache}
 */
function createCache(options) {
  return new Cache(options);
}

module.exports = { Cache, createCache };
