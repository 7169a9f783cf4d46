'use strict';

// The embedded store: entries, values and vary records in the native in-process store (LRU, bounded
// by local.maxBytes), with invalidation indexes, fences and namespace versions in process memory.
// Nothing is shared with other processes: locks are not needed ('' tokens), application events are
// delivered in this process only, and no announcement is made or heard. The contract is in
// lib/stores/contract.js.
const { EventEmitter } = require('events');
const binding = require('../binding');
const { CacheClosedError, StoreError } = require('../errors');
const { localCopy } = require('../entry');
const { entryIndexes } = require('../http/paths');
const { FENCE_MS, KEYS_FENCE } = require('./contract');
const { globMatcher } = require('./glob');

const SWEEP_INTERVAL_MS = 60 * 1000;

/**
 * The native LocalStore's clock: whole milliseconds of CLOCK_MONOTONIC (std::chrono::steady_clock
 * there, uv_hrtime here), so an index member expires in the same tick as its entry. Date.now()
 * was off by a fraction of a millisecond and by any wall-clock step.
 */
function clockMs() {
  return Number(process.hrtime.bigint() / 1000000n);
}

/** Indexes, fences and the key list of the embedded store: the Redis scripts' rules, in memory. */
class MemoryIndex {
  constructor() {
    this.indexes = new Map(); // suffix -> Map(key -> expiresAt)
    // suffix -> performance.now() of the invalidation: one clock with the fills' startedAt, so
    // unlike Redis's (milliseconds, and the fill's duration rounded up) it refuses no fill that
    // began after the invalidation.
    this.fences = new Map();
    this.all = new Map(); // key -> expiresAt (for key patterns)
  }

  /**
   * Whether a fill that began at `startedAt` (performance.now()) may store: no invalidation of its
   * indexes, its key or any key pattern since.
   */
  admits(suffixes, key, startedAt) {
    const now = performance.now();
    for (const suffix of [...suffixes, `k:${key}`, KEYS_FENCE]) {
      const at = this.fences.get(suffix);
      if (at === undefined) continue;
      if (now - at > FENCE_MS) this.fences.delete(suffix);
      else if (at >= startedAt) return false;
    }
    return true;
  }

  add(suffixes, key, ttlMs) {
    // Read after the native set: an index member then outlives its entry by at most the tick
    // between the two reads, never the other way (a member gone first would miss an invalidation).
    const now = clockMs();
    const expires = now + Math.floor(ttlMs);
    for (const suffix of suffixes) {
      let index = this.indexes.get(suffix);
      if (!index) this.indexes.set(suffix, index = new Map());
      for (const [member, at] of index) if (at <= now) index.delete(member);
      index.set(key, expires);
    }
    this.all.set(key, expires);
  }

  /** Removes an index; returns its members whose entries had not expired. */
  take(suffix) {
    this.fences.set(suffix, performance.now());
    const index = this.indexes.get(suffix);
    if (!index) return [];
    this.indexes.delete(suffix);
    const now = clockMs();
    return [...index].filter(([, at]) => at > now).map(([key]) => key);
  }

  /** The live keys for which `matches(key)` is true; expired ones are forgotten on the way. */
  matching(matches) {
    const now = clockMs();
    const keys = [];
    for (const [key, at] of this.all) {
      if (at <= now) this.all.delete(key);
      else if (matches(key)) keys.push(key);
    }
    return keys;
  }

  fence(key) {
    this.fences.set(`k:${key}`, performance.now());
  }

  /** Fences every fill under way (cache.invalidateKeys). */
  fenceAll() {
    this.fences.set(KEYS_FENCE, performance.now());
  }

  /** Forgets what expired; returns the number of indexes deleted. */
  sweep() {
    const now = clockMs();
    let deleted = 0;
    for (const [suffix, index] of this.indexes) {
      for (const [member, at] of index) if (at <= now) index.delete(member);
      if (index.size === 0) {
        this.indexes.delete(suffix);
        deleted++;
      }
    }
    for (const [key, at] of this.all) if (at <= now) this.all.delete(key);
    const clock = performance.now();
    for (const [suffix, at] of this.fences) if (clock - at > FENCE_MS) this.fences.delete(suffix);
    return deleted;
  }
}

class MemoryStore extends EventEmitter {
  /**
   * @param {{ maxBytes: number, ttlMs: number }} local ttlMs caps every item's life (Infinity: none)
   * @param {(err: Error) => void} report
   */
  constructor(local, report) {
    super();
    this.local = new binding.LocalStore(local.maxBytes);
    this.maxBytes = local.maxBytes;
    this.ttlMs = local.ttlMs;
    this.index = new MemoryIndex();
    this.nsVersions = new Map();
    this.lastInvalidationAt = -1;
    this.closed = false;
    this.report = report;
    this.busReady = Promise.resolve();
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    // Ready at once, announced asynchronously as a Redis store's first 'ready' is.
    setImmediate(() => { if (!this.closed) this.emit('ready'); });
  }

  get status() {
    return this.closed ? 'closed' : 'ready';
  }

