'use strict';

const {
  parseEntityTag, validatorsOf, revalidationHeaders, mergeNotModified, selectStoredForNotModified, freshenWithHead,
  hasOriginPreconditions, clientConditionalAnswer, notModifiedFields,
} = require('../../lib/http/conditional');
const { formatHttpDate } = require('../../lib/http/http-date');

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const at = (seconds) => formatHttpDate(T0 + seconds * 1000);

describe('RFC 9110 8.8.3 entity tags: parseEntityTag', () => {
  it.each([
    ['"abc"', { weak: false, opaque: 'abc' }],
    ['W/"abc"', { weak: true, opaque: 'abc' }],
    ['""', { weak: false, opaque: '' }],
    ['  "a,b"  ', { weak: false, opaque: 'a,b' }],
  ])('reads %s', (text, tag) => {
    expect(parseEntityTag(text)).toEqual(tag);
  });

  it.each([['abc'], ['w/"abc"'], ['"a"b"'], ['"abc'], ['W/ "abc"'], ['"a b"']])('refuses %s', (text) => {
    expect(parseEntityTag(text)).toBeNull();
  });
});

describe('RFC 9111 4.3.1 sending a validation request', () => {
  it('finds the validators of a stored response', () => {
    expect(validatorsOf({ etag: '"v1"', 'last-modified': at(-60) })).toEqual({ etag: '"v1"', lastModified: at(-60) });
  });

  it('ignores a malformed ETag and an invalid Last-Modified', () => {
    expect(validatorsOf({ etag: 'v1', 'last-modified': 'yesterday' })).toEqual({ etag: undefined, lastModified: undefined });
  });

  it('ignores several ETags (it is a singleton field)', () => {
    expect(validatorsOf(['etag', '"a"', 'etag', '"b"']).etag).toBeUndefined();
  });

  it('sends If-None-Match with the ETag and If-Modified-Since with Last-Modified', () => {
    expect(revalidationHeaders({ etag: 'W/"v1"', 'last-modified': at(-60), date: at(0) }))
      .toEqual({ 'if-none-match': 'W/"v1"', 'if-modified-since': at(-60) });
  });

  it('does not use Date in place of a missing Last-Modified', () => {
    expect(revalidationHeaders({ etag: '"v1"', date: at(0) })).toEqual({ 'if-none-match': '"v1"' });
  });

  it('sends nothing without validators', () => {
    expect(revalidationHeaders({ date: at(0) })).toEqual({});
  });

  it('reads flat headers', () => {
    expect(revalidationHeaders(['etag', '"v1"'])).toEqual({ 'if-none-match': '"v1"' });
  });

  it('sends every ETag, and no If-Modified-Since, when validating several stored responses', () => {
    expect(revalidationHeaders([
      { etag: '"gz"', 'last-modified': at(-60) },
      ['etag', '"br"'],
      { etag: '"gz"' },
      { 'last-modified': at(-60) },
    ])).toEqual({ 'if-none-match': '"gz", "br"' });
  });

  it('treats an array of one stored response like that response', () => {
    expect(revalidationHeaders([{ etag: '"a"', 'last-modified': at(-1) }]))
      .toEqual({ 'if-none-match': '"a"', 'if-modified-since': at(-1) });
  });
});

