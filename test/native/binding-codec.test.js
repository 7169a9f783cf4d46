'use strict';

// The codec as JavaScript reaches it: round trips, and refusals of what cannot be an entry.
const binding = require('../../lib/binding');

describe('encodeEntry / decodeEntry', () => {
  it('round-trips status, headers, body bytes and times', () => {
    const body = Buffer.from([0, 1, 2, 255, 10, 13]);
    const bytes = binding.encodeEntry(203, ['content-type', 'text/plain', 'link', '<a>', 'link', '<b>'],
      body, 1700000000000, 1700000300000);
    const entry = binding.decodeEntry(bytes);
    expect(entry.status).toBe(203);
    expect(entry.headers).toEqual(['content-type', 'text/plain', 'link', '<a>', 'link', '<b>']);
    expect(entry.body.equals(body)).toBe(true);
    expect([entry.storedAt, entry.expiresAt]).toEqual([1700000000000, 1700000300000]);
  });

  it('round-trips no headers, empty values, tabs and non-ASCII values', () => {
    for (const headers of [[], ['x-empty', ''], ['x-a', '', 'x-b', 'caf\u00e9 \u0080\u00ff', 'x-c', '\tv\t', 'x-d', '']]) {
      const entry = binding.decodeEntry(binding.encodeEntry(200, headers, Buffer.from('b'), 1, 2));
      expect(entry.headers).toEqual(headers);
      expect(entry.body.toString()).toBe('b');
    }
  });

  it('refuses what a response could never carry: values above U+00FF, interim statuses', () => {
    // setHeader refuses such a value, so an entry holding one would fail half-way through a HIT.
    expect(() => binding.encodeEntry(200, ['x-a', 'caf\u00e9 \u2615'], Buffer.from('b'), 1, 2)).toThrow(/cannot be stored/);
    expect(() => binding.encodeEntry(101, [], Buffer.from('b'), 1, 2)).toThrow(/cannot be stored/);
  });

  it('reads an entry whose header value is not UTF-8 of U+0000..U+00FF as corrupt', () => {
    const good = binding.encodeEntry(200, ['x-a', 'AB'], Buffer.from('b'), 1, 2);
    const at = good.indexOf('AB');
    for (const bytes of [[0xe9, 0x41], [0xe2, 0x82], [0xc4, 0x80]]) {
      const planted = Buffer.from(good);
      planted[at] = bytes[0];
      planted[at + 1] = bytes[1];
      expect(typeof binding.decodeEntry(planted)).toBe('string');
    }
  });

  it('gives the body as a view of the bytes decoded, not a copy', () => {
    const bytes = binding.encodeEntry(200, ['etag', '"x"'], Buffer.from('body'), 1, 2);
    const entry = binding.decodeEntry(bytes);
    expect(entry.body.buffer).toBe(bytes.buffer);
    expect(entry.body.byteOffset + entry.body.length).toBe(bytes.byteOffset + bytes.length);
  });

  it('keeps the overhead for typical API headers under 512 bytes', () => {
    const headers = ['x-powered-by', 'Express', 'content-type', 'application/json; charset=utf-8',
      'etag', 'W/"1f4-Xk2Z0qf0d4mJcQ0y3s2a1b9c8d7"', 'cache-control', 'public, max-age=300',
      'vary', 'Accept-Encoding', 'access-control-allow-origin', '*'];
    const body = Buffer.alloc(500, 'x');
    expect(binding.encodeEntry(200, headers, body, Date.now(), Date.now() + 1000).length - body.length)
      .toBeLessThan(512);
  });

  it.each([
    ['a fractional status', [200.5, [], Buffer.alloc(0), 0, 0]],
    ['a status below 100', [99, [], Buffer.alloc(0), 0, 0]],
    ['a time that is not finite', [200, [], Buffer.alloc(0), Infinity, 0]],
    ['a header name with a space', [200, ['bad name', 'v'], Buffer.alloc(0), 0, 0]],
    ['a header value with CR LF', [200, ['x', 'a\r\nset-cookie: evil'], Buffer.alloc(0), 0, 0]],
  ])('refuses %s with a RangeError', (_what, args) => {
    expect(() => binding.encodeEntry(...args)).toThrow(expect.objectContaining({ name: 'RangeError' }));
  });

  it('throws a TypeError when decodeEntry is not given a Buffer', () => {
    expect(() => binding.decodeEntry('RCE2')).toThrow(expect.objectContaining({ name: 'TypeError' }));
  });

  // An entry as the previous release (format RCE1) wrote it: flags, status, times, one header, body.
  const rce1 = Buffer.concat([Buffer.from('RCE1\0\x00\xc8', 'latin1'), Buffer.alloc(16),
    Buffer.from('\x00\x01\x00\x01a\x00\x00\x00\x01b\x00\x00\x00\x02hi', 'latin1')]);

  it.each([
    ['outdated', rce1],
    ['foreign', Buffer.from('{"status":200}')],
    ['truncated', Buffer.from('RCE')],
    ['corrupt', Buffer.concat([binding.encodeEntry(200, ['a', 'b'], Buffer.from('c'), 1, 2), Buffer.from('x')])],
  ])('names the reason bytes are not an entry: %s', (reason, bytes) => {
    expect(binding.decodeEntry(bytes)).toBe(reason);
  });

  describe('typed metadata (meta)', () => {
    const full = {
      kind: 'value', ns: '42', valueType: 'json', vary: ['accept-encoding', 'x-tenant'],
      gzip: { length: 123456, etag: 'W/"1e240-abc" caf\u00e9' }, route: '/caf\u00e9/:id \u20ac\ud83d\ude00', flags: 0xfffffffe,
    };

    it('round-trips every field, with the headers and body beside it intact', () => {
      const entry = binding.decodeEntry(binding.encodeEntry(200, ['etag', '"e"', 'x-a', 'b'], Buffer.from('body'), 1, 2, full));
      expect(entry.meta).toEqual(full);
      expect(entry.headers).toEqual(['etag', '"e"', 'x-a', 'b']);
      expect(entry.body.toString()).toBe('body');
    });

    it('gives the defaults when there is no meta: a response, absent strings, no vary names', () => {
      for (const meta of [undefined, null, {}]) {
        const entry = binding.decodeEntry(binding.encodeEntry(200, ['a', 'b'], Buffer.from('c'), 1, 2, meta));
        expect(entry.meta).toEqual({
          kind: 'response', ns: undefined, valueType: undefined, vary: [], gzip: undefined, route: undefined, flags: 0,
        });
        expect(entry.headers).toEqual(['a', 'b']);
      }
    });

    it('tells an absent ns from an empty one', () => {
      const empty = binding.decodeEntry(binding.encodeEntry(200, [], Buffer.alloc(0), 1, 2, { ns: '' })).meta;
      expect(empty.ns).toBe('');
      expect('ns' in empty).toBe(true);
      const absent = binding.decodeEntry(binding.encodeEntry(200, [], Buffer.alloc(0), 1, 2, { ns: undefined })).meta;
      expect(absent.ns).toBeUndefined();
    });

    it('round-trips each kind and each field on its own', () => {
      for (const meta of [{ kind: 'vary', vary: ['accept'] }, { kind: 'response', ns: '0' }, { valueType: 'buffer' },
        { gzip: { length: 0, etag: '' } }, { route: 'r' }, { flags: 1 }]) {
        const got = binding.decodeEntry(binding.encodeEntry(204, [], null, 1, 2, meta)).meta;
        expect(got).toEqual({ ...{ kind: 'response', ns: undefined, valueType: undefined, vary: [], gzip: undefined, route: undefined, flags: 0 }, ...meta });
      }
    });

    it.each([
      ['TypeError', 'meta must be an object', 'nope'],
      ['TypeError', 'meta.kind', { kind: 'entry' }],
      ['TypeError', 'meta.ns', { ns: 7 }],
      ['TypeError', 'meta.valueType', { valueType: {} }],
      ['TypeError', 'meta.vary', { vary: 'accept' }],
      ['TypeError', 'meta.vary', { vary: [1] }],
      ['TypeError', 'meta.gzip', { gzip: 5 }],
      ['TypeError', 'meta.gzip.length', { gzip: { length: '5', etag: '' } }],
      ['TypeError', 'meta.gzip.etag', { gzip: { length: 5 } }],
      ['TypeError', 'meta.route', { route: ['/'] }],
      ['TypeError', 'meta.flags', { flags: '1' }],
      ['TypeError', 'unknown field "valuetype"', { valuetype: 'json' }],
      ['RangeError', 'meta.ns', { ns: 'n'.repeat(256) }],
      ['RangeError', 'meta.valueType', { valueType: 't'.repeat(65) }],
      ['RangeError', 'meta.vary', { vary: ['not a token'] }],
      ['RangeError', 'meta.vary', { vary: new Array(65).fill('a') }],
      ['RangeError', 'meta.gzip.length', { gzip: { length: -1, etag: '' } }],
      ['RangeError', 'meta.gzip.length', { gzip: { length: 2 ** 53, etag: '' } }],
      ['RangeError', 'meta.gzip.etag', { gzip: { length: 1, etag: 'a\r\nb' } }],
      ['RangeError', 'meta.gzip.etag', { gzip: { length: 1, etag: '\u20ac' } }],
      ['RangeError', 'meta.route', { route: 'r'.repeat(2049) }],
      ['RangeError', 'meta.flags', { flags: 2 ** 32 }],
      ['RangeError', 'meta.flags', { flags: 1.5 }],
    ])('throws a %s naming %s', (name, field, meta) => {
      expect(() => binding.encodeEntry(200, [], Buffer.alloc(0), 1, 2, meta))
        .toThrow(expect.objectContaining({ name, message: expect.stringContaining(field) }));
    });

    it('reads planted meta that breaks its rules as corrupt', () => {
      const good = binding.encodeEntry(200, [], Buffer.alloc(0), 1, 2, { ns: 'AB' });
      const at = good.indexOf('AB');
      const planted = Buffer.from(good);
      planted[at] = 0xff;  // not UTF-8
      expect(binding.decodeEntry(planted)).toBe('corrupt');
    });
  });
});
