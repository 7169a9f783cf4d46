'use strict';

// TLS to a real redis-server started with --tls-port and certificates made by the openssl CLI
// (test/helpers/gen-certs.sh): HIT/MISS and pub/sub over TLS, mutual TLS, and each failure
// (unknown CA, name mismatch, expired, client certificate refused, not TLS at all) answered with
// BYPASS and its coded 'error', then recovered once the server is fixed.
const crypto = require('crypto');
const tls = require('tls');
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { certDir, pem } = require('../helpers/tls-certs');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, once } = require('../helpers/cache');
const { busReady } = require('../helpers/internals');

let http = null;
let redis = null;
let calls = 0;

afterEach(async () => {
  if (http) await http.close();
  http = null;
  await closeCaches();
  if (redis) await redis.close();
  redis = null;
});

/** A TLS-only redis-server with `cert` (default 'server') and client certificates per `authClients`. */
async function tlsRedis(options = {}) {
  redis = await startRedis({ tls: { dir: certDir(), ...options } });
  return redis;
}

const trustCa = () => ({ ca: pem('ca.crt') });
const withClientCert = () => ({ ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') });

async function appFor(cache, { body = (n) => `fresh ${n}`, route = {} } = {}) {
  calls = 0;
  const app = express();
  app.get('/r', cache.middleware({ ttl: 60, ...route }), (req, res) => {
    calls++;
    res.send(body(calls));
  });
  http = await serve(app);
  return http;
}

/** Resolves with the first 'error' of `cache` whose code is `code` (already recorded or coming). */
function coded(cache, errors, code, timeout = 5000) {
  const seen = errors.find((e) => e.code === code);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cache.removeListener('error', onError);
      reject(new Error(`no ${code} within ${timeout} ms; got ${errors.map((e) => e.code).join(', ') || 'none'}`));
    }, timeout);
    function onError(err) {
      if (err.code !== code) return;
      clearTimeout(timer);
      cache.removeListener('error', onError);
      resolve(err);
    }
    cache.on('error', onError);
  });
}

async function expectMissThenHit(path = '/r') {
  const miss = await http.get(path);
  const hit = await http.get(path);
  expect(miss.status).toBe(200);
  expect(miss.headers['x-cache']).toBe('MISS');
  expect(hit.headers['x-cache']).toBe('HIT');
  expect(hit.body.equals(miss.body)).toBe(true);
  return { miss, hit };
}

async function expectBypass() {
  const before = calls;
  const reply = await http.get('/r');
  expect(reply.status).toBe(200);
  expect(reply.headers['x-cache']).toBe('BYPASS');
  expect(reply.text).toBe(`fresh ${before + 1}`);
}

