'use strict';

// The "tls" option: every form node:tls takes becomes the one object the addon reads (all seven
// fields, PEM as text, Node's authorities when no `ca` is given), every other form is a one-line
// TypeError naming the option and quoting none of its value; and how it combines with the
// "redis" option and REDIS_URL. No server: nothing here connects anywhere but a closed port.
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const tls = require('tls');
const { tlsOptions } = require('../../lib/tls-options');
const { cacheOptions } = require('../../lib/options');
const binding = require('../../lib/binding');
const { respcache, openCache, closeCaches } = require('../helpers/cache');
const { thrownBy } = require('../helpers/thrown');

// Look like PEM to the JavaScript side, which only checks for a "-----BEGIN" line; each body holds
// a marker that must never show up in a message.
const CA = '-----BEGIN CERTIFICATE-----\nQ0FTRUNSRVQ=\n-----END CERTIFICATE-----\n';
const CA2 = '-----BEGIN CERTIFICATE-----\nU0VDT05EQ0E=\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nQ0VSVFNFQ1JFVA==\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nS0VZU0VDUkVU\n-----END PRIVATE KEY-----\n';
const SECRETS = ['Q0FTRUNSRVQ=', 'U0VDT05EQ0E=', 'Q0VSVFNFQ1JFVA==', 'S0VZU0VDUkVU', 'hunter2', 'not-a-pem-secret'];

const ROOTS = tls.rootCertificates.join('\n');
// What node:tls trusts by default in this process: its bundled roots, plus NODE_EXTRA_CA_CERTS
// (set in some environments, this one's CI included). Node 22.15+ lists them itself.
const EXTRA = process.env.NODE_EXTRA_CA_CERTS;
const NODE_DEFAULT_CA = typeof tls.getCACertificates === 'function' ? tls.getCACertificates('default').join('\n')
  : [...tls.rootCertificates, ...(EXTRA ? [fs.readFileSync(EXTRA, 'utf8')] : [])].join('\n');
const DEFAULTS = Object.freeze({
  ca: NODE_DEFAULT_CA, cert: '', key: '', passphrase: '', servername: '', rejectUnauthorized: true, minVersion: 'TLSv1.2',
});
const PLAIN = { host: '127.0.0.1', port: 6379, path: '', username: '', password: '', db: 0 };

/** The TypeError `fn` throws, after checking it is one line that names `option` and quotes no secret. */
function typeError(fn, option) {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(TypeError);
  expect(err.message).toContain(`"${option}"`);
  expect(err.message).not.toMatch(/[\r\n]/);
  for (const secret of SECRETS) expect(err.message).not.toContain(secret);
  return err.message;
}

let savedUrl;
beforeEach(() => {
  savedUrl = process.env.REDIS_URL;
  delete process.env.REDIS_URL;
});
afterEach(() => {
  if (savedUrl !== undefined) process.env.REDIS_URL = savedUrl;
});

