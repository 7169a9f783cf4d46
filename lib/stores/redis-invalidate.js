'use strict';

// Invalidation in the Redis store (RedisStore in lib/stores/redis.js; the contract is in
// lib/stores/contract.js): by index (tags and paths: INVAL_BEGIN, then INVAL_DRAIN batch by
// batch, lib/stores/redis-scripts.js), by key pattern (fences, then SCAN and UNLINK on every node
// that holds entries, again while a cluster's slots move), of one key, and namespace bumps. What
// spans buckets runs once per bucket; each write goes through store.durable() (confirmed and
// retried on Sentinel and Cluster, lib/stores/redis-topology.js), and the keys removed are
// announced on the invalidation channel.
const { CacheClosedError, StoreError } = require('../errors');
const { FENCE_MS, KEYS_FENCE } = require('./contract');
const scripts = require('./redis-scripts');
const { retryable, ADMIN_RETRY_MS, RETRY_PAUSE_MS } = require('./redis-topology');

// Members popped per script run: a few milliseconds of Redis time at most.
const BATCH = 500;

/**
 * Deletes the entry of `key` (and fences it when `fence`: a fill under way cannot store it
 * again), then announces it so that other instances drop their in-process copies.
 * @param {RedisStore} store
 * @param {string} key
 * @param {boolean} fence
 * @returns {Promise<boolean>} whether an entry was there
 */
async function deleteEntry(store, key, fence) {
  if (fence) store.lastInvalidationAt = performance.now();
  const names = store.names;
  const b = names.bucketOf(key);
  const removal = fence
    ? ['EVAL', scripts.FENCE_SCRIPT, '3', names.keyFence(b, key), names.seq(b), names.entry(b, key), String(FENCE_MS)]
    : ['UNLINK', names.entry(b, key)];
  const [removed] = await Promise.all([
    store.durable(removal, b),
    // Other instances drop their in-process copies when this reaches them.
    store.adminCommand(['PUBLISH', store.channel.inval, `e:${key}`]),
  ]);
  return removed > 0;
}

/**
 * Invalidates the entries listed in the indexes `suffixes` ('t:<tag>', path index names), every
 * bucket's.
 * @param {RedisStore} store
 * @param {string[]} suffixes
 * @returns {Promise<number>} the entries removed
 */
async function invalidate(store, suffixes) {
  store.lastInvalidationAt = performance.now();
  if (suffixes.length === 0) return 0;
  const counts = await store.inBuckets((b) => invalidateBucket(store, b, suffixes));
  return counts.reduce((sum, n) => sum + n, 0);
}

/**
 * The invalidation of `suffixes` in bucket b: every fence set and the first batch of each index
 * listed (INVAL_BEGIN), then each index drained batch by batch (INVAL_DRAIN), each batch dropped
 * here and announced before the next is taken.
 */
async function invalidateBucket(store, b, suffixes) {
  const names = store.names;
  const keys = [names.seq(b), names.registry(b), ...suffixes.map((s) => names.index(b, s)), ...suffixes.map((s) => names.fence(b, s))];
  const lists = await store.durable(['EVAL', scripts.INVAL_BEGIN, String(keys.length), ...keys, String(FENCE_MS), String(BATCH), ...suffixes], b);
  store.reportMisplaced(lists[suffixes.length]);
  let removed = 0;
  for (let i = 0; i < suffixes.length; i++) removed += await drain(store, b, suffixes[i], lists[i]);
  return removed;
}

/** Removes the members of one index of bucket b, `members` first (Buffers, as Redis holds them). */
async function drain(store, b, suffix, members) {
  const names = store.names;
  const base = Buffer.from(names.base(b) + 'e:');
  let removed = 0;
  while (members.length > 0) {
    const entries = members.map((m) => Buffer.concat([base, m]));
    const [count, next, bad] = await store.durable(['EVAL', scripts.INVAL_DRAIN, String(2 + entries.length), names.index(b, suffix),
      names.registry(b), ...entries, String(BATCH), suffix, ...members], b);
    store.reportMisplaced(bad);
    removed += count;
    await dropped(store, members.map((m) => m.toString('utf8')));
    members = next;
  }
  return removed;
}

/** After entries left Redis: this process's copies go at once ('dropped'), others' on the announcement. */
async function dropped(store, keys) {
  if (keys.length === 0) return;
  store.emit('dropped', keys);
  await store.adminCommand(['PUBLISH', store.channel.inval, JSON.stringify({ keys })]);
}

/**
 * Removes the entries whose keys match a Redis MATCH pattern, in SCAN batches over the entry
 * family of every bucket. Fences first (every bucket's): a store that lands after the fence is
 * refused if its fill began before, one that landed before is in Redis for the SCAN to find.
 * @param {RedisStore} store
 * @param {string} pattern a glob in Redis MATCH syntax
 * @returns {Promise<number>} the entries removed
 */
