'use strict';

const { invalidationTargets } = require('../../lib/http/invalidation-targets');

const URL_ = 'https://api.example/orders/7?x=1';

describe('RFC 9111 4.4 invalidating stored responses: invalidationTargets', () => {
  it.each([['POST'], ['PUT'], ['DELETE'], ['PATCH'], ['PURGE'], ['get']])('invalidates the target URI after %s', (method) => {
    expect(invalidationTargets(method, 200, URL_, {})).toEqual([URL_]);
  });

  it.each([['GET'], ['HEAD'], ['OPTIONS'], ['TRACE']])('invalidates nothing after the safe method %s', (method) => {
    expect(invalidationTargets(method, 200, URL_, { location: '/orders' })).toEqual([]);
  });

  it.each([[200], [201], [204], [299], [301], [303], [399]])('invalidates after the non-error status %i', (status) => {
    expect(invalidationTargets('POST', status, URL_, {})).toEqual([URL_]);
  });

  it.each([[100], [400], [404], [409], [500], [503], [undefined]])('invalidates nothing after status %p', (status) => {
    expect(invalidationTargets('POST', status, URL_, {})).toEqual([]);
  });

  it('adds Location and Content-Location of the same origin, resolved against the request URL', () => {
    expect(invalidationTargets('POST', 201, URL_, { location: '/orders/8', 'content-location': 'items?page=2' }))
      .toEqual([URL_, 'https://api.example/orders/8', 'https://api.example/orders/items?page=2']);
  });

  it('adds absolute same-origin URLs, with the default port spelled or not', () => {
    expect(invalidationTargets('PUT', 200, URL_, { location: 'https://API.example:443/orders' }))
      .toEqual([URL_, 'https://api.example/orders']);
  });

  it.each([
    ['another host', 'https://evil.example/orders'],
    ['another scheme', 'http://api.example/orders'],
    ['another port', 'https://api.example:8443/orders'],
    ['a subdomain', 'https://www.api.example/orders'],
    ['a protocol-relative reference to another host', '//evil.example/x'],
  ])('does not add a Location of %s', (_what, location) => {
    expect(invalidationTargets('POST', 201, URL_, { location })).toEqual([URL_]);
  });

  it('drops fragments and duplicates', () => {
    expect(invalidationTargets('POST', 200, `${URL_}#top`, { location: '#frag', 'content-location': URL_ })).toEqual([URL_]);
  });

  it('skips references that do not resolve, and repeated singleton fields', () => {
    expect(invalidationTargets('POST', 200, URL_, { location: 'http://[bad', 'content-location': ['/a', '/b'] })).toEqual([URL_]);
  });

  it('accepts a URL object and flat headers', () => {
    expect(invalidationTargets('DELETE', 204, new URL(URL_), ['content-location', '/orders'])).toEqual([URL_, 'https://api.example/orders']);
  });

  it('adds nothing for a request URL with an opaque origin', () => {
    expect(invalidationTargets('POST', 200, 'data:text/plain,x', { location: 'data:text/plain,y' })).toEqual(['data:text/plain,x']);
  });

  it.each([['/orders/7'], [''], ['not a url']])('throws a TypeError for the relative request URL %p', (url) => {
    expect(() => invalidationTargets('POST', 200, url, {})).toThrow(TypeError);
    expect(() => invalidationTargets('POST', 200, url, {})).toThrow(/^Expected the request URL to be an absolute URL/);
  });
});