  closedError() {
    return Promise.reject(new CacheClosedError());
  }

  getEntry(key, fill) {
    if (!fill || !fill.ns) return this.getRecord('e:', key, null);
    const version = this.namespaceVersion(fill.ns);
    const entry = localCopy(this.local, 'e:', key, version, null);
    if (entry === null && this.closed) return this.closedError();
    fill.nsVersion = version;
    return Promise.resolve(entry);
  }

  /** (sync) The entry this process holds for `key`, usable as getEntry would return it, or null. */
  peek(key, fill) {
    if (!fill || !fill.ns) return localCopy(this.local, 'e:', key, undefined, null);
    const version = this.namespaceVersion(fill.ns);
    const entry = localCopy(this.local, 'e:', key, version, null);
    if (entry !== null) fill.nsVersion = version;
    return entry;
  }

  /** (sync) Nothing is held elsewhere than in peek()'s reach. */
  holds() {
    return false;
  }

  lookup(key, fill, want) {
    return this.getEntry(key, fill).then((entry) => {
      if (entry !== null) return { entry, record: null, token: undefined };
      const record = want.record === null ? null : localCopy(this.local, 'vr:', want.record, undefined, want.accept);
      // Nothing to coordinate with: the caller holds the fill ('' releases nothing).
      return { entry: null, record, token: record === null && want.lockTtl > 0 ? '' : undefined };
    });
  }

  getRecord(family, key, accept) {
    const entry = localCopy(this.local, family, key, undefined, accept);
    if (entry === null && this.closed) return this.closedError();
    return Promise.resolve(entry);
  }

  /** Keeps bytes for ttlMs; false when they do not fit at all (over local.maxBytes). */
  keep(name, bytes, ttlMs) {
    const ms = Math.floor(Math.min(ttlMs, this.ttlMs));
    return ms < 1 || this.local.set(name, bytes, ms);
  }

  tooLarge(what, bytes) {
    return new StoreError(`${what} (${bytes.length} bytes) does not fit in the in-process store `
      + `(local.maxBytes ${this.maxBytes})`);
  }

  putEntry(key, bytes, ttlMs, fill) {
    const suffixes = entryIndexes(fill.path, fill.tags);
    if (suffixes === null) return Promise.resolve(null);
    if (this.closed) return this.closedError();
    if (!this.index.admits(suffixes, key, fill.startedAt)) return Promise.resolve(false);
    if (!this.keep(`e:${key}`, bytes, ttlMs)) return Promise.reject(this.tooLarge(`the response for "${key}"`, bytes));
    this.index.add(suffixes, key, ttlMs);
    return Promise.resolve(true);
  }

  putRecord(family, key, bytes, ttlMs) {
    if (this.closed) return this.closedError();
    return this.keep(family + key, bytes, ttlMs) ? Promise.resolve()
      : Promise.reject(this.tooLarge(`the value for "${key}"`, bytes));
  }

  deleteEntry(key, fence) {
    if (fence) this.lastInvalidationAt = performance.now();
    const held = this.local.delete(`e:${key}`);
    if (this.closed) return this.closedError();
    if (fence) this.index.fence(key);
    return Promise.resolve(held);
  }

  async invalidate(suffixes) {
    this.lastInvalidationAt = performance.now();
    let removed = 0;
    for (const suffix of suffixes) {
      if (this.closed) throw new CacheClosedError();
      for (const key of this.index.take(suffix)) if (this.local.delete(`e:${key}`)) removed++;
    }
    return removed;
  }

  async invalidateKeys(pattern) {
    this.lastInvalidationAt = performance.now();
    if (this.closed) throw new CacheClosedError();
    this.index.fenceAll();
    let removed = 0;
    for (const key of this.index.matching(globMatcher(pattern))) if (this.local.delete(`e:${key}`)) removed++;
    return removed;
  }

  namespaceVersion(ns) {
    return this.nsVersions.get(ns) || '0';
  }

  knownNamespaceVersion(ns) {
    return this.nsVersions.get(ns);
  }

  async bumpNamespace(ns) {
    if (this.closed) throw new CacheClosedError();
    this.lastInvalidationAt = performance.now();
    const version = String(Number(this.namespaceVersion(ns)) + 1);
    this.nsVersions.set(ns, version);
    return version;
  }

  tryLock() {
    return this.closed ? this.closedError() : Promise.resolve('');
  }

  unlock() {}

  acquire() {
    return Promise.resolve({ own: true });
  }

  release() {}

  giveBack() {}

  publish(message) {
    if (this.closed) return this.closedError();
    setImmediate(() => this.emit('event', Buffer.from(message)));
    return Promise.resolve();
  }

  listenForEvents() {
    return Promise.resolve();
  }

  listen() {}

  sweep() {
    return Promise.resolve(this.index.sweep());
  }

  localStats() {
    return this.local.stats();
  }

  close() {
    if (!this.closed) {
      this.closed = true;
      clearInterval(this.sweeper);
      this.local.clear();
    }
    return Promise.resolve();
  }
}

module.exports = { MemoryStore, MemoryIndex };