async function invalidateKeys(store, pattern) {
  store.lastInvalidationAt = performance.now();
  const names = store.names;
  await store.inBuckets((b) => store.durable(['EVAL', scripts.FENCE_SCRIPT, '2', names.fence(b, KEYS_FENCE), names.seq(b),
    String(FENCE_MS)], b));
  const match = names.entryMatch() + pattern;
  let removed = 0;
  if (store.topology !== 'cluster') {
    for (const node of store.nodes()) removed += await scanEntries(store, node, match);
    return removed;
  }
  // Cluster: one pass over every master. While slots move, an entry can go from a master not
  // yet scanned to one already scanned: a pass counts only if the slot layout was the same,
  // and nothing was migrating, before and after it. (The fences keep new old entries out, so
  // passes converge.)
  const deadline = performance.now() + ADMIN_RETRY_MS;
  for (let attempt = 0; ; attempt++) {
    let failure = null;
    const before = await slotLayout(store).catch((err) => { failure = err; return null; });
    if (before !== null && !before.moving) {
      try {
        for (const node of store.nodes()) removed += await scanEntries(store, node, match);
      } catch (err) {
        failure = err;
      }
      if (failure === null) {
        const after = await slotLayout(store).catch((err) => { failure = err; return null; });
        if (after !== null && !after.moving && after.text === before.text) return removed;
      }
    }
    if (failure !== null && (store.closing || !retryable(failure))) throw failure;
    const pause = RETRY_PAUSE_MS[Math.min(attempt, RETRY_PAUSE_MS.length - 1)];
    if (performance.now() + pause >= deadline) {
      throw failure || new StoreError(`invalidateKeys(${JSON.stringify(pattern)}): slots kept moving between masters for ${ADMIN_RETRY_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    await store.refreshTopology();
  }
}

/**
 * Cluster: what every master says it serves (CLUSTER NODES, its "myself" line's slots), as one
 * text, and whether a slot is migrating or importing anywhere.
 */
async function slotLayout(store) {
  const lines = await Promise.all(store.nodes().map(async (node) => {
    const text = (await node.command(['CLUSTER', 'NODES'], store.adminTimeout)).toString('utf8');
    const mine = text.split('\n').find((line) => line.includes('myself'));
    if (mine === undefined) throw new StoreError(`${node.addr} did not describe itself in CLUSTER NODES`);
    return `${node.addr} ${mine.split(' ').slice(8).join(' ')}`;
  }));
  const text = lines.sort().join('\n');
  return { text, moving: text.includes('[') };
}

/** SCANs one node for entry names matching `match`; UNLINKs them a bucket at a time. */
async function scanEntries(store, node, match) {
  if (store.closing) throw new CacheClosedError();
  let cursor = '0';
  let removed = 0;
  do {
    const [next, found] = await node.command(['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'], store.adminTimeout);
    cursor = next.toString('utf8');
    const byBucket = new Map(); // tag index -> { names, keys }
    for (const raw of found) {
      const name = raw.toString('utf8');
      const parsed = store.names.parseEntry(name);
      if (parsed === null) continue;
      let group = byBucket.get(parsed.bucket);
      if (group === undefined) byBucket.set(parsed.bucket, group = { names: [], keys: [] });
      group.names.push(raw);
      group.keys.push(parsed.key);
    }
    for (const [b, group] of byBucket) {
      removed += await store.durable(['UNLINK', ...group.names], b);
      await dropped(store, group.keys);
    }
  } while (cursor !== '0');
  return removed;
}

/**
 * Bumps the version of namespace `ns` (its entries of older versions are MISSes from then on):
 * INCR in its home bucket, every other bucket's copy raised to it, then announced.
 * @param {RedisStore} store
 * @param {string} ns
 * @returns {Promise<string>} the new version
 */
async function bumpNamespace(store, ns) {
  if (store.closing) throw new CacheClosedError();
  store.lastInvalidationAt = performance.now();
  const names = store.names;
  const home = names.bucketOf(ns);
  const version = String(await store.durable(['INCR', names.ns(home, ns)], home));
  // Every other bucket's copy (read by the lookups of its keys) raised to it before it is announced.
  await store.inBuckets((b) => (b === home ? null
    : store.durable(['EVAL', scripts.NS_RAISE, '1', names.ns(b, ns), version], b)));
  await store.adminCommand(['PUBLISH', store.channel.inval, JSON.stringify({ ns, version })]);
  store.learnNamespaceVersion(ns, version);
  return version;
}

module.exports = { deleteEntry, invalidate, invalidateKeys, bumpNamespace, BATCH };
