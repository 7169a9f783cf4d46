'use strict';

// The lookup of a request in the Redis store (RedisStore.lookup; the contract is in
// lib/stores/contract.js): one round trip for a cold MISS, a GET alone for a key this process
// holds fresh. Everything a lookup reads is in the bucket of its key (lib/stores/redis-keys.js).
const scripts = require('./redis-scripts');
const { newToken } = require('./redis-locks');

/**
 * getEntry, the vary record and the fill lock in one round trip: a GET of the entry and, right
 * behind it, LOOKUP_SCRIPT (redis-scripts.js) for the rest. A key whose entry this process read
 * or wrote lately, and which should still be fresh, is most likely a HIT: its lookup is the GET
 * alone, and only when that finds no fresh entry (expired, invalidated meanwhile) does the full
 * lookup follow, in a second round trip.
 */
function lookup(store, key, fill, want) {
  const ns = fill && fill.ns ? fill.ns : null;
  const b = store.names.bucketOf(key);
  const name = store.names.entry(b, key);
  const until = ns === null ? store.held.get(key) : undefined;
  if (until === undefined || until <= store.clock.now()) return lookupAll(store, b, name, key, fill, want);
  return store.client.command(['GET', name]).then((bytes) => {
    const entry = bytes === null ? null : store.usable(name, 'e:', bytes, undefined, null);
    if (entry !== null && entry.expiresAt > store.clock.now()) {
      store.hold(key, entry.expiresAt);
      return { entry, record: null, token: undefined };
    }
    store.held.delete(key);
    return lookupAll(store, b, name, key, fill, want);
  }, (err) => {
    store.held.delete(key);
    if (!(err && err.code === 'ERR_RESPCACHE_REDIS_REPLY' && /^WRONGTYPE/.test(err.message))) throw err;
    return lookupAll(store, b, name, key, fill, want);
  });
}

/**
 * The full lookup: the entry's GET and the script, in one round trip. The vary record is read by
 * the script when it is in the key's bucket (the middleware asks for it with the base key itself);
 * a record of another bucket is read first, on its own.
 */
function lookupAll(store, b, name, key, fill, want) {
  const names = store.names;
  if (want.record !== null && names.bucketOf(want.record) !== b) {
    return store.getRecord('vr:', want.record, want.accept).then((record) => {
      if (record !== null) return { entry: null, record, token: undefined };
      return lookupAll(store, b, name, key, fill, { ...want, record: null });
    });
  }
  const ns = fill && fill.ns ? fill.ns : null;
  const keys = [name, names.seq(b)];
  if (ns !== null) keys.push(names.ns(b, ns));
  if (want.record !== null) keys.push(names.record(b, 'vr:', want.record));
  const token = want.lockTtl > 0 ? newToken() : null;
  if (token !== null) keys.push(names.lock(b, `e:${key}`));
  const args = [ns !== null ? '1' : '0', want.record !== null ? '1' : '0', token !== null ? '1' : '0',
    token || '', String(want.lockTtl)];
  const getting = store.client.command(['GET', name]);
  const rest = store.script(scripts.LOOKUP_SCRIPT, keys, args);
  const found = getting.then((bytes) => rest.then((reply) => looked(store, b, name, key, fill, want, token, bytes, reply)), (err) => {
    if (!(err && err.code === 'ERR_RESPCACHE_REDIS_REPLY' && /^WRONGTYPE/.test(err.message))) {
      rest.catch(() => {}); // fails alike (the connection's fault), reported once through err
      throw err;
    }
    store.discard(name, 'wrong type');
    return rest.then((reply) => looked(store, b, name, key, fill, want, token, null, reply));
  });
  if (token === null) return found;
  return found.catch((err) => {
    // Past commandTimeout the script may still run, and take the lock for nobody: every fill
    // of the key would then wait for it up to lockTtl. Released by its token (a no-op when the
    // script took none), behind the script on the same connection.
    store.unlock(`e:${key}`, token, want.lockTtl);
    throw err;
  });
}

/** What lookup() found, from the GET's bytes and the script's reply. */
function looked(store, b, name, key, fill, want, token, bytes, [seq, version, record, locked]) {
  // A fill that follows this lookup began after every invalidation of bucket b numbered up to seq.
  if (fill) fill.seq = `${b}:${seq.toString('utf8')}`;
  const ns = fill && fill.ns ? fill.ns : null;
  if (ns !== null) {
    fill.nsVersion = version == null ? '0' : version.toString('utf8');
    store.learnNamespaceVersion(ns, fill.nsVersion);
  }
  const held = token !== null && locked === 1 ? token : null;
  const found = { entry: null, record: null, token: token === null ? undefined : held };
  if (bytes !== null) {
    found.entry = store.usable(name, 'e:', bytes, ns === null ? undefined : fill.nsVersion, null);
    if (found.entry !== null && ns === null) store.hold(key, found.entry.expiresAt);
    // Deleted between the GET and the script, which then took the lock: not needed.
    if (found.entry !== null && held !== null) {
      store.unlock(`e:${key}`, held);
      found.token = undefined;
    }
  } else if (record != null) {
    found.record = store.usable(store.names.record(b, 'vr:', want.record), 'vr:', record, undefined, want.accept);
  }
  return found;
}

module.exports = { lookup };
