'use strict';

// The native RedisClient over TLS against a real redis-server --tls-port: the `tls` object of
// lib/binding.js's contract, the TLS error codes, and Node's own TLS still working beside it.
const path = require('path');
const os = require('os');
const fs = require('fs');
const crypto = require('crypto');
const tls = require('tls');
const { execFileSync } = require('child_process');
const { RedisClient } = require('../../lib/binding');
const { startRedis, freePort } = require('../helpers/redis');

const certs = fs.mkdtempSync(path.join(os.tmpdir(), 'respcache-native-tls-'));
const pem = (name) => fs.readFileSync(path.join(certs, name), 'utf8');

/** The normalised tls object lib/ hands over, with `over` applied. */
function tlsOptions(over = {}) {
  return {
    ca: pem('ca.crt'), cert: '', key: '', passphrase: '', servername: '',
    rejectUnauthorized: true, minVersion: 'TLSv1.2', ...over,
  };
}

/** A client whose events are recorded, with a promise for the next event of each type. */
function makeClient(options) {
  const events = [];
  const waiters = [];
  const client = new RedisClient({
    host: '127.0.0.1',
    connectTimeout: 2000,
    commandTimeout: 5000,
    ...options,
    onEvent(type, error, ...rest) {
      events.push({ type, error, rest });
      for (const w of waiters.splice(0)) {
        if (w.type === type) w.resolve(error === null ? rest : error); else waiters.push(w);
      }
    },
  });
  client.events = events;
  client.next = (type) => new Promise((resolve) => waiters.push({ type, resolve }));
  client.ready = () => (client.status === 'ready' ? Promise.resolve() : client.next('ready'));
  return client;
}

/** A redis-server with a plain port and a TLS port serving `cert`. */
async function startTlsRedis(cert = 'server', authClients = 'no', extra = []) {
  const tlsPort = await freePort();
  const redis = await startRedis({
    args: ['--tls-port', String(tlsPort), '--tls-cert-file', path.join(certs, `${cert}.crt`),
      '--tls-key-file', path.join(certs, `${cert}.key`), '--tls-ca-cert-file', path.join(certs, 'ca.crt'),
      '--tls-auth-clients', authClients, ...extra],
  });
  redis.tlsPort = tlsPort;
  return redis;
}

beforeAll(() => {
  execFileSync('bash', [path.join(__dirname, '../helpers/gen-certs.sh'), certs]);
});

afterAll(() => {
  fs.rmSync(certs, { recursive: true, force: true });
});

describe('RedisClient over TLS', () => {
  let redis;
  let client;

  beforeAll(async () => {
    redis = await startTlsRedis();
    client = makeClient({ port: redis.tlsPort, tls: tlsOptions() });
    await client.ready();
  });

  afterAll(async () => {
    await client.close();
    await redis.close();
  });

  it('stores and reads back 1 KB and 1 MB values', async () => {
    for (const size of [1024, 1024 * 1024]) {
      const value = crypto.randomBytes(size);
      expect(await client.command(['SET', `tls:${size}`, value])).toBe('OK');
      const back = await client.command(['GET', `tls:${size}`]);
      expect(Buffer.compare(back, value)).toBe(0);
    }
    // Written through the plain port's view too: the same Redis.
    expect((await redis.client().getBuffer('tls:1024')).length).toBe(1024);
  });

  it('writes a flushed command and answers pipelined commands in order', async () => {
    expect(await client.command(['SET', 'tls:flushed', 'yes'], undefined, true)).toBe('OK');
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => client.command(['ECHO', String(i)])));
    expect(replies.map(String)).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
  });

  it('connects to localhost with SNI and the DNS name check, and to a servername', async () => {
    const byName = makeClient({ host: 'localhost', port: redis.tlsPort, tls: tlsOptions() });
    await byName.ready();
    expect(await byName.command(['PING'])).toBe('PONG');
    await byName.close();
    const overridden = makeClient({ port: redis.tlsPort, tls: tlsOptions({ servername: 'localhost' }) });
    await overridden.ready();
    await overridden.close();
  });

  it('receives pub/sub messages on a subscriber connection', async () => {
    const sub = makeClient({ port: redis.tlsPort, tls: tlsOptions(), subscriber: true });
    await sub.ready();
    await sub.subscribe('tls:channel');
    const message = sub.next('message');
    await redis.client().publish('tls:channel', 'hello over tls');
    const [channel, payload] = await message;
    expect(String(channel)).toBe('tls:channel');
    expect(String(payload)).toBe('hello over tls');
    await sub.close();
  });

  it('reconnects through a new TLS handshake after Redis restarts', async () => {
    const c = makeClient({ port: redis.tlsPort, tls: tlsOptions() });
    await c.ready();
    const reconnecting = c.next('reconnecting');
    await redis.restart();
    await reconnecting;
    await c.next('ready');
    expect(await c.command(['PING'])).toBe('PONG');
    await c.close();
  });
});

