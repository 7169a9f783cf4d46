'use strict';

// Request coalescing across processes. In one process the native single-flight table elects one
// leader per key (lib/middleware.js); that leader then asks this file whether another process is
// already filling the key:
//   - it takes a lock `${prefix}:l:${name}` with SET NX PX lockTtl, pipelined with a read of the
//     entry (the fill may have finished between the first lookup and the lock);
//   - if another process holds the lock, it waits for that process's PUBLISH on `${prefix}:fill`
//     ("ok:<name>" after the entry was written, "fail:<name>" when nothing will be), and re-tries
//     the lock and the read every pollInterval as a bounded fallback: that is also how a leader
//     that died is noticed (its lock expires after lockTtl and one waiter takes it over);
//   - the lock holder writes the entry, publishes, and releases its lock only if it still holds
//     it (compare-and-delete), all in that order on one connection, so whoever takes the lock next
//     reads the entry.
// Any Redis fault makes the caller fill the key itself: coalescing is an optimisation, never a
// reason for a request to wait longer than coalesceTimeout or to fail.
const crypto = require('crypto');
const binding = require('./binding');

const KEEPALIVE_MS = 5000;
const RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

// Lock tokens: unique per process (random base) and per acquisition (sequence).
const TOKEN_BASE = crypto.randomBytes(9).toString('base64');
let tokenSeq = 0;
const newToken = () => `${TOKEN_BASE}:${++tokenSeq}`;

/**
 * Takes the lock `${prefix}:l:${name}` only if nobody holds it (SET NX PX), without waiting:
 * for work that one process should do and the others may simply skip.
 * @param {import('./cache').Cache} cache
 * @param {string} name
 * @param {number} ttlMs how long the lock lives if its holder never releases it
 * @returns {Promise<string|null>} the token to release it with; null when another holds it;
 *   '' when there is no Redis to coordinate through (nothing to release)
 */
function tryLock(cache, name, ttlMs) {
  const client = cache._client;
  if (client === null) return Promise.resolve('');
  const token = newToken();
  return client.command(['SET', `${cache.keyPrefix}:l:${name}`, token, 'NX', 'PX', String(ttlMs)])
    .then((taken) => (taken === 'OK' ? token : null));
}

/** Deletes the lock `${prefix}:l:${name}` if `token` still holds it (compare-and-delete). */
function releaseLock(cache, name, token) {
  const client = cache._client;
  if (client === null || token === '') return;
  client.command(['EVAL', RELEASE_LOCK, '1', `${cache.keyPrefix}:l:${name}`, token], undefined, true)
    .catch((err) => cache.report(err));
}

/** A process waiting for another's fill of one name: notifications queue until next() takes them. */
class RemoteWait {
  constructor() {
    this.notices = [];
    this.wake = null;
    this.timer = null;
  }

  notify(state) {
    if (this.wake) {
      const wake = this.wake;
      this.wake = null;
      clearTimeout(this.timer);
      wake(state);
    } else {
      this.notices.push(state);
    }
  }

  /** Resolves with 'ok' | 'fail' on a notice, or 'tick' after ms. */
  next(ms) {
    if (this.notices.length > 0) return Promise.resolve(this.notices.shift());
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.wake = null;
        resolve('tick');
      }, Math.max(1, ms));
    });
  }

  cancel() {
    clearTimeout(this.timer);
    this.wake = null;
  }
}

class Coalescer {
  /** @param {import('./cache').Cache} cache */
  constructor(cache) {
    this.cache = cache;
    this.flights = new binding.SingleFlight();
    // key -> performance.now() when this process's leader for it began (middleware fills).
    this.leading = new Map();
    this.channel = `${cache.keyPrefix}:fill`;
    this.invalChannel = Buffer.from(`${cache.keyPrefix}:inval`);
    this.eventsChannel = Buffer.from(cache._eventsChannel);
    this.eventsWanted = false;
    this.eventsReady = null;
    this.everReady = false;
    this.lockPrefix = `${cache.keyPrefix}:l:`;
    this.waits = new Map(); // name -> Set<RemoteWait>
    this.subscriber = null;
    this.subscribed = false;
    this.readyWaiters = []; // resolved at the subscriber's next 'ready'
    /** Resolves when the subscriber connection first confirmed its subscription. */
    this.subscriberReady = new Promise((resolve) => { this.onSubscriberReady = resolve; });
  }

