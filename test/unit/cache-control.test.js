'use strict';

const {
  MAX_DELTA_SECONDS, parseCacheControl, fieldNames, deltaSeconds, parseTargetedCacheControl, responseDirectives,
  requestDirectives,
} = require('../../lib/http/cache-control');
const { parseDictionary } = require('../../lib/http/structured-fields');

const entries = (map) => Object.fromEntries(map);

describe('RFC 9111 5.2 Cache-Control: parseCacheControl', () => {
  it('maps lowercased directive names to their arguments, "" without one', () => {
    expect(entries(parseCacheControl('Max-Age=60, NO-CACHE, public'))).toEqual({ 'max-age': '60', 'no-cache': '', public: '' });
  });

  it('gives an empty map with an empty conflicts set when the field is absent', () => {
    const directives = parseCacheControl(undefined);
    expect(directives.size).toBe(0);
    expect(directives.conflicts).toEqual(new Set());
  });

  it('reads several field lines as one list', () => {
    expect(entries(parseCacheControl(['max-age=60', 'must-revalidate']))).toEqual({ 'max-age': '60', 'must-revalidate': '' });
  });

  it('keeps commas inside a quoted argument', () => {
    expect(parseCacheControl('no-cache="set-cookie, x-id", max-age=5').get('no-cache')).toBe('set-cookie, x-id');
  });

  it('unescapes backslash escapes in a quoted argument', () => {
    expect(parseCacheControl('ext="a\\"b\\\\c, d", public').get('ext')).toBe('a"b\\c, d');
  });

  it('unquotes a quoted delta-seconds (recipients accept both forms, 5.2)', () => {
    expect(parseCacheControl('max-age="60"').get('max-age')).toBe('60');
  });

  it('accepts whitespace around "=" and empty list members', () => {
    expect(entries(parseCacheControl(' , max-age = 60 ,, public ,'))).toEqual({ 'max-age': '60', public: '' });
  });

  it('keeps a malformed argument raw, so that deltaSeconds refuses it', () => {
    const directives = parseCacheControl('max-age=60 junk');
    expect(directives.get('max-age')).toBe('60 junk');
    expect(deltaSeconds(directives.get('max-age'))).toBeNaN();
  });

  it('keeps an unterminated quoted argument raw', () => {
    expect(parseCacheControl('private="x').get('private')).toBe('"x');
  });

  it('keeps text after a closing quote raw', () => {
    expect(parseCacheControl('max-age="6"0').get('max-age')).toBe('"6"0');
  });

  it('skips members that are not a directive', () => {
    expect(entries(parseCacheControl('=60, "quoted", two words, public'))).toEqual({ public: '' });
  });

  describe('when a directive is repeated (4.2.1)', () => {
    it('records a conflict and keeps the first argument when the arguments differ', () => {
      const directives = parseCacheControl('max-age=60, max-age=3600');
      expect(directives.get('max-age')).toBe('60');
      expect(directives.conflicts).toEqual(new Set(['max-age']));
    });

    it('records no conflict when they are equal, quoted or not', () => {
      expect(parseCacheControl('max-age=60, max-age="60"').conflicts.size).toBe(0);
      expect(parseCacheControl(['public', 'public']).conflicts.size).toBe(0);
    });

    it('unites the field names of two qualified no-cache directives', () => {
      const directives = parseCacheControl('no-cache="a", no-cache="B, c"');
      expect(fieldNames(directives.get('no-cache'))).toEqual(['a', 'b', 'c']);
      expect(directives.conflicts.has('no-cache')).toBe(true);
    });

    it.each([['private="a", private'], ['private, private="a"']])('lets unqualified private win in %s', (value) => {
      expect(parseCacheControl(value).get('private')).toBe('');
    });
  });

  it('reads an empty qualified list (private="") as unqualified, the restrictive reading', () => {
    expect(parseCacheControl('private=""').get('private')).toBe('');
  });
});

describe('RFC 9111 5.2.2.4 and 5.2.2.7 qualified field names: fieldNames', () => {
  it('lowercases, trims and removes duplicates', () => {
    expect(fieldNames(' Set-Cookie ,x-ID, set-cookie')).toEqual(['set-cookie', 'x-id']);
  });

  it('drops names that are not tokens, and empty members', () => {
    expect(fieldNames('a b, , "c", d')).toEqual(['d']);
  });

  it.each([[undefined], [''], [null]])('gives [] for %p', (argument) => {
    expect(fieldNames(argument)).toEqual([]);
  });
});

describe('RFC 9111 1.2.2 delta-seconds: deltaSeconds', () => {
  it.each([['0', 0], ['60', 60], ['007', 7], ['2147483648', 2147483648]])('reads %p as %p', (text, seconds) => {
    expect(deltaSeconds(text)).toBe(seconds);
  });

  it.each([['2147483649'], ['99999999999999999999999999999999'], ['9'.repeat(400)]])('clamps %s to 2^31', (text) => {
    expect(deltaSeconds(text)).toBe(MAX_DELTA_SECONDS);
    expect(MAX_DELTA_SECONDS).toBe(2 ** 31);
  });

  it.each([['-1'], ['+5'], ['1.5'], ['1e3'], [' 5'], ['5 '], [''], ['0x10'], ['sixty'], [undefined], [60]])('gives NaN for %p', (value) => {
    expect(deltaSeconds(value)).toBeNaN();
  });
});