describe('over TLS', () => {
  it('a rediss:// URL with the CA: MISS then HIT, HEAD, and a 100 KB body intact', async () => {
    await tlsRedis();
    const { cache, errors } = await openCache({ redis: redis.url, tls: trustCa() });
    const big = crypto.randomBytes(75 * 1024).toString('base64');
    const app = express();
    app.get('/small', cache.middleware({ ttl: 60 }), (req, res) => res.send('small'));
    app.get('/big', cache.middleware({ ttl: 60 }), (req, res) => res.type('text').send(big));
    http = await serve(app);
    await expectMissThenHit('/small');
    const { hit } = await expectMissThenHit('/big');
    expect(hit.text).toBe(big);
    const head = await http.request('/small', { method: 'HEAD' });
    expect(head.headers['x-cache']).toBe('HIT');
    // The entry is really in the TLS server (read back through a raw TLS client).
    expect((await redis.client().keys('*')).length).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('a tls object with a redis:// URL means TLS too', async () => {
    await tlsRedis();
    const { cache, errors } = await openCache({ redis: `redis://127.0.0.1:${redis.port}`, tls: trustCa() });
    await appFor(cache);
    await expectMissThenHit();
    expect(errors).toEqual([]);
  });

  it('the subscriber connection is TLS too: an invalidation by another instance drops the near copy', async () => {
    await tlsRedis();
    const options = { redis: redis.url, tls: trustCa() };
    const { cache: a } = await openCache({ ...options, local: true });
    const { cache: b } = await openCache(options);
    await appFor(a, { route: { tags: ['t'] } });
    await expectMissThenHit();
    const local = await http.get('/r');
    expect(local.headers['x-cache-tier']).toBe('local');
    // The invalidation is published once: a must be subscribed (over TLS) before b sends it.
    await busReady(a);
    const dropped = once(a, 'invalidated');
    await b.invalidateTags(['t']);
    await dropped;
    const again = await http.get('/r');
    expect(again.headers['x-cache']).toBe('MISS');
    expect(again.text).toBe('fresh 2');
  });

  it('application events travel over TLS', async () => {
    await tlsRedis();
    const options = { redis: redis.url, tls: trustCa() };
    const { cache: a } = await openCache(options);
    const { cache: b } = await openCache(options);
    const got = new Promise((resolve) => {
      const off = a.onEvent('hello', resolve);
      off.ready.then(() => b.publish('hello', { n: 1 }));
    });
    await expect(got).resolves.toEqual({ n: 1 });
  });

  it('mutual TLS: with the client certificate the server requires, HITs', async () => {
    await tlsRedis({ authClients: 'yes' });
    const { cache, errors } = await openCache({ redis: redis.url, tls: withClientCert() });
    await appFor(cache);
    await expectMissThenHit();
    expect(errors).toEqual([]);
  });

  it('servername names the certificate to expect when the host is an address', async () => {
    await tlsRedis({ cert: 'wrongname' });
    const { cache, errors } = await openCache({
      redis: redis.url, tls: { ...trustCa(), servername: 'redis.example.com' },
    });
    await appFor(cache);
    await expectMissThenHit();
    expect(errors).toEqual([]);
  });

  it('rejectUnauthorized: false connects to a server whose certificate would not verify', async () => {
    await tlsRedis({ cert: 'other-server' });
    const { cache, errors } = await openCache({ redis: redis.url, tls: { rejectUnauthorized: false } });
    await appFor(cache);
    await expectMissThenHit();
    expect(errors).toEqual([]);
  });
});

describe('TLS failures: BYPASS with a coded error, and recovery once the server is fixed', () => {
  // Each case starts the server wrongly configured, checks requests BYPASS and the cache reports
  // the code, then restarts the server on the same port with the right setup: the cache's own
  // reconnects find it, and requests MISS then HIT.
  const cases = [
    ['an unknown CA', { cert: 'other-server' }, trustCa, 'ERR_RESPCACHE_TLS_UNKNOWN_CA', /certificate/i],
    ['a name mismatch', { cert: 'wrongname' }, trustCa, 'ERR_RESPCACHE_TLS_NAME_MISMATCH', /mismatch|name/i],
    ['an expired certificate', { cert: 'expired' }, trustCa, 'ERR_RESPCACHE_TLS_CERT_EXPIRED', /expired/i],
    ['a server requiring a client certificate (TLS 1.3)', { authClients: 'yes' }, trustCa,
      'ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED', /certificate/i],
    ['a server requiring a client certificate (TLS 1.2)', { authClients: 'yes', protocols: 'TLSv1.2' }, trustCa,
      'ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED', /certificate|handshake/i],
    ['a client certificate of a CA the server does not trust', { authClients: 'yes' },
      () => ({ ...trustCa(), cert: pem('other-client.crt'), key: pem('other-client.key') }),
      'ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED', /certificate|alert/i],
  ];

  it.each(cases)('%s', async (what, serverSetup, clientTls, code, cause) => {
    await tlsRedis(serverSetup);
    const { cache, errors } = await openCache({ redis: redis.url, tls: clientTls() }, { waitReady: false });
    await appFor(cache);
    const err = await coded(cache, errors, code);
    expect(err.message).toMatch(cause);
    expect(err.message).toContain(`127.0.0.1:${redis.port}`);
    // No PEM text ever reaches a message.
    expect(err.message).not.toMatch(/BEGIN/);
    await expectBypass();
    await expectBypass();
    const ready = once(cache, 'ready', 8000);
    redis.tls = { dir: certDir() };
    await redis.restart();
    await ready;
    await expectMissThenHit();
  });

  it('a plain server behind rediss:// gives ERR_RESPCACHE_TLS_HANDSHAKE', async () => {
    redis = await startRedis();
    const { cache, errors } = await openCache({ redis: `rediss://127.0.0.1:${redis.port}`, tls: trustCa() },
      { waitReady: false });
    await appFor(cache);
    const err = await coded(cache, errors, 'ERR_RESPCACHE_TLS_HANDSHAKE');
    expect(err.message).toContain(`127.0.0.1:${redis.port}`);
    await expectBypass();
    expect(errors.every((e) => e.code === 'ERR_RESPCACHE_TLS_HANDSHAKE')).toBe(true);
  });

  it('a server sharing no cipher with the client is a handshake failure, not a refused client certificate', async () => {
    // The server answers with a handshake_failure alert, the same alert a TLS 1.2 server uses to
    // refuse a client certificate: only a server that asked for one may be reported as that.
    redis = await startRedis({ args: ['--tls-ciphersuites', 'TLS_AES_128_CCM_SHA256'],
      tls: { dir: certDir(), protocols: 'TLSv1.3' } });
    const { cache, errors } = await openCache({ redis: redis.url, tls: trustCa() }, { waitReady: false });
    await appFor(cache);
    await coded(cache, errors, 'ERR_RESPCACHE_TLS_HANDSHAKE');
    await expectBypass();
    expect(errors.some((e) => e.code === 'ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED')).toBe(false);
  });

  it('a TLS server behind redis:// is unavailable, not a TLS error', async () => {
    await tlsRedis();
    const { cache, errors } = await openCache({ redis: `redis://127.0.0.1:${redis.port}`, connectTimeout: 300 },
      { waitReady: false });
    await appFor(cache);
    await coded(cache, errors, 'ERR_RESPCACHE_REDIS_UNAVAILABLE');
    await expectBypass();
    expect(errors.some((e) => /^ERR_RESPCACHE_TLS_/.test(e.code))).toBe(false);
  });

  it('leaves nothing in the OpenSSL error queue that node:crypto or node:tls would trip on', async () => {
    await tlsRedis({ cert: 'expired' });
    const { cache, errors } = await openCache({ redis: redis.url, tls: trustCa() }, { waitReady: false });
    await coded(cache, errors, 'ERR_RESPCACHE_TLS_CERT_EXPIRED');
    expect(crypto.createHash('sha256').update('x').digest('hex')).toHaveLength(64);
    expect(crypto.createPrivateKey(pem('client.key')).asymmetricKeyType).toBe('ec');
    // node:tls to the same server verifies it independently and reports the same cause.
    const nodeErr = await new Promise((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: redis.port, ca: pem('ca.crt') });
      socket.once('secureConnect', () => { socket.destroy(); resolve(null); });
      socket.once('error', resolve);
    });
    expect(nodeErr && nodeErr.code).toBe('CERT_HAS_EXPIRED');
  });
});

