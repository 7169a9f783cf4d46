'use strict';

// What the cache counts and reports: per-request outcomes (stats() and the metrics), and faults on
// the cache's 'error' event. A stalled Redis times out every lookup, and a keyspace filled with
// garbage makes every lookup find a corrupt entry: such per-lookup faults are reported once per
// interval per code, the rest counted in stats().suppressedErrors. Connection events and the app's
// own faults (keyBuilder, condition) are always reported, once per request.
const debug = require('debug')('respcache');

const REPORT_INTERVAL_MS = 1000;
const RATE_LIMITED = new Set(['ERR_RESPCACHE_REDIS_TIMEOUT', 'ERR_RESPCACHE_REDIS_UNAVAILABLE',
  'ERR_RESPCACHE_CORRUPT_ENTRY']);

class Reporter {
  /** @param {import('events').EventEmitter} emitter where 'error' is emitted (the cache) */
  /** @param {{ now(): number }} clock */
  constructor(emitter, clock) {
    this.emitter = emitter;
    this.clock = clock;
    this.counters = { hits: 0, localHits: 0, stale: 0, misses: 0, bypasses: 0, coalesced: 0, stores: 0, errors: 0,
      suppressedErrors: 0, invalidationEvents: 0, storeFailures: 0, storesFenced: 0, invalidated: 0 };
    this.metrics = null; // set by cache.metrics()
    this.lastReport = new Map();
    this.report = this.report.bind(this);
  }

  /** Counts one request's outcome: hit, hit_local, hit_coalesced, stale (also a hit), miss or bypass. */
  outcome(req, outcome) {
    const c = this.counters;
    if (outcome === 'miss') c.misses++;
    else if (outcome === 'bypass') c.bypasses++;
    else {
      c.hits++;
      if (outcome === 'hit_local') c.localHits++; // a request answered from process memory
      else if (outcome === 'hit_coalesced') c.coalesced++;
      else if (outcome === 'stale') c.stale++;
    }
    if (this.metrics !== null) this.metrics.request(req, outcome);
  }

  /** Counts a store's result: true stored, false fenced, null not storable, an Error failed. */
  stored(result, started) {
    const c = this.counters;
    if (result instanceof Error) {
      c.storeFailures++;
      if (this.metrics !== null) this.metrics.stores.inc({ result: 'failed' });
      this.report(result);
    } else if (result === true) {
      c.stores++;
      if (this.metrics !== null) {
        this.metrics.stores.inc({ result: 'ok' });
        this.metrics.storeSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      }
    } else if (result === false) {
      c.storesFenced++;
    }
  }

  /**
   * Reports a cache fault on the 'error' event (only when someone listens: a cache fault must
   * never crash the app); per-lookup faults are rate-limited per code.
   * @param {Error} err
   */
  report(err) {
    this.counters.errors++;
    const code = err && err.code;
    if (this.metrics !== null) this.metrics.errors.inc({ code: code || 'unknown' });
    if (RATE_LIMITED.has(code)) {
      const now = this.clock.now();
      const last = this.lastReport.get(code);
      if (last !== undefined && now - last < REPORT_INTERVAL_MS) {
        this.counters.suppressedErrors++;
        return;
      }
      this.lastReport.set(code, now);
    }
    debug('cache error: %s', err && err.message);
    if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', err);
  }

  /** A connection fault: always reported (the connection reports each once). */
  connectionError(err) {
    this.counters.errors++;
    if (this.metrics !== null) this.metrics.errors.inc({ code: (err && err.code) || 'unknown' });
    debug('redis error: %s', err && err.message);
    if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', err);
  }

  /** A new connection: faults of the old one no longer hold back reports. */
  reconnected() {
    this.lastReport.clear();
  }
}

module.exports = { Reporter, REPORT_INTERVAL_MS };
