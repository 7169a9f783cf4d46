'use strict';

// One suite for every store (lib/stores/contract.js), run by test/stores/{redis,memory,near}.test.js
// with an adapter each (the shape of undici's test/cache-interceptor/cache-store-test-utils.js).
// It calls the stores directly, below the cache facade: what it checks is what the contract says
// each operation guarantees, so a new store is tested by writing one adapter.
//
// adapter = {
//   shared: boolean        instances on the same backing share entries, locks, namespaces, events
//                          and announcements (redis, near); false: this instance alone (memory)
//   tier: 'redis'|'local'  the tier an entry read back right after putEntry reports
//   setup(), teardown()    start and stop what the stores need (a redis-server)
//   open({ report, prefix? }) resolves, once the store is ready, with a handle
//     { store,
//       openPeer({ report })      (shared only) another instance on the same backing and prefix
//       plant(name, bytes, ttlMs) bytes under a family name ('e:<key>', 'v:<key>'), written
//                                 around the store, where it reads them
//       holds(name)               whether the backing still holds that name
//       indexSize(suffix)         members an invalidation index lists (expired ones included), or
//                                 null when there is no such index
//       announce(payload)         (shared only) an invalidation announcement as another process
//                                 would publish it }
//   keysTogether(n)        (optional) n distinct keys the store keeps in one partition (a Redis
//                          store's bucket, lib/stores/redis-keys.js: one index copy, one fence
//                          sequence); any n keys when omitted
// }
// The suite closes every store it opened.
const { performance } = require('perf_hooks');
const { CacheClosedError, CorruptEntryError } = require('../../lib/errors');
const { entryIndexes, pathIndexes } = require('../../lib/http/paths');
const { encodeStored } = require('../helpers/internals');
const { once, waitFor, gate } = require('../helpers/wait');

// Every byte value, so that no encoding step can lose or change one.
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const HOUR = 3600e3;
// A 204 with no headers and no body in the entry format of the release before codec v2 ("RCE1").
const RCE1_ENTRY = Buffer.from('524345310000cc0000019ada5b2e000000019ada5c1860000000000000', 'hex');

/** Response bytes: 200, one header, `body` (a string as UTF-8, or a Buffer), fresh for an hour unless told otherwise. */
function entry({ status = 200, headers = ['content-type', 'text/plain'], body = 'ok', storedAt = Date.now(),
  expiresAt = storedAt + HOUR, nsVersion, kind = 'response' } = {}) {
  return encodeStored({ status, headers, body: Buffer.isBuffer(body) ? body : Buffer.from(body), storedAt, expiresAt },
    { nsVersion, kind });
}

/**
 * Entry bytes for a store that keeps them `keepMs`: fresh no longer than that, as the cache writes
 * them (it keeps an entry for its freshness plus its stale window). A near cache copies what it
 * reads for the entry's remaining freshness, so an entry fresh for an hour but kept 50 ms could
 * be copied, a moment before Redis drops it, for another minute.
 */
function shortLived(keepMs, fields = {}) {
  const storedAt = Date.now();
  return entry({ storedAt, expiresAt: storedAt + keepMs, ...fields });
}

/** Record bytes of the kind a family holds ('v:' values, 'vr:' vary records). */
function record(family, fields = {}) {
  return entry({ ...fields, kind: family === 'v:' ? 'value' : 'vary' });
}

/** A fill that began now, for `path` with `tags`. */
function fill(path = '/r', tags = [], startedAt = performance.now()) {
  return { path, tags, startedAt };
}

/**
 * A fill that began a little before now. The Redis store estimates when a fill began as its own
 * time when the store script runs minus the fill's duration measured in JS, so the command's
 * transit counts as time before the fill: a fill that began less than one command's latency
 * before an invalidation can pass for one that began after it (and a loaded machine makes that
 * latency milliseconds). The gap keeps these tests about the fence, not about that estimate.
 */
async function fillBefore(path, tags) {
  const started = fill(path, tags);
  // 200 ms, not the fence clock's 5: the Redis store dates a fill without a lookup sequence by its
  // own clock minus the fill's duration, so the store command's transit counts as a later start
  // (a known limit, docs/invalidation.md); on a loaded machine (the sanitizer pass, two Jest
  // workers beside Redis on two cores) it passed 5 ms, then 50 ms, once each.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return started;
}

/**
 * Waits until the clock a Redis fence is kept in (milliseconds, the fill's duration rounded up)
 * has certainly moved past `since`: a fill that starts after this began after the invalidation
 * on any store. Not a synchronisation: the resolution of the fence clock.
 */
async function pastFenceResolution(since) {
  // A loop, not one timer: setTimeout counts from the loop's cached time, so it can end a few
  // milliseconds before performance.now() has moved that far.
  while (performance.now() <= since + 5) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(since + 5 - performance.now()))));
  }
}

/**
 * @param {string} name
 * @param {object} adapter see the comment at the top of this file
 */