describe('RFC 8941 3.2 Structured Field Dictionary: parseDictionary', () => {
  it('reads integers, strings, tokens, booleans and bare keys', () => {
    const dictionary = parseDictionary('a=1, b="x y", c=tok, d=?0, e');
    expect([...dictionary].map(([key, member]) => [key, member.type, member.value])).toEqual([
      ['a', 'integer', '1'], ['b', 'string', 'x y'], ['c', 'token', 'tok'], ['d', 'boolean', false], ['e', 'boolean', true],
    ]);
  });

  it('reads parameters, decimals, byte sequences and inner lists', () => {
    const dictionary = parseDictionary('a=1.5;p=1, b=:aGk=:, c=("x" y);q');
    expect(dictionary.get('a')).toMatchObject({ type: 'decimal', value: '1.5' });
    expect(dictionary.get('a').params.get('p')).toMatchObject({ type: 'integer', value: '1' });
    expect(dictionary.get('b')).toMatchObject({ type: 'bytes', value: 'aGk=' });
    expect(dictionary.get('c').value.map((item) => item.value)).toEqual(['x', 'y']);
  });

  it('keeps the last value of a repeated key', () => {
    expect(parseDictionary('a=1, a=2').get('a').value).toBe('2');
  });

  it.each([
    ['an uppercase key', 'Max-Age=60'],
    ['a trailing comma', 'a=1,'],
    ['a bad escape in a string', 'a="\\x"'],
    ['an unterminated string', 'a="x'],
    ['an integer of 16 digits', 'a=1234567890123456'],
    ['a decimal with 4 fraction digits', 'a=1.2345'],
    ['a missing comma', 'a=1 b=2'],
    ['a boolean other than ?0 and ?1', 'a=?2'],
    ['a quoted-string with a non-ASCII character', 'a="é"'],
  ])('fails (null) on %s', (_what, text) => {
    expect(parseDictionary(text)).toBeNull();
  });
});

describe('RFC 9213 CDN-Cache-Control: parseTargetedCacheControl', () => {
  it('gives the directives in the shape of parseCacheControl', () => {
    const directives = parseTargetedCacheControl('max-age=60, private="x", no-store=?0, must-revalidate');
    expect(entries(directives)).toEqual({ 'max-age': '60', private: 'x', 'must-revalidate': '' });
    expect(directives.conflicts.size).toBe(0);
  });

  it.each([
    ['a decimal max-age', 'max-age=1.5'],
    ['a string max-age', 'max-age="10000"'],
    ['a negative s-maxage', 's-maxage=-1'],
    ['a valued no-store', 'no-store="x"'],
    ['a token private', 'private=x'],
  ])('is null when a known directive has the wrong type (%s), so that the cache ignores it (2.2)', (_what, value) => {
    expect(parseTargetedCacheControl(value)).toBeNull();
  });

  it('takes unknown directives of any type', () => {
    expect(entries(parseTargetedCacheControl('max-age=60, foo="bar", baz=1.5'))).toEqual({ 'max-age': '60', foo: 'bar', baz: '1.5' });
  });

  it.each([
    ['absent', undefined],
    ['no field lines', []],
    ['empty', ''],
    ['invalid (uppercase key)', 'Max-Age=60'],
    ['invalid (Cache-Control syntax that is not a Dictionary)', 'no-cache="a", max-age=60 junk'],
  ])('is null when the field is %s, so that the cache ignores it (2.2)', (_what, value) => {
    expect(parseTargetedCacheControl(value)).toBeNull();
  });
});

describe('RFC 9213 2.1 the directives that govern a response: responseDirectives', () => {
  const headers = { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' };

  it('takes a valid CDN-Cache-Control in place of Cache-Control in a shared cache', () => {
    const { directives, targeted } = responseDirectives(headers);
    expect(targeted).toBe(true);
    expect(entries(directives)).toEqual({ 'max-age': '60' });
  });

  it('takes Cache-Control when CDN-Cache-Control is invalid', () => {
    const { directives, targeted } = responseDirectives({ ...headers, 'cdn-cache-control': 'MAX-AGE=60' });
    expect(targeted).toBe(false);
    expect(directives.has('no-store')).toBe(true);
  });

  it('takes Cache-Control when cdnCacheControl is off, or in a private cache', () => {
    expect(responseDirectives(headers, { cdnCacheControl: false }).targeted).toBe(false);
    expect(responseDirectives(headers, { shared: false }).targeted).toBe(false);
  });

  it('reads flat headers', () => {
    expect(responseDirectives(['cache-control', 'max-age=5', 'cache-control', 'public']).directives.size).toBe(2);
  });
});

describe('RFC 9111 5.2.1 and 5.4 request directives: requestDirectives', () => {
  it('reads the request Cache-Control', () => {
    expect(entries(requestDirectives({ 'cache-control': 'max-stale, min-fresh=10' }))).toEqual({ 'max-stale': '', 'min-fresh': '10' });
  });

  it('reads Pragma: no-cache as no-cache without Cache-Control', () => {
    expect(requestDirectives({ pragma: 'No-Cache' }).has('no-cache')).toBe(true);
    expect(requestDirectives(['pragma', 'x, no-cache']).has('no-cache')).toBe(true);
  });

  it('ignores Pragma when Cache-Control is present', () => {
    expect(requestDirectives({ pragma: 'no-cache', 'cache-control': 'max-age=60' }).has('no-cache')).toBe(false);
  });

  it('ignores other Pragma values', () => {
    expect(requestDirectives({ pragma: 'no-cache-please' }).has('no-cache')).toBe(false);
  });
});