describe('tlsOptions(value)', () => {
  describe('when TLS is off', () => {
    it.each([undefined, false])('gives null for %j', (value) => {
      expect(tlsOptions(value)).toBeNull();
    });
  });

  describe('with true or an empty object', () => {
    it("verifies against Node's own authorities, with SNI from the host and TLS 1.2 at least", () => {
      expect(tlsOptions(true)).toEqual(DEFAULTS);
      expect(tlsOptions({})).toEqual(DEFAULTS);
      expect(tlsOptions(Object.create(null))).toEqual(DEFAULTS);
    });

    it('gives every field the addon reads, with the type it reads', () => {
      const settings = tlsOptions(true);
      expect(Object.keys(settings).sort())
        .toEqual(['ca', 'cert', 'key', 'minVersion', 'passphrase', 'rejectUnauthorized', 'servername']);
      expect(settings.ca.length).toBeGreaterThan(10000);
      expect(settings.ca.startsWith('-----BEGIN CERTIFICATE-----')).toBe(true);
    });

    it('gives a frozen object', () => {
      expect(Object.isFrozen(tlsOptions(true))).toBe(true);
      expect(Object.isFrozen(tlsOptions({ ca: CA }))).toBe(true);
    });

    // NODE_EXTRA_CA_CERTS is read by Node at startup, so these run in a child process.
    it("is Node's bundled roots when NODE_EXTRA_CA_CERTS is not set", () => {
      const script = `const { tlsOptions } = require(${JSON.stringify(require.resolve('../../lib/tls-options'))});
        process.stdout.write(String(tlsOptions(true).ca === require('tls').rootCertificates.join('\\n')));`;
      const env = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS;
      expect(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })).toBe('true');
    });

    it('adds the authorities of NODE_EXTRA_CA_CERTS, as node:tls does', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'respcache-extra-ca-'));
      try {
        const file = path.join(dir, 'extra.crt');
        fs.writeFileSync(file, tls.rootCertificates[0]);
        const script = `const { tlsOptions } = require(${JSON.stringify(require.resolve('../../lib/tls-options'))});
          const tls = require('tls');
          const ca = tlsOptions(true).ca;
          process.stdout.write(JSON.stringify([ca.startsWith(tls.rootCertificates.join('\\n')),
            ca.endsWith(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8')),
            ca.length - tls.rootCertificates.join('\\n').length]));`;
        const out = execFileSync(process.execPath, ['-e', script],
          { env: { ...process.env, NODE_EXTRA_CA_CERTS: file }, encoding: 'utf8' });
        const [startsWithRoots, endsWithExtra, added] = JSON.parse(out);
        expect([startsWithRoots, endsWithExtra]).toEqual([true, true]);
        expect(added).toBeGreaterThanOrEqual(tls.rootCertificates[0].length);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('with settings', () => {
    it('passes PEM strings and the other fields through', () => {
      expect(tlsOptions({
        ca: CA, cert: CERT, key: KEY, passphrase: 'pw', servername: 'redis.example.com',
        rejectUnauthorized: false, minVersion: 'TLSv1.3',
      })).toEqual({
        ca: CA, cert: CERT, key: KEY, passphrase: 'pw', servername: 'redis.example.com',
        rejectUnauthorized: false, minVersion: 'TLSv1.3',
      });
    });

    it('keeps the defaults of the fields not given', () => {
      expect(tlsOptions({ ca: CA })).toEqual({ ...DEFAULTS, ca: CA });
      expect(tlsOptions({ cert: CERT, key: KEY })).toEqual({ ...DEFAULTS, cert: CERT, key: KEY });
      expect(tlsOptions({ rejectUnauthorized: true, minVersion: 'TLSv1.2' })).toEqual(DEFAULTS);
      expect(tlsOptions({ servername: '' })).toEqual(DEFAULTS);
    });

    it('reads Buffers and Uint8Arrays as text', () => {
      expect(tlsOptions({ ca: Buffer.from(CA), cert: Buffer.from(CERT), key: new Uint8Array(Buffer.from(KEY)) }))
        .toEqual({ ...DEFAULTS, ca: CA, cert: CERT, key: KEY });
    });

    it('reads only the bytes a Buffer views, not the rest of its memory', () => {
      const pool = Buffer.from(`garbage${CA}garbage`);
      const view = pool.subarray(7, 7 + CA.length);
      expect(tlsOptions({ ca: view }).ca).toBe(CA);
    });

    it('keeps UTF-8 text around the PEM blocks as it was in the file', () => {
      const withComment = `subject=CN=Société\n${CA}`;
      expect(tlsOptions({ ca: Buffer.from(withComment, 'utf8') }).ca).toBe(withComment);
    });

    it('joins an array of PEMs, strings and Buffers alike, with newlines', () => {
      expect(tlsOptions({ ca: [CA, Buffer.from(CA2)] }).ca).toBe(`${CA}\n${CA2}`);
      expect(tlsOptions({ ca: [CA] }).ca).toBe(CA);
      expect(tlsOptions({ cert: [CERT, CA], key: [KEY] })).toEqual({ ...DEFAULTS, cert: `${CERT}\n${CA}`, key: KEY });
    });

    it('joins PEMs with no final newline so that each block starts on its own line', () => {
      expect(tlsOptions({ ca: [CA.trimEnd(), CA2.trimEnd()] }).ca).toBe(`${CA.trimEnd()}\n${CA2.trimEnd()}`);
    });

    it('accepts frozen settings and leaves them as they were', () => {
      const settings = Object.freeze({ ca: Object.freeze([CA, CA2]), cert: CERT, key: KEY, passphrase: 'pw' });
      const snapshot = JSON.stringify(settings);
      expect(tlsOptions(settings).ca).toBe(`${CA}\n${CA2}`);
      expect(JSON.stringify(settings)).toBe(snapshot);
    });

    it('accepts an empty passphrase with a key', () => {
      expect(tlsOptions({ cert: CERT, key: KEY, passphrase: '' }).passphrase).toBe('');
    });
  });

  describe('when the value is refused', () => {
    it.each([['yes'], [1], [null], [[]], [[CA]], [new Map()], [() => ({})], [tls.createSecureContext()]])(
      'refuses %p as the whole option', (value) => {
        expect(typeError(() => tlsOptions(value), 'tls')).toBe('Expected the "tls" option to be a boolean or an ' +
          'object { ca, cert, key, passphrase, servername, rejectUnauthorized, minVersion }');
      });

    it('refuses a node:tls option it does not support, listing the supported ones', () => {
      for (const name of ['pfx', 'ciphers', 'maxVersion', 'checkServerIdentity', 'secureContext', 'crl']) {
        expect(typeError(() => tlsOptions({ ca: CA, [name]: 'x' }), `tls.${name}`)).toBe(`The "tls.${name}" option of ` +
          'node:tls is not supported (supported: ca, cert, key, passphrase, servername, rejectUnauthorized, minVersion)');
      }
    });

    it('refuses an unknown option, listing the known ones', () => {
      for (const name of ['host', 'verify', 'insecure']) {
        expect(typeError(() => tlsOptions({ [name]: 'x' }), name)).toBe(`Unknown option "${name}" for the "tls" option ` +
          '(known options: ca, cert, key, passphrase, servername, rejectUnauthorized, minVersion)');
      }
    });

    it('suggests the option a misspelling meant', () => {
      expect(typeError(() => tlsOptions({ rejectUnauthorised: false }), 'rejectUnauthorised'))
        .toContain('(did you mean "rejectUnauthorized"?)');
      expect(typeError(() => tlsOptions({ serverName: 'h' }), 'serverName')).toContain('(did you mean "servername"?)');
      expect(typeError(() => tlsOptions({ CA }), 'CA')).toContain('(did you mean "ca"?)');
    });

    it.each(['ca', 'cert', 'key'])('refuses a "%s" that is neither PEM text nor bytes', (name) => {
      const other = name === 'cert' ? { key: KEY } : name === 'key' ? { cert: CERT } : {};
      for (const value of [42, null, true, {}, new Map()]) {
        expect(typeError(() => tlsOptions({ ...other, [name]: value }), `tls.${name}`)).toBe(
          `Expected the "tls.${name}" option to be a PEM string, a Buffer holding PEM text, or an array of them`);
      }
    });

    it.each(['ca', 'cert', 'key'])('refuses a "%s" with no "-----BEGIN" line, without quoting it', (name) => {
      const other = name === 'cert' ? { key: KEY } : name === 'key' ? { cert: CERT } : {};
      for (const value of ['', 'not-a-pem-secret', Buffer.from('not-a-pem-secret'), '-----END CERTIFICATE-----']) {
        expect(typeError(() => tlsOptions({ ...other, [name]: value }), `tls.${name}`))
          .toBe(`Expected the "tls.${name}" option to hold PEM text (it has no "-----BEGIN" line)`);
      }
    });

    it('names the array element that is not a PEM', () => {
      expect(typeError(() => tlsOptions({ ca: [CA, 'not-a-pem-secret'] }), 'tls.ca[1]'))
        .toBe('Expected the "tls.ca[1]" option to hold PEM text (it has no "-----BEGIN" line)');
      expect(typeError(() => tlsOptions({ ca: [CA, 42] }), 'tls.ca[1]'))
        .toBe('Expected the "tls.ca[1]" option to be a PEM string or a Buffer');
      expect(typeError(() => tlsOptions({ cert: [[CERT]], key: KEY }), 'tls.cert[0]'))
        .toBe('Expected the "tls.cert[0]" option to be a PEM string or a Buffer');
    });

    // An empty list of authorities would trust nothing; absent means Node's.
    it('refuses an empty array', () => {
      expect(typeError(() => tlsOptions({ ca: [] }), 'tls.ca')).toBe('Expected the "tls.ca" option to hold at least one PEM');
    });

    it('refuses a certificate without its key, and a key without its certificate', () => {
      expect(typeError(() => tlsOptions({ cert: CERT }), 'tls.key'))
        .toBe('Expected the "tls.key" option with "tls.cert" (a client certificate needs its private key)');
      expect(typeError(() => tlsOptions({ key: KEY, passphrase: 'hunter2' }), 'tls.cert'))
        .toBe('Expected the "tls.cert" option with "tls.key" (a private key needs its client certificate)');
    });

    it('refuses a passphrase without a key, and one that is not a string', () => {
      expect(typeError(() => tlsOptions({ passphrase: 'hunter2' }), 'tls.passphrase'))
        .toBe('Expected the "tls.passphrase" option only with "tls.key" (it decrypts the private key)');
      for (const passphrase of [1234, Buffer.from('hunter2'), null]) {
        expect(typeError(() => tlsOptions({ cert: CERT, key: KEY, passphrase }), 'tls.passphrase'))
          .toBe('Expected the "tls.passphrase" option to be a string');
      }
    });

    it('refuses a servername that is not a string or not a DNS name', () => {
      for (const servername of [42, null, true, ['h']]) {
        expect(typeError(() => tlsOptions({ servername }), 'tls.servername'))
          .toBe('Expected the "tls.servername" option to be a string');
      }
      for (const servername of ['a b', 'h\n', 'hôte', 'h:6380', `${'a'.repeat(254)}`]) {
        expect(typeError(() => tlsOptions({ servername }), 'tls.servername'))
          .toBe('Expected the "tls.servername" option to be a DNS name (letters, digits, ".", "-" and "_")');
      }
      for (const servername of ['127.0.0.1', '::1']) {
        expect(typeError(() => tlsOptions({ servername }), 'tls.servername')).toContain('not an IP address');
      }
    });

    it('refuses a rejectUnauthorized that is not a boolean', () => {
      for (const rejectUnauthorized of ['false', 0, 1, null]) {
        expect(typeError(() => tlsOptions({ rejectUnauthorized }), 'tls.rejectUnauthorized'))
          .toBe('Expected the "tls.rejectUnauthorized" option to be a boolean');
      }
    });

    it('refuses a minVersion other than TLSv1.2 and TLSv1.3', () => {
      for (const minVersion of ['TLSv1.1', 'TLSv1', 'SSLv3', 'tlsv1.2', 'TLSv1.4', 1.2, null]) {
        expect(typeError(() => tlsOptions({ minVersion }), 'tls.minVersion'))
          .toBe("Expected the \"tls.minVersion\" option to be 'TLSv1.2' or 'TLSv1.3'");
      }
    });

    it('uses the name it is given in every message', () => {
      expect(typeError(() => tlsOptions({ cert: CERT }, 'backing.tls'), 'backing.tls.key')).toContain('"backing.tls.cert"');
      expect(typeError(() => tlsOptions(7, 'backing.tls'), 'backing.tls')).toMatch(/^Expected the "backing.tls" option/);
    });
  });
});

