'use strict';

// The cache object: one Redis connection (native), the entry key family, lookups that never throw
// at requests, stores that are fire-and-forget, and error reporting on the 'error' event.
const { EventEmitter } = require('events');
const debug = require('debug')('respcache');
const binding = require('./binding');
const errors = require('./errors');
const { cacheOptions } = require('./options');
const { createMiddleware } = require('./middleware');

// A stalled Redis times out every lookup: such per-command faults are reported once per interval
// per code, the rest counted in stats.suppressedErrors. Connection events and the app's own faults
// (keyBuilder, condition) are always reported.
const REPORT_INTERVAL_MS = 1000;
const RATE_LIMITED = new Set(['ERR_RESPCACHE_REDIS_TIMEOUT', 'ERR_RESPCACHE_REDIS_UNAVAILABLE']);

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
    this.stats = { hits: 0, misses: 0, bypasses: 0, stores: 0, errors: 0, suppressedErrors: 0 };
    this._entryPrefix = `${o.keyPrefix}:e:`;
    this._lastReport = new Map();
    this._closing = null;
    this._client = new binding.RedisClient({
      ...o.endpoint,
      connectTimeout: o.connectTimeout,
      commandTimeout: o.commandTimeout,
      onEvent: (type, err) => this._onEvent(type, err),
    });
  }

  /** 'connecting' | 'ready' | 'reconnecting' | 'closed' */
  get status() {
    return this._client.status;
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
   * Looks `key` up. Resolves with the decoded entry or null (not found, or not a valid entry: it
   * is then deleted); rejects when Redis cannot answer in time (the caller bypasses).
   * @param {string} key
   * @returns {Promise<{ status: number, headers: string[], body: Buffer, storedAt: number, expiresAt: number } | null>}
   */
  lookup(key) {
    const redisKey = this._entryPrefix + key;
    return this._client.command(['GET', redisKey]).then((bytes) => {
      if (bytes === null) return null;
      const entry = Buffer.isBuffer(bytes) ? binding.decodeEntry(bytes) : 'not a string value';
      if (typeof entry !== 'string') return entry;
      this._discard(redisKey, entry);
      return null;
    }, (err) => {
      if (err && err.code === 'ERR_RESPCACHE_REDIS_REPLY' && /^WRONGTYPE/.test(err.message)) {
        this._discard(redisKey, 'wrong type');
        return null;
      }
      throw err;
    });
  }

  _discard(redisKey, reason) {
    this.report(new errors.CorruptEntryError(`"${redisKey}" does not hold a valid entry (${reason}); deleted`));
    this._client.command(['DEL', redisKey]).catch((err) => this.report(err));
  }

  /**
   * Stores an encoded entry. The command is issued before this returns, so a later lookup on
   * this connection sees it; failures are reported, never thrown.
   * @param {string} key
   * @param {Buffer} encoded from binding.encodeEntry
   * @param {number} ttlMs
   */
  store(key, encoded, ttlMs) {
    this._client.command(['SET', this._entryPrefix + key, encoded, 'PX', String(ttlMs)], undefined, true)
      .then(() => { this.stats.stores++; }, (err) => this.report(err));
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
    const removed = await this._client.command(['DEL', this._entryPrefix + key],
      Math.max(this.options.commandTimeout, 1000), true);
    return removed > 0;
  }

  /**
   * Closes the Redis connection once commands in flight have settled. Later lookups bypass and
   * later delete() calls reject with ERR_RESPCACHE_REDIS_CLOSED. Safe to call more than once.
   * @returns {Promise<void>}
   */
  close() {
    if (!this._closing) this._closing = this._client.close();
    return this._closing;
  }

  /**
   * Reports a cache fault on the 'error' event (only when someone listens: a cache fault must
   * never crash the app); per-command Redis faults are rate-limited per code.
   * @param {Error} err
   */
  report(err) {
    this.stats.errors++;
    const code = err && err.code;
    if (RATE_LIMITED.has(code)) {
      const now = Date.now();
      const last = this._lastReport.get(code);
      if (last !== undefined && now - last < REPORT_INTERVAL_MS) {
        this.stats.suppressedErrors++;
        return;
      }
      this._lastReport.set(code, now);
    }
    debug('cache error: %s', err && err.message);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  _onEvent(type, err) {
    if (type === 'error') {
      this.stats.errors++;
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
