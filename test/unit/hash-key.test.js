'use strict';

const crypto = require('crypto');
const { hashKey } = require('../../lib');

// The documented encoding, computed independently: for each part, its byte length as 8 bytes
// big-endian, then its bytes (strings as UTF-8), all hashed with SHA-256.
function expected(parts) {
  const h = crypto.createHash('sha256');
  for (const part of parts) {
    const bytes = Buffer.isBuffer(part) ? part : Buffer.from(part, 'utf8');
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(bytes.length));
    h.update(len);
    h.update(bytes);
  }
  return h.digest('hex');
}

describe('hashKey(parts)', () => {
  it('returns 64 lowercase hex characters', () => {
    expect(hashKey(['a'])).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    [['ab', 'c']],
    [['a', 'bc']],
    [['']],
    [['', '']],
    [['user', '42']],
    [['héllo', '日本語', '🙂']],
    [['x'.repeat(1000), 'y'.repeat(70000)]],
  ])('is the SHA-256 of the length-prefixed parts for %j', (parts) => {
    expect(hashKey(parts)).toBe(expected(parts));
  });

  it('refuses a string with a lone surrogate, which UTF-8 cannot hold (it would hash as U+FFFD)', () => {
    expect(() => hashKey(['a', '\uD800'])).toThrow(/part 1 to be a well-formed string/);
    expect(() => hashKey(['\uDC00x'])).toThrow(TypeError);
    expect(hashKey([Buffer.from([0xed, 0xa0, 0x80])])).not.toBe(hashKey([Buffer.from([0xed, 0xa0, 0x81])]));
  });

  it('hashes an empty list as the SHA-256 of nothing', () => {
    expect(hashKey([])).toBe(crypto.createHash('sha256').digest('hex'));
  });

  it('tells ["ab","c"] from ["a","bc"] and from ["abc"]', () => {
    const keys = new Set([hashKey(['ab', 'c']), hashKey(['a', 'bc']), hashKey(['abc'])]);
    expect(keys.size).toBe(3);
  });

  it('tells [""] from [] and from ["", ""]', () => {
    const keys = new Set([hashKey(['']), hashKey([]), hashKey(['', ''])]);
    expect(keys.size).toBe(3);
  });

  it('accepts Buffers, with every byte value, and hashes them as raw bytes', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(hashKey([all, Buffer.from([0])])).toBe(expected([all, Buffer.from([0])]));
  });

  it('hashes a Buffer and the same string as UTF-8 alike', () => {
    expect(hashKey([Buffer.from('héllo', 'utf8'), 'x'])).toBe(hashKey(['héllo', 'x']));
  });

  it('depends on the order of the parts', () => {
    expect(hashKey(['a', 'b'])).not.toBe(hashKey(['b', 'a']));
  });

  it('does not modify the array it is given', () => {
    const parts = Object.freeze(['a', Buffer.from('b')]);
    expect(hashKey(parts)).toBe(expected(['a', 'b']));
  });

  describe('when given something other than an array of strings and Buffers', () => {
    it.each([
      ['undefined', undefined],
      ['a string', 'abc'],
      ['a number', 42],
      ['null', null],
      ['an object', { 0: 'a', length: 1 }],
      ['an array holding a number', ['a', 1]],
      ['an array holding null', [null]],
      ['an array holding an object', [{}]],
    ])('throws a TypeError for %s', (_label, input) => {
      let thrown;
      try { hashKey(input); } catch (err) { thrown = err; }
      expect(thrown).toBeDefined();
      expect(thrown.name).toBe('TypeError');
      expect(thrown.message).toMatch(/part|array|string|buffer/i);
    });
  });
});
