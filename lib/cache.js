'use strict';

// The cache object users hold: a facade over one store (lib/stores/contract.js) that validates
// arguments, counts and reports (lib/report.js), and hands routes their middleware. It never asks
// which kind of store it has: Redis, embedded, or a near cache in front of Redis.
const { EventEmitter } = require('events');
const debug = require('debug')('respcache');
const errors = require('./errors');
const { cacheOptions, wrapOptions } = require('./options');
const { createMiddleware } = require('./middleware');
const { Metrics } = require('./metrics');
const { warm } = require('./warm');
const { Fetcher } = require('./gateway/fetch');
const { aggregate } = require('./gateway/aggregate');
const { Reporter } = require('./report');
const { clockOf } = require('./clock');
const { Inflight } = require('./inflight');
const { getValue, setValue, wrapValue, checkValueKey } = require('./values');
const { wellFormed } = require('./http/keys');
const { pathIndexes } = require('./http/paths');
const { checkTags, checkNamespace } = require('./stores/contract');
const { RedisStore } = require('./stores/redis');
const { MemoryStore } = require('./stores/memory');
const { NearStore } = require('./stores/near');
const { createFront } = require('./front');
const { createProxy } = require('./gateway/proxy');

/** The store the options describe. */
function createStore(o, report, clock) {
  if (o.endpoint === null) return new MemoryStore(o.local, report);
  const shared = new RedisStore(o, report, clock);
  return o.local === null ? shared : new NearStore(shared, o.local, clock);
}

class Cache extends EventEmitter {
  /**
   * Use createCache(options); see docs/api.md for the options.
   * @param {object} [options]
   */
  constructor(options) {
    super();
    const o = cacheOptions(options);
    this.keyPrefix = o.keyPrefix;
    this.options = o;
    // Library-internal handles (lib/middleware/, lib/values.js, test/helpers/internals.js).
    this._clock = clockOf(options);
    this._reporter = new Reporter(this, this._clock);
    this._inflight = new Inflight(this._clock);
    this._store = createStore(o, this._reporter.report, this._clock);
    this._closing = null;
    this._eventHandlers = new Map(); // event name -> Set<handler>
    this._frontPrefixes = new Set(); // keyPrefix of every route with `front: true`
    this._frontLabels = new Set(); // route label of every such route a request has reached
    this._proxies = new Set(); // every cache.proxy() handler: their upstream pools close with the cache
    const store = this._store;
    store.on('error', (err) => this._reporter.connectionError(err));
    for (const type of ['ready', 'reconnecting', 'end']) {
      store.on(type, () => {
        if (type === 'ready') this._reporter.reconnected();
        debug('store %s', type);
        this.emit(type);
      });
    }
    store.on('event', (payload) => this._onAppEvent(payload));
    store.on('invalidation', (names) => {
      this._reporter.counters.invalidationEvents++;
      for (const name of names) this.emit('invalidated', name);
    });
    // A listener of 'invalidated' must hear other instances' invalidations.
    this.on('newListener', (event) => {
      if (event === 'invalidated' && !this._closing) store.listen();
    });
  }

  /** 'connecting' | 'ready' | 'reconnecting' | 'closed' */
  get status() {
    return this._store.status;
  }

  /**
   * Counters since the cache was created, and the in-process tier's figures.
   * @returns {{ hits: number, localHits: number, stale: number, misses: number, bypasses: number, coalesced: number,
   *   stores: number, storeFailures: number, errors: number, suppressedErrors: number,
   *   invalidationEvents: number, local: object|null }}
   */
  stats() {
    return { ...this._reporter.counters, local: this.localStats() };
  }

  /**
   * Registers Prometheus metrics for this cache with a prom-client registry (prom-client is an
   * optional peer dependency): requests by route and outcome, stores, errors by code, lookup and
   * store latency histograms, and in-process tier gauges. Call once per registry.
   * @param {object} register a prom-client Registry
   * @param {{ prefix?: string }} [options] metric name prefix, default 'respcache_'
   */
  metrics(register, { prefix = 'respcache_' } = {}) {
    if (!register || typeof register.registerMetric !== 'function') {
      throw new TypeError('Expected cache.metrics(register) to be given a prom-client Registry');
    }
    if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
      throw new TypeError('Expected the "prefix" option of cache.metrics() to be a valid metric name prefix');
    }
    this._reporter.metrics = new Metrics(this, register, prefix);
    return this._reporter.metrics;
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