  /** Opens the subscriber connection (once, at setup: a waiter must never miss a notice). */
  start() {
    if (this.subscriber) return;
    if (this.cache._client === null) {
      this.onSubscriberReady(); // embedded: nothing to coordinate with
      return;
    }
    const { endpoint, connectTimeout, commandTimeout } = this.cache.options;
    this.subscriber = new binding.RedisClient({
      ...endpoint,
      connectTimeout,
      commandTimeout,
      subscriber: true,
      onEvent: (type, err, channel, payload) => {
        if (type === 'message') {
          if (channel.equals(this.invalChannel)) this.cache._onInvalidation(payload);
          else if (channel.equals(this.eventsChannel)) this.cache._onAppEvent(payload);
          else this.onMessage(payload);
        } else if (type === 'ready') {
          this.subscribed = true;
          if (this.everReady) this.cache._onSubscriberReconnected();
          this.everReady = true;
          this.onSubscriberReady();
          for (const resolve of this.readyWaiters.splice(0)) resolve();
        }
        else if (type === 'reconnecting' || type === 'end') this.subscribed = false;
        // Connection errors of the subscriber are the same outage the main connection reports.
      },
    });
    this.subscriber.subscribe(this.channel).catch(() => { /* re-subscribed on every reconnect */ });
    // Every instance hears invalidations: a near cache drops its copies, and a new request no
    // longer joins a fill that began before another instance's invalidation.
    this.subscriber.subscribe(this.invalChannel).catch(() => {});
    if (this.eventsWanted) this.subscribeEvents();
    // A subscriber only notices a dead connection through a command it sends.
    this.keepalive = setInterval(() => {
      if (this.subscribed) this.subscriber.command(['PING']).catch(() => {});
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  /** Subscribes to application events (cache.onEvent), once; re-subscribed on every reconnect. */
  listenForEvents() {
    if (!this.eventsWanted) {
      this.eventsWanted = true;
      if (this.subscriber) this.subscribeEvents();
      else this.eventsReady = Promise.resolve(); // embedded: events are delivered in process
    }
    return this.eventsReady;
  }

  /** Resolves once Redis confirmed the subscription (never rejects: it is renewed on reconnect). */
  subscribeEvents() {
    this.eventsReady = this.subscriber.subscribe(this.eventsChannel).catch((err) => {
      // Refused between connections: the channel stays in the subscriber's set, which is
      // subscribed again before the subscriber's next 'ready'.
      if (err && err.code === 'ERR_RESPCACHE_REDIS_UNAVAILABLE') return this.nextReady();
      return undefined;
    });
  }

  /** Resolves at the subscriber's next 'ready' (every channel of its set confirmed by then). */
  nextReady() {
    return new Promise((resolve) => { this.readyWaiters.push(resolve); });
  }

  onMessage(payload) {
    const text = payload.toString('utf8');
    const colon = text.indexOf(':');
    if (colon === -1) return;
    const set = this.waits.get(text.slice(colon + 1));
    if (!set) return;
    const state = text.slice(0, colon);
    for (const wait of set) wait.notify(state);
  }

  register(name) {
    const wait = new RemoteWait();
    let set = this.waits.get(name);
    if (!set) this.waits.set(name, set = new Set());
    set.add(wait);
    return wait;
  }

  unregister(name, wait) {
    wait.cancel();
    const set = this.waits.get(name);
    if (!set) return;
    set.delete(wait);
    if (set.size === 0) this.waits.delete(name);
  }

  /**
   * Decides who fills `name` across processes.
   * @param {string} name the entry's family-qualified name ('e:<key>' or 'v:<key>')
   * @param {() => Promise<object|null>} read reads the stored entry (null when absent)
   * @param {{ coalesceTimeout: number, lockTtl: number }} timing
   * @returns {Promise<{ entry: object, waited: boolean } | { token: string } | { own: true }>}
   *   entry: filled by another process; token: this process fills it and holds the lock;
   *   own: fill it without a lock (another process failed, timed out, or Redis misbehaved)
   */
  async acquire(name, read, { coalesceTimeout, lockTtl }) {
    const client = this.cache._client;
    if (client === null) return { own: true };
    const deadline = Date.now() + coalesceTimeout;
    const pollInterval = Math.min(500, Math.max(20, Math.floor(lockTtl / 4)));
    const wait = this.register(name);
    let waited = false;
    try {
      for (;;) {
        const token = newToken();
        const [taken, entry] = await Promise.all([
          client.command(['SET', this.lockPrefix + name, token, 'NX', 'PX', String(lockTtl)]),
          read(),
        ]);
        if (entry !== null) {
          if (taken === 'OK') this.release(name, token, null);
          return { entry, waited };
        }
        if (taken === 'OK') return { token };
        const left = deadline - Date.now();
        if (left <= 0) return { own: true };
        waited = true;
        const state = await wait.next(Math.min(pollInterval, left));
        if (state === 'fail') return { own: true };
        if (state === 'ok') {
          const filled = await read();
          return filled !== null ? { entry: filled, waited } : { own: true };
        }
        // 'tick': try the lock and the entry again (the holder may have died).
      }
    } catch (err) {
      this.cache.report(err);
      return { own: true };
    } finally {
      this.unregister(name, wait);
    }
  }

  /**
   * Ends a fill this process held the lock for: tells the waiters, then releases the lock if it
   * is still ours. Call after the entry's SET was issued (same connection, so it lands first).
   */
  release(name, token, filled) {
    const client = this.cache._client;
    if (client === null) return;
    if (filled !== null) {
      client.command(['PUBLISH', this.channel, `${filled ? 'ok' : 'fail'}:${name}`], undefined, true)
        .catch((err) => this.cache.report(err));
    }
    releaseLock(this.cache, name, token);
  }

  close() {
    clearInterval(this.keepalive);
    for (const set of this.waits.values()) for (const wait of set) wait.notify('fail');
    for (const resolve of this.readyWaiters.splice(0)) resolve();
    return this.subscriber ? this.subscriber.close() : Promise.resolve();
  }
}

module.exports = { Coalescer, tryLock, releaseLock };
