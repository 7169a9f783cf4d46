'use strict';

const { sharedStorable, strippedFields } = require('../../lib/http/storable');

const storable = (resHeaders, { method = 'GET', status = 200, req = {}, options } = {}) => (
  sharedStorable(method, status, req, resHeaders, options));

describe('RFC 9111 3 storing responses in a shared cache: sharedStorable', () => {
  it('stores a 200 with max-age', () => {
    expect(storable({ 'cache-control': 'max-age=60' })).toBeNull();
  });

  describe('the request method', () => {
    it('stores a response to HEAD', () => {
      expect(storable({ 'cache-control': 'max-age=60' }, { method: 'HEAD' })).toBeNull();
    });

    it.each([['POST'], ['PUT'], ['DELETE'], ['OPTIONS'], ['PATCH'], ['get']])('does not store a response to %s', (method) => {
      expect(storable({ 'cache-control': 'max-age=60' }, { method })).toBe(`method ${method} is not cacheable`);
    });
  });

  describe('the status code', () => {
    it.each([[100], [103], [199]])('does not store the interim status %i', (status) => {
      expect(storable({ 'cache-control': 'max-age=60' }, { status })).toBe(`status ${status} is not final`);
    });

    it('does not store a 206 (partial content is combined by the engine, 3.3-3.4)', () => {
      expect(storable({ 'cache-control': 'max-age=60' }, { status: 206 })).toMatch(/^status 206/);
    });

    it('does not store a 304 (it updates stored responses, 4.3.4)', () => {
      expect(storable({ 'cache-control': 'max-age=60' }, { status: 304 })).toMatch(/^status 304/);
    });

    it.each([[600], [99], [200.5], [NaN], ['200']])('refuses the invalid status %p', (status) => {
      expect(storable({ 'cache-control': 'max-age=60' }, { status })).toMatch(/is not a valid status code$/);
    });

    it.each([[201], [302], [307], [400], [403], [500], [503], [299], [599]])(
      'stores the non-heuristic status %i with explicit freshness', (status) => {
        expect(storable({ 'cache-control': 'max-age=60' }, { status })).toBeNull();
      },
    );
  });

  describe('explicit freshness, public, or a heuristically cacheable status (the 3 list)', () => {
    it.each([[200], [203], [204], [300], [301], [308], [404], [405], [410], [414], [501]])(
      'stores the heuristically cacheable status %i with no freshness information', (status) => {
        expect(storable({}, { status })).toBeNull();
      },
    );

    it.each([[201], [302], [307], [500], [503]])('does not store status %i without it', (status) => {
      expect(storable({ etag: '"v1"', 'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT' }, { status }))
        .toBe(`status ${status} is not heuristically cacheable and the response has no explicit freshness or public`);
    });

    it.each([
      ['public', { 'cache-control': 'public' }],
      ['max-age=0', { 'cache-control': 'max-age=0' }],
      ['s-maxage', { 'cache-control': 's-maxage=60' }],
      ['a valid Expires', { expires: 'Wed, 01 Jan 2025 00:00:00 GMT' }],
      ['an invalid Expires (stored as already expired)', { expires: '0' }],
      ['CDN-Cache-Control max-age', { 'cdn-cache-control': 'max-age=60' }],
    ])('stores a 302 with %s', (_what, headers) => {
      expect(storable(headers, { status: 302 })).toBeNull();
    });

    it('does not count Expires when a valid CDN-Cache-Control replaces it (RFC 9213)', () => {
      expect(storable({ 'cdn-cache-control': 'no-cache', expires: 'Wed, 01 Jan 2025 00:00:00 GMT' }, { status: 302 }))
        .toMatch(/not heuristically cacheable/);
    });

    it('follows a narrowed heuristicStatuses', () => {
      expect(storable({}, { status: 404, options: { heuristicStatuses: new Set([200]) } })).toMatch(/not heuristically cacheable/);
      expect(storable({ 'cache-control': 'max-age=5' }, { status: 404, options: { heuristicStatuses: new Set() } })).toBeNull();
    });
  });

  describe('RFC 9111 5.2.2.5 response no-store', () => {
    it('is not stored', () => {
      expect(storable({ 'cache-control': 'max-age=60, no-store' })).toBe('Cache-Control: no-store');
    });

    it('is not stored when CDN-Cache-Control says it', () => {
      expect(storable({ 'cdn-cache-control': 'no-store', 'cache-control': 'max-age=60' })).toBe('CDN-Cache-Control: no-store');
    });

    it('is stored when a valid CDN-Cache-Control allows it, which replaces Cache-Control (RFC 9213 2.1)', () => {
      expect(storable({ 'cdn-cache-control': 'max-age=60', 'cache-control': 'no-store' })).toBeNull();
    });

    it('is not stored when CDN-Cache-Control is turned off', () => {
      expect(storable({ 'cdn-cache-control': 'max-age=60', 'cache-control': 'no-store' }, { options: { cdnCacheControl: false } }))
        .toBe('Cache-Control: no-store');
    });
  });

  describe('RFC 9111 5.2.2.3 must-understand', () => {
    it('overrides no-store for a status this cache understands', () => {
      expect(storable({ 'cache-control': 'max-age=60, no-store, must-understand' })).toBeNull();
    });

    it('does not store a status this cache does not implement', () => {
      expect(storable({ 'cache-control': 'max-age=60, no-store, must-understand' }, { status: 299 }))
        .toBe('must-understand with status 299, which this cache does not implement');
    });
  });

  describe('RFC 9111 5.2.2.7 private', () => {
    it('is not stored when unqualified', () => {
      expect(storable({ 'cache-control': 'private, max-age=60' })).toBe('Cache-Control: private');
    });

    it('is stored when qualified (without the fields, see strippedFields)', () => {
      expect(storable({ 'cache-control': 'private="x-user", max-age=60' })).toBeNull();
    });

    it('is not stored when CDN-Cache-Control says private', () => {
      expect(storable({ 'cdn-cache-control': 'private', 'cache-control': 'public, max-age=60' })).toBe('CDN-Cache-Control: private');
    });
  });

  describe('RFC 9111 5.2.1.5 request no-store', () => {
    it('is not stored', () => {
      expect(storable({ 'cache-control': 'max-age=60' }, { req: { 'cache-control': 'no-store' } }))
        .toBe('the request says Cache-Control: no-store');
    });
  });

  describe('RFC 9111 3.5 requests with Authorization', () => {
    const req = { authorization: 'Bearer x' };

    it('are not stored by default', () => {
      expect(storable({ 'cache-control': 'max-age=60' }, { req })).toMatch(/^the request carried Authorization/);
    });

    it.each([['public'], ['s-maxage=60'], ['must-revalidate, max-age=60']])('are stored with %s', (cacheControl) => {
      expect(storable({ 'cache-control': cacheControl }, { req })).toBeNull();
    });

    it('are not stored on a heuristically cacheable status alone', () => {
      expect(storable({}, { req })).toMatch(/^the request carried Authorization/);
    });

    it('read flat request headers', () => {
      expect(storable({ 'cache-control': 'max-age=60' }, { req: ['authorization', 'Basic eA=='] })).toMatch(/Authorization/);
    });
  });

  describe('requests with Cookie (project rule, as 3.5 for Authorization)', () => {
    const req = { cookie: 'session=abc' };

    it('are not stored when the response is not marked public, s-maxage or must-revalidate', () => {
      expect(storable({ 'cache-control': 'max-age=60' }, { req })).toMatch(/^the request carried Cookie/);
      expect(storable({}, { req })).toMatch(/^the request carried Cookie/);
    });

    it.each([['public, max-age=60'], ['s-maxage=60'], ['must-revalidate, max-age=60']])('are stored with %s', (cacheControl) => {
      expect(storable({ 'cache-control': cacheControl }, { req })).toBeNull();
    });
  });

  it('does not store a response that sets a cookie (project rule)', () => {
    expect(storable({ 'cache-control': 'public, max-age=60', 'set-cookie': ['a=1'] })).toBe('the response sets a cookie');
  });

  it.each([['*'], ['accept, *'], [['accept-encoding', '*']]])('does not store Vary: %p (4.1)', (vary) => {
    expect(storable({ 'cache-control': 'max-age=60', vary })).toBe('Vary: *');
  });

  it('stores other Vary values', () => {
    expect(storable({ 'cache-control': 'max-age=60', vary: 'accept-encoding' })).toBeNull();
  });

  it('stores a response with no-cache (it is revalidated on use)', () => {
    expect(storable({ 'cache-control': 'no-cache' })).toBeNull();
  });

  it('reads flat response headers', () => {
    expect(storable(['cache-control', 'max-age=60', 'cache-control', 'no-store'])).toBe('Cache-Control: no-store');
  });
});

