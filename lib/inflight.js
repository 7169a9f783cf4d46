'use strict';

// The one table of work under way in this process, by family-qualified name:
//   'e:<key>'  a fill of a response entry: its leader's start time (performance.now()); followers
//              wait in the native single-flight table (native/core/single_flight) for the
//              leader's encoded entry, each at most its coalesceTimeout;
//   'v:<key>'  a fill of a cache-aside value (cache.wrap): the Promise every caller shares;
//   'r:<key>'  a background refresh (stale-while-revalidate): 'running', or the time of its last
//              failure (no new attempt for RETRY_AFTER_FAILURE_MS).
const binding = require('./binding');

const RETRY_AFTER_FAILURE_MS = 1000;

class Inflight {
  /** @param {{ now(): number }} clock for the refresh back-off */
  constructor(clock) {
    this.clock = clock;
    this.table = new Map();
    this.flights = null; // native, made with the first entry fill
  }

  /**
   * Joins the fill of entry `key`: null when the caller leads it (it must end it with complete()
   * or fail()), else a Promise of the leader's outcome ({ kind: 'value', payload } | { kind:
   * 'failed' } | { kind: 'timeout' }, never rejects).
   */
  join(key, timeoutMs) {
    if (this.flights === null) this.flights = new binding.SingleFlight();
    const wait = this.flights.join(key, timeoutMs);
    if (wait === null) this.table.set(`e:${key}`, performance.now());
    return wait;
  }

  /** When this process's fill of `key` began, or undefined. */
  fillStartedAt(key) {
    return this.table.get(`e:${key}`);
  }

  /** Ends the fill of `key`, handing `encoded` to its followers. */
  complete(key, encoded) {
    this.table.delete(`e:${key}`);
    this.flights.complete(key, encoded);
  }

  /** Ends the fill of `key` without an entry: followers fill it themselves. */
  fail(key) {
    this.table.delete(`e:${key}`);
    this.flights.fail(key);
  }

  /** The Promise of the value fill of `key` under way, or a new one from start(). */
  share(key, start) {
    const name = `v:${key}`;
    const running = this.table.get(name);
    if (running !== undefined) return running;
    const promise = start().finally(() => this.table.delete(name));
    this.table.set(name, promise);
    return promise;
  }

  /** Marks a refresh of `key` as running; false when one runs or failed less than a second ago. */
  startRefresh(key) {
    const name = `r:${key}`;
    const last = this.table.get(name);
    if (last === 'running' || (last !== undefined && this.clock.now() - last < RETRY_AFTER_FAILURE_MS)) return false;
    this.table.set(name, 'running');
    return true;
  }

  /** Ends a refresh; a failed one holds back the next attempt for RETRY_AFTER_FAILURE_MS. */
  endRefresh(key, failed) {
    const name = `r:${key}`;
    if (!failed) {
      this.table.delete(name);
      return;
    }
    const failedAt = this.clock.now();
    this.table.set(name, failedAt);
    // Only tidies the table: whether the back-off is over is the clock's to say (startRefresh).
    setTimeout(() => {
      if (this.table.get(name) === failedAt && this.clock.now() - failedAt >= RETRY_AFTER_FAILURE_MS) this.table.delete(name);
    }, RETRY_AFTER_FAILURE_MS).unref();
  }

  /** A refresh that did not start after all (another process refreshes the key). */
  dropRefresh(key) {
    this.table.delete(`r:${key}`);
  }
}

module.exports = { Inflight, RETRY_AFTER_FAILURE_MS };
