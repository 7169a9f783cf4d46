'use strict';

// Option validation at setup: invalid options throw a TypeError or RangeError naming the option.
// No Redis: options are checked before anything connects, and an embedded cache (no Redis URL)
// builds middleware like any other.
const { respcache, openCache, closeCaches } = require('../helpers/cache');
const { thrownBy } = require('../helpers/thrown');

const { createCache } = respcache;

let cache;
let savedUrl;

beforeAll(async () => {
  // Embedded mode is a cache without a Redis URL, the environment's included.
  savedUrl = process.env.REDIS_URL;
  delete process.env.REDIS_URL;
  ({ cache } = await openCache({}));
});

afterAll(async () => {
  if (savedUrl !== undefined) process.env.REDIS_URL = savedUrl;
  await closeCaches();
});

function expectOptionError(err, option) {
  expect(['TypeError', 'RangeError']).toContain(err.name);
  expect(err.message).toContain(option);
}

describe('createCache(options)', () => {
  describe.each([
    ['redis', { redis: 42 }],
    ['redis', { redis: true }],
    ['redis', { redis: 'http://127.0.0.1:6379' }],
    ['redis', { redis: 'not a url' }],
    ['port', { redis: { host: '127.0.0.1', port: 'six' } }],
    ['port', { redis: { host: '127.0.0.1', port: 70000 } }],
    ['port', { redis: { host: '127.0.0.1', port: -1 } }],
    ['host', { redis: { host: 42 } }],
    ['db', { redis: { host: '127.0.0.1', db: -1 } }],
    ['db', { redis: { host: '127.0.0.1', db: 'zero' } }],
    ['password', { redis: { host: '127.0.0.1', password: 42 } }],
    ['keyPrefix', { keyPrefix: 42 }],
    ['keyPrefix', { keyPrefix: '' }],
    ['keyPrefix', { keyPrefix: 'app\uD800' }],
    ['connectTimeout', { connectTimeout: -1 }],
    ['connectTimeout', { connectTimeout: 'soon' }],
    ['commandTimeout', { commandTimeout: -1 }],
    ['commandTimeout', { commandTimeout: 'fast' }],
    ['commandTimeout', { commandTimeout: NaN }],
    ['comandTimeout', { comandTimeout: 50 }],
    ['keyprefix', { keyprefix: 'api' }],
    ['tls', { redis: 'redis://127.0.0.1:1', tls: 'yes' }],
    ['tls', { tls: true }], // no Redis: nothing to connect over TLS
    ['tls', { redis: 'rediss://127.0.0.1:1', tls: false }],
    ['tls', { redis: 'unix:///tmp/respcache.sock', tls: true }],
    ['tls', { redis: { host: '127.0.0.1', tls: true } }],
    ['tls.minVersion', { redis: 'rediss://127.0.0.1:1', tls: { minVersion: 'TLSv1.1' } }],
    ['tls.ca', { redis: 'rediss://127.0.0.1:1', tls: { ca: 'not a PEM' } }],
    ['tls.key', { redis: 'rediss://127.0.0.1:1', tls: { cert: '-----BEGIN CERTIFICATE-----\n' } }],
    ['tls.servername', { redis: 'rediss://127.0.0.1:1', tls: { servername: 6380 } }],
    ['tls.rejectUnauthorized', { redis: 'rediss://127.0.0.1:1', tls: { rejectUnauthorized: 'no' } }],
    ['tsl', { redis: 'rediss://127.0.0.1:1', tsl: {} }],
  ])('when "%s" is invalid (%j)', (option, options) => {
    it('throws a TypeError or RangeError naming the option', () => {
      expectOptionError(thrownBy(() => createCache(options)), option);
    });
  });

  it('throws a TypeError when options is not an object', () => {
    expect(thrownBy(() => createCache(42)).name).toBe('TypeError');
    expect(thrownBy(() => createCache('redis://127.0.0.1:1')).name).toBe('TypeError');
  });

  it('accepts frozen options and leaves them as they were', async () => {
    // A Redis endpoint nothing listens on: the options are taken, the cache is closed before it
    // could connect.
    const withRedis = Object.freeze({
      redis: Object.freeze({ host: '127.0.0.1', port: 1 }),
      keyPrefix: 'frozen', commandTimeout: 200, connectTimeout: 200,
      local: Object.freeze({ maxBytes: 1 << 20, ttl: 5 }),
    });
    const embedded = Object.freeze({ keyPrefix: 'frozen', local: Object.freeze({ maxBytes: 1 << 20 }) });
    const snapshots = [JSON.stringify(withRedis), JSON.stringify(embedded)];
    const { cache: connecting } = await openCache(withRedis, { waitReady: false });
    const { cache: ready } = await openCache(embedded);
    expect(ready.status).toBe('ready');
    expect([JSON.stringify(withRedis), JSON.stringify(embedded)]).toEqual(snapshots);
    await Promise.all([connecting.close(), ready.close()]);
  });
});

