'use strict';

// The native in-process store as JavaScript reaches it: bytes in and out, expiry, LRU eviction by
// bytes, the lifetime of Buffers it hands out, its counters and its argument checks.
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

    it('keeps its own copy, so the caller may reuse its Buffer', () => {
      const store = new binding.LocalStore(1 << 20);
      const bytes = Buffer.from('original');
      store.set('k', bytes, 10000);
      bytes.fill(0);
      expect(store.get('k').toString()).toBe('original');
    });

    it('gives back an empty payload as an empty Buffer', () => {
      const store = new binding.LocalStore(1 << 20);
      expect(store.set('k', Buffer.alloc(0), 10000)).toBe(true);
      const got = store.get('k');
      expect(Buffer.isBuffer(got)).toBe(true);
      expect(got.length).toBe(0);
    });

    it('replaces the previous value under the same key', () => {
      const store = new binding.LocalStore(1 << 20);
      store.set('k', Buffer.from('first'), 10000);
      store.set('k', Buffer.from('second value'), 10000);
      expect(store.get('k').toString()).toBe('second value');
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
      store.set('short', Buffer.from('v'), 30);
      store.set('long', Buffer.from('v'), 60000);
      expect(store.get('short').toString()).toBe('v');
      await sleep(60);
      expect(store.get('short')).toBeNull();
      expect(store.get('long').toString()).toBe('v');
      expect(store.stats()).toMatchObject({ entries: 1, expirations: 1, misses: 1, hits: 2 });
    });

    it('lets purgeExpired() remove expired items without looking them up', async () => {
      const store = new binding.LocalStore(1 << 20);
      store.set('a', Buffer.from('1'), 30);
      store.set('b', Buffer.from('2'), 30);
      store.set('c', Buffer.from('3'), 60000);
      expect(store.purgeExpired()).toBe(0);
      await sleep(60);
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
    // Up to 8 KiB a hit is a copy in a slab shared with other hits; beyond, a view of the stored bytes.
    const SMALL = 1000;
    const LARGE = 20000;

    it('is a copy for a small payload: writing into it changes neither the store nor other hits', () => {
      const store = new binding.LocalStore(1 << 20);
      store.set('k', Buffer.from('shared'), 10000);
      const a = store.get('k');
      const b = store.get('k');
      a[0] = 0x53;  // 'S'
      expect(b.toString()).toBe('shared');
      expect(store.get('k').toString()).toBe('shared');
    });

    it('is a view of the one stored copy for a large payload, not a copy per hit (readers must not modify it)', () => {
      const store = new binding.LocalStore(1 << 20);
      store.set('k', Buffer.alloc(LARGE, 's'), 10000);
      const a = store.get('k');
      const b = store.get('k');
      a[0] = 0x53;  // 'S'
      expect(b[0]).toBe(0x53);
      a[0] = 0x73;
      expect(store.get('k').equals(Buffer.alloc(LARGE, 's'))).toBe(true);
    });

    it('never changes while later hits fill and replace the slabs it shares', () => {
      const store = new binding.LocalStore(1 << 20);
      const payloads = [];
      for (let i = 0; i < 40; i++) {
        const p = Buffer.alloc(1 + ((i * 997) % 8192));
        for (let j = 0; j < p.length; j++) p[j] = (i * 31 + j) & 0xff;
        payloads.push(p);
        store.set(`k${i}`, p, 10000);
      }
      const held = [];
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < payloads.length; i++) {
          const got = store.get(`k${i}`);
          if ((round + i) % 7 === 0) held.push([got, i]);
        }
      }
      expect(held.every(([got, i]) => got.equals(payloads[i]))).toBe(true);
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
    const nativeGet = Object.getPrototypeOf(binding.LocalStore.prototype).get;
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
      // The addon's own get(key, slab, offset, maxCopy), which lib/binding.js calls.
      ['get() with a slab that is not a Buffer', () => nativeGet.call(store, 'k', 'slab', 0, 10), TypeError, 'get(key, slab, offset, maxCopy): slab must be a Buffer'],
      ['get() with a fractional offset', () => nativeGet.call(store, 'k', Buffer.alloc(10), 0.5, 10), TypeError, 'offset an integer'],
      ['get() without maxCopy', () => nativeGet.call(store, 'k', Buffer.alloc(10), 0), TypeError, 'maxCopy a number'],
      ['get() with an offset beyond the slab', () => nativeGet.call(store, 'k', Buffer.alloc(10), 11, 10), RangeError, 'offset is beyond the slab'],
    ])('throws on %s', (_, call, type, message) => {
      expect(call).toThrow(expect.objectContaining({ name: type.name, message: expect.stringContaining(message) }));
    });

    it('is constructed only with new', () => {
      expect(() => binding.LocalStore(1024)).toThrow(expect.objectContaining({ name: 'TypeError' }));
    });

    it('copies into the slab only what fits there and within maxCopy', () => {
      const s = new binding.LocalStore(1 << 20);
      s.set('k', Buffer.from('0123456789'), 10000);
      const slab = Buffer.alloc(16, 0xff);
      expect(nativeGet.call(s, 'k', slab, 4, 10)).toBe(10);
      expect(slab.toString('latin1', 4, 14)).toBe('0123456789');
      expect(slab[3]).toBe(0xff);
      expect(slab[14]).toBe(0xff);
      for (const [offset, maxCopy] of [[7, 10], [4, 9]]) {
        const got = nativeGet.call(s, 'k', slab, offset, maxCopy);
        expect(Buffer.isBuffer(got)).toBe(true);
        expect(got.toString()).toBe('0123456789');
      }
      expect(nativeGet.call(s, 'absent', slab, 0, 10)).toBeNull();
    });

    it('leaves the store as it was after a refused call', () => {
      const s = new binding.LocalStore(1024);
      s.set('k', Buffer.from('v'), 10000);
      expect(() => s.set('k', Buffer.from('w'), 0)).toThrow();
      expect(() => nativeGet.call(s, 'k', Buffer.alloc(4), 5, 4)).toThrow();
      expect(s.get('k').toString()).toBe('v');
      expect(s.stats()).toMatchObject({ hits: 1, misses: 0 });
    });
  });
});
