'use strict';

const {
  HEURISTIC_STATUSES, freshnessLifetime, initialAge, currentAge, ageFieldValue, staleWindowsMs, servable, onlyIfCached,
} = require('../../lib/http/freshness');
const { formatHttpDate } = require('../../lib/http/http-date');

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const at = (seconds) => formatHttpDate(T0 + seconds * 1000);
const lifetime = (headers, options = {}) => freshnessLifetime(headers, { status: 200, responseTime: T0, ...options });

describe('RFC 9110 15.1 heuristically cacheable statuses', () => {
  it('lists exactly the statuses RFC 9110 defines as such', () => {
    expect([...HEURISTIC_STATUSES].sort((a, b) => a - b)).toEqual([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);
  });
});

describe('RFC 9111 4.2.1 freshness lifetime', () => {
  it('takes s-maxage first in a shared cache', () => {
    expect(lifetime({ 'cache-control': 'max-age=60, s-maxage=600', expires: at(9999), date: at(0) })).toEqual({ ms: 600000, source: 's-maxage' });
  });

  it('ignores s-maxage in a private cache', () => {
    expect(lifetime({ 'cache-control': 'max-age=60, s-maxage=600' }, { shared: false })).toEqual({ ms: 60000, source: 'max-age' });
  });

  it('takes max-age before Expires', () => {
    expect(lifetime({ 'cache-control': 'max-age=60', expires: at(3600), date: at(0) })).toEqual({ ms: 60000, source: 'max-age' });
  });

  it('reads max-age=0 as a zero lifetime', () => {
    expect(lifetime({ 'cache-control': 'max-age=0' })).toEqual({ ms: 0, source: 'max-age' });
  });

  it.each([
    ['conflicting max-age values', 'max-age=60, max-age=120'],
    ['an invalid max-age', 'max-age=soon'],
    ['a negative max-age', 'max-age=-1'],
    ['a fractional max-age', 'max-age=1.5'],
  ])('treats %s as stale (0)', (_what, value) => {
    expect(lifetime({ 'cache-control': value, expires: at(3600), date: at(0) })).toEqual({ ms: 0, source: 'max-age' });
  });

  it('treats conflicting s-maxage values as stale (0)', () => {
    expect(lifetime({ 'cache-control': ['s-maxage=60', 's-maxage=1'] })).toEqual({ ms: 0, source: 's-maxage' });
  });

  it('clamps a huge max-age to 2^31 seconds', () => {
    expect(lifetime({ 'cache-control': `max-age=${'9'.repeat(30)}` }).ms).toBe(2 ** 31 * 1000);
  });

  describe('with Expires', () => {
    it('is Expires minus Date, not minus the local clock', () => {
      expect(lifetime({ date: at(-1000), expires: at(-400) })).toEqual({ ms: 600000, source: 'expires' });
    });

    it('uses the response time when Date is missing', () => {
      expect(lifetime({ expires: at(300) })).toEqual({ ms: 300000, source: 'expires' });
    });

    it('uses the response time when Date is invalid', () => {
      expect(lifetime({ date: 'yesterday', expires: at(300) })).toEqual({ ms: 300000, source: 'expires' });
    });

    it('is 0 without Date and without a response time', () => {
      expect(freshnessLifetime({ expires: at(300) }, { status: 200 })).toEqual({ ms: 0, source: 'expires' });
    });

    it.each([['0'], ['-1'], ['garbage'], ['']])('is already expired when Expires is %p (5.3)', (expires) => {
      expect(lifetime({ date: at(0), expires, 'last-modified': at(-86400) })).toEqual({ ms: 0, source: 'expires' });
    });

    it.each([
      ['weekday', (v) => v.replace(/^\w+/, (d) => d.toLowerCase())],
      ['month', (v) => v.replace(/ ([A-Z][a-z]{2}) /, (_m, month) => ` ${month.toUpperCase()} `)],
      ['zone', (v) => v.replace(/GMT$/, 'gmt')],
    ])('reads Expires and Date with a %s in another case (4.2: case-insensitively)', (_what, recase) => {
      expect(lifetime({ date: recase(at(0)), expires: recase(at(600)) })).toEqual({ ms: 600000, source: 'expires' });
    });

    it('counts the age of a Date in another case (4.2.3)', () => {
      expect(initialAge({ date: at(-30).toLowerCase() }, T0, T0)).toBe(30000);
    });

    it('reads a Last-Modified in another case for the heuristic lifetime', () => {
      expect(lifetime({ date: at(0), 'last-modified': at(-1000).toUpperCase() })).toEqual({ ms: 100000, source: 'heuristic' });
    });

    it('is already expired with several different Expires values', () => {
      expect(lifetime({ date: at(0), expires: [at(60), at(120)] })).toEqual({ ms: 0, source: 'expires' });
    });

    it('reads repeated equal Expires values as one', () => {
      expect(lifetime(['date', at(0), 'expires', at(60), 'expires', at(60)])).toEqual({ ms: 60000, source: 'expires' });
    });

    it('is 0, not negative, when Expires is before Date', () => {
      expect(lifetime({ date: at(0), expires: at(-60) })).toEqual({ ms: 0, source: 'expires' });
    });

    it('reads the obsolete date forms', () => {
      expect(lifetime({ date: 'Wed Jan  1 12:00:00 2025', expires: 'Wednesday, 01-Jan-25 12:01:00 GMT' }).ms).toBe(60000);
    });
  });

  describe('RFC 9213 CDN-Cache-Control', () => {
    it('takes its max-age before Cache-Control and Expires', () => {
      expect(lifetime({ 'cdn-cache-control': 'max-age=30', 'cache-control': 's-maxage=600', expires: at(900), date: at(0) }))
        .toEqual({ ms: 30000, source: 'cdn-cache-control' });
    });

    it('takes its s-maxage before its max-age', () => {
      expect(lifetime({ 'cdn-cache-control': 'max-age=30, s-maxage=90' })).toEqual({ ms: 90000, source: 'cdn-cache-control' });
    });

    it('ignores Expires when it is valid but has no lifetime: heuristic freshness then applies', () => {
      expect(lifetime({ 'cdn-cache-control': 'public', expires: at(900), date: at(0), 'last-modified': at(-1000) }))
        .toEqual({ ms: 100000, source: 'heuristic' });
    });

    it('is ignored when cdnCacheControl is off', () => {
      expect(lifetime({ 'cdn-cache-control': 'max-age=30', 'cache-control': 'max-age=60' }, { cdnCacheControl: false }))
        .toEqual({ ms: 60000, source: 'max-age' });
    });

    it('is ignored when invalid (Cache-Control applies)', () => {
      expect(lifetime({ 'cdn-cache-control': 'max-age=30,', 'cache-control': 'max-age=60' })).toEqual({ ms: 60000, source: 'max-age' });
    });

    it('ignores a field whose max-age is not an Integer (a decimal, a string), as invalid (2.2)', () => {
      expect(lifetime({ 'cdn-cache-control': 'max-age=30.5', 'cache-control': 'max-age=60' })).toEqual({ ms: 60000, source: 'max-age' });
      expect(lifetime({ 'cdn-cache-control': 'max-age="30"', 'cache-control': 'max-age=60' })).toEqual({ ms: 60000, source: 'max-age' });
    });
  });
});

describe('RFC 9111 4.2.2 heuristic freshness', () => {
  const headers = { date: at(0), 'last-modified': at(-100000) };

  it('is 10% of Date minus Last-Modified by default', () => {
    expect(lifetime(headers)).toEqual({ ms: 10000000, source: 'heuristic' });
  });

  it('is capped at heuristicMaxMs (a day by default)', () => {
    expect(lifetime({ date: at(0), 'last-modified': at(-365 * 86400) })).toEqual({ ms: 86400000, source: 'heuristic' });
    expect(lifetime(headers, { heuristicMaxMs: 5000 }).ms).toBe(5000);
  });

  it('follows heuristicFraction', () => {
    expect(lifetime(headers, { heuristicFraction: 0.5 }).ms).toBe(50000000);
  });

  it('uses the response time without Date', () => {
    expect(lifetime({ 'last-modified': at(-1000) }).ms).toBe(100000);
  });

  it.each([
    ['no Last-Modified', { date: at(0) }],
    ['an invalid Last-Modified', { date: at(0), 'last-modified': 'long ago' }],
    ['a Last-Modified after Date', { date: at(0), 'last-modified': at(60) }],
  ])('is 0 with %s', (_what, h) => {
    expect(lifetime(h)).toEqual({ ms: 0, source: 'heuristic' });
  });

  it.each([[203], [204], [300], [301], [308], [404], [405], [410], [414], [501]])('applies to status %i', (status) => {
    expect(lifetime(headers, { status }).source).toBe('heuristic');
  });

  it.each([[201], [302], [307], [400], [403], [500], [503], [undefined]])('does not apply to status %p', (status) => {
    expect(lifetime(headers, { status })).toEqual({ ms: 0, source: 'none' });
  });

  it('applies to any status when the response says public', () => {
    expect(lifetime({ ...headers, 'cache-control': 'public' }, { status: 302 }).source).toBe('heuristic');
  });

  it('follows a narrowed heuristicStatuses', () => {
    expect(lifetime(headers, { status: 404, heuristicStatuses: new Set([200]) }).source).toBe('none');
  });

  it('does not apply when there is an explicit expiration time', () => {
    expect(lifetime({ ...headers, 'cache-control': 'max-age=5' }).source).toBe('max-age');
    expect(lifetime({ ...headers, expires: at(5) }).source).toBe('expires');
  });
});

describe('RFC 9111 4.2.3 age calculation', () => {
  const requestTime = T0 - 2000;
  const responseTime = T0;

  it('is the response delay without Age and with a Date at the response time', () => {
    expect(initialAge({ date: at(0) }, requestTime, responseTime)).toBe(2000);
  });

  it('is age_value + response_delay when that exceeds the apparent age', () => {
    expect(initialAge({ date: at(0), age: '60' }, requestTime, responseTime)).toBe(62000);
  });

  it('is the apparent age when Date is older than Age says', () => {
    expect(initialAge({ date: at(-300), age: '60' }, requestTime, responseTime)).toBe(300000);
  });

  it('counts no negative apparent age for a Date in the future', () => {
    expect(initialAge({ date: at(300) }, responseTime, responseTime)).toBe(0);
  });

  it('uses Age and the delay when there is no Date', () => {
    expect(initialAge({ age: '10' }, requestTime, responseTime)).toBe(12000);
  });

  it('ignores an invalid Date', () => {
    expect(initialAge({ date: 'now', age: '10' }, responseTime, responseTime)).toBe(10000);
  });

  it('counts no negative response delay', () => {
    expect(initialAge({}, responseTime + 5000, responseTime)).toBe(0);
  });

  describe('RFC 9111 5.1 Age field values', () => {
    it.each([['-5'], ['1.5'], ['ten'], [''], ['10s']])('ignores the invalid Age %p', (age) => {
      expect(initialAge({ age }, responseTime, responseTime)).toBe(0);
    });

    it('uses the first member of a list', () => {
      expect(initialAge({ age: '30, 90' }, responseTime, responseTime)).toBe(30000);
    });

    it('uses the first of several field lines', () => {
      expect(initialAge({ age: ['30', '90'] }, responseTime, responseTime)).toBe(30000);
      expect(initialAge(['age', '40', 'age', '5'], responseTime, responseTime)).toBe(40000);
    });

    it('ignores the field when its first member is invalid, even if a later one is valid', () => {
      expect(initialAge({ age: 'x, 90' }, responseTime, responseTime)).toBe(0);
    });

    it('clamps a huge Age to 2^31 seconds', () => {
      expect(initialAge({ age: '9'.repeat(40) }, responseTime, responseTime)).toBe(2 ** 31 * 1000);
    });
  });

  it('adds the resident time to the initial age', () => {
    expect(currentAge(5000, T0, T0 + 10000)).toBe(15000);
  });

  it('counts no negative resident time when the clock goes back', () => {
    expect(currentAge(5000, T0, T0 - 10000)).toBe(5000);
  });

  it.each([[0, '0'], [999, '0'], [61500, '61'], [-5, '0'], [1e15, '2147483648']])('writes an age of %p ms as Age: %s', (ms, value) => {
    expect(ageFieldValue(ms)).toBe(value);
  });
});

describe('RFC 5861 stale windows: staleWindowsMs', () => {
  it('reads stale-while-revalidate and stale-if-error', () => {
    expect(staleWindowsMs({ 'cache-control': 'max-age=60, stale-while-revalidate=30, stale-if-error=600' }))
      .toEqual({ whileRevalidateMs: 30000, ifErrorMs: 600000 });
  });

  it('keeps an explicit window next to s-maxage', () => {
    expect(staleWindowsMs({ 'cache-control': 's-maxage=60, stale-while-revalidate=30' }).whileRevalidateMs).toBe(30000);
  });

  it.each([['must-revalidate'], ['proxy-revalidate'], ['no-cache']])('is 0 under %s', (directive) => {
    expect(staleWindowsMs({ 'cache-control': `max-age=60, ${directive}, stale-while-revalidate=30, stale-if-error=60` }))
      .toEqual({ whileRevalidateMs: 0, ifErrorMs: 0 });
  });

  it('keeps the windows under proxy-revalidate in a private cache', () => {
    expect(staleWindowsMs({ 'cache-control': 'proxy-revalidate, stale-if-error=60' }, { shared: false }).ifErrorMs).toBe(60000);
  });

  it('is 0 for an invalid window', () => {
    expect(staleWindowsMs({ 'cache-control': 'stale-while-revalidate=soon' }).whileRevalidateMs).toBe(0);
  });
});

describe('RFC 9111 4.2.4 and 5.2 serving a stored response: servable', () => {
  const stored = (cacheControl, { lifetimeMs = 60000, initialAgeMs = 0 } = {}) => ({
    headers: cacheControl === undefined ? {} : { 'cache-control': cacheControl },
    status: 200,
    lifetimeMs,
    initialAgeMs,
    responseTime: T0,
  });
  const state = (entry, req, secondsLater, options) => servable(entry, req, T0 + secondsLater * 1000, options).state;

  it('is fresh while the current age is below the lifetime', () => {
    expect(servable(stored('max-age=60'), {}, T0 + 59000)).toEqual({ state: 'fresh', ageMs: 59000, ifErrorMs: 0 });
  });

  it('counts the initial age (4.2.3)', () => {
    expect(state(stored('max-age=60', { initialAgeMs: 50000 }), {}, 20)).toBe('revalidate');
  });

  it('is stale at exactly the lifetime (fresh means lifetime > age)', () => {
    expect(state(stored('max-age=60'), {}, 60)).toBe('revalidate');
  });

  describe('RFC 9111 5.2.2.4 response no-cache', () => {
    it('requires validation even when fresh', () => {
      expect(state(stored('max-age=60, no-cache'), {}, 1)).toBe('revalidate');
    });

    it('does not when qualified (the fields are the engine\'s)', () => {
      expect(state(stored('max-age=60, no-cache="x-id"'), {}, 1)).toBe('fresh');
    });

    it('forbids stale-if-error', () => {
      expect(servable(stored('max-age=60, no-cache, stale-if-error=600'), {}, T0 + 1000).ifErrorMs).toBe(0);
    });
  });

  describe('RFC 9111 5.2.1.4 request no-cache', () => {
    it('requires validation', () => {
      expect(state(stored('max-age=60'), { 'cache-control': 'no-cache' }, 1)).toBe('revalidate');
    });

    it('is also said by Pragma: no-cache without Cache-Control (5.4)', () => {
      expect(state(stored('max-age=60'), { pragma: 'no-cache' }, 1)).toBe('revalidate');
      expect(state(stored('max-age=60'), { pragma: 'no-cache', 'cache-control': 'max-stale' }, 1)).toBe('fresh');
    });
  });

  describe('RFC 9111 5.2.1.1 request max-age', () => {
    it('requires validation when the age exceeds it', () => {
      expect(state(stored('max-age=600'), { 'cache-control': 'max-age=10' }, 11)).toBe('revalidate');
    });

    it('allows an age equal to it', () => {
      expect(state(stored('max-age=600'), { 'cache-control': 'max-age=10' }, 10)).toBe('fresh');
    });

    it('max-age=0 requires validation once any time has passed', () => {
      expect(state(stored('max-age=600'), { 'cache-control': 'max-age=0' }, 0.001)).toBe('revalidate');
    });

    it('still limits the age when max-stale is present', () => {
      expect(state(stored('max-age=60'), { 'cache-control': 'max-age=70, max-stale' }, 80)).toBe('revalidate');
      expect(state(stored('max-age=60'), { 'cache-control': 'max-age=70, max-stale' }, 65)).toBe('stale-ok');
    });

    it('is ignored when invalid', () => {
      expect(state(stored('max-age=60'), { 'cache-control': 'max-age=soon' }, 50)).toBe('fresh');
    });
  });

  describe('RFC 9111 5.2.1.3 request min-fresh', () => {
    it('requires validation when the response stays fresh for less than it', () => {
      expect(state(stored('max-age=60'), { 'cache-control': 'min-fresh=30' }, 31)).toBe('revalidate');
    });

    it('is satisfied when the response stays fresh at least that long', () => {
      expect(state(stored('max-age=60'), { 'cache-control': 'min-fresh=30' }, 30)).toBe('fresh');
    });

    it('wins over max-stale', () => {
      expect(state(stored('max-age=60'), { 'cache-control': 'min-fresh=1, max-stale' }, 70)).toBe('revalidate');
    });
  });

  describe('RFC 9111 5.2.1.2 request max-stale', () => {
    it('without an argument accepts any staleness', () => {
      expect(state(stored('max-age=60'), { 'cache-control': 'max-stale' }, 100000)).toBe('stale-ok');
    });

    it('with an argument accepts that much staleness', () => {
      expect(state(stored('max-age=60'), { 'cache-control': 'max-stale=30' }, 90)).toBe('stale-ok');
      expect(state(stored('max-age=60'), { 'cache-control': 'max-stale=30' }, 91)).toBe('revalidate');
    });

    it('with an invalid argument accepts none', () => {
      expect(state(stored('max-age=60'), { 'cache-control': 'max-stale=x' }, 61)).toBe('revalidate');
    });

    it.each([
      ['must-revalidate (5.2.2.2)', 'max-age=60, must-revalidate'],
      ['proxy-revalidate in a shared cache (5.2.2.8)', 'max-age=60, proxy-revalidate'],
      ['s-maxage in a shared cache (5.2.2.10)', 's-maxage=60'],
      ['no-cache (5.2.2.4)', 'max-age=60, no-cache'],
    ])('is refused under %s', (_what, cacheControl) => {
      expect(state(stored(cacheControl), { 'cache-control': 'max-stale' }, 61)).toBe('revalidate');
    });

    it('is allowed under proxy-revalidate and s-maxage in a private cache', () => {
      expect(state(stored('max-age=60, proxy-revalidate, s-maxage=60'), { 'cache-control': 'max-stale' }, 61, { shared: false }))
        .toBe('stale-ok');
    });

    it('is refused under a must-revalidate in CDN-Cache-Control, which replaces Cache-Control', () => {
      const entry = { ...stored(), headers: { 'cdn-cache-control': 'max-age=60, must-revalidate', 'cache-control': 'max-age=60' } };
      expect(state(entry, { 'cache-control': 'max-stale' }, 61)).toBe('revalidate');
    });
  });

  describe('RFC 5861 3 stale-while-revalidate', () => {
    it('allows serving while revalidating within the window', () => {
      expect(state(stored('max-age=60, stale-while-revalidate=30'), {}, 89)).toBe('stale-while-revalidate');
    });

    it('ends with the window', () => {
      expect(state(stored('max-age=60, stale-while-revalidate=30'), {}, 90)).toBe('revalidate');
    });

    it('holds next to s-maxage, which it states explicitly', () => {
      expect(state(stored('s-maxage=60, stale-while-revalidate=30'), {}, 70)).toBe('stale-while-revalidate');
    });

    it('is refused under must-revalidate', () => {
      expect(state(stored('max-age=60, must-revalidate, stale-while-revalidate=30'), {}, 70)).toBe('revalidate');
    });

    it('does not override a request no-cache or max-age', () => {
      expect(state(stored('max-age=60, stale-while-revalidate=30'), { 'cache-control': 'no-cache' }, 70)).toBe('revalidate');
      expect(state(stored('max-age=60, stale-while-revalidate=30'), { 'cache-control': 'max-age=65' }, 70)).toBe('revalidate');
    });

    it('yields to max-stale when both allow', () => {
      expect(state(stored('max-age=60, stale-while-revalidate=30'), { 'cache-control': 'max-stale' }, 70)).toBe('stale-ok');
    });
  });

  describe('RFC 5861 4 stale-if-error', () => {
    it('is the rest of the lifetime plus the window, from now', () => {
      expect(servable(stored('max-age=60, stale-if-error=600'), {}, T0 + 100000).ifErrorMs).toBe(560000);
    });

    it('is 0 once past the window', () => {
      expect(servable(stored('max-age=60, stale-if-error=600'), {}, T0 + 700000).ifErrorMs).toBe(0);
    });

    it('takes the request\'s window when it is longer', () => {
      expect(servable(stored('max-age=60'), { 'cache-control': 'stale-if-error=100' }, T0 + 100000).ifErrorMs).toBe(60000);
    });

    it.each([['must-revalidate'], ['proxy-revalidate']])('is 0 under %s', (directive) => {
      expect(servable(stored(`max-age=60, ${directive}, stale-if-error=600`), {}, T0 + 100000).ifErrorMs).toBe(0);
    });

    it('is 0 under s-maxage without a window of its own, even if the request asks', () => {
      expect(servable(stored('s-maxage=60'), { 'cache-control': 'stale-if-error=600' }, T0 + 10000).ifErrorMs).toBe(0);
    });

    it('is 0 without a window, even while fresh: a validation the request asks for must succeed (RFC 9111 4.2.4, 5.2.1.4)', () => {
      expect(servable(stored('max-age=60'), { 'cache-control': 'no-cache' }, T0 + 10000)).toEqual({ state: 'revalidate', ageMs: 10000, ifErrorMs: 0 });
      expect(servable(stored('max-age=60, stale-if-error=600'), { 'cache-control': 'no-cache' }, T0 + 10000).ifErrorMs).toBe(650000);
    });

    it('holds next to s-maxage when the response grants it', () => {
      expect(servable(stored('s-maxage=60, stale-if-error=600'), {}, T0 + 100000).ifErrorMs).toBe(560000);
    });
  });

  it('reads flat stored headers', () => {
    const entry = { ...stored(), headers: ['cache-control', 'max-age=60', 'cache-control', 'no-cache'] };
    expect(state(entry, [], 1)).toBe('revalidate');
  });
});

describe('RFC 9111 5.2.1.7 only-if-cached', () => {
  it('is read from the request', () => {
    expect(onlyIfCached({ 'cache-control': 'max-stale, Only-If-Cached' })).toBe(true);
    expect(onlyIfCached(['cache-control', 'only-if-cached'])).toBe(true);
  });

  it('is false otherwise', () => {
    expect(onlyIfCached({})).toBe(false);
    expect(onlyIfCached({ pragma: 'only-if-cached' })).toBe(false);
  });
});
