'use strict';

// Fill locks of the Redis store (`l:<name>` in the bucket of the name's key, SET NX PX,
// compare-and-delete; lib/stores/redis-keys.js), and the
// cross-process fill protocol on them (RedisStore.acquire/release; the contract is in
// lib/stores/contract.js).
const crypto = require('crypto');
const scripts = require('./redis-scripts');

// Lock tokens: unique per process (random base) and per acquisition (sequence).
const TOKEN_BASE = crypto.randomBytes(9).toString('base64');
let tokenSeq = 0;
const newToken = () => `${TOKEN_BASE}:${++tokenSeq}`;

/** The Redis name of the lock `name` ('e:<key>', 'v:<key>', 'r:<key>'). */
const lockName = (store, name) => store.names.lock(store.names.lockBucket(name), name);

/**
 * Where a fill notice of `name` is published: the connection of its lock and entry (one master of
 * a cluster), so the notice follows the entry's store and precedes the unlock (contract.js: FIFO
 * per key).
 */
const noticeRoute = (store, name) => store.routeOf(store.names.lockBucket(name));

function tryLock(store, name, ttlMs) {
  const token = newToken();
  return store.client.command(['SET', lockName(store, name), token, 'NX', 'PX', String(ttlMs)])
    .then((taken) => (taken === 'OK' ? token : null), (err) => {
      unlock(store, name, token, true); // a SET past its timeout may still run: never a lock for nobody
      throw err;
    });
}

function unlock(store, name, token, afterFault = false) {
  if (token === '') return;
  store.releaseLock(['EVAL', scripts.RELEASE_LOCK, '1', lockName(store, name), token], store.names.lockBucket(name), afterFault);
}

/**
 * Decides who fills `name` across processes: takes the lock `l:<name>` (SET NX PX lockTtl) with
 * a read of the entry beside it (the fill may have finished since the lookup); if another
 * process holds it, waits for its fill notice, and retries the lock and the read every
 * pollInterval as a bounded fallback (that is how a holder that died is noticed: its lock
 * expires after lockTtl and one waiter takes it over). Any Redis fault: { own: true }.
 */
async function acquire(store, name, read, { coalesceTimeout, lockTtl }) {
  const deadline = Date.now() + coalesceTimeout;
  const pollInterval = Math.min(500, Math.max(20, Math.floor(lockTtl / 4)));
  const bus = store.bus();
  const wait = bus.waitForFill(name);
  let waited = false;
  let token = '';
  try {
    for (;;) {
      token = newToken();
      const [taken, entry] = await Promise.all([
        store.command(['SET', lockName(store, name), token, 'NX', 'PX', String(lockTtl)]),
        read(),
      ]);
      if (entry !== null) {
        if (taken === 'OK') release(store, name, token, null);
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
      // 'tick' (the holder may have died) or 'free' (the holder gave it back): try the lock and
      // the entry again.
    }
  } catch (err) {
    if (!(err && err.code === 'ERR_RESPCACHE_REDIS_CLOSED')) {
      store.report(err);
      unlock(store, name, token, true); // a SET past its timeout may still run: never a lock for nobody
    }
    return { own: true };
  } finally {
    bus.stopWaiting(name, wait);
  }
}

/** Tells the waiters how the fill ended, then releases the lock if it is still ours. */
function release(store, name, token, filled) {
  if (filled !== null) {
    // On the connection of the name's bucket (Cluster: its master's), behind the entry's store.
    store.command(['PUBLISH', store.channel.fill, `${filled ? 'ok' : 'fail'}:${name}`], undefined, true, noticeRoute(store, name))
      .catch(store.report);
  }
  unlock(store, name, token);
}

/**
 * Gives a fill lock back that its holder will not use (another request of this process leads
 * the fill): unlocks, then tells whoever waits for `name` to try the lock again at once.
 */
function giveBack(store, name, token) {
  unlock(store, name, token);
  store.command(['PUBLISH', store.channel.fill, `free:${name}`], undefined, true, noticeRoute(store, name)).catch(store.report);
}

module.exports = { newToken, tryLock, unlock, acquire, release, giveBack };