  /** The in-process tier's figures (entries, bytes, maxBytes, hits, misses, evictions, expirations), or null. */
  localStats() {
    return this._store.localStats();
  }

  /**
   * Returns an Express middleware caching the route's responses.
   * @param {object} [options] route options (docs/api.md)
   * @returns {(req: object, res: object, next: (err?: unknown) => void) => void}
   */
  middleware(options) {
    return createMiddleware(this, options);
  }

  /**
   * A cached, coalesced HTTP client for service-to-service calls: the exchange goes through the
   * same RFC 9111 shared cache as cache.proxy(). Resolves with a WHATWG Response with X-Cache, its
   * body decoded as fetch() decodes it (gzip, deflate, br; a body that does not decode errors with
   * UpstreamBodyError); rejects with a TypeError naming a bad option, an UpstreamError when the
   * upstream fails (UpstreamTimeoutError after `timeout`), or the signal's reason when `signal`
   * aborts. `ttl` and `tags` apply only to the response this call stores (a MISS, a revalidation):
   * a HIT, or an answer from a concurrent call's fetch, leaves the entry as it is.
   * @param {string | URL} url absolute http: or https: URL
   * @param {{ method?: string, headers?: object, body?: string|Buffer|Uint8Array|null, signal?: AbortSignal,
   *   ttl?: number, tags?: string[], timeout?: number }} [init] ttl in seconds overrides HTTP freshness;
   *   timeout in ms covers the whole exchange, body included (docs/api.md)
   * @returns {Promise<Response>}
   */
  fetch(url, init) {
    // After close() no engine may open a connection pool that nothing would close.
    if (this._closing) return Promise.reject(new errors.CacheClosedError());
    if (this._fetcher === undefined) {
      this._fetcher = new Fetcher(this);
      this._proxies.add(this._fetcher); // its upstream pools close with the cache
    }
    return this._fetcher.fetch(url, init);
  }

  /**
   * Runs service calls concurrently through cache.fetch(), each with its own ttl and tags, and
   * merges them: { results: { [name]: { status, headers, body } }, partial, errors: { [name]: Error } }
   * (body parsed as JSON when the response says JSON). A call fails on a network error, its
   * timeout, a non-2xx status (UpstreamStatusError) or a 2xx whose JSON does not parse
   * (UpstreamBodyError); with `allowPartial: false` any failure rejects with an
   * AggregateCallError (ERR_RESPCACHE_AGGREGATE) naming the failed calls. A call's ttl and tags
   * apply only to what it stores, as for cache.fetch().
   * @param {object | object[]} calls { [name]: { url, ttl?, tags?, ...init } } or [{ name, url, ... }]
   * @param {{ allowPartial?: boolean, timeout?: number }} [options] timeout: ms, per call
   * @returns {Promise<{ results: object, partial: boolean, errors: object }>}
   */
  aggregate(calls, options) {
    return aggregate((url, init) => this.fetch(url, init), calls, options);
  }

  /**
   * The front lane of an Express app: a request listener for http.createServer() that answers
   * HITs held in this process's memory (embedded store, near cache) for routes with
   * `front: true` before the app runs, and hands every other request to the app.
   * @param {(req: object, res: object) => void} app the root Express app
   * @returns {(req: object, res: object) => void}
   */
  front(app) {
    return createFront(this, app);
  }

  /**
   * A gateway in front of an upstream service: a request listener for http.createServer() that
   * is also Express middleware, forwarding through a keep-alive pool and caching as an RFC 9111
   * shared cache (docs/gateway.md). Invalid options throw a TypeError naming the option.
   * @param {string} upstream the upstream's URL, e.g. 'http://users.internal:8080' (a path is a prefix)
   * @param {object} [options] docs/gateway.md
   * @returns {(req: object, res: object, next?: Function) => void}
   */
  proxy(upstream, options) {
    const handler = createProxy(this, upstream, options);
    this._proxies.add(handler);
    return handler;
  }

  /** What lib/values.js needs. */
  _internals() {
    return { store: this._store, report: this._reporter.report, inflight: this._inflight, clock: this._clock };
  }