describe('createCache({ redis, tls }): the endpoint', () => {
  const endpoint = (options) => cacheOptions(options).endpoint;

  describe('with a rediss:// URL', () => {
    it("connects over TLS with Node's authorities when no tls option is given", () => {
      expect(endpoint({ redis: 'rediss://:pw@redis.example.com:6380/2' }))
        .toEqual({ ...PLAIN, host: 'redis.example.com', port: 6380, password: 'pw', db: 2, tls: DEFAULTS });
      expect(endpoint({ redis: 'rediss://[::1]' })).toEqual({ ...PLAIN, host: '::1', tls: DEFAULTS });
    });

    it('uses the tls option when given', () => {
      expect(endpoint({ redis: 'rediss://h', tls: { ca: CA, servername: 'redis.internal' } }))
        .toEqual({ ...PLAIN, host: 'h', tls: { ...DEFAULTS, ca: CA, servername: 'redis.internal' } });
      expect(endpoint({ redis: 'rediss://h', tls: true })).toEqual({ ...PLAIN, host: 'h', tls: DEFAULTS });
    });

    it('refuses tls: false, without quoting the URL', () => {
      expect(typeError(() => endpoint({ redis: 'rediss://:hunter2@h', tls: false }), 'tls')).toBe(
        'Expected the "tls" option not to be false with a rediss:// URL (the "redis" option); use redis:// for a plain connection');
      process.env.REDIS_URL = 'rediss://:hunter2@h';
      expect(typeError(() => endpoint({ tls: false }), 'tls')).toContain('(REDIS_URL)');
    });

    it('reads it from REDIS_URL too', () => {
      process.env.REDIS_URL = 'rediss://h:6380';
      expect(endpoint({})).toEqual({ ...PLAIN, host: 'h', port: 6380, tls: DEFAULTS });
      expect(endpoint({ tls: { ca: CA } })).toEqual({ ...PLAIN, host: 'h', port: 6380, tls: { ...DEFAULTS, ca: CA } });
    });
  });

  describe('with a redis:// URL or an endpoint object', () => {
    it('connects over TLS when the tls option asks for it', () => {
      const settings = { ca: [CA, CA2], cert: CERT, key: KEY, passphrase: 'pw', minVersion: 'TLSv1.3' };
      const normalised = { ...DEFAULTS, ca: `${CA}\n${CA2}`, cert: CERT, key: KEY, passphrase: 'pw', minVersion: 'TLSv1.3' };
      expect(endpoint({ redis: 'redis://h:6380', tls: settings })).toEqual({ ...PLAIN, host: 'h', port: 6380, tls: normalised });
      expect(endpoint({ redis: { host: 'h', port: 6380 }, tls: settings }))
        .toEqual({ ...PLAIN, host: 'h', port: 6380, tls: normalised });
      expect(endpoint({ redis: {}, tls: true })).toEqual({ ...PLAIN, tls: DEFAULTS });
      process.env.REDIS_URL = 'redis://h';
      expect(endpoint({ tls: true })).toEqual({ ...PLAIN, host: 'h', tls: DEFAULTS });
    });

    it('connects in plain TCP otherwise, with no tls key in the endpoint', () => {
      for (const options of [{ redis: 'redis://h' }, { redis: 'redis://h', tls: false }, { redis: { host: 'h' } },
        { redis: { host: 'h' }, tls: undefined }, { redis: 'unix:///tmp/r.sock', tls: false }]) {
        const e = endpoint(options);
        expect([options, 'tls' in e]).toEqual([options, false]);
      }
    });

    it('refuses a "tls" key inside the endpoint object, pointing to the cache option', () => {
      expect(typeError(() => endpoint({ redis: { host: 'h', tls: true } }), 'tls')).toBe(
        'Unknown option "tls" for the "redis" option (TLS is the createCache() option "tls", given next to "redis")');
    });
  });

  // Redis serves TLS on its tls-port only; its unix socket is plain.
  it('refuses TLS to a unix socket', () => {
    const reason = 'Expected the "tls" option only with a TCP endpoint (host and port): ' +
      'Redis serves TLS on its tls-port, never on a unix socket';
    expect(typeError(() => endpoint({ redis: 'unix:///tmp/r.sock', tls: true }), 'tls')).toBe(reason);
    expect(typeError(() => endpoint({ redis: { path: '/tmp/r.sock' }, tls: { ca: CA } }), 'tls')).toBe(reason);
  });

  describe('without Redis (embedded mode)', () => {
    it('refuses TLS settings, which would have nothing to connect', () => {
      for (const tlsOption of [true, {}, { ca: CA }]) {
        expect(typeError(() => endpoint({ tls: tlsOption }), 'tls')).toMatch(/^Expected the "tls" option only with a Redis server/);
      }
    });

    it('accepts tls: false', () => {
      expect(endpoint({ tls: false })).toBeNull();
    });

    it('still validates the value', () => {
      typeError(() => endpoint({ tls: 'yes' }), 'tls');
      typeError(() => endpoint({ tls: { minVersion: 'TLSv1' } }), 'tls.minVersion');
    });
  });

  it('validates the tls option with any endpoint', () => {
    typeError(() => endpoint({ redis: 'redis://h', tls: { key: KEY } }), 'tls.cert');
  });

  it('freezes the endpoint and its TLS settings, and leaves the options as they were', () => {
    const options = Object.freeze({ redis: 'redis://h', tls: Object.freeze({ ca: Object.freeze([Buffer.from(CA)]) }) });
    const e = endpoint(options);
    expect(Object.isFrozen(e)).toBe(true);
    expect(Object.isFrozen(e.tls)).toBe(true);
    expect(Buffer.isBuffer(options.tls.ca[0])).toBe(true);
  });

  it('is named in the list of known options of a misspelling', () => {
    expect(typeError(() => cacheOptions({ redis: 'redis://h', tsl: true }), 'tsl')).toContain('(did you mean "tls"?)');
  });
});

