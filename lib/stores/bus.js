'use strict';

// The pub/sub side of a Redis store: one subscriber connection per store, on three channels:
//   `${prefix}:fill`    fill notices of cross-process coalescing ("ok:<name>" once the entry was
//                       written, "fail:<name>" when nothing will be), heard by FillWaits;
//   `${prefix}:inval`   invalidation announcements (lib/stores/contract.js parseInvalidation),
//                       so near caches drop their copies and no request joins a fill that began
//                       before another instance's invalidation;
//   `${prefix}:events`  application events (cache.publish / cache.onEvent), subscribed when the
//                       first handler is added.
// The subscriber re-subscribes every channel on each new connection before it says 'ready'; a
// 'ready' after the first means announcements may have been missed ('resubscribed').
const binding = require('../binding');

const KEEPALIVE_MS = 5000;

/** A process waiting for another's fill of one name: notices queue until next() takes them. */
class FillWait {
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

  /** Resolves with 'ok' | 'fail' | 'free' on a notice, or 'tick' after ms. */
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

class RedisBus {
  /**
   * @param {object} options the cache options (connectTimeout, commandTimeout, keyPrefix)
   * @param {object|null} endpoint where the subscriber connects (null: not known yet; it starts at
   *   the first moveTo())
   * @param {{ invalidation(payload: Buffer): void, event(payload: Buffer): void, resubscribed(): void,
   *   away?: number, moved?(): object }} on  with `away` > 0, a subscriber that stayed away from its
   *   node that many ms moves to moved()'s endpoint (Cluster: any node hears every message)
   */
  constructor(options, endpoint, on) {
    this.options = options;
    this.endpoint = endpoint;
    this.on = on;
    this.awayTimer = null;
    this.started = false;
    this.fillChannel = `${options.keyPrefix}:fill`;
    this.invalChannel = Buffer.from(`${options.keyPrefix}:inval`);
    this.eventsChannel = Buffer.from(`${options.keyPrefix}:events`);
    this.eventsReady = null;
    this.everReady = false;
    this.waits = new Map(); // name -> Set<FillWait>
    this.subscriber = null;
    this.subscribed = false;
    this.closed = false;
    this.readyWaiters = []; // resolved at the subscriber's next 'ready'
    /** Resolves when the subscriber connection first confirmed its subscriptions. */
    this.ready = new Promise((resolve) => { this.onFirstReady = resolve; });
  }

  /** Opens the subscriber connection (once, at setup: a waiter must never miss a notice). */
  start() {
    this.started = true;
    if (this.subscriber || this.closed || this.endpoint === null) return;
    const { connectTimeout, commandTimeout } = this.options;
    this.subscriber = new binding.RedisClient({
      ...this.endpoint,
      connectTimeout,
      commandTimeout,
      subscriber: true,
      onEvent: (type, err, channel, payload) => {
        if (type === 'message') {
          if (channel.equals(this.invalChannel)) this.on.invalidation(payload);
          else if (channel.equals(this.eventsChannel)) this.on.event(payload);
          else this.onFill(payload);
        } else if (type === 'ready') {
          this.stopAwayTimer();
          this.subscribed = true;
          if (this.everReady) this.on.resubscribed();
          this.everReady = true;
          this.onFirstReady();
          for (const resolve of this.readyWaiters.splice(0)) resolve();
        } else if (type === 'reconnecting' || type === 'end') {
          this.subscribed = false;
          if (type === 'reconnecting') this.startAwayTimer();
        }
        // Connection errors of the subscriber are the same outage the command connection reports.
      },
    });
    this.subscriber.subscribe(this.fillChannel).catch(() => { /* re-subscribed on every reconnect */ });
    this.subscriber.subscribe(this.invalChannel).catch(() => {});
    if (this.eventsReady !== null) this.subscribeEvents();
    // A subscriber only notices a dead connection through a command it sends.
    this.keepalive = setInterval(() => {
      if (this.subscribed) this.subscriber.command(['PING']).catch(() => {});
    }, KEEPALIVE_MS);
    this.keepalive.unref();
    this.startAwayTimer(); // a first node that does not answer is left as one that went away
  }

  /** Connects the subscriber to `endpoint` from now on (Sentinel: the new master; Cluster: another node). */
  moveTo(endpoint) {
    if (this.closed || endpoint === null) return;
    this.endpoint = endpoint;
    if (this.subscriber === null) {
      if (this.started) this.start();
      return;
    }
    this.subscriber.retarget({ host: endpoint.host, port: endpoint.port });
    this.startAwayTimer();
  }

  startAwayTimer() {
    if (!(this.on.away > 0) || this.closed) return;
    this.stopAwayTimer();
    this.awayTimer = setTimeout(() => {
      this.awayTimer = null;
      if (!this.subscribed && !this.closed) this.moveTo(this.on.moved());
    }, this.on.away);
    this.awayTimer.unref();
  }

  stopAwayTimer() {
    if (this.awayTimer !== null) clearTimeout(this.awayTimer);
    this.awayTimer = null;
  }

  /** Subscribes to application events, once; resolves once Redis confirmed it. */
  listenForEvents() {
    if (this.eventsReady === null) {
      // Started without a node yet (Sentinel before a master was found): subscribed with the
      // others at the subscriber's first 'ready'.
      this.eventsReady = this.started && !this.closed && !this.subscriber ? this.nextReady() : Promise.resolve();
      if (this.subscriber) this.subscribeEvents();
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

  onFill(payload) {
    const text = payload.toString('utf8');
    const colon = text.indexOf(':');
    if (colon === -1) return;
    const set = this.waits.get(text.slice(colon + 1));
    if (!set) return;
    const state = text.slice(0, colon);
    for (const wait of set) wait.notify(state);
  }

  /** Starts queueing the fill notices of `name` (before the lock is tried: none may be missed). */
  waitForFill(name) {
    const wait = new FillWait();
    let set = this.waits.get(name);
    if (!set) this.waits.set(name, set = new Set());
    set.add(wait);
    return wait;
  }

  stopWaiting(name, wait) {
    wait.cancel();
    const set = this.waits.get(name);
    if (!set) return;
    set.delete(wait);
    if (set.size === 0) this.waits.delete(name);
  }

  close() {
    this.closed = true;
    this.stopAwayTimer();
    clearInterval(this.keepalive);
    for (const set of this.waits.values()) for (const wait of set) wait.notify('fail');
    for (const resolve of this.readyWaiters.splice(0)) resolve();
    this.onFirstReady();
    return this.subscriber ? this.subscriber.close() : Promise.resolve();
  }
}

module.exports = { RedisBus };