describe('RFC 9111 3.2 and 4.3.4 updating stored headers with a 304: mergeNotModified', () => {
  const stored = {
    'content-type': 'text/html',
    'content-length': '1234',
    'content-encoding': 'gzip',
    'cache-control': 'max-age=60',
    etag: '"v1"',
    date: at(-600),
    age: '30',
    'x-old': 'kept',
  };

  it('replaces stored fields by those of the 304 and keeps the others', () => {
    const merged = mergeNotModified(stored, { 'cache-control': 'max-age=600', date: at(0), 'x-new': 'added' });
    expect(merged).toMatchObject({ 'cache-control': 'max-age=600', date: at(0), 'x-new': 'added', 'x-old': 'kept', etag: '"v1"' });
  });

  it.each([
    ['content-length', '0'], ['content-encoding', 'br'], ['content-range', 'bytes 0-1/2'], ['set-cookie', 'a=1'],
    ['connection', 'close'], ['transfer-encoding', 'chunked'], ['keep-alive', 'timeout=5'], ['proxy-status', 'x'],
  ])('does not take %s from the 304', (name, value) => {
    const merged = mergeNotModified(stored, { [name]: value, date: at(0) });
    expect(merged[name]).toBe(stored[name]);
  });

  it('does not take a field the 304\'s Connection names', () => {
    expect(mergeNotModified(stored, { connection: 'x-hop', 'x-hop': '1', date: at(0) })['x-hop']).toBeUndefined();
  });

  it('replaces every line of a repeated field', () => {
    expect(mergeNotModified({ link: ['<a>', '<b>'] }, { link: '<c>', date: at(0) }).link).toBe('<c>');
  });

  it('removes the stored Age when the 304 has none, and takes its Age when it has one', () => {
    expect(mergeNotModified(stored, { date: at(0) }).age).toBeUndefined();
    expect(mergeNotModified(stored, { date: at(0), age: '5' }).age).toBe('5');
  });

  it('dates a 304 without Date at the response time, or drops the stale Date', () => {
    expect(mergeNotModified(stored, {}, { responseTime: T0 }).date).toBe(at(0));
    expect(mergeNotModified(stored, {}).date).toBeUndefined();
  });

  it('removes fields a qualified private in the 304 names', () => {
    const merged = mergeNotModified({ ...stored, 'x-user': 'ann' }, { 'cache-control': 'private="x-user"', date: at(0) });
    expect(merged['x-user']).toBeUndefined();
  });

  it('keeps the shape of flat stored headers', () => {
    expect(mergeNotModified(['etag', '"v1"', 'content-length', '3', 'vary', 'a', 'vary', 'b'], { date: at(0), vary: 'c' }))
      .toEqual(['etag', '"v1"', 'content-length', '3', 'vary', 'c', 'date', at(0)]);
  });

  it('does not change the stored headers it is given', () => {
    const copy = { ...stored };
    mergeNotModified(stored, { 'cache-control': 'no-cache', date: at(0) });
    expect(stored).toEqual(copy);
  });
});

describe('RFC 9111 4.3.4 selecting the stored responses a 304 updates', () => {
  const lm = at(-3600);

  it('selects every stored response with the 304\'s strong ETag', () => {
    expect(selectStoredForNotModified([{ etag: '"a"' }, { etag: '"b"' }, { etag: '"a"' }], { etag: '"a"' })).toEqual([0, 2]);
  });

  it('selects none when no stored response has the strong validator', () => {
    expect(selectStoredForNotModified([{ etag: '"a"' }, {}], { etag: '"z"' })).toEqual([]);
  });

  it('does not match a strong ETag to a weak stored one', () => {
    expect(selectStoredForNotModified([{ etag: 'W/"a"' }], { etag: '"a"' })).toEqual([]);
  });

  it('selects by a strong Last-Modified (Date at least 1 s later on both sides)', () => {
    const stored = [{ 'last-modified': lm, date: at(0) }, { 'last-modified': lm, date: lm }, { 'last-modified': at(-7200), date: at(0) }];
    expect(selectStoredForNotModified(stored, { 'last-modified': lm, date: at(0) })).toEqual([0]);
  });

  it('selects the most recent stored response matching a weak ETag', () => {
    const stored = [
      { headers: { etag: 'W/"a"' }, responseTime: T0 + 5 },
      { headers: { etag: '"a"' }, responseTime: T0 + 9 },
      { headers: { etag: 'W/"a"' }, responseTime: T0 + 1 },
    ];
    expect(selectStoredForNotModified(stored, { etag: 'W/"a"' })).toEqual([1]);
  });

  it('uses Date for "most recent" without response times, then the order', () => {
    expect(selectStoredForNotModified([{ etag: 'W/"a"', date: at(10) }, { etag: 'W/"a"', date: at(5) }], { etag: 'W/"a"' })).toEqual([0]);
    expect(selectStoredForNotModified([{ etag: 'W/"a"' }, { etag: 'W/"a"' }], { etag: 'W/"a"' })).toEqual([1]);
  });

  it('selects by a weak Last-Modified (no Date in the 304)', () => {
    expect(selectStoredForNotModified([{ 'last-modified': at(-7200) }, { 'last-modified': lm }], { 'last-modified': lm })).toEqual([1]);
  });

  it('selects none when weak validators match nothing', () => {
    expect(selectStoredForNotModified([{ etag: 'W/"a"' }], { etag: 'W/"b"' })).toEqual([]);
  });

  it('selects the only stored response when neither it nor the 304 has a validator', () => {
    expect(selectStoredForNotModified([{ date: at(0) }], { date: at(5) })).toEqual([0]);
  });

  it('selects none without validators when the stored response has one, or there are several', () => {
    expect(selectStoredForNotModified([{ etag: '"a"' }], {})).toEqual([]);
    expect(selectStoredForNotModified([{}, {}], {})).toEqual([]);
    expect(selectStoredForNotModified([], {})).toEqual([]);
  });

  it('reads flat headers in both places', () => {
    expect(selectStoredForNotModified([['etag', '"x"'], ['etag', '"a"']], ['etag', '"a"'])).toEqual([1]);
  });
});