describe('secrets stay out of logs', () => {
  it('util.inspect(cache) and JSON.stringify(cache.options) show neither the key, its passphrase nor the password', () => {
    const { createCache } = require('../../lib');
    const util = require('util');
    const cache = createCache({
      redis: 'rediss://user:pw-s3cret@127.0.0.1:1', connectTimeout: 200,
      tls: { ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') },
    });
    cache.on('error', () => {});
    try {
      for (const text of [util.inspect(cache, { depth: 10 }), JSON.stringify(cache.options)]) {
        expect(text).not.toMatch(/PRIVATE KEY|BEGIN|pw-s3cret/);
        expect(text).toContain('127.0.0.1');
      }
      // The native client still gets every field.
      expect(cache.options.endpoint.tls.key).toContain('PRIVATE KEY');
      expect(cache.options.endpoint.password).toBe('pw-s3cret');
    } finally {
      cache.close();
    }
  });
});

describe('TLS options that cannot work are refused when the cache is created', () => {
  it('a CA that is not a certificate', () => {
    const { createCache } = require('../../lib');
    const bad = '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n';
    expect(() => createCache({ redis: 'rediss://127.0.0.1:1', tls: { ca: bad } }))
      .toThrow(expect.objectContaining({ code: 'ERR_RESPCACHE_TLS_BAD_OPTIONS' }));
  });

  it('a key that does not belong to the certificate', () => {
    const { createCache } = require('../../lib');
    expect(() => createCache({
      redis: 'rediss://127.0.0.1:1', tls: { ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('server.key') },
    })).toThrow(expect.objectContaining({ code: 'ERR_RESPCACHE_TLS_BAD_OPTIONS' }));
  });

  it('the message never quotes the PEM', () => {
    const { createCache } = require('../../lib');
    let thrown;
    try {
      createCache({ redis: 'rediss://127.0.0.1:1', tls: { ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('server.key') } });
    } catch (err) { thrown = err; }
    expect(thrown).toBeDefined();
    expect(thrown.message).not.toMatch(/BEGIN|PRIVATE/);
  });
});
