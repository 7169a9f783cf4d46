'use strict';

// The native in-process store as JavaScript reaches it: Buffers held by reference and handed back
// as themselves, expiry, LRU eviction by bytes, when it lets go of a Buffer, its counters and its
// argument checks.
const { spawn } = require('child_process');
const path = require('path');
const binding = require('../../lib/binding');

const bindingPath = path.join(__dirname, '..', '..', 'lib', 'binding.js');

function runChild(source, args = []) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...args, '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until more than `ms` have passed since `t0` (performance.now(), taken after the set())
 * by the monotonic clock the store reads (steady_clock, whole milliseconds): a single setTimeout
 * counts from the loop's cached time and can end a few milliseconds early.
 */
async function past(t0, ms) {
  while (performance.now() - t0 < ms + 5) await sleep(5);
}

// Mirrors LocalStore::kItemOverhead: what each item costs beyond its key and payload bytes.
const OVERHEAD = 64;
const itemSize = (key, payload) => Buffer.byteLength(key) + payload.length + OVERHEAD;

describe('LocalStore', () => {
  describe('when an item is set', () => {
    it('gives back the same bytes, binary ones included', () => {
      const store = new binding.LocalStore(1 << 20);
      const bytes = Buffer.from([0, 255, 1, 254, 0, 10, 13, 0x80]);
      expect(store.set('k', bytes, 10000)).toBe(true);
      const got = store.get('k');
      expect(Buffer.isBuffer(got)).toBe(true);
      expect(got.equals(bytes)).toBe(true);
    });

    it('holds the Buffer it was given, not a copy: get() returns that very Buffer', () => {
      const store = new binding.LocalStore(1 << 20);
      const original = Buffer.from('original');
      store.set('k', original, 10000);
      expect(store.get('k')).toBe(original);
      expect(store.get('k')).toBe(store.get('k'));
    });

    it('shares it with the caller, so the caller must not modify it after set() (a write shows in every later get())', () => {
      // The contract that replaced copy-in: lib only stores encoded entries, never written again.
      const store = new binding.LocalStore(1 << 20);
      const bytes = Buffer.from('original');
      store.set('k', bytes, 10000);
      bytes.fill(0x2a);
      expect(store.get('k').toString()).toBe('********');
    });

    it('gives back an empty payload as the empty Buffer it was given', () => {
      const store = new binding.LocalStore(1 << 20);
      const empty = Buffer.alloc(0);
      expect(store.set('k', empty, 10000)).toBe(true);
      expect(store.get('k')).toBe(empty);
      expect(store.stats().bytes).toBe(itemSize('k', empty));
    });

    it('accounts a view by its own byteLength and hands back the view itself', () => {
      const store = new binding.LocalStore(1 << 20);
      const whole = Buffer.alloc(1000, 7);
      const view = whole.subarray(100, 350);
      expect(store.set('k', view, 10000)).toBe(true);
      expect(store.stats().bytes).toBe(itemSize('k', view));
      expect(store.stats().bytes).toBe(1 + 250 + OVERHEAD);
      const got = store.get('k');
      expect(got).toBe(view);
      expect(got.byteOffset).toBe(view.byteOffset);
    });

    it('replaces the previous value under the same key', () => {
      const store = new binding.LocalStore(1 << 20);
      const first = Buffer.from('first');
      const second = Buffer.from('second value');
      store.set('k', first, 10000);
      store.set('k', second, 10000);
      expect(store.get('k')).toBe(second);
      expect(store.stats()).toMatchObject({ entries: 1, bytes: itemSize('k', Buffer.from('second value')) });
    });

    it('keeps keys apart by their exact text', () => {
      const store = new binding.LocalStore(1 << 20);
      for (const key of ['a', 'A', 'a ', 'a\u0000b', 'é', 'e\u0301']) store.set(key, Buffer.from(key), 10000);
      for (const key of ['a', 'A', 'a ', 'a\u0000b', 'é', 'e\u0301']) expect(store.get(key).toString()).toBe(key);
      expect(store.get('a\u0000c')).toBeNull();
      expect(store.stats().entries).toBe(6);
    });

    it('handles keys longer than the stack buffer the binding reads them into', () => {
      const store = new binding.LocalStore(1 << 20);
      // Around the 256-byte buffer, with 2-, 3- and 4-byte characters straddling its end.
      const keys = [];
      for (let n = 245; n <= 260; n++) {
        for (const ch of ['x', 'é', '€', '😀']) keys.push('k'.repeat(n) + ch + ch);
      }
      keys.push('long:'.repeat(2000));
      for (const key of keys) expect(store.set(key, Buffer.from(key), 10000)).toBe(true);
      for (const key of keys) expect(store.get(key).toString()).toBe(key);
      expect(store.get('k'.repeat(245) + 'x')).toBeNull();
      expect(store.stats().entries).toBe(keys.length);
    });
  });

  describe('when an item is looked up', () => {
    it('answers null for a key never set', () => {
      const store = new binding.LocalStore(1 << 20);
      expect(store.get('nothing')).toBeNull();
    });

    it('answers null once its ttl has passed, and forgets it', async () => {
      const store = new binding.LocalStore(1 << 20);
      // 200 ms: it must still be there at the get() right after (a loaded machine can pause
      // longer than 30 ms between two calls).
      store.set('short', Buffer.from('v'), 200);
      const t0 = performance.now();
      store.set('long', Buffer.from('v'), 60000);
      expect(store.get('short').toString()).toBe('v');
      await past(t0, 200);
      expect(store.get('short')).toBeNull();
      expect(store.get('long').toString()).toBe('v');
      expect(store.stats()).toMatchObject({ entries: 1, expirations: 1, misses: 1, hits: 2 });
    });

    it('lets purgeExpired() remove expired items without looking them up', async () => {
      const store = new binding.LocalStore(1 << 20);
      store.set('a', Buffer.from('1'), 200);
      store.set('b', Buffer.from('2'), 200);
      const t0 = performance.now();
      store.set('c', Buffer.from('3'), 60000);
      expect(store.purgeExpired()).toBe(0);
      await past(t0, 200);
      expect(store.purgeExpired()).toBe(2);
      expect(store.stats()).toMatchObject({ entries: 1, expirations: 2, misses: 0 });
    });
  });

  describe('when the store is full', () => {
    const payload = Buffer.alloc(100, 1);
    const size = itemSize('k0', payload);

    it('evicts the least recently used items, and a get() makes an item recent', () => {
      const store = new binding.LocalStore(3 * size);
      for (const key of ['k0', 'k1', 'k2']) expect(store.set(key, payload, 10000)).toBe(true);
      expect(store.get('k0')).not.toBeNull();  // k1 is now the least recently used
      store.set('k3', payload, 10000);
      expect(store.get('k1')).toBeNull();
      for (const key of ['k0', 'k2', 'k3']) expect(store.get(key)).not.toBeNull();
      expect(store.stats()).toMatchObject({ entries: 3, bytes: 3 * size, maxBytes: 3 * size, evictions: 1 });
    });

    it('never holds more bytes than maxBytes', () => {
      const store = new binding.LocalStore(10000);
      for (let i = 0; i < 2000; i++) {
        store.set(`key:${i % 150}`, Buffer.alloc((i * 37) % 900), 10000);
        if (i % 3 === 0) store.get(`key:${(i * 7) % 150}`);
        expect(store.stats().bytes).toBeLessThanOrEqual(10000);
      }
      expect(store.stats().evictions).toBeGreaterThan(0);
    });

    it('refuses an item larger than the whole store, dropping the old value', () => {
      const store = new binding.LocalStore(1000);
      expect(store.set('k', Buffer.from('old'), 10000)).toBe(true);
      expect(store.set('other', Buffer.from('v'), 10000)).toBe(true);
      expect(store.set('k', Buffer.alloc(1000 - OVERHEAD), 10000)).toBe(false);  // 1 byte over
      expect(store.get('k')).toBeNull();
      expect(store.get('other').toString()).toBe('v');
      expect(store.set('k', Buffer.alloc(1000 - OVERHEAD - 1), 10000)).toBe(true);  // exactly fits
      expect(store.stats()).toMatchObject({ entries: 1, bytes: 1000 });
    });
  });

  describe('a Buffer returned by get()', () => {
    // One Buffer, whatever its size: the one set() was given, handed back by reference.
    const SMALL = 1000;
    const LARGE = 20000;

    it.each([['small', SMALL], ['large', LARGE], ['100 KB', 100 * 1024]])('is the Buffer set() was given, the same object on every hit (%s payload)', (_, size) => {
      const store = new binding.LocalStore(1 << 20);
      const original = Buffer.alloc(size, 's');
      store.set('k', original, 10000);
      const hits = Array.from({ length: 100 }, () => store.get('k'));
      expect(hits.every((hit) => hit === original)).toBe(true);
      expect(store.stats()).toMatchObject({ hits: 100, bytes: itemSize('k', original) });
    });

    it('is shared by every reader, so readers must not modify it (a write through one hit shows in the next)', () => {
      const store = new binding.LocalStore(1 << 20);
      store.set('k', Buffer.from('shared'), 10000);
      const a = store.get('k');
      a[0] = 0x53;  // 'S'
      expect(store.get('k').toString()).toBe('Shared');
    });

    it('is replaced by a later set(), while a reader that holds the old one keeps it unchanged', () => {
      const store = new binding.LocalStore(1 << 20);
      const first = Buffer.from('first');
      store.set('k', first, 10000);
      const held = store.get('k');
      const second = Buffer.from('second');
      store.set('k', second, 10000);
      expect(store.get('k')).toBe(second);
      expect(held).toBe(first);
      expect(held.toString()).toBe('first');
    });

    it.each([['small', SMALL], ['large', LARGE]])('stays intact after its item is evicted and the store refilled (%s payload)', (_, size) => {
      const store = new binding.LocalStore(4 * (size + 100));
      const original = Buffer.alloc(size);
      for (let i = 0; i < original.length; i++) original[i] = (i * 31 + 7) & 0xff;
      store.set('k', original, 10000);
      const held = store.get('k');
      const again = store.get('k');
      expect(held.equals(original)).toBe(true);
      for (let round = 0; round < 50; round++) {
        store.set('k', Buffer.alloc(size, round), 10000);  // replaced in place
        for (let i = 0; i < 10; i++) store.set(`fill:${round}:${i}`, Buffer.alloc(size - 100, 0xee), 10000);
        store.get('k');
        if (global.gc) global.gc();
      }
      expect(store.stats().evictions).toBeGreaterThan(100);
      // Garbage to reuse freed memory, whether or not gc is exposed.
      const garbage = Array.from({ length: 200 }, () => Buffer.alloc(size, 0xaa));
      expect(garbage.length).toBe(200);
      expect(held.equals(original)).toBe(true);
      expect(again.equals(original)).toBe(true);
    });

    it.each([['small', SMALL], ['large', LARGE]])('outlives the store itself (%s payload)', (_, size) => {
      let held;
      (() => {
        const store = new binding.LocalStore(1 << 20);
        store.set('k', Buffer.alloc(size, 'survivor'), 10000);
        held = store.get('k');
      })();
      if (global.gc) global.gc();
      expect(held.equals(Buffer.alloc(size, 'survivor'))).toBe(true);
    });

    it.each([['small', SMALL], ['large', LARGE]])('survives garbage collection of the store and of its Buffers (--expose-gc, %s payloads)', async (_, size) => {
      const r = await runChild(`
        const { LocalStore } = require(${JSON.stringify(bindingPath)});
        let held = [];
        (() => {
          const store = new LocalStore(64 * ${size});
          for (let i = 0; i < 500; i++) {
            store.set('k' + (i % 40), Buffer.alloc(${size}, i & 0xff), 60000);
            const got = store.get('k' + ((i * 7) % 40));
            if (got && i % 5 === 0) held.push([got, got[0]]);
          }
        })();
        global.gc();
        const garbage = Array.from({ length: 500 }, () => Buffer.alloc(${size}, 0xaa));
        const intact = held.length > 0 && held.every(([b, v]) => b.length === ${size} && b.every((x) => x === v));
        held = null;
        global.gc();
        console.log(intact, garbage.length);
      `, ['--expose-gc']);
      expect(r).toMatchObject({ code: 0, signal: null });
      expect(r.output.trim()).toBe('true 500');
    });
  });

  describe('when the store lets go of a Buffer', () => {
    // In a child under --expose-gc: each scenario registers the Buffers it gives set() with a
    // FinalizationRegistry and drops its own references, so a Buffer is collected only once the
    // store has deleted its reference to it, and never while the store still holds it.
    const prelude = `
      const { LocalStore } = require(${JSON.stringify(bindingPath)});
      const { Worker } = require('worker_threads');
      const collected = new Set();
      const registry = new FinalizationRegistry((name) => collected.add(name));
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      // Until more than ms have passed since t0 (taken after the set) by the store's clock (one
      // setTimeout can end early).
      const past = async (t0, ms) => { while (performance.now() - t0 < ms + 5) await sleep(5); };
      // A fresh Buffer of its own under key, registered as name; nothing else keeps it.
      const put = (store, key, name, ttlMs = 60000, size = 100) => {
        const b = Buffer.alloc(size, name.length);
        registry.register(b, name);
        return store.set(key, b, ttlMs);
      };
      // Collects until every name in want is collected (or 60 rounds), then a few rounds more,
      // so a Buffer released too early has its chance to show up too.
      async function collect(want) {
        for (let i = 0; i < 60 && !want.every((n) => collected.has(n)); i++) { global.gc(); await sleep(5); }
        for (let i = 0; i < 5; i++) { global.gc(); await sleep(5); }
        return [...collected].sort();
      }
    `;

    it('releases each Buffer once its item is evicted, expires, is deleted, replaced, refused or cleared, and not before', async () => {
      const r = await runChild(`${prelude}
        (async () => {
          const item = 1 + 100 + ${OVERHEAD};
          const stores = [];  // every store stays alive to the end
          const keep = (s) => (stores.push(s), s);
          const out = {};

          const held = keep(new LocalStore(1 << 20));
          put(held, 'k', 'held');
          for (let i = 0; i < 5; i++) put(held, 'x' + i, 'held:' + i);
          out.whileHeld = await collect([]);

          const lru = keep(new LocalStore(2 * item));
          put(lru, 'a', 'evicted'); put(lru, 'b', 'live:b'); put(lru, 'c', 'live:c');
          const del = keep(new LocalStore(1 << 20));
          put(del, 'a', 'deleted'); del.delete('a');
          put(del, 'p:1', 'prefix:1'); put(del, 'p:2', 'prefix:2'); put(del, 'q', 'live:q'); del.deletePrefix('p:');
          const ttl = keep(new LocalStore(1 << 20));
          put(ttl, 'g', 'expired:get', 20); put(ttl, 'p', 'expired:purge', 20);
          const ttlSet = performance.now();
          put(ttl, 'l', 'live:l');
          const rep = keep(new LocalStore(1 << 20));
          put(rep, 'k', 'replaced'); put(rep, 'k', 'live:replacement');
          const big = keep(new LocalStore(item));
          put(big, 'k', 'refused:old');
          out.refused = put(big, 'k', 'refused:new', 60000, 101);
          const clr = keep(new LocalStore(1 << 20));
          put(clr, 'a', 'cleared:a'); put(clr, 'b', 'cleared:b'); clr.clear();
          await past(ttlSet, 20);
          out.expiredGet = ttl.get('g'); ttl.purgeExpired();

          out.after = await collect(['evicted', 'deleted', 'prefix:1', 'prefix:2', 'expired:get', 'expired:purge',
            'replaced', 'refused:old', 'refused:new', 'cleared:a', 'cleared:b']);
          out.stillThere = [[lru, 'b'], [lru, 'c'], [del, 'q'], [ttl, 'l'], [rep, 'k'], [held, 'k']]
            .every(([s, k]) => Buffer.isBuffer(s.get(k)) && s.get(k).length === 100);
          out.stores = stores.length;
          console.log(JSON.stringify(out));
        })();
      `, ['--expose-gc']);
      expect(r).toMatchObject({ code: 0, signal: null });
      const out = JSON.parse(r.output.trim());
      expect(out.whileHeld).toEqual([]);
      expect(out.refused).toBe(false);
      expect(out.expiredGet).toBeNull();
      expect(out.after).toEqual(['cleared:a', 'cleared:b', 'deleted', 'evicted', 'expired:get', 'expired:purge',
        'prefix:1', 'prefix:2', 'refused:new', 'refused:old', 'replaced']);
      expect(out.stillThere).toBe(true);
    });

    it('releases every Buffer it still holds when the store itself is collected', async () => {
      const r = await runChild(`${prelude}
        (async () => {
          (() => {
            const store = new LocalStore(1 << 20);
            for (let i = 0; i < 50; i++) put(store, 'k' + i, 'item:' + i, i % 2 ? 60000 : 1);
          })();
          const got = await collect(Array.from({ length: 50 }, (_, i) => 'item:' + i));
          console.log(got.length);
        })();
      `, ['--expose-gc']);
      expect(r).toMatchObject({ code: 0, signal: null });
      expect(r.output.trim()).toBe('50');
    });

    it('lets go of its Buffers cleanly when its environment is torn down (worker threads, process exit)', async () => {
      const r = await runChild(`${prelude}
        (async () => {
          const worker = (source) => new Promise((resolve, reject) => {
            const w = new Worker(source, { eval: true });
            w.on('error', reject);
            w.on('exit', resolve);
          });
          const body = \`
            const { LocalStore } = require(\${JSON.stringify(${JSON.stringify(bindingPath)})});
            const stores = [];
            for (let s = 0; s < 3; s++) {
              const store = new LocalStore(1 << 20);
              for (let i = 0; i < 100; i++) store.set('k' + i, Buffer.alloc(1000, i), 60000);
              store.get('k1');
              stores.push(store);
            }
            globalThis.keep = stores;
          \`;
          // A worker that ends on its own, one terminated while it still runs, one that exits.
          const codes = [await worker(body)];
          // Terminated once it has filled its stores and runs on (a worker terminated before its
          // code ran exits 0, as one that ended on its own).
          const w = new Worker(body + "require('worker_threads').parentPort.postMessage('filled'); setInterval(() => {}, 1000);", { eval: true });
          await new Promise((resolve) => w.once('message', resolve));
          codes.push(await w.terminate());
          codes.push(await worker(body + 'process.exit(3);'));
          console.log(JSON.stringify(codes));
          // And the main environment exits with a full store.
          globalThis.store = new LocalStore(1 << 20);
          for (let i = 0; i < 100; i++) put(globalThis.store, 'k' + i, 'main:' + i);
          process.exit(0);
        })();
      `, ['--expose-gc']);
      expect(r).toMatchObject({ code: 0, signal: null });
      expect(r.output.trim()).toBe('[0,1,3]');
    });
  });

  describe('deleting', () => {
    it('delete() removes one key and says whether it was there', () => {
      const store = new binding.LocalStore(1 << 20);
      store.set('k', Buffer.from('v'), 10000);
      expect(store.delete('k')).toBe(true);
      expect(store.delete('k')).toBe(false);
      expect(store.get('k')).toBeNull();
    });

    it('deletePrefix() removes every key that starts with the prefix', () => {
      const store = new binding.LocalStore(1 << 20);
      for (const key of ['user:1', 'user:2', 'user:10', 'users', 'product:1']) store.set(key, Buffer.from(key), 10000);
      expect(store.deletePrefix('user:')).toBe(3);
      expect(store.deletePrefix('user:')).toBe(0);
      expect(store.get('users').toString()).toBe('users');
      expect(store.get('product:1').toString()).toBe('product:1');
      expect(store.stats().entries).toBe(2);
    });

    it('clear() removes everything and keeps the counters', () => {
      const store = new binding.LocalStore(1 << 20);
      store.set('a', Buffer.from('1'), 10000);
      store.set('b', Buffer.from('2'), 10000);
      store.get('a');
      store.get('zzz');
      expect(store.clear()).toBeUndefined();
      expect(store.get('a')).toBeNull();
      expect(store.stats()).toEqual({
        entries: 0, bytes: 0, maxBytes: 1 << 20, hits: 1, misses: 2, evictions: 0, expirations: 0,
      });
    });
  });

  describe('stats()', () => {
    it('counts entries, accounted bytes, hits, misses, evictions and expirations', () => {
      const payload = Buffer.alloc(50);
      const store = new binding.LocalStore(2 * itemSize('a', payload));
      expect(store.stats()).toEqual({
        entries: 0, bytes: 0, maxBytes: 2 * itemSize('a', payload), hits: 0, misses: 0, evictions: 0, expirations: 0,
      });
      store.set('a', payload, 10000);
      store.set('b', payload, 10000);
      store.get('a');
      store.get('a');
      store.get('c');
      store.set('c', payload, 10000);  // evicts b
      expect(store.stats()).toEqual({
        entries: 2,
        bytes: 2 * itemSize('a', payload),
        maxBytes: 2 * itemSize('a', payload),
        hits: 2,
        misses: 1,
        evictions: 1,
        expirations: 0,
      });
    });

    it('keeps stores apart', () => {
      const a = new binding.LocalStore(1 << 20);
      const b = new binding.LocalStore(1 << 20);
      a.set('k', Buffer.from('in a'), 10000);
      expect(b.get('k')).toBeNull();
      expect(a.stats().entries).toBe(1);
      expect(b.stats()).toMatchObject({ entries: 0, misses: 1 });
    });
  });

  describe('when called with bad arguments', () => {
    const store = new binding.LocalStore(1024);
    // By name: errors made in native code belong to Node's realm, not to Jest's sandbox.
    it.each([
      ['a maxBytes that is not a number', () => new binding.LocalStore('1024'), TypeError, 'LocalStore(maxBytes): maxBytes must be a number'],
      ['a missing maxBytes', () => new binding.LocalStore(), TypeError, 'maxBytes must be a number'],
      ['a negative maxBytes', () => new binding.LocalStore(-1), RangeError, 'LocalStore(maxBytes): maxBytes must be an integer number of bytes, 0..9007199254740991'],
      ['a fractional maxBytes', () => new binding.LocalStore(1.5), RangeError, 'maxBytes must be an integer'],
      ['an infinite maxBytes', () => new binding.LocalStore(Infinity), RangeError, 'maxBytes must be an integer'],
      ['get() with a key that is not a string', () => store.get(1), TypeError, 'get(): key must be a string'],
      ['set() with a key that is not a string', () => store.set(Buffer.from('k'), Buffer.from('v'), 10), TypeError, 'set(): key must be a string'],
      ['set() with a payload that is not a Buffer', () => store.set('k', 'v', 10), TypeError, 'set(): payload must be a Buffer'],
      ['set() without a ttl', () => store.set('k', Buffer.from('v')), TypeError, 'set(): ttlMs must be a number'],
      ['set() with a zero ttl', () => store.set('k', Buffer.from('v'), 0), RangeError, 'set(): ttlMs must be a number of milliseconds, 1..9007199254740991'],
      ['set() with a negative ttl', () => store.set('k', Buffer.from('v'), -5), RangeError, 'ttlMs must be'],
      ['set() with a NaN ttl', () => store.set('k', Buffer.from('v'), NaN), RangeError, 'ttlMs must be'],
      ['set() with a ttl beyond 2^53', () => store.set('k', Buffer.from('v'), 2 ** 54), RangeError, 'ttlMs must be'],
      ['delete() without a key', () => store.delete(), TypeError, 'delete(): key must be a string'],
      ['deletePrefix() with a prefix that is not a string', () => store.deletePrefix(null), TypeError, 'deletePrefix(): prefix must be a string'],
    ])('throws on %s', (_, call, type, message) => {
      expect(call).toThrow(expect.objectContaining({ name: type.name, message: expect.stringContaining(message) }));
    });

    it('is constructed only with new', () => {
      expect(() => binding.LocalStore(1024)).toThrow(expect.objectContaining({ name: 'TypeError' }));
    });

    it('leaves the store as it was after a refused call', () => {
      const s = new binding.LocalStore(1024);
      s.set('k', Buffer.from('v'), 10000);
      expect(() => s.set('k', Buffer.from('w'), 0)).toThrow();
      expect(() => s.set('k', 'w', 10000)).toThrow();
      expect(() => s.get(7)).toThrow();
      expect(s.get('k').toString()).toBe('v');
      expect(s.stats()).toMatchObject({ entries: 1, hits: 1, misses: 0 });
    });
  });
});