describe('cache.middleware(options)', () => {
  describe.each([
    ['ttl', { ttl: -1 }],
    ['ttl', { ttl: 0 }],
    ['ttl', { ttl: 'x' }],
    ['ttl', { ttl: NaN }],
    ['ttl', { ttl: Infinity }],
    ['tll', { tll: 60 }],
    ['keyPrefix', { keyPrefix: 42 }],
    ['keyPrefix', { keyPrefix: '' }],
    ['keyPrefix', { keyPrefix: 'r\uDC00' }],
    ['tags', { tags: ['ok', 'bad\uD800'] }],
    ['namespace', { namespace: 'ns\uD801' }],
    ['keyBuilder', { keyBuilder: 'user:1' }],
    ['condition', { condition: true }],
    ['statuses', { statuses: ['a'] }],
    ['statuses', { statuses: [99] }],
    ['statuses', { statuses: [101] }], // an interim status is never a response to store
    ['statuses', { statuses: [1000] }],
    ['statuses', { statuses: [200.5] }],
    ['methods', { methods: [42] }],
    ['methods', { methods: ['HEAD'] }], // a HEAD response is never stored: nothing could fill the entry
    ['maxBodySize', { maxBodySize: -1 }],
    ['maxBodySize', { maxBodySize: 'big' }],
    ['exposeKey', { exposeKey: 'yes' }],
    ['conditon', { conditon: () => true }],
  ])('when "%s" is invalid (%j)', (option, options) => {
    it('throws a TypeError or RangeError naming the option', () => {
      expectOptionError(thrownBy(() => cache.middleware(options)), option);
    });
  });

  describe('when methods adds POST without a keyBuilder', () => {
    it('throws a TypeError naming "methods" or "keyBuilder"', () => {
      const err = thrownBy(() => cache.middleware({ methods: ['GET', 'HEAD', 'POST'] }));
      expect(err.name).toBe('TypeError');
      expect(err.message).toMatch(/methods|keyBuilder/);
    });
  });

  describe('when methods adds POST with a keyBuilder', () => {
    it('returns a middleware function', () => {
      const mw = cache.middleware({ methods: ['GET', 'POST'], keyBuilder: () => 'k' });
      expect(typeof mw).toBe('function');
      expect(mw.length).toBe(3);
    });
  });

  it('accepts no options at all', () => {
    expect(typeof cache.middleware()).toBe('function');
  });

  it('accepts frozen options and leaves them as they were', () => {
    const options = Object.freeze({ ttl: 5, statuses: Object.freeze([200, 404]),
      methods: Object.freeze(['GET']), maxBodySize: 1000, exposeKey: true });
    const snapshot = JSON.stringify(options);
    expect(typeof cache.middleware(options)).toBe('function');
    expect(JSON.stringify(options)).toBe(snapshot);
  });
});