  /**
   * Reads a value stored by set() or wrap(). Resolves with undefined when there is none, or when
   * the store cannot answer (reported on 'error').
   * @param {string} key
   * @returns {Promise<any>}
   */
  get(key) {
    return getValue(this._internals(), key);
  }

  /**
   * Stores a value: a Buffer (comes back a Buffer), a string, or anything JSON can represent.
   * @param {string} key
   * @param {any} value
   * @param {{ ttl?: number }} [options] ttl in seconds, default 300
   * @returns {Promise<void>} rejects when the store cannot take it
   */
  async set(key, value, options) {
    checkValueKey(key, 'set');
    const { ttlMs } = wrapOptions(options);
    await setValue(this._internals(), key, value, ttlMs, Math.max(this.options.commandTimeout, 1000));
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
    return wrapValue(this._internals(), key, fn, wrapOptions(options));
  }

  /**
   * Deletes the entry stored for `key` (the string a keyBuilder returned, or an X-Cache-Key).
   * @param {string} key
   * @returns {Promise<boolean>} whether an entry was deleted
   */
  async delete(key) {
    checkValueKey(key, 'delete');
    return this._store.deleteEntry(key, true);
  }

  /**
   * Removes every entry carrying any of the tags (route option `tags`). Resolves with the number
   * of entries removed once the store and this process no longer hold any of them; other
   * processes drop their in-process copies when the announcement reaches them.
   * @param {string[]} tags non-empty strings
   * @returns {Promise<number>}
   */
  async invalidateTags(tags) {
    const list = checkTags(tags, 'the tags of cache.invalidateTags()');
    return this._counted(await this._store.invalidate(list.map((tag) => `t:${tag}`)));
  }

  /**
   * Removes the entries stored for a request path, whatever their query strings and varied
   * headers: '/api/users/42' (that path), '/api/users/*' (every path under '/api/users/', and
   * '/api/users' itself); a '*' anywhere else is literal. Paths are compared in normal form
   * (docs/invalidation.md), so every spelling of the path is reached. Resolves with the number
   * removed.
   * @param {string | string[]} paths
   * @returns {Promise<number>}
   */
  async invalidatePath(paths) {
    const list = Array.isArray(paths) ? paths : [paths];
    const suffixes = [...new Set(list.flatMap(pathIndexes))];
    return this._counted(await this._store.invalidate(suffixes));
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
    return this._counted(await this._store.invalidateKeys(pattern));
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
    return Number(await this._store.bumpNamespace(ns));
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
    await this._store.publish(message);
  }

  /**
   * Calls handler(payload) for each `event` published by any instance. Handlers are called in
   * every instance; one that throws or rejects is reported on 'error'. Events published while
   * this instance's subscriber connection was down are not redelivered.
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
    const ready = this._closing ? Promise.resolve() : this._store.listenForEvents();
    const off = () => {
      handlers.delete(handler);
      if (handlers.size === 0 && this._eventHandlers.get(event) === handlers) this._eventHandlers.delete(event);
    };
    off.ready = ready;
    return off;
  }

  _counted(removed) {
    this._reporter.counters.invalidated += removed;
    return removed;
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
      const failed = (err) => this._reporter.report(new errors.EventHandlerError(
        `the handler of event "${message.event}" failed: ${err && err.message}`, { cause: err }));
      try {
        const result = handler(message.payload);
        if (result && typeof result.then === 'function') result.then(undefined, failed);
      } catch (err) {
        failed(err);
      }
    }
  }

  /**
   * Closes the store once operations in flight have settled. Later lookups bypass and later
   * delete() calls reject with ERR_RESPCACHE_REDIS_CLOSED. Safe to call more than once.
   * @returns {Promise<void>}
   */
  close() {
    if (!this._closing) {
      const pools = [...this._proxies].map((proxy) => proxy.close().catch(() => undefined));
      this._closing = Promise.all([this._store.close(), ...pools]).then(() => undefined);
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
    this._reporter.report(err);
  }
}

/**
 * Creates a cache. With Redis it connects in the background: until it is ready (and whenever
 * Redis is unreachable or slow) requests are served by their handlers with X-Cache: BYPASS.
 * @param {object} [options] docs/api.md
 * @returns {Cache}
 */
function createCache(options) {
  return new Cache(options);
}

module.exports = { Cache, createCache };