describe('RFC 9111 4.3.2 and RFC 9110 13.2.2 answering a client\'s conditional request', () => {
  const stored = { etag: '"v1"', 'last-modified': at(-3600), date: at(0) };
  const answer = (req, method = 'GET', headers = stored, options) => clientConditionalAnswer(req, headers, method, options);

  describe('If-None-Match (13.1.2, weak comparison)', () => {
    it.each([['"v1"'], ['W/"v1"'], ['"x", "v1"'], ['*'], [['"x"', '"v1"']]])('answers 304 to %p', (value) => {
      expect(answer({ 'if-none-match': value })).toBe(304);
    });

    it('answers 304 to HEAD', () => {
      expect(answer({ 'if-none-match': '"v1"' }, 'HEAD')).toBe(304);
    });

    it('answers 412 to other methods', () => {
      expect(answer({ 'if-none-match': '"v1"' }, 'POST')).toBe(412);
    });

    it('matches a weak stored ETag', () => {
      expect(answer({ 'if-none-match': '"v1"' }, 'GET', { etag: 'W/"v1"' })).toBe(304);
    });

    it('sends the full response when nothing matches', () => {
      expect(answer({ 'if-none-match': '"v2"' })).toBeNull();
    });

    it('does not match a stored response without ETag, except "*"', () => {
      expect(answer({ 'if-none-match': '"v1"' }, 'GET', { date: at(0) })).toBeNull();
      expect(answer({ 'if-none-match': '*' }, 'GET', { date: at(0) })).toBe(304);
    });

    it('keeps a comma inside an entity-tag', () => {
      expect(answer({ 'if-none-match': '"a,b"' }, 'GET', { etag: '"a,b"' })).toBe(304);
      expect(answer({ 'if-none-match': '"a,b"' }, 'GET', { etag: '"a"' })).toBeNull();
    });

    it('skips malformed members', () => {
      expect(answer({ 'if-none-match': 'v1, "v1"' })).toBe(304);
      expect(answer({ 'if-none-match': 'v1' })).toBeNull();
    });

    it('takes precedence over If-Modified-Since', () => {
      expect(answer({ 'if-none-match': '"v2"', 'if-modified-since': at(0) })).toBeNull();
    });
  });

  describe('If-Modified-Since (13.1.3)', () => {
    it('answers 304 when Last-Modified is not later', () => {
      expect(answer({ 'if-modified-since': at(-3600) })).toBe(304);
      expect(answer({ 'if-modified-since': at(-10) })).toBe(304);
    });

    it('sends the full response when Last-Modified is later', () => {
      expect(answer({ 'if-modified-since': at(-3601) })).toBeNull();
    });

    it('uses the stored Date without Last-Modified, then the response time', () => {
      expect(answer({ 'if-modified-since': at(0) }, 'GET', { date: at(0) })).toBe(304);
      expect(answer({ 'if-modified-since': at(-1) }, 'GET', { date: at(0) })).toBeNull();
      expect(answer({ 'if-modified-since': at(0) }, 'GET', {}, { responseTime: T0 })).toBe(304);
      expect(answer({ 'if-modified-since': at(0) }, 'GET', {})).toBeNull();
    });

    it.each([['an invalid date', 'yesterday'], ['several values', [at(0), at(1)]]])('is ignored with %s', (_what, value) => {
      expect(answer({ 'if-modified-since': value })).toBeNull();
    });

    it('is ignored for methods other than GET and HEAD', () => {
      expect(answer({ 'if-modified-since': at(0) }, 'POST')).toBeNull();
      expect(answer({ 'if-modified-since': at(0) }, 'HEAD')).toBe(304);
    });

    it('reads the obsolete date forms', () => {
      expect(answer({ 'if-modified-since': 'Wed Jan  1 12:00:00 2025' })).toBe(304);
    });
  });

  describe('If-Match and If-Unmodified-Since (13.1.1, 13.1.4)', () => {
    it('answers 412 when If-Match does not match (strong comparison)', () => {
      expect(answer({ 'if-match': '"v2"' })).toBe(412);
      expect(answer({ 'if-match': 'W/"v1"' })).toBe(412);
      expect(answer({ 'if-match': '"v1"' }, 'GET', { etag: 'W/"v1"' })).toBe(412);
    });

    it('passes when If-Match matches or is "*"', () => {
      expect(answer({ 'if-match': '"x", "v1"' })).toBeNull();
      expect(answer({ 'if-match': '*' }, 'GET', {})).toBeNull();
    });

    it('evaluates If-None-Match after a passing If-Match', () => {
      expect(answer({ 'if-match': '"v1"', 'if-none-match': '"v1"' })).toBe(304);
    });

    it('answers 412 when modified after If-Unmodified-Since', () => {
      expect(answer({ 'if-unmodified-since': at(-3601) })).toBe(412);
      expect(answer({ 'if-unmodified-since': at(-3600) })).toBeNull();
    });

    it('ignores If-Unmodified-Since when If-Match is present, invalid, or without Last-Modified', () => {
      expect(answer({ 'if-match': '"v1"', 'if-unmodified-since': at(-7200) })).toBeNull();
      expect(answer({ 'if-unmodified-since': 'never' })).toBeNull();
      expect(answer({ 'if-unmodified-since': at(-7200) }, 'GET', { etag: '"v1"' })).toBeNull();
    });

    it('tells the engine these are the origin\'s to evaluate (RFC 9111 4.3.2)', () => {
      expect(hasOriginPreconditions({ 'if-match': '"v1"' })).toBe(true);
      expect(hasOriginPreconditions(['if-unmodified-since', at(0)])).toBe(true);
      expect(hasOriginPreconditions({ 'if-none-match': '"v1"', 'if-modified-since': at(0) })).toBe(false);
    });
  });

  it('sends the full response without conditions', () => {
    expect(answer({})).toBeNull();
  });

  it('reads flat headers', () => {
    expect(clientConditionalAnswer(['if-none-match', '"v1"'], ['etag', '"v1"'], 'GET')).toBe(304);
  });
});

