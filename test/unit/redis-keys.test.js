'use strict';

// The Redis key layout (lib/stores/redis-keys.js): the bucket tags against Redis Cluster's slot
// function (cluster-key-slot, and once a real cluster-enabled redis-server), how keys spread over
// the masters of a default 3-master cluster, and names that can never collide.
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const keySlot = require('cluster-key-slot');
const { BUCKETS_CLUSTER, TAGS, SLOTS, layout, fnv1a32 } = require('../../lib/stores/redis-keys');
const { startRedis, freePort } = require('../helpers/redis');

/** FNV-1a-32 as its definition reads, over the bytes Buffer.from(text) encodes. */
function fnvOfBytes(text) {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) h = Number((BigInt((h ^ byte) >>> 0) * 0x01000193n) % 0x100000000n);
  return h;
}

describe('the bucket tags', () => {
  it('are 64 distinct two-character tags of [0-9a-zA-Z]', () => {
    expect(TAGS).toHaveLength(BUCKETS_CLUSTER);
    expect(new Set(TAGS).size).toBe(BUCKETS_CLUSTER);
    for (const tag of TAGS) expect(tag).toMatch(/^[0-9a-zA-Z]{2}$/);
  });

  it('put bucket b in a slot of [b * 256, b * 256 + 255] (cluster-key-slot), the slot SLOTS says', () => {
    TAGS.forEach((tag, b) => {
      const slot = keySlot(`respcache:{${tag}}:e:anything`);
      expect([b, slot]).toEqual([b, SLOTS[b]]);
      expect(slot >= b * 256 && slot <= b * 256 + 255).toBe(true);
    });
  });

  it('put every name of bucket b in its slot, whatever braces the key or the rest holds', () => {
    const names = layout('respcache', BUCKETS_CLUSTER);
    const keys = ['{}', '}', '{', '{x}', 'a{b}c', '}{', '{{}}', '{10}', '}:e:{', '\u00e9{\u{1F600}}'];
    for (const key of keys) {
      const b = names.bucketOf(key);
      for (const name of [names.entry(b, key), names.record(b, 'vr:', key), names.lock(b, `e:${key}`), names.keyFence(b, key),
        names.ns(b, key), names.fence(b, `t:${key}`), names.index(b, `t:${key}`)]) {
        expect([name, keySlot(name)]).toEqual([name, names.slotOf(b)]);
      }
    }
  });

  it('a key prefix with a brace is refused for more than one bucket (it would be the hash tag)', () => {
    expect(() => layout('a{b}', 64)).toThrow(/Expected a key prefix without "\{" or "\}" for names in 64 buckets, got "a\{b\}"/);
    expect(layout('a{b}', 1).entry(0, 'k')).toBe('a{b}:{10}:e:k');
  });

  describe('on a cluster-enabled redis-server', () => {
    let server;
    let dir;

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'respcache-keyslot-'));
      server = await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-port', String(await freePort()), '--dir', dir] });
    });
    afterAll(async () => {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('CLUSTER KEYSLOT agrees for every bucket, braces in the key included', async () => {
      const names = layout('respcache', BUCKETS_CLUSTER);
      const client = server.client();
      const asked = [];
      for (let b = 0; b < BUCKETS_CLUSTER; b++) {
        asked.push(client.cluster('KEYSLOT', names.entry(b, `k{${b}}`)), client.cluster('KEYSLOT', names.seq(b)));
      }
      const slots = await Promise.all(asked);
      expect(slots).toEqual(SLOTS.flatMap((slot) => [slot, slot]));
    });
  });
});

