'use strict';

// The near cache: an in-process tier (the native LocalStore, LRU, bounded by local.maxBytes) in
// front of a shared store. Reads try process memory first and copy what the shared store answers
// (for at most local.ttl); stores write both. Copies are dropped when this process invalidates,
// when another process's invalidation is announced, and all at once when either connection comes
// back (announcements may have been missed meanwhile, and a store that never reached the shared
// store is in no index). The contract is in lib/stores/contract.js.
const { EventEmitter } = require('events');
const binding = require('../binding');
const { StoreError } = require('../errors');
const { localCopy } = require('../entry');
const { systemClock } = require('../clock');

// Operations that only the shared store can answer.
const PASSED_ON = ['holds', 'invalidate', 'invalidateKeys', 'namespaceVersion', 'knownNamespaceVersion', 'bumpNamespace',
  'tryLock', 'unlock', 'acquire', 'release', 'giveBack', 'publish', 'listenForEvents', 'listen', 'sweep'];

class NearStore extends EventEmitter {
  /**
   * @param {import('./redis').RedisStore} shared
   * @param {{ maxBytes: number, ttlMs: number }} local
   * @param {{ now(): number }} [clock] the clock entries' times are stamped with
   */
  constructor(shared, local, clock = systemClock) {
    super();
    this.clock = clock;
    this.shared = shared;
    this.local = new binding.LocalStore(local.maxBytes);
    this.ttlMs = local.ttlMs;
    this.closed = false;
    let everReady = false;
    for (const name of PASSED_ON) this[name] = shared[name].bind(shared);
    shared.on('dropped', (keys) => { for (const key of keys) this.local.delete(`e:${key}`); });
    shared.on('invalidation', (names) => {
      for (const name of names) this.local.delete(name);
      this.emit('invalidation', names);
    });
    shared.on('resubscribed', () => this.local.clear());
    shared.on('event', (payload) => this.emit('event', payload));
    for (const type of ['reconnecting', 'end', 'error']) shared.on(type, (arg) => this.emit(type, arg));
    shared.on('ready', () => {
      if (everReady) this.local.clear(); // back after a loss
      everReady = true;
      this.emit('ready');
    });
    // Other instances' invalidations must reach this process's copies from the start.
    shared.listen();
  }

  get status() {
    return this.shared.status;
  }

  get lastInvalidationAt() {
    return this.shared.lastInvalidationAt;
  }

  get busReady() {
    return this.shared.busReady;
  }

  /**
   * A copy of `bytes` kept in process memory. `since` (performance.now() when the bytes were asked
   * of the shared store or sent to it): no copy when an invalidation was made or heard after that
   * moment, since it may already have dropped the copies it reaches (a reply that predates it
   * would otherwise put an invalidated entry back, out of reach of every index).
   */
  keep(name, bytes, ttlMs, since = Infinity) {
    if (this.closed || since <= this.shared.lastInvalidationAt) return;
    const ms = Math.floor(Math.min(ttlMs, this.ttlMs));
    if (ms >= 1) this.local.set(name, bytes, ms); // refused when larger than local.maxBytes: no copy
  }

  /**
   * (sync) A usable local copy of entry `key` for `fill` (a namespaced one only under the version
   * known here), or null.
   */
  peek(key, fill) {
    if (!fill || !fill.ns) return localCopy(this.local, 'e:', key, undefined, null);
    const known = this.shared.knownNamespaceVersion(fill.ns);
    const entry = known === undefined ? null : localCopy(this.local, 'e:', key, known, null);
    if (entry !== null) fill.nsVersion = known;
    return entry;
  }

  getEntry(key, fill) {
    const entry = this.peek(key, fill);
    return entry !== null ? Promise.resolve(entry) : this.copied(`e:${key}`, this.shared.getEntry(key, fill));
  }

  lookup(key, fill, want) {
    const entry = this.peek(key, fill);
    if (entry !== null) return Promise.resolve({ entry, record: null, token: undefined });
    const base = want.record;
    const record = base === null ? null : localCopy(this.local, 'vr:', base, undefined, want.accept);
    if (record !== null) return Promise.resolve({ entry: null, record, token: undefined });
    const askedAt = performance.now();
    return this.shared.lookup(key, fill, want).then((found) => {
      const now = this.clock.now();
      if (found.entry !== null) this.keep(`e:${key}`, found.entry.bytes, found.entry.expiresAt - now, askedAt);
      if (found.record !== null) this.keep(`vr:${base}`, found.record.bytes, found.record.expiresAt - now, askedAt);
      return found;
    });
  }

  getRecord(family, key, accept) {
    const entry = localCopy(this.local, family, key, undefined, accept);
    if (entry !== null) return Promise.resolve(entry);
    return this.copied(family + key, this.shared.getRecord(family, key, accept));
  }

  /** Keeps a copy of what the shared store answers. */
  copied(name, reading) {
    const askedAt = performance.now();
    return reading.then((entry) => {
      if (entry !== null) this.keep(name, entry.bytes, entry.expiresAt - this.clock.now(), askedAt);
      return entry;
    });
  }

  putEntry(key, bytes, ttlMs, fill) {
    const name = `e:${key}`;
    // A fill that began before this process last made or heard of an invalidation is copied only
    // once the shared store accepted it; any other at once (refused only in that case).
    const early = fill.startedAt > this.shared.lastInvalidationAt;
    if (early) this.keep(name, bytes, ttlMs);
    const sentAt = performance.now();
    // A copy the shared store refused (fenced, a key of another type in the way) is no copy of
    // ours: no index lists it. One whose store failed in transit is kept (serving it while Redis
    // is down is what the near cache is for; the tier is flushed when the connection returns).
    const forget = () => { if (early) this.local.delete(name); };
    let storing;
    try {
      storing = this.shared.putEntry(key, bytes, ttlMs, fill);
    } catch (err) {
      storing = Promise.reject(err);
    }
    return storing.then((stored) => {
      if (stored !== true) forget();
      else if (!early) this.keep(name, bytes, ttlMs, sentAt);
      return stored;
    }, (err) => {
      if (err instanceof StoreError) forget();
      throw err;
    });
  }

  putRecord(family, key, bytes, ttlMs, timeoutMs) {
    this.keep(family + key, bytes, ttlMs);
    return this.shared.putRecord(family, key, bytes, ttlMs, timeoutMs);
  }

  async deleteEntry(key, fence) {
    const name = `e:${key}`;
    const held = this.local.delete(name);
    const removed = await this.shared.deleteEntry(key, fence);
    this.local.delete(name);
    return removed || held;
  }

  localStats() {
    return this.local.stats();
  }

  close() {
    this.closed = true;
    this.local.clear();
    return this.shared.close();
  }
}

module.exports = { NearStore };
