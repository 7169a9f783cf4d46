'use strict';

// Fill locks of the Redis store (`l:<name>` in the bucket of the name's key, SET NX PX,
// compare-and-delete; lib/stores/redis-keys.js), and the
// cross-process fill protocol on them (RedisStore.acquire/release; the contract is in
// lib/stores/contract.js).
const crypto = require('crypto');
const { performance } = require('perf_hooks');
const scripts = require('./redis-scripts');
const { retryable, RETRY_PAUSE_MS } = require('./redis-topology');

// Releases of locks that a command past its timeout may still take (releaseAfterFault): at most
// this many wait, the oldest dropped first.
const FAULT_RELEASES_MAX = 10000;
// A release that failed (timed out, refused while the connection waits for a late reply, the
// connection lost) joins that queue: its lock would hold every fill of the key, in every process,
// for the rest of its lifetime (seen: a gateway stampede with Redis past commandTimeout waited
// out the 10 s coalesceTimeout). Sent again for at most this long (the lock's lifetime is not
// known here; a release of a lock already gone deletes nothing: it compares the token).
const RELEASE_RETRY_MS = 60000;

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
      unlock(store, name, token, ttlMs); // a SET past its timeout may still run: never a lock for nobody
      throw err;
    });
}

/**
 * Releases the lock `name` if it still holds `token`. `afterFaultTtl` (ms): the command that
 * took it failed (timed out, connection lost) and may run yet, or have run, with a lock of that
 * lifetime: see releaseAfterFault.
 */
function unlock(store, name, token, afterFaultTtl = 0) {
  if (token === '') return;
  const argv = ['EVAL', scripts.RELEASE_LOCK, '1', lockName(store, name), token];
  if (afterFaultTtl > 0) releaseAfterFault(store, argv, afterFaultTtl);
  else store.releaseLock(argv, store.names.lockBucket(name), () => releaseAfterFault(store, argv, RELEASE_RETRY_MS));
}

/**
 * A lock a failed command may have taken for nobody (a lookup's script, a SET NX past
 * commandTimeout: Redis runs it once it answers again): every fill of its key would wait for it
 * up to its lifetime. Its release waits in one queue per store until then, and the queue is sent
 * when Redis answers again: one release first (while Redis stalls or is away it fails at once,
 * and the others wait with it, retried after 50 ms growing to 500 ms), then the rest together.
 * However many lookups fail, that is one timer and one command per pause.
 */
function releaseAfterFault(store, argv, ttlMs) {
  const queue = store.faultReleases;
  if (queue.list.length >= FAULT_RELEASES_MAX) queue.list.shift();
  queue.list.push({ argv, until: performance.now() + ttlMs });
  if (queue.timer === null) scheduleFaultReleases(store);
}

function scheduleFaultReleases(store) {
  const queue = store.faultReleases;
  const pause = RETRY_PAUSE_MS[Math.min(queue.attempt, RETRY_PAUSE_MS.length - 1)];
  queue.timer = setTimeout(() => sendFaultReleases(store).catch(store.report), pause);
  queue.timer.unref();
}

async function sendFaultReleases(store) {
  const queue = store.faultReleases;
  queue.timer = null;
  const now = performance.now();
  queue.list = queue.list.filter((r) => r.until > now); // an expired lock is gone by itself
  if (store.closing || queue.list.length === 0) return;
  const send = (r) => store.command(r.argv, undefined, true).then(() => true, (err) => {
    if (retryable(err) && r.until > performance.now()) return false;
    if (!(err && err.code === 'ERR_RESPCACHE_REDIS_CLOSED')) store.report(err);
    return true; // not worth sending again
  });
  const first = queue.list.shift();
  let done = await send(first);
  if (done) {
    const rest = queue.list.splice(0);
    const sent = await Promise.all(rest.map(send));
    queue.list.push(...rest.filter((r, i) => !sent[i]));
    done = rest.length === 0 || sent.some(Boolean);
  } else {
    queue.list.unshift(first);
  }
  queue.attempt = done ? 0 : queue.attempt + 1;
  if (queue.list.length > 0 && !store.closing) scheduleFaultReleases(store);
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
      unlock(store, name, token, lockTtl); // a SET past its timeout may still run: never a lock for nobody
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