describe('RFC 9111 3.1 and 5.2.2 fields a shared cache treats apart: strippedFields', () => {
  it('drops hop-by-hop fields even when absent', () => {
    expect(strippedFields({}).drop.sort()).toEqual(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
  });

  it('drops the fields the Connection field names, lowercased', () => {
    expect(strippedFields({ connection: 'close, X-Hop' }).drop).toEqual(expect.arrayContaining(['x-hop', 'close']));
  });

  it('drops Proxy-* fields present in the response', () => {
    const { drop } = strippedFields({ 'proxy-authenticate': 'Basic', 'proxy-status': 'x', 'proxyish': '1' });
    expect(drop).toEqual(expect.arrayContaining(['proxy-authenticate', 'proxy-status']));
    expect(drop).not.toContain('proxyish');
  });

  it('drops the fields of a qualified private', () => {
    expect(strippedFields({ 'cache-control': 'private="X-User, x-session", max-age=60' }).drop)
      .toEqual(expect.arrayContaining(['x-user', 'x-session']));
  });

  it('lists the fields of a qualified no-cache for revalidation', () => {
    expect(strippedFields({ 'cache-control': 'no-cache="x-token, Set-Cookie"' }).revalidateIfUsed).toEqual(['x-token', 'set-cookie']);
  });

  it('does not list a field both to drop and to revalidate', () => {
    const { revalidateIfUsed } = strippedFields({ 'cache-control': 'no-cache="x-a, x-b", private="x-a"' });
    expect(revalidateIfUsed).toEqual(['x-b']);
  });

  it('reads the private and no-cache of a valid CDN-Cache-Control instead', () => {
    const headers = { 'cdn-cache-control': 'private="x-cdn"', 'cache-control': 'private="x-cc"' };
    expect(strippedFields(headers).drop).toContain('x-cdn');
    expect(strippedFields(headers).drop).not.toContain('x-cc');
    expect(strippedFields(headers, { cdnCacheControl: false }).drop).toContain('x-cc');
  });

  it('gives no field twice', () => {
    const { drop } = strippedFields({ connection: 'keep-alive, Keep-Alive' });
    expect(drop.length).toBe(new Set(drop).size);
  });

  it('reads flat headers', () => {
    expect(strippedFields(['Proxy-Status', 'x', 'cache-control', 'no-cache="a"']))
      .toEqual({ drop: expect.arrayContaining(['proxy-status']), revalidateIfUsed: ['a'] });
  });

  it('is empty of qualified names for unqualified directives', () => {
    expect(strippedFields({ 'cache-control': 'no-cache, private' }).revalidateIfUsed).toEqual([]);
  });
});
