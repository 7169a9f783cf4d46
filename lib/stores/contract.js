'use strict';

// The store contract: what the cache facade (lib/cache.js), the middleware (lib/middleware/) and
// cache-aside values (lib/values.js) may ask of a store, and what each answer guarantees. Three
// stores implement it: RedisStore (lib/stores/redis.js: one Redis, shared by every process that
// uses the same key prefix), MemoryStore (lib/stores/memory.js: the embedded store, this process
// only) and NearStore (lib/stores/near.js: an in-process tier in front of a RedisStore). The
// facade holds exactly one store and never asks which kind it is.
//
// Test-only option of the Redis store: `_buckets` (an integer from 1 to 64; default 1) spreads its
// names over that many buckets on a single Redis, as a cluster's are spread over 64, so the store
// suite runs the multi-bucket paths without a cluster (test/stores/redis.test.js). Not validated,
// not documented for users; lib/options.js does not pass it through.
//
// Names. A store keeps four families apart, so no key a keyBuilder returns can name anything but
// an entry: entries 'e:<key>', values 'v:<key>' (cache.set/wrap), vary records 'vr:<base key>',
// locks 'l:<name>'. Invalidation indexes are named by suffix: 'p:<normal path>', 's:<directory>/',
// 't:<tag>' (lib/http/paths.js builds them). These are the contract's names; how a store spells
// them is its own (the Redis store: lib/stores/redis-keys.js, `<keyPrefix>:{<tag>}:<name>`, every
// key in one of B buckets, with an index, fence, sequence and namespace copy per bucket).
//
// Common rules.
// - Every operation returns a Promise unless marked (sync); none throws synchronously for I/O.
// - After close(), every I/O operation rejects with CacheClosedError (ERR_RESPCACHE_REDIS_CLOSED).
// - Transport faults reject with RedisTimeoutError / RedisUnavailableError, error replies with
//   RedisReplyError; the caller decides (a request BYPASSes, an admin call rejects).
// - FIFO: an operation issued before another on the same store, about the same key, takes effect
//   before it (a key's entry, its lock, its fill notice and its namespace copy share a bucket and
//   a connection). The fill protocol relies on it: entry write, then the fill notice, then the
//   unlock. Between operations on different keys there is no order (on a cluster they go to
//   different masters).
// - Request-path operations (getEntry, getRecord, putEntry, putRecord, tryLock, acquire) time out
//   after commandTimeout; admin operations (deleteEntry, invalidate*, bumpNamespace, publish)
//   after max(commandTimeout, 1 s).
// - A store reports faults it handles itself (a corrupt entry deleted, a misplaced index key)
//   through the `report(err)` function it was built with; it never emits 'error' for them.
//
// Operations.
// status (sync)                         'connecting' | 'ready' | 'reconnecting' | 'closed'.
// lastInvalidationAt (sync)             performance.now() when this process last made or heard of
//                                       an invalidation (-1 when never): a fill that began before it
//                                       may hold data the invalidation meant to remove.
// getEntry(key, fill)                   The decoded entry ({ status, headers, body, storedAt,
//                                       expiresAt, bytes, tier: 'local'|'redis', nsVersion? }) or
//                                       null. `fill` ({ ns, nsVersion } or null): for a namespaced
//                                       route the current version is set on fill.nsVersion ('0'
//                                       when none), and an entry of another version is null (kept:
//                                       it expires by itself). A non-namespaced read never returns
//                                       a namespaced entry. Bytes that are not a valid entry are
//                                       deleted and read as null (a store shared with other
//                                       processes reports them as CorruptEntryError).
// putEntry(key, bytes, ttlMs, fill)     Stores an entry with its indexes, all or nothing. fill:
//                                       { path: string|string[], tags: string[], startedAt:
//                                       performance.now() when the fill began }. Resolves true when
//                                       stored; false when an invalidation of any of its indexes,
//                                       of its key or of any key pattern came after startedAt (the
//                                       fence, kept FENCE_MS); null when the path is too deep to
//                                       index. Rejects with StoreError when the store cannot hold
//                                       it (a key of another type in the way, deleted; or larger
//                                       than the in-process store). The write is issued before the
//                                       Promise is returned, so a later getEntry sees it.
// peek(key, fill) (sync)               What getEntry would resolve with, when this process holds it
//                                       in memory (no I/O); else null (then ask getEntry/lookup).
// holds(key) (sync)                    Whether the store expects a fresh entry under `key` that
//                                       peek() cannot see (Redis: this process read or wrote it
//                                       lately): a hint, getEntry() says.
// lookup(key, fill, want)              A request's lookup in one round trip where the store can:
//                                       getEntry(key, fill); when there is no entry, the vary record
//                                       of want.record (a base key, or null: not wanted; decoded and
//                                       taken by want.accept); when there is neither, the fill lock
//                                       'l:e:<key>' for want.lockTtl ms (0: not wanted). Resolves
//                                       { entry, record, token }: token as tryLock's (undefined when
//                                       not tried: an entry or a record was found, or not wanted).
// getRecord(family, key, accept)        A value ('v:') or vary record ('vr:'): the decoded entry or
//                                       null; `accept(entry)` may refuse it (then it is deleted as
//                                       not of its kind). Records have no indexes and no fences.
// putRecord(family, key, bytes, ttlMs, timeoutMs?)   Writes a record (issued before returning).
// deleteEntry(key, fence)               Removes 'e:<key>' from every tier of every process (others
//                                       drop their in-process copies when the announcement reaches
//                                       them). fence: true also refuses, for FENCE_MS, stores of
//                                       fills that began before. Resolves whether it was held.
// invalidate(suffixes)                  Per index: fence first, then every entry it lists removed
//                                       in batches (each batch dropped from this process and
//                                       announced before the next). Resolves with the number of
//                                       entries removed, once neither the store nor this process
//                                       holds any.
// invalidateKeys(pattern)               Removes the entries whose keys match a Redis MATCH glob,
//                                       after fencing every fill under way. Resolves with the count.
// namespaceVersion(ns) (sync)           The version of `ns` last seen here ('0' when none).
// knownNamespaceVersion(ns) (sync)      The same, undefined when this process has not seen it.
// bumpNamespace(ns)                     Increments the version (atomic across processes) and
//                                       announces it; versions seen here only grow. Resolves with
//                                       the new version (a string).
// tryLock(name, ttlMs)                  SET NX PX on 'l:<name>': a token, null when another holds
//                                       it, or '' when there is nothing to coordinate (this process
//                                       alone: the caller holds it and has nothing to release).
// unlock(name, token)                   Compare-and-delete (fire and forget; faults reported).
// acquire(name, read, timing)           Who fills `name` ('e:<key>' or 'v:<key>') across processes:
//                                       { entry, waited } (another process filled it), { token }
//                                       (this one holds the lock) or { own: true } (fill it without
//                                       coordination). Never rejects; waits at most coalesceTimeout.
// release(name, token, filled)          Ends a locked fill: announces it (filled true/false; null
//                                       announces nothing) then unlocks, in that order.
// giveBack(name, token)                Gives back a lock its holder will not use: unlocks, then
//                                       tells the waiters of `name` to try the lock again at once.
// publish(message)                      Sends an application event (a JSON string) to every
//                                       instance, this one included ('event' below).
// listenForEvents() (sync)              Subscribes to application events; returns a Promise that
//                                       resolves once the subscription is confirmed.
// listen() (sync)                       Starts the pub/sub side now (fill notices, announcements).
// busReady (sync)                       Resolves once the store's pub/sub subscription was first
//                                       confirmed (at once for a store of this process alone).
// sweep()                               Deletes indexes whose entries have all expired.
// localStats() (sync)                   The in-process tier's figures, or null without one.
// close()                               Settles operations in flight, then closes; idempotent.
//
// Events (EventEmitter): 'ready', 'reconnecting', 'end' (connection state; a store of this process
// alone emits one 'ready'), 'error' (a connection fault), 'event' (payload Buffer: an application
// event), 'invalidation' (names: string[], an invalidation announced by any process: 'e:<key>' or
// 'n:<namespace>'). A shared store also tells a near cache in front of it (lib/stores/near.js):
// 'dropped' (keys: string[], entries its own invalidation just removed, emitted before the next
// batch is taken) and 'resubscribed' (its subscriber connection came back: announcements may have
// been missed).
const { InvalidArgumentError } = require('../errors');
const { wellFormed } = require('../http/keys');

