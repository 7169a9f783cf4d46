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

// A stalled Redis times out every lookup: such per-command faults are reported once per interval
// per code, the rest counted in stats().suppressedErrors. Connection events and the app's own faults
// (keyBuilder, condition) are always reported.
const REPORT_INTERVAL_MS = 1000;
const RATE_LIMITED = new Set(['ERR_RESPCACHE_REDIS_TIMEOUT', 'ERR_RESPCACHE_REDIS_UNAVAILABLE']);

const QUIET_FAULTS = new Set(['ERR_RESPCACHE_REDIS_UNAVAILABLE', 'ERR_RESPCACHE_REDIS_CLOSED']);

// Values of get/set/wrap use the entry envelope: status 200, one header naming the type, the bytes.
const VALUE_TYPE_HEADER = 'x-respcache-type';
const VALUE_TYPES = new Set(['buffer', 'string', 'json']);

function checkValueKey(key, method) {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError(`Expected cache.${method}(key) to be given a non-empty string key`);
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
    this._counters = { hits: 0, localHits: 0, misses: 0, bypasses: 0, coalesced: 0, stores: 0, errors: 0,
      suppressedErrors: 0, invalidationEvents: 0, storeFailures: 0 };
    this._metrics = null;
    this._coalescer = null;
    this._entryPrefix = `${o.keyPrefix}:e:`;
    this._valuePrefix = `${o.keyPrefix}:v:`;
    this._wraps = new Map();
    this._lastReport = new Map();
    this._closing = null;
    this._local = o.local === null ? null : new binding.LocalStore(o.local.maxBytes);
    this._client = null;
    if (o.endpoint === null) {
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
    // A near cache must hear other instances' invalidations from the start.
    if (this._local !== null) this.coalescer();
  }

  /** 'connecting' | 'ready' | 'reconnecting' | 'closed' */
  get status() {
    if (this._client !== null) return this._client.status;
    return this._closing ? 'closed' : 'ready';
  }

  /**
   * Counters since the cache was created, and the in-process tier's figures.
   * @returns {{ hits: number, localHits: number, misses: number, bypasses: number, coalesced: number,
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

  /** Counts one request's outcome: hit, hit_local, hit_coalesced, miss or bypass. */
  _outcome(req, outcome) {
    const c = this._counters;
    if (outcome === 'miss') c.misses++;
    else if (outcome === 'bypass') c.bypasses++;
    else {
      c.hits++;
      if (outcome === 'hit_coalesced') c.coalesced++;
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
   * @returns {Promise<{ status: number, headers: string[], body: Buffer, storedAt: number, expiresAt: number } | null>}
   */
  lookup(key) {
    if (this._metrics === null) return this._read('e:', key, null);
    const started = process.hrtime.bigint();
    const done = (entry) => {
      const tier = entry !== null && entry.tier === 'local' ? 'local' : 'redis';
      this._metrics.lookupSeconds.observe({ tier }, Number(process.hrtime.bigint() - started) / 1e9);
      return entry;
    };
    return this._read('e:', key, null).then(done);
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
        const entry = binding.decodeEntry(bytes);
        if (typeof entry !== 'string' && (accept === null || accept(entry))) {
          entry.bytes = bytes;
          entry.tier = 'local';
          this._counters.localHits++;
          return Promise.resolve(entry);
        }
        this._local.delete(localKey);
      }
    }
    if (this._client === null) {
      return this._closing ? Promise.reject(new errors.CacheClosedError()) : Promise.resolve(null);
    }
    const redisKey = `${this.keyPrefix}:${localKey}`;
    return this._client.command(['GET', redisKey]).then((bytes) => {
      if (bytes === null) return null;
      const entry = Buffer.isBuffer(bytes) ? binding.decodeEntry(bytes) : 'not a string value';
      if (typeof entry !== 'string' && (accept === null || accept(entry))) {
        entry.bytes = bytes;
        this._keepLocal(localKey, bytes, entry.expiresAt - Date.now());
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

  _keepLocal(localKey, bytes, ttlMs) {
    if (this._local === null || this._closing) return;
    const ms = Math.floor(Math.min(ttlMs, this.options.local.ttlMs));
    if (ms >= 1) this._local.set(localKey, bytes, ms);
  }

  /** Writes to both tiers; the Redis SET goes to the socket before this returns. */
  _write(family, key, encoded, ttlMs, timeoutMs) {
    this._keepLocal(family + key, encoded, ttlMs);
    if (this._client === null) {
      return this._closing ? Promise.reject(new errors.CacheClosedError()) : Promise.resolve();
    }
    return this._client.command(['SET', `${this.keyPrefix}:${family}${key}`, encoded, 'PX', String(ttlMs)],
      timeoutMs, true);
  }

  /** Drops local copies another instance invalidated (payload: '<family><key>'). */
  _onInvalidation(payload) {
    this._counters.invalidationEvents++;
    if (this._local !== null) this._local.delete(payload.toString('utf8'));
    this.emit('invalidated', payload.toString('utf8'));
  }

  /** Another instance's invalidations may have been missed while the subscriber was away. */
  _onSubscriberReconnected() {
    if (this._local !== null) this._local.clear();
  }

  _discard(redisKey, reason) {
    this.report(new errors.CorruptEntryError(`"${redisKey}" does not hold a valid entry (${reason}); deleted`));
    if (this._client !== null) this._client.command(['DEL', redisKey]).catch((err) => this.report(err));
  }

  /**
   * Stores an encoded entry. The command is issued before this returns, so a later lookup on
   * this connection sees it; failures are reported, never thrown.
   * @param {string} key
   * @param {Buffer} encoded from binding.encodeEntry
   * @param {number} ttlMs
   */
  store(key, encoded, ttlMs) {
    const started = this._metrics === null ? 0n : process.hrtime.bigint();
    this._write('e:', key, encoded, ttlMs, undefined).then(() => {
      this._counters.stores++;
      if (this._metrics !== null) {
        this._metrics.stores.inc({ result: 'ok' });
        this._metrics.storeSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      }
    }, (err) => {
      this._counters.storeFailures++;
      if (this._metrics !== null) this._metrics.stores.inc({ result: 'failed' });
      this.report(err);
    });
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
    if (typeof key !== 'string' || key.length === 0) {
      throw new TypeError('Expected cache.delete(key) to be given a non-empty string key');
    }
    const name = `e:${key}`;
    const local = this._local !== null && this._local.delete(name);
    if (this._client === null) {
      if (this._closing) throw new errors.CacheClosedError();
      return local;
    }
    const timeout = Math.max(this.options.commandTimeout, 1000);
    const [removed] = await Promise.all([
      this._client.command(['DEL', this._entryPrefix + key], timeout, true),
      // Other instances drop their in-process copies when this reaches them.
      this._client.command(['PUBLISH', `${this.keyPrefix}:inval`, name], timeout, true),
    ]);
    return removed > 0 || local;
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
      if (this._local !== null) this._local.clear();
      this._closing = Promise.all(closing).then(() => undefined);
    }
    return this._closing;
  }

  /**
   * Reports a cache fault on the 'error' event (only when someone listens: a cache fault must
   * never crash the app); per-command Redis faults are rate-limited per code.
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

  _onEvent(type, err) {
    if (type === 'error') {
      this._counters.errors++;
      if (this._metrics !== null) this._metrics.errors.inc({ code: (err && err.code) || 'unknown' });
      debug('redis error: %s', err && err.message);
      if (this.listenerCount('error') > 0) this.emit('error', err);
    } else {
      if (type === 'ready') this._lastReport.clear();
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