// lib/stores/redis-topology.js and lib/stores/bus.js spread the endpoint into the addon's
// options: the command connection and the subscriber must both get the same TLS settings. Each
// client is created for real, against a port nothing listens on, and closed.
describe('the TLS settings reach the addon', () => {
  const Original = binding.RedisClient;
  const made = [];
  beforeEach(() => {
    made.length = 0;
    binding.RedisClient = class extends Original {
      constructor(options) {
        super(options);
        made.push(options);
      }
    };
  });
  afterEach(async () => {
    binding.RedisClient = Original;
    await closeCaches();
  });

  it('on the command and the subscriber connection, unchanged', async () => {
    const settings = { servername: 'redis.internal', minVersion: 'TLSv1.3' };
    const { cache } = await openCache({ redis: 'rediss://127.0.0.1:1', tls: settings, connectTimeout: 200 },
      { waitReady: false });
    cache.on('invalidated', () => {}); // starts the subscriber connection
    expect(made.map((options) => Boolean(options.subscriber))).toEqual([false, true]);
    const expected = { ...DEFAULTS, servername: 'redis.internal', minVersion: 'TLSv1.3' };
    for (const options of made) {
      expect(options.tls).toEqual(expected);
      expect(options.host).toBe('127.0.0.1');
      expect(options.port).toBe(1);
    }
    expect(made[0].tls).toBe(made[1].tls); // one object: the addon can build its TLS context once
    await cache.close();
  });

  it('and a plain endpoint gives no tls key', async () => {
    const { cache } = await openCache({ redis: 'redis://127.0.0.1:1', connectTimeout: 200 }, { waitReady: false });
    cache.on('invalidated', () => {});
    expect(made).toHaveLength(2);
    for (const options of made) expect('tls' in options).toBe(false);
    await cache.close();
  });
});

describe('the TLS error classes', () => {
  it.each([
    ['TlsBadOptionsError', 'ERR_RESPCACHE_TLS_BAD_OPTIONS'],
    ['TlsUnavailableError', 'ERR_RESPCACHE_TLS_UNAVAILABLE'],
    ['TlsUnknownCaError', 'ERR_RESPCACHE_TLS_UNKNOWN_CA'],
    ['TlsNameMismatchError', 'ERR_RESPCACHE_TLS_NAME_MISMATCH'],
    ['TlsCertExpiredError', 'ERR_RESPCACHE_TLS_CERT_EXPIRED'],
    ['TlsClientCertRejectedError', 'ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED'],
    ['TlsHandshakeError', 'ERR_RESPCACHE_TLS_HANDSHAKE'],
  ])('%s has the code %s and is a TlsError', (name, code) => {
    const cause = { reason: 'CERT_HAS_EXPIRED', detail: 'certificate has expired' };
    const err = new respcache[name]('TLS to 127.0.0.1:6380: certificate has expired', { cause });
    expect(err).toBeInstanceOf(respcache.TlsError);
    expect(err).toBeInstanceOf(respcache.RespcacheError);
    expect([err.name, err.code, err.cause]).toEqual([name, code, cause]);
  });
});