// How long an invalidation fences stores of fills that began before it (longer fills may still
// land; no handler should run that long).
const FENCE_MS = 10 * 60 * 1000;
// The fence of key patterns: no index suffix is spelled so (they all start '<letter>:').
const KEYS_FENCE = 'keys';
const NAMESPACE_LIMIT = 1024;

/** A namespace: a non-empty string of at most 1024 characters. */
function checkNamespace(ns) {
  if (typeof ns !== 'string' || ns.length === 0 || ns.length > NAMESPACE_LIMIT) {
    throw new InvalidArgumentError(`Expected a namespace to be a non-empty string of at most ${NAMESPACE_LIMIT} characters, `
      + `got ${typeof ns === 'string' ? `${ns.length} characters` : typeof ns}`);
  }
  if (!wellFormed(ns)) throw new InvalidArgumentError(`Expected a namespace without lone UTF-16 surrogates, got ${JSON.stringify(ns)}`);
  return ns;
}

/** A tag list from a caller: non-empty strings only. */
function checkTags(tags, where) {
  if (!Array.isArray(tags)) throw new InvalidArgumentError(`Expected ${where} to be an array of tags (non-empty strings)`);
  for (const tag of tags) {
    if (typeof tag !== 'string' || tag.length === 0) {
      throw new InvalidArgumentError(`Expected ${where} to hold non-empty strings, got ${tag === '' ? 'an empty string' : typeof tag}`);
    }
    if (!wellFormed(tag)) throw new InvalidArgumentError(`Expected ${where} to hold strings without lone UTF-16 surrogates, got ${JSON.stringify(tag)}`);
  }
  return [...new Set(tags)];
}

/**
 * The names an invalidation announcement (the payload on '<prefix>:inval') removes: '<family><key>'
 * for one key, {"keys": [...]} for a batch of entry keys, {"ns": name, "version": v} for a bump.
 * @param {Buffer} payload
 * @returns {{ names: string[], ns: { name: string, version: string } | null } | null} null: not ours
 */
function parseInvalidation(payload) {
  const text = payload.toString('utf8');
  if (text[0] !== '{') return { names: [text], ns: null };
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (message !== null && Array.isArray(message.keys)) {
    return { names: message.keys.filter((k) => typeof k === 'string').map((k) => `e:${k}`), ns: null };
  }
  if (message !== null && typeof message.ns === 'string' && typeof message.version === 'string') {
    return { names: [`n:${message.ns}`], ns: { name: message.ns, version: message.version } };
  }
  return null;
}

module.exports = { FENCE_MS, KEYS_FENCE, checkNamespace, checkTags, parseInvalidation };