function runStoreSuite(name, adapter) {
  const together = adapter.keysTogether || ((n) => Array.from({ length: n }, (_, i) => `k${i}`));
  describe(`the ${name} store`, () => {
    let opened = [];
    let reports = [];
    const report = (err) => reports.push(err);

    async function open(options = {}) {
      const handle = await adapter.open({ report, ...options });
      opened.push(handle.store);
      if (handle.openPeer) {
        const openPeer = handle.openPeer;
        handle.openPeer = async (peerOptions = {}) => {
          const peer = await openPeer({ report, ...peerOptions });
          opened.push(peer.store);
          return peer;
        };
      }
      return handle;
    }

    beforeAll(() => adapter.setup());
    afterAll(() => adapter.teardown());
    afterEach(async () => {
      const stores = opened;
      opened = [];
      reports = [];
      await Promise.all(stores.map((s) => s.close()));
    });

    /**
     * Registers, of two cases about other instances, the one that holds for this store: `shared`
     * (title, fn) when instances on one backing share it, `alone` when each instance holds its own
     * (the embedded store). Every store asserts something here; none skips.
     */
    function either(shared, alone) {
      it(...(adapter.shared ? shared : alone));
    }

    /** Two instances with nothing between them (the embedded store): a second open(). */
    async function another() {
      return (await open()).store;
    }

    /**
     * Resolves once every event `store` emits synchronously or on the next turns has been emitted:
     * its own application event (delivered on a later turn) comes after them. For asserting that
     * something was NOT emitted.
     */
    async function settled(store) {
      await store.listenForEvents();
      const heard = once(store, 'event');
      await store.publish('"settled"');
      await heard;
    }

    describe('when it is opened', () => {
      it('reports status "ready"', async () => {
        const { store } = await open();
        expect(store.status).toBe('ready');
        expect(store.lastInvalidationAt).toBe(-1);
        await expect(store.busReady).resolves.toBeUndefined();
      });
    });

    describe('when an entry is stored and read back', () => {
      it('returns the same status, headers in order (repeated names too), body byte for byte and times', async () => {
        const { store } = await open();
        const headers = ['set-cookie', 'a=1', 'content-type', 'application/octet-stream', 'set-cookie', 'b=2', 'x-empty', ''];
        const bytes = encodeStored({ status: 203, headers, body: ALL_BYTES, storedAt: 1700000000123, expiresAt: 1700000060456 });
        await expect(store.putEntry('k', bytes, HOUR, fill())).resolves.toBe(true);
        const got = await store.getEntry('k', null);
        expect(got).toMatchObject({ status: 203, headers, storedAt: 1700000000123, expiresAt: 1700000060456, tier: adapter.tier });
        expect(Buffer.compare(got.body, ALL_BYTES)).toBe(0);
        expect(Buffer.compare(got.bytes, bytes)).toBe(0);
      });

      it('returns an empty body as an empty Buffer', async () => {
        const { store } = await open();
        await store.putEntry('empty', entry({ status: 204, headers: [], body: '' }), HOUR, fill());
        const got = await store.getEntry('empty', null);
        expect(got.status).toBe(204);
        expect(got.headers).toEqual([]);
        expect(Buffer.isBuffer(got.body) && got.body.length).toBe(0);
      });

      it('returns the entry written last under a key', async () => {
        const { store } = await open();
        await store.putEntry('k', entry({ body: 'one' }), HOUR, fill());
        await store.putEntry('k', entry({ body: 'two' }), HOUR, fill());
        expect((await store.getEntry('k', null)).body.toString()).toBe('two');
      });

      it('sees a write issued just before the read (FIFO), without awaiting it', async () => {
        const { store } = await open();
        const storing = store.putEntry('k', entry({ body: 'now' }), HOUR, fill());
        const reading = store.getEntry('k', null);
        await storing;
        expect((await reading).body.toString()).toBe('now');
      });

      either(['is read by another instance on the same backing', async () => {
        const { store, openPeer } = await open();
        const { store: peer } = await openPeer();
        await store.putEntry('k', entry({ body: 'shared' }), HOUR, fill());
        expect((await peer.getEntry('k', null)).body.toString()).toBe('shared');
      }], ['is not read by another instance, which keeps its own under the same key', async () => {
        const { store } = await open();
        const other = await another();
        await store.putEntry('k', entry({ body: 'mine' }), HOUR, fill());
        await expect(other.getEntry('k', null)).resolves.toBeNull();
        await other.putEntry('k', entry({ body: 'theirs' }), HOUR, fill());
        expect((await store.getEntry('k', null)).body.toString()).toBe('mine');
        expect((await other.getEntry('k', null)).body.toString()).toBe('theirs');
      }]);
    });

    describe('when a key was never stored', () => {
      it('reads as null', async () => {
        const { store } = await open();
        await expect(store.getEntry('never', null)).resolves.toBeNull();
        await expect(store.getRecord('v:', 'never', null)).resolves.toBeNull();
      });
    });

    describe('lookup(key, fill, want)', () => {
      const noRecord = { record: null, accept: null, lockTtl: 0 };

      it('resolves the entry when there is one, and tries no lock', async () => {
        const { store } = await open();
        await store.putEntry('k', entry({ body: 'here' }), HOUR, fill());
        const found = await store.lookup('k', null, { record: 'k', accept: null, lockTtl: HOUR });
        expect(found.entry.body.toString()).toBe('here');
        expect(found.record).toBeNull();
        // The contract says undefined (not tried); the Redis store answers null. Either way no
        // token is held, and the lock is free for the next one.
        expect(found.token).not.toEqual(expect.any(String));
        if (adapter.shared) await expect(store.tryLock('e:k', HOUR)).resolves.toEqual(expect.any(String));
      });

      it('resolves the vary record of want.record when there is no entry, taken by want.accept', async () => {
        const { store } = await open();
        await store.putRecord('vr:', 'base', record('vr:', { status: 299, body: 'record' }), HOUR);
        const found = await store.lookup('varied', null, { record: 'base', accept: (e) => e.status === 299, lockTtl: HOUR });
        expect(found.entry).toBeNull();
        expect(found.record.body.toString()).toBe('record');
        expect(found.token).not.toEqual(expect.any(String)); // undefined by the contract; null from Redis
        if (adapter.shared) await expect(store.tryLock('e:varied', HOUR)).resolves.toEqual(expect.any(String));
      });

      it('takes the fill lock when there is neither', async () => {
        const { store } = await open();
        const found = await store.lookup('k', null, { record: 'base', accept: null, lockTtl: HOUR });
        expect([found.entry, found.record]).toEqual([null, null]);
        if (adapter.shared) {
          expect(found.token).toEqual(expect.any(String));
          expect(found.token.length).toBeGreaterThan(0);
          await expect(store.tryLock('e:k', HOUR)).resolves.toBeNull();
          const again = await store.lookup('k', null, { record: null, accept: null, lockTtl: HOUR });
          expect(again.token).toBeNull();
        } else {
          expect(found.token).toBe('');
        }
      });

      it('tries no lock when want.lockTtl is 0', async () => {
        const { store } = await open();
        await expect(store.lookup('k', null, noRecord)).resolves.toEqual({ entry: null, record: null, token: undefined });
        if (adapter.shared) await expect(store.tryLock('e:k', HOUR)).resolves.toEqual(expect.any(String));
      });

      it('sets fill.nsVersion for a namespaced lookup and returns only an entry of that version', async () => {
        const { store } = await open();
        await store.putEntry('k', entry({ body: 'v0', nsVersion: '0' }), HOUR, fill());
        const first = { ns: 'ns' };
        expect((await store.lookup('k', first, noRecord)).entry.body.toString()).toBe('v0');
        expect(first.nsVersion).toBe('0');
        await store.bumpNamespace('ns');
        const after = { ns: 'ns' };
        expect((await store.lookup('k', after, noRecord)).entry).toBeNull();
        expect(after.nsVersion).toBe('1');
      });
    });

    describe('families', () => {
      it('keep entries, values, vary records and locks apart, whatever a key builder spells', async () => {
        const { store } = await open();
        await store.putEntry('x', entry({ body: 'entry x' }), HOUR, fill());
        await store.putRecord('v:', 'x', record('v:', { body: 'value x' }), HOUR);
        await store.putRecord('vr:', 'x', record('vr:', { body: 'record x' }), HOUR);
        await store.tryLock('e:x', HOUR);
        // Keys a builder may return that look like internal names.
        await store.putEntry('v:x', entry({ body: 'entry v:x' }), HOUR, fill());
        await store.putEntry('x:e:y', entry({ body: 'entry x:e:y' }), HOUR, fill());
        const body = async (read) => { const e = await read; return e === null ? null : e.body.toString(); };
        expect(await body(store.getEntry('x', null))).toBe('entry x');
        expect(await body(store.getRecord('v:', 'x', null))).toBe('value x');
        expect(await body(store.getRecord('vr:', 'x', null))).toBe('record x');
        expect(await body(store.getEntry('v:x', null))).toBe('entry v:x');
        expect(await body(store.getEntry('e:x', null))).toBeNull();
        expect(await body(store.getEntry('vr:x', null))).toBeNull();
        expect(await body(store.getEntry('l:e:x', null))).toBeNull();
        expect(await body(store.getRecord('v:', 'v:x', null))).toBeNull();
        expect(await body(store.getRecord('v:', 'y', null))).toBeNull();
        // Deleting the entry leaves the value and the record.
        expect(await store.deleteEntry('x', false)).toBe(true);
        expect(await body(store.getRecord('v:', 'x', null))).toBe('value x');
        expect(await body(store.getRecord('vr:', 'x', null))).toBe('record x');
        expect(await body(store.getEntry('x:e:y', null))).toBe('entry x:e:y');
      });
    });

    describe('when a key holds bytes that are not an entry', () => {
      const cases = [
        ['garbage', Buffer.from('not an entry at all')],
        ['a truncated entry', entry({ body: 'cut short' }).subarray(0, 20)],
        ['nothing', Buffer.alloc(0)],
      ];
      it.each(cases)('reads %s as null and deletes it', async (what, bytes) => {
        const { store, plant, holds } = await open();
        await plant('e:bad', bytes, HOUR);
        await expect(store.getEntry('bad', null)).resolves.toBeNull();
        await waitFor(async () => !(await holds('e:bad')), { what: 'the bytes deleted', timeout: 2000 });
        if (adapter.shared) {
          // Other processes may read the same bytes: the store says what it deleted.
          expect(reports).toHaveLength(1);
          expect(reports[0]).toBeInstanceOf(CorruptEntryError);
          expect(reports[0].code).toBe('ERR_RESPCACHE_CORRUPT_ENTRY');
          expect(reports[0].message).toMatch(/"[^"]*e:bad" does not hold a valid entry/);
        } else {
          expect(reports).toEqual([]);
        }
      });

      it('reads an entry of the previous codec version (RCE1) as null', async () => {
        const { store, plant } = await open();
        await plant('e:old', RCE1_ENTRY, HOUR);
        await expect(store.getEntry('old', null)).resolves.toBeNull();
        await expect(store.lookup('old', null, { record: null, accept: null, lockTtl: 0 }))
          .resolves.toMatchObject({ entry: null });
      });

      it('reads a value whose bytes `accept` refuses as null, and deletes it', async () => {
        const { store, holds } = await open();
        await store.putRecord('v:', 'k', record('v:', { body: 'not a value' }), HOUR);
        await expect(store.getRecord('v:', 'k', () => false)).resolves.toBeNull();
        await waitFor(async () => !(await holds('v:k')), { what: 'the refused value deleted', timeout: 2000 });
      });
    });

    describe('retention', () => {
      it('ends after ttlMs: the store no longer holds or returns the entry', async () => {
        const { store, holds } = await open();
        // 1 s: it must still be there after two more commands (a loaded machine, the sanitizer
        // pass, can take more than 50 ms for them).
        await store.putEntry('short', shortLived(1000), 1000, fill());
        await store.putEntry('long', entry(), HOUR, fill());
        expect(await store.getEntry('short', null)).not.toBeNull();
        // Expiry happens in the backing (Redis PX, the native store's TTL): no event announces it.
        await waitFor(async () => (await store.getEntry('short', null)) === null, { what: 'the entry expired', timeout: 4000 });
        expect(await holds('e:short')).toBe(false);
        expect(await store.getEntry('long', null)).not.toBeNull();
      });

      it('returns an entry past its expiresAt as it is until retention ends (freshness is the caller\'s)', async () => {
        const { store } = await open();
        const storedAt = Date.now() - 60e3;
        await store.putEntry('stale', entry({ storedAt, expiresAt: storedAt + 1000 }), HOUR, fill());
        const got = await store.getEntry('stale', null);
        expect(got).toMatchObject({ storedAt, expiresAt: storedAt + 1000 });
        expect(got.expiresAt).toBeLessThan(Date.now());
      });

      it('ends a record after its ttlMs', async () => {
        const { store } = await open();
        // 1 s, not 50 ms: it must still be there when it is read back (see above).
        await store.putRecord('vr:', 'k', shortLived(1000, { kind: 'vary' }), 1000);
        expect(await store.getRecord('vr:', 'k', null)).not.toBeNull();
        await waitFor(async () => (await store.getRecord('vr:', 'k', null)) === null, { what: 'the record expired', timeout: 4000 });
      });
    });

    describe('deleteEntry(key)', () => {
      it('resolves true when the entry was held, then false, and leaves other keys alone', async () => {
        const { store } = await open();
        await store.putEntry('a', entry(), HOUR, fill());
        await store.putEntry('b', entry(), HOUR, fill());
        await expect(store.deleteEntry('a', false)).resolves.toBe(true);
        await expect(store.deleteEntry('a', false)).resolves.toBe(false);
        await expect(store.getEntry('a', null)).resolves.toBeNull();
        expect(await store.getEntry('b', null)).not.toBeNull();
      });

      it('with a fence, refuses a store whose fill began before it and accepts one that began after', async () => {
        const { store } = await open();
        const before = await fillBefore();
        const lastBefore = store.lastInvalidationAt;
        await store.deleteEntry('k', true);
        expect(store.lastInvalidationAt).toBeGreaterThan(lastBefore);
        await expect(store.putEntry('k', entry(), HOUR, before)).resolves.toBe(false);
        await expect(store.getEntry('k', null)).resolves.toBeNull();
        // The fence is the key's only: another key's fill of the same age stores.
        await expect(store.putEntry('other', entry(), HOUR, before)).resolves.toBe(true);
        await pastFenceResolution(performance.now());
        await expect(store.putEntry('k', entry(), HOUR, fill())).resolves.toBe(true);
      });

      it('without a fence, lets a fill that began before it store', async () => {
        const { store } = await open();
        const before = fill();
        await store.putEntry('k', entry(), HOUR, fill());
        await store.deleteEntry('k', false);
        await expect(store.putEntry('k', entry(), HOUR, before)).resolves.toBe(true);
      });
    });

    describe('invalidate(tag indexes)', () => {
      it('removes every entry carrying any of the tags and resolves with the count; a second call finds none', async () => {
        const { store } = await open();
        await store.putEntry('p1', entry(), HOUR, fill('/p/1', ['product:1', 'products']));
        await store.putEntry('p2', entry(), HOUR, fill('/p/2', ['product:2', 'products']));
        await store.putEntry('c1', entry(), HOUR, fill('/c/1', ['category:1']));
        await store.putEntry('plain', entry(), HOUR, fill('/plain', []));
        await expect(store.invalidate(['t:product:1', 't:category:1'])).resolves.toBe(2);
        await expect(store.invalidate(['t:product:1', 't:category:1'])).resolves.toBe(0);
        expect(await store.getEntry('p1', null)).toBeNull();
        expect(await store.getEntry('c1', null)).toBeNull();
        expect(await store.getEntry('p2', null)).not.toBeNull();
        expect(await store.getEntry('plain', null)).not.toBeNull();
        await expect(store.invalidate(['t:products'])).resolves.toBe(1);
        expect(await store.getEntry('p2', null)).toBeNull();
      });

      it('does not count an entry that already left the store', async () => {
        const { store } = await open();
        await store.putEntry('gone', entry(), HOUR, fill('/g', ['t']));
        await store.putEntry('here', entry(), HOUR, fill('/h', ['t']));
        await store.deleteEntry('gone', false);
        await expect(store.invalidate(['t:t'])).resolves.toBe(1);
      });

      it('handles more entries than one batch', async () => {
        const { store } = await open();
        const n = 1200;
        // 100 at a time: 1200 stores in one burst exceeded the 2 s commandTimeout under the sanitizer pass.
        for (let from = 0; from < n; from += 100) {
          await Promise.all(Array.from({ length: 100 }, (_, j) => store.putEntry(`k${from + j}`, entry(), HOUR, fill(`/k/${from + j}`, ['many']))));
        }
        await expect(store.invalidate(['t:many'])).resolves.toBe(n);
        expect(await store.getEntry('k0', null)).toBeNull();
        expect(await store.getEntry(`k${n - 1}`, null)).toBeNull();
      });
    });

    describe('invalidate(path indexes)', () => {
      async function stored(store) {
        const paths = { root: '/', users: '/users', list: '/users/', u1: '/users/1', u1x: '/users/1/orders',
          star: '/users/a*b', other: '/usersx', deep: '/a/b/c/d' };
        for (const [key, path] of Object.entries(paths)) await store.putEntry(key, entry(), HOUR, fill(path));
        return async () => {
          const left = [];
          for (const key of Object.keys(paths)) if ((await store.getEntry(key, null)) !== null) left.push(key);
          return left;
        };
      }

      it('an exact path removes that path only (with or without its trailing slash)', async () => {
        const { store } = await open();
        const left = await stored(store);
        await expect(store.invalidate(pathIndexes('/users/1'))).resolves.toBe(1);
        expect(await left()).toEqual(['root', 'users', 'list', 'u1x', 'star', 'other', 'deep']);
        // '/users' and '/users/' share a normal form.
        await expect(store.invalidate(pathIndexes('/users/'))).resolves.toBe(2);
      });

      it('a "/dir/*" prefix removes the directory itself and everything under it, at any depth', async () => {
        const { store } = await open();
        const left = await stored(store);
        await expect(store.invalidate(pathIndexes('/users/*'))).resolves.toBe(5);
        expect(await left()).toEqual(['root', 'other', 'deep']);
        await expect(store.invalidate(pathIndexes('/a/*'))).resolves.toBe(1);
      });

      it('"/*" removes every entry', async () => {
        const { store } = await open();
        const left = await stored(store);
        await expect(store.invalidate(pathIndexes('/*'))).resolves.toBe(8);
        expect(await left()).toEqual([]);
      });

      it('a "*" anywhere but at the end is literal', async () => {
        const { store } = await open();
        const left = await stored(store);
        await expect(store.invalidate(pathIndexes('/users/a*b'))).resolves.toBe(1);
        await expect(store.invalidate(pathIndexes('/users/*/orders'))).resolves.toBe(0);
        expect(await left()).not.toContain('star');
        expect(await left()).toContain('u1x');
      });

      it('compares paths in normal form (case, escapes)', async () => {
        const { store } = await open();
        await store.putEntry('k', entry(), HOUR, fill('/Caf%C3%A9/%7Euser'));
        await expect(store.invalidate(pathIndexes('/café/~USER'))).resolves.toBe(1);
      });

      it('finds an entry stored under several paths (and a custom key) by any of them', async () => {
        const { store } = await open();
        await store.putEntry('custom key', entry(), HOUR, fill(['/orig', '/rewritten/path']));
        await expect(store.invalidate(pathIndexes('/rewritten/*'))).resolves.toBe(1);
        await pastFenceResolution(performance.now());
        await expect(store.putEntry('custom key', entry(), HOUR, fill(['/orig', '/rewritten/path']))).resolves.toBe(true);
        await expect(store.invalidate(pathIndexes('/orig'))).resolves.toBe(1);
      });

      it('resolves null for a path too deep to index, and stores nothing', async () => {
        const { store } = await open();
        const deep = `/${Array.from({ length: 40 }, (_, i) => `d${i}`).join('/')}`;
        expect(entryIndexes(deep, [])).toBeNull();
        await expect(store.putEntry('deep', entry(), HOUR, fill(deep))).resolves.toBeNull();
        await expect(store.getEntry('deep', null)).resolves.toBeNull();
      });
    });

    describe('invalidateKeys(pattern)', () => {
      it('removes the entries whose keys match, and nothing outside the entry family', async () => {
        const { store } = await open();
        for (const key of ['user:1', 'user:2', 'user:10', 'item:1']) await store.putEntry(key, entry(), HOUR, fill(`/${key}`));
        await store.putRecord('v:', 'user:3', record('v:'), HOUR);
        await store.putRecord('vr:', 'user:4', record('vr:'), HOUR);
        await expect(store.invalidateKeys('user:?')).resolves.toBe(2);
        expect(await store.getEntry('user:10', null)).not.toBeNull();
        await expect(store.invalidateKeys('user:*')).resolves.toBe(1);
        expect(await store.getEntry('item:1', null)).not.toBeNull();
        expect(await store.getRecord('v:', 'user:3', null)).not.toBeNull();
        expect(await store.getRecord('vr:', 'user:4', null)).not.toBeNull();
      });

      it('reads glob characters in the key prefix literally', async () => {
        const { store: star } = await open({ prefix: `g${Date.now()}*` });
        const { store: plain } = await open({ prefix: `g${Date.now()}x` });
        await plain.putEntry('k', entry(), HOUR, fill());
        await star.putEntry('k', entry(), HOUR, fill());
        await expect(star.invalidateKeys('*')).resolves.toBe(1);
        expect(await plain.getEntry('k', null)).not.toBeNull();
      });

      it('fences every fill under way, whatever its key', async () => {
        const { store } = await open();
        const before = await fillBefore('/unrelated');
        await store.invalidateKeys('nothing:*');
        await expect(store.putEntry('unrelated', entry(), HOUR, before)).resolves.toBe(false);
        await pastFenceResolution(performance.now());
        await expect(store.putEntry('unrelated', entry(), HOUR, fill('/unrelated'))).resolves.toBe(true);
      });
    });

    describe('fences of index invalidations', () => {
      it('refuse a store whose fill began before the invalidation of one of its indexes', async () => {
        const { store } = await open();
        const tagged = fill('/p/1', ['product:1']);
        const onPath = fill('/p/2', []);
        const elsewhere = await fillBefore('/q', ['other']);
        await store.invalidate(['t:product:1', ...pathIndexes('/p/*')]);
        await expect(store.putEntry('p1', entry(), HOUR, tagged)).resolves.toBe(false);
        await expect(store.putEntry('p2', entry(), HOUR, onPath)).resolves.toBe(false);
        await expect(store.putEntry('q', entry(), HOUR, elsewhere)).resolves.toBe(true);
        expect(await store.getEntry('p1', null)).toBeNull();
        await pastFenceResolution(performance.now());
        await expect(store.putEntry('p1', entry(), HOUR, fill('/p/1', ['product:1']))).resolves.toBe(true);
      });

      it('leave nothing of a tag behind when stores and invalidations of it interleave', async () => {
        const { store, holds } = await open();
        const rounds = [];
        for (let i = 0; i < 30; i++) {
          const started = fill(`/i/${i}`, ['hot']);
          rounds.push(store.putEntry(`i${i}`, entry(), HOUR, started));
          if (i % 3 === 0) rounds.push(store.invalidate(['t:hot']));
        }
        await Promise.all(rounds);
        // Every entry that landed is listed under the tag: one more invalidation reaches them all.
        await store.invalidate(['t:hot']);
        const left = [];
        for (let i = 0; i < 30; i++) if (await holds(`e:i${i}`)) left.push(i);
        expect(left).toEqual([]);
      });

      it('advance lastInvalidationAt', async () => {
        const { store } = await open();
        const t0 = performance.now();
        await store.invalidate(['t:x']);
        expect(store.lastInvalidationAt).toBeGreaterThanOrEqual(t0);
      });
    });

    describe('index growth', () => {
      it('prunes expired members on the next store under that index', async () => {
        const { store, indexSize } = await open();
        // Keys the store indexes together (a Redis store keeps an index per bucket, and a store
        // prunes its own bucket's).
        const [a, b, c] = together(3);
        // 1 s: both must still be there when the second is stored (under the sanitizer pass two
        // stores took more than the 50 ms they once had, and the second pruned the first).
        await store.putEntry(a, shortLived(1000), 1000, fill('/a', ['grow']));
        await store.putEntry(b, shortLived(1000), 1000, fill('/b', ['grow']));
        expect(await indexSize('t:grow')).toBe(2);
        await waitFor(async () => (await store.getEntry(b, null)) === null && (await store.getEntry(a, null)) === null,
          { what: 'both entries expired', timeout: 4000 });
        await store.putEntry(c, entry(), HOUR, fill('/c', ['grow']));
        expect(await indexSize('t:grow')).toBe(1);
      });

      it('sweep() deletes the indexes whose members have all expired, and keeps the others', async () => {
        const { store, indexSize } = await open();
        await store.putEntry('short', shortLived(50), 50, fill('/short/1', ['gone']));
        await store.putEntry('long', entry(), HOUR, fill('/long/1', ['kept']));
        await waitFor(async () => (await store.getEntry('short', null)) === null, { what: 'the entry expired', timeout: 2000 });
        await store.sweep();
        expect(await indexSize('t:gone')).toBeNull();
        expect(await indexSize('p:/short/1')).toBeNull();
        expect(await indexSize('s:/short/')).toBeNull();
        expect(await indexSize('t:kept')).toBe(1);
        expect(await indexSize('p:/long/1')).toBe(1);
        expect(await indexSize('s:/')).toBeGreaterThanOrEqual(1); // it lists a live entry
      });
    });

    describe('namespaces', () => {
      it('bumpNamespace resolves 1, 2, … and namespaceVersion follows', async () => {
        const { store } = await open();
        expect(store.namespaceVersion('ns')).toBe('0');
        expect(store.knownNamespaceVersion('ns')).toBeUndefined();
        await expect(store.bumpNamespace('ns')).resolves.toBe('1');
        await expect(store.bumpNamespace('ns')).resolves.toBe('2');
        expect(store.namespaceVersion('ns')).toBe('2');
        expect(store.knownNamespaceVersion('ns')).toBe('2');
        expect(store.namespaceVersion('other')).toBe('0');
      });

      it('a namespaced read sets fill.nsVersion and returns only an entry of that version', async () => {
        const { store, holds } = await open();
        const first = { ns: 'ns', nsVersion: undefined };
        expect(await store.getEntry('k', first)).toBeNull();
        expect(first.nsVersion).toBe('0');
        await store.putEntry('k', entry({ body: 'v0', nsVersion: '0' }), HOUR, fill());
        await store.putEntry('o', entry({ body: 'other', nsVersion: '0' }), HOUR, fill());
        expect((await store.getEntry('k', { ns: 'ns' })).body.toString()).toBe('v0');
        await store.bumpNamespace('ns');
        const after = { ns: 'ns' };
        expect(await store.getEntry('k', after)).toBeNull();
        expect(after.nsVersion).toBe('1');
        // Not deleted: it expires by itself (a late reader of the old version may still need it).
        expect(await holds('e:k')).toBe(true);
        // Another namespace is untouched.
        expect((await store.getEntry('o', { ns: 'other' })).body.toString()).toBe('other');
        await store.putEntry('k', entry({ body: 'v1', nsVersion: '1' }), HOUR, fill());
        expect((await store.getEntry('k', { ns: 'ns' })).body.toString()).toBe('v1');
      });

      it('a read without a namespace never returns a namespaced entry', async () => {
        const { store } = await open();
        await store.putEntry('k', entry({ nsVersion: '0' }), HOUR, fill());
        await expect(store.getEntry('k', null)).resolves.toBeNull();
        await store.putRecord('v:', 'k', record('v:', { nsVersion: '0' }), HOUR);
        await expect(store.getRecord('v:', 'k', null)).resolves.toBeNull();
      });

      either(['counts versions across instances, and an instance learns a bump from the announcement', async () => {
        const { store, openPeer } = await open();
        const { store: peer } = await openPeer();
        peer.listen();
        await peer.busReady;
        await store.bumpNamespace('ns');
        await expect(peer.bumpNamespace('ns')).resolves.toBe('2');
        await expect(store.bumpNamespace('ns')).resolves.toBe('3');
        await waitFor(() => peer.namespaceVersion('ns') === '3', { what: 'the peer learning version 3' });
      }], ['counts versions per instance: a bump in one changes nothing in another', async () => {
        const { store } = await open();
        const other = await another();
        await other.putEntry('k', entry({ body: 'v0', nsVersion: '0' }), HOUR, fill());
        await store.bumpNamespace('ns');
        await expect(store.bumpNamespace('ns')).resolves.toBe('2');
        expect(other.namespaceVersion('ns')).toBe('0');
        expect(other.knownNamespaceVersion('ns')).toBeUndefined();
        expect((await other.getEntry('k', { ns: 'ns' })).body.toString()).toBe('v0');
        await expect(other.bumpNamespace('ns')).resolves.toBe('1');
        expect(store.namespaceVersion('ns')).toBe('2');
      }]);

      either(['ignores an older announcement arriving late', async () => {
        const { store, announce } = await open();
        store.listen();
        await store.busReady;
        await store.bumpNamespace('ns');
        await store.bumpNamespace('ns');
        // Announcements arrive in the order they were published: once the one after it was
        // heard, the late one was handled.
        const heard = [];
        const after = new Promise((resolve) => store.on('invalidation', (names) => {
          heard.push(...names);
          if (names.includes('e:after')) resolve();
        }));
        await announce(JSON.stringify({ ns: 'ns', version: '1' }));
        await announce('e:after');
        await after;
        expect(heard).toContain('n:ns');
        expect(store.namespaceVersion('ns')).toBe('2');
      }], ['announces nothing: its own bumps, deletes and invalidations emit no "invalidation"', async () => {
        const { store } = await open();
        store.listen();
        await store.busReady;
        const heard = [];
        store.on('invalidation', (names) => heard.push(...names));
        await store.putEntry('k', entry(), HOUR, fill('/k', ['t']));
        await store.bumpNamespace('ns');
        await store.deleteEntry('k', true);
        await store.invalidate(['t:t']);
        await store.invalidateKeys('*');
        await settled(store);
        expect(heard).toEqual([]);
        expect(store.namespaceVersion('ns')).toBe('1');
      }]);
    });

    describe('locks', () => {
      either(['of concurrent tryLock calls exactly one wins, across instances', async () => {
        const { store, openPeer } = await open();
        const { store: peer } = await openPeer();
        const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? peer : store).tryLock('e:k', HOUR)));
        const won = tokens.filter((t) => t !== null);
        expect(won).toHaveLength(1);
        expect(typeof won[0] === 'string' && won[0].length).toBeGreaterThan(0);
      }], ['concurrent tryLock calls all resolve "" (nothing to coordinate: each caller fills)', async () => {
        const { store } = await open();
        const other = await another();
        const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).tryLock('e:k', HOUR)));
        expect(tokens).toEqual(Array(10).fill(''));
      }]);

      either(['unlock with the holder\'s token lets the next one win; another token does not', async () => {
        const { store, openPeer } = await open();
        const { store: peer } = await openPeer();
        const token = await store.tryLock('e:k', HOUR);
        const other = await peer.tryLock('e:other', HOUR);
        // unlock is fire and forget; the next command of the same instance comes after it (FIFO).
        store.unlock('e:k', other);
        await expect(store.tryLock('e:k', HOUR)).resolves.toBeNull();
        await expect(peer.tryLock('e:k', HOUR)).resolves.toBeNull();
        store.unlock('e:k', token);
        await expect(store.tryLock('e:k', HOUR)).resolves.toEqual(expect.any(String));
      }], ['unlock and release of its "" token hold nothing back: tryLock and acquire answer as before', async () => {
        const { store } = await open();
        const token = await store.tryLock('e:k', HOUR);
        expect(token).toBe('');
        store.unlock('e:k', token);
        store.release('e:k', token, true);
        store.release('e:k', token, false);
        await expect(store.tryLock('e:k', HOUR)).resolves.toBe('');
        await expect(store.acquire('e:k', () => Promise.resolve(null), { coalesceTimeout: 1000, lockTtl: 1000 }))
          .resolves.toEqual({ own: true });
      }]);

      // A lock that outlives its holder exists only where instances share locks.
      if (adapter.shared) it('a lock dies after its ttlMs', async () => {
        const { store, openPeer } = await open();
        const { store: peer } = await openPeer();
        // 1 s, not 50 ms: it must still be held when the peer tries it, a command later.
        expect(await store.tryLock('e:k', 1000)).not.toBeNull();
        await expect(peer.tryLock('e:k', HOUR)).resolves.toBeNull();
        await waitFor(async () => (await peer.tryLock('e:k', HOUR)) !== null, { what: 'the lock expired', timeout: 4000 });
      });

      either(['acquire: one instance fills, the waiter hears "filled" and reads the entry', async () => {
        const { store, openPeer } = await open();
        const { store: peer } = await openPeer();
        await Promise.all([store.busReady, peer.busReady]);
        const timing = { coalesceTimeout: 10000, lockTtl: 10000 };
        const leader = await store.acquire('e:k', () => store.getEntry('k', null), timing);
        expect(leader).toEqual({ token: expect.any(String) });
        // The waiter's first read and its lock attempt share a connection: once the read answered
        // (nothing yet), the lock attempt was refused, and the waiter waits for the notice.
        const firstRead = gate();
        const waiting = peer.acquire('e:k', () => peer.getEntry('k', null).then((e) => { firstRead.open(); return e; }), timing);
        await firstRead.promise;
        await store.putEntry('k', entry({ body: 'filled' }), HOUR, fill());
        store.release('e:k', leader.token, true);
        const decision = await waiting;
        expect(decision.waited).toBe(true);
        expect(decision.entry.body.toString()).toBe('filled');
        // Released: the lock is free again.
        await expect(peer.tryLock('e:k', HOUR)).resolves.toEqual(expect.any(String));
      }], ['acquire: concurrent callers, on one instance or two, each resolve { own: true } (no one waits)', async () => {
        const { store } = await open();
        const other = await another();
        const timing = { coalesceTimeout: 10000, lockTtl: 10000 };
        const decisions = await Promise.all([store, store, other].map((s) => s.acquire('e:k', () => s.getEntry('k', null), timing)));
        expect(decisions).toEqual([{ own: true }, { own: true }, { own: true }]);
      }]);

      // Waiting on another instance's lock happens only where instances share locks.
      if (adapter.shared) it('acquire: a failed fill sends the waiter to fill it itself', async () => {
        const { store, openPeer } = await open();
        const { store: peer } = await openPeer();
        await Promise.all([store.busReady, peer.busReady]);
        const timing = { coalesceTimeout: 10000, lockTtl: 10000 };
        const leader = await store.acquire('e:k', () => store.getEntry('k', null), timing);
        const firstRead = gate();
        const waiting = peer.acquire('e:k', () => peer.getEntry('k', null).then((e) => { firstRead.open(); return e; }), timing);
        await firstRead.promise;
        store.release('e:k', leader.token, false);
        await expect(waiting).resolves.toEqual({ own: true });
      });

      if (adapter.shared) it('acquire: a waiter takes over a lock whose holder never releases it, once it expires', async () => {
        const { store, openPeer } = await open();
        const { store: peer } = await openPeer();
        await Promise.all([store.busReady, peer.busReady]);
        expect(await store.tryLock('e:k', 100)).not.toBeNull();
        const decision = await peer.acquire('e:k', () => peer.getEntry('k', null), { coalesceTimeout: 5000, lockTtl: 100 });
        expect(decision).toEqual({ token: expect.any(String) });
      });

      either(['acquire: an entry already there is returned without taking the lock', async () => {
        const { store } = await open();
        await store.putEntry('k', entry({ body: 'there' }), HOUR, fill());
        const decision = await store.acquire('e:k', () => store.getEntry('k', null), { coalesceTimeout: 1000, lockTtl: 1000 });
        expect(decision.entry.body.toString()).toBe('there');
        expect(decision.token).toBeUndefined();
        await expect(store.tryLock('e:k', HOUR)).resolves.toEqual(expect.any(String));
      }], ['acquire: resolves { own: true } without reading, whatever is stored (the caller\'s lookup read it)', async () => {
        const { store } = await open();
        await store.putEntry('k', entry({ body: 'there' }), HOUR, fill());
        const read = jest.fn(() => store.getEntry('k', null));
        await expect(store.acquire('e:k', read, { coalesceTimeout: 1000, lockTtl: 1000 })).resolves.toEqual({ own: true });
        expect(read).not.toHaveBeenCalled();
      }]);
    });

    describe('records (values and vary records)', () => {
      it.each([['v:'], ['vr:']])('round-trip under %s', async (family) => {
        const { store } = await open();
        await store.putRecord(family, 'k', record(family, { status: 299, headers: ['a', 'b'], body: ALL_BYTES }), HOUR);
        const got = await store.getRecord(family, 'k', (e) => e.status === 299);
        expect(got).toMatchObject({ status: 299, headers: ['a', 'b'], tier: adapter.tier });
        expect(Buffer.compare(got.body, ALL_BYTES)).toBe(0);
      });

      either(['are read by another instance', async () => {
        const { store, openPeer } = await open();
        const { store: peer } = await openPeer();
        await store.putRecord('vr:', 'base', record('vr:', { body: 'record' }), HOUR);
        expect((await peer.getRecord('vr:', 'base', null)).body.toString()).toBe('record');
      }], ['are not read by another instance', async () => {
        const { store } = await open();
        const other = await another();
        await store.putRecord('vr:', 'base', record('vr:', { body: 'record' }), HOUR);
        await store.putRecord('v:', 'value', record('v:', { body: 'value' }), HOUR);
        await expect(other.getRecord('vr:', 'base', null)).resolves.toBeNull();
        await expect(other.getRecord('v:', 'value', null)).resolves.toBeNull();
        expect((await store.getRecord('vr:', 'base', null)).body.toString()).toBe('record');
      }]);
    });

    describe('events', () => {
      it('publish delivers an application event to this instance', async () => {
        const { store } = await open();
        await store.listenForEvents();
        const heard = once(store, 'event');
        await store.publish('{"event":"x","payload":1}');
        const [payload] = await heard;
        expect(Buffer.isBuffer(payload) && payload.toString()).toBe('{"event":"x","payload":1}');
      });

      either(['publish delivers an application event to every instance on the backing', async () => {
        const { store, openPeer } = await open();
        const { store: peer } = await openPeer();
        await Promise.all([store.listenForEvents(), peer.listenForEvents()]);
        const heard = [once(store, 'event'), once(peer, 'event')];
        await store.publish('"hello"');
        for (const [payload] of await Promise.all(heard)) expect(payload.toString()).toBe('"hello"');
      }], ['an event of one instance does not reach another', async () => {
        const { store } = await open();
        const other = await another();
        await Promise.all([store.listenForEvents(), other.listenForEvents()]);
        const heardByOther = [];
        other.on('event', (payload) => heardByOther.push(payload.toString()));
        const heard = once(store, 'event');
        await store.publish('"mine"');
        await heard;
        // The other instance's own event comes on a later turn than any delivery of ours would.
        await settled(other);
        expect(heardByOther).toEqual(['"settled"']);
      }]);

      either(['another instance hears deletes, bumps and index invalidations', async () => {
        const { store, openPeer } = await open();
        const { store: peer } = await openPeer();
        peer.listen();
        await peer.busReady;
        const names = [];
        peer.on('invalidation', (n) => names.push(...n));
        await store.putEntry('t1', entry(), HOUR, fill('/t/1', ['t']));
        await store.putEntry('t2', entry(), HOUR, fill('/t/2', ['t']));
        const before = peer.lastInvalidationAt;
        await store.deleteEntry('gone', true);
        await store.bumpNamespace('ns');
        await store.invalidate(['t:t']);
        await waitFor(() => names.length >= 4, { what: 'four names announced' });
        expect(names.sort()).toEqual(['e:gone', 'e:t1', 'e:t2', 'n:ns']);
        expect(peer.lastInvalidationAt).toBeGreaterThan(before);
      }], ['another instance keeps its entries and versions through deletes, bumps and index invalidations', async () => {
        const { store } = await open();
        const other = await another();
        const early = fill('/t/2', ['t']);
        for (const s of [store, other]) {
          await s.putEntry('t1', entry(), HOUR, fill('/t/1', ['t']));
          await s.putEntry('gone', entry({ nsVersion: '0' }), HOUR, fill('/gone'));
        }
        await store.deleteEntry('gone', true);
        await store.bumpNamespace('ns');
        await expect(store.invalidate(['t:t'])).resolves.toBe(1);
        await expect(store.invalidateKeys('*')).resolves.toBe(0);
        expect(other.lastInvalidationAt).toBe(-1);
        expect(other.namespaceVersion('ns')).toBe('0');
        expect(await other.getEntry('t1', null)).not.toBeNull();
        expect(await other.getEntry('gone', { ns: 'ns' })).not.toBeNull();
        // Its fills are not fenced by the other instance's invalidations either.
        await expect(other.putEntry('t2', entry(), HOUR, early)).resolves.toBe(true);
        await expect(store.putEntry('t2', entry(), HOUR, early)).resolves.toBe(false);
      }]);
    });

    describe('after close()', () => {
      it('rejects every I/O operation with CacheClosedError, and a second close() resolves', async () => {
        const { store } = await open();
        await store.putEntry('k', entry(), HOUR, fill());
        await store.close();
        expect(store.status).toBe('closed');
        const calls = {
          getEntry: () => store.getEntry('k', null),
          namespacedGetEntry: () => store.getEntry('k', { ns: 'ns' }),
          putEntry: () => store.putEntry('k', entry(), HOUR, fill()),
          getRecord: () => store.getRecord('v:', 'k', null),
          putRecord: () => store.putRecord('v:', 'k', record('v:'), HOUR),
          deleteEntry: () => store.deleteEntry('k', true),
          invalidate: () => store.invalidate(['t:x']),
          invalidateKeys: () => store.invalidateKeys('*'),
          bumpNamespace: () => store.bumpNamespace('ns'),
          publish: () => store.publish('"x"'),
        };
        const outcomes = {};
        for (const [op, call] of Object.entries(calls)) {
          outcomes[op] = await call().then((v) => `resolved ${v}`, (err) => (err instanceof CacheClosedError ? err.code : String(err)));
        }
        expect(outcomes).toEqual(Object.fromEntries(Object.keys(calls).map((op) => [op, 'ERR_RESPCACHE_REDIS_CLOSED'])));
        await expect(store.close()).resolves.toBeUndefined();
      });
    });
  });
}

module.exports = { runStoreSuite, entry, fill, HOUR, pastFenceResolution };