describe('bucketOf(key)', () => {
  it('is FNV-1a-32 of the key\'s UTF-8 bytes', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    const texts = ['respcache:0123', 'caf\u00e9', '\u20ac', '\u{1F600}x', 'lone \ud800 high', 'lone \udc00 low', 'end \ud83d',
      '\u07ff\u0800\uffff'];
    for (const text of texts) expect([text, fnv1a32(text)]).toEqual([text, fnvOfBytes(text)]);
  });

  it('is 0 for one bucket, FNV-1a-32 modulo B otherwise', () => {
    expect(layout('p', 1).bucketOf('anything')).toBe(0);
    expect(layout('p', 64).bucketOf('foobar')).toBe(0xbf9cf968 % 64);
    expect(layout('p', 4).bucketOf('foobar')).toBe(0xbf9cf968 % 4);
  });

  it('spreads 10,000 built-in keys over the 3 default masters\' slot ranges within 3 points of a third each', () => {
    const names = layout('respcache', BUCKETS_CLUSTER);
    const masters = [0, 0, 0]; // slots 0-5460, 5461-10922, 10923-16383 (redis-cli --cluster create)
    for (let i = 0; i < 10000; i++) {
      const key = `respcache:${crypto.createHash('sha256').update(String(i)).digest('hex')}`;
      const slot = names.slotOf(names.bucketOf(key));
      masters[slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2]++;
    }
    // 2026-12-01: 3377 / 3368 / 3255. The bucket split is 21 / 22 / 21 of 64 (32.8 / 34.4 / 32.8 %).
    for (const count of masters) expect(Math.abs(count / 10000 - 1 / 3)).toBeLessThan(0.03);
    expect(masters.reduce((a, b) => a + b)).toBe(10000);
  });
});

describe('names', () => {
  it('of one family never equal a name of another, in any bucket, whatever the keys spell', () => {
    for (const buckets of [1, 64]) {
      const names = layout('respcache', buckets);
      const keys = ['k', '', 'e:k', 'v:k', 'vr:k', 'l:e:k', 'iv:k:k', 'iv:seq', 'seq', 'keys', 'ix', 'n:k', 'k:k', 'p:/k', 't:k',
        '}:e:k', '{10}:e:k', ':', 'r:k'];
      const seen = new Map(); // name -> what it names
      const add = (name, what) => {
        expect([name, seen.get(name)]).toEqual([name, undefined]);
        seen.set(name, what);
      };
      for (let b = 0; b < buckets; b++) {
        add(names.seq(b), `seq ${b}`);
        add(names.registry(b), `registry ${b}`);
        add(names.fence(b, 'keys'), `keys fence ${b}`);
        for (const key of keys) {
          for (const family of ['e:', 'v:', 'vr:']) add(names.record(b, family, key), `${family} ${key} ${b}`);
          for (const lock of ['e:', 'v:', 'r:']) add(names.lock(b, lock + key), `lock ${lock}${key} ${b}`);
          add(names.keyFence(b, key), `key fence ${key} ${b}`);
          add(names.ns(b, key), `ns ${key} ${b}`);
          for (const index of ['p:/', 's:/', 't:']) {
            add(names.index(b, index + key), `index ${index}${key} ${b}`);
            add(names.fence(b, index + key), `fence ${index}${key} ${b}`);
          }
        }
      }
    }
  });

  it('nameOf spells a one-bucket name in its key\'s bucket', () => {
    const names = layout('p', 64);
    const b = names.bucketOf('k');
    expect(names.nameOf('e:k')).toBe(names.entry(b, 'k'));
    expect(names.nameOf('vr:k')).toBe(names.record(b, 'vr:', 'k'));
    expect(names.nameOf('l:e:k')).toBe(names.lock(b, 'e:k'));
    expect(names.lockBucket('r:k')).toBe(b);
    expect(names.nameOf('iv:k:k')).toBe(names.keyFence(b, 'k'));
    expect(names.nameOf('n:k')).toBe(names.ns(b, 'k'));
    expect(() => names.nameOf('t:k')).toThrow(/"t:k" is not a name of one bucket/);
  });

  it('entryMatch and parseEntry find the entries of the prefix in every bucket, and nothing else', () => {
    const names = layout('a*b', 4);
    expect(names.entryMatch()).toBe('a\\*b:{??}:e:');
    expect(names.parseEntry(names.entry(3, '{x}:e:y'))).toEqual({ bucket: 3, key: '{x}:e:y' });
    expect(names.parseEntry(layout('a*b', 64).entry(63, 'k'))).toEqual({ bucket: 63, key: 'k' });
    expect(names.parseEntry('a*b:{zz}:e:k')).toBeNull(); // not one of the tags
    expect(names.parseEntry(names.record(0, 'v:', 'k'))).toBeNull();
    expect(names.parseEntry('a*bc:{10}:e:k')).toBeNull();
    expect(names.parseEntry('a*b:{10}:e')).toBeNull();
  });
});