describe('RFC 9110 15.4.5 the fields of a 304 from the cache: notModifiedFields', () => {
  it('keeps the fields a 304 carries and drops the rest', () => {
    expect(notModifiedFields({
      'cache-control': 'max-age=60', 'content-location': '/a', date: at(0), etag: '"v1"', expires: at(60), vary: 'accept',
      'cdn-cache-control': 'max-age=5', 'content-type': 'text/html', 'content-length': '5', 'last-modified': at(-5),
    })).toEqual({
      'cache-control': 'max-age=60', 'content-location': '/a', date: at(0), etag: '"v1"', expires: at(60), vary: 'accept',
      'cdn-cache-control': 'max-age=5',
    });
  });

  it('keeps Last-Modified when there is no ETag', () => {
    expect(notModifiedFields(['last-modified', at(-5), 'content-type', 'text/plain'])).toEqual(['last-modified', at(-5)]);
  });
});

describe('RFC 9111 4.3.5 freshening a stored response with HEAD: freshenWithHead', () => {
  const stored = { etag: '"v1"', 'last-modified': at(-60), 'content-length': '10', 'cache-control': 'max-age=5', date: at(-600) };

  it('updates the stored headers when the validators and Content-Length match', () => {
    expect(freshenWithHead(stored, { etag: '"v1"', 'content-length': '10', 'cache-control': 'max-age=60', date: at(0) }))
      .toMatchObject({ 'cache-control': 'max-age=60', date: at(0), 'content-length': '10', etag: '"v1"' });
  });

  it('needs only the validators the HEAD response has', () => {
    expect(freshenWithHead(stored, { 'last-modified': at(-60), date: at(0) })).not.toBeNull();
  });

  it.each([
    ['a different ETag', { etag: '"v2"' }],
    ['a different Last-Modified', { etag: '"v1"', 'last-modified': at(-30) }],
    ['a different Content-Length', { etag: '"v1"', 'content-length': '11' }],
    ['no validator at all', { 'content-length': '10' }],
  ])('gives null (stale) with %s', (_what, head) => {
    expect(freshenWithHead(stored, { ...head, date: at(0) })).toBeNull();
  });

  it('keeps the shape of flat stored headers', () => {
    expect(freshenWithHead(['etag', '"v1"'], { etag: '"v1"', date: at(0) })).toEqual(['etag', '"v1"', 'date', at(0)]);
  });
});