describe('RedisClient TLS failures', () => {
  const servers = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  /** Connects with `options`, returns the first 'error' and checks that commands are refused. */
  async function firstError(port, options) {
    const c = makeClient({ port, ...options });
    const error = await c.next('error');
    await c.next('reconnecting');
    expect(c.status).not.toBe('ready');
    await expect(c.command(['PING'])).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE' });
    await c.close();
    return error;
  }

  it('reports a certificate from an unknown CA', async () => {
    const redis = await startTlsRedis();
    servers.push(redis);
    const error = await firstError(redis.tlsPort, { tls: tlsOptions({ ca: pem('other-ca.crt') }) });
    expect(error).toMatchObject({
      code: 'ERR_RESPCACHE_TLS_UNKNOWN_CA',
      message: `TLS to 127.0.0.1:${redis.tlsPort}: self-signed certificate in certificate chain`,
    });
  });

  it('reports a certificate for another name or IP', async () => {
    const redis = await startTlsRedis('wrongname');
    servers.push(redis);
    expect(await firstError(redis.tlsPort, { tls: tlsOptions() })).toMatchObject({
      code: 'ERR_RESPCACHE_TLS_NAME_MISMATCH',
      message: `TLS to 127.0.0.1:${redis.tlsPort}: IP address mismatch (the certificate is not for 127.0.0.1)`,
    });
    expect(await firstError(redis.tlsPort, { host: 'localhost', tls: tlsOptions() })).toMatchObject({
      code: 'ERR_RESPCACHE_TLS_NAME_MISMATCH',
      message: `TLS to localhost:${redis.tlsPort}: hostname mismatch (the certificate is not for localhost)`,
    });
  });

  it('reports an expired certificate', async () => {
    const redis = await startTlsRedis('expired');
    servers.push(redis);
    expect(await firstError(redis.tlsPort, { tls: tlsOptions() })).toMatchObject({
      code: 'ERR_RESPCACHE_TLS_CERT_EXPIRED',
      message: `TLS to 127.0.0.1:${redis.tlsPort}: certificate has expired`,
    });
  });

  it('reports a missing client certificate, in TLS 1.3 and in TLS 1.2, and connects with one', async () => {
    const redis13 = await startTlsRedis('server', 'yes');
    const redis12 = await startTlsRedis('server', 'yes', ['--tls-protocols', 'TLSv1.2']);
    servers.push(redis13, redis12);
    for (const r of [redis13, redis12]) {
      const error = await firstError(r.tlsPort, { tls: tlsOptions() });
      expect(error.code).toBe('ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED');
      expect(error.message).toMatch(new RegExp(`^TLS to 127\\.0\\.0\\.1:${r.tlsPort}: the server rejected the client certificate`));
    }
    const withCert = makeClient({ port: redis13.tlsPort, tls: tlsOptions({ cert: pem('client.crt'), key: pem('client.key') }) });
    await withCert.ready();
    expect(await withCert.command(['PING'])).toBe('PONG');
    await withCert.close();
  });

  it('reports a port that does not speak TLS', async () => {
    // Redis's plain port waits for the rest of what it takes for an inline command: the
    // handshake times out.
    const redis = await startTlsRedis();
    servers.push(redis);
    const error = await firstError(redis.port, { tls: tlsOptions(), connectTimeout: 300 });
    expect(error).toMatchObject({
      code: 'ERR_RESPCACHE_TLS_HANDSHAKE',
      message: `TLS to 127.0.0.1:${redis.port}: timed out after 300 ms in the TLS handshake (does the server speak TLS on this port?)`,
    });
  });

  it('accepts any certificate with rejectUnauthorized false', async () => {
    const redis = await startTlsRedis('wrongname');
    servers.push(redis);
    const c = makeClient({ port: redis.tlsPort, tls: tlsOptions({ ca: pem('other-ca.crt'), rejectUnauthorized: false }) });
    await c.ready();
    expect(await c.command(['PING'])).toBe('PONG');
    await c.close();
  });

  it('leaves nothing in OpenSSL\'s error queue for Node\'s crypto and node:tls', async () => {
    const redis = await startTlsRedis('expired');
    const good = await startTlsRedis();
    servers.push(redis, good);
    await firstError(redis.tlsPort, { tls: tlsOptions() });
    expect(crypto.createHash('sha256').update('x').digest('hex')).toHaveLength(64);
    crypto.createPrivateKey(pem('client.key'));
    const socket = tls.connect({ host: '127.0.0.1', port: good.tlsPort, ca: pem('ca.crt') });
    await new Promise((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject); });
    expect(socket.authorized).toBe(true);
    socket.destroy();
  });
});

describe('RedisClient TLS options', () => {
  const make = (tlsValue) => () => new RedisClient({ host: '127.0.0.1', port: 1, tls: tlsValue });

  it('throws a TypeError for a tls object of the wrong shape', () => {
    expect(make('yes')).toThrow(/"tls" option must be an object/);
    expect(make({ ...tlsOptions(), ca: Buffer.from('x') })).toThrow(/tls\.ca must be a string/);
    expect(make({ ...tlsOptions(), ca: '' })).toThrow(/tls\.ca must not be empty/);
    expect(make({ ...tlsOptions(), rejectUnauthorized: 1 })).toThrow(/tls\.rejectUnauthorized must be a boolean/);
    expect(make({ ...tlsOptions(), minVersion: 'TLSv1.1' })).toThrow(/tls\.minVersion must be 'TLSv1\.2' or 'TLSv1\.3'/);
    try { make('yes')(); } catch (err) { expect(err.name).toBe('TypeError'); }
  });

  it('throws ERR_RESPCACHE_TLS_BAD_OPTIONS for PEMs that do not parse or match', () => {
    const expectCode = (over, message) => {
      let thrown;
      try { make(tlsOptions(over))(); } catch (err) { thrown = err; }
      expect(thrown).toMatchObject({ code: 'ERR_RESPCACHE_TLS_BAD_OPTIONS', message: `RedisClient: ${message}` });
    };
    expectCode({ ca: 'not a certificate' }, 'tls.ca holds no PEM certificate');
    expectCode({ cert: pem('client.crt'), key: pem('server.key') }, 'tls.key does not match tls.cert');
    expectCode({ cert: pem('client.crt') }, 'tls.cert and tls.key must be given together');
  });
});
