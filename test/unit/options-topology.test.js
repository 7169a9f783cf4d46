'use strict';

// Where Redis is: the "redis", "cluster" and "sentinel" options of createCache() (at most one) and
// what lib/options.js makes of them: o.topology, o.endpoint (for a cluster or a Sentinel
// deployment, the template of every data node), o.cluster and o.sentinel. Pure: nothing connects.
const util = require('util');
const { cacheOptions } = require('../../lib/options');
const { tlsOptions } = require('../../lib/tls-options');
const { thrownBy } = require('../helpers/thrown');

// Look like PEM to the JavaScript side, which only checks for a "-----BEGIN" line.
const CA = '-----BEGIN CERTIFICATE-----\nQ0FTRUNSRVQ=\n-----END CERTIFICATE-----\n';
const CA2 = '-----BEGIN CERTIFICATE-----\nU0VDT05EQ0E=\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nQ0VSVFNFQ1JFVA==\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nS0VZU0VDUkVU\n-----END PRIVATE KEY-----\n';
// Passwords, passphrases and key bodies: none may show in a message, util.inspect or JSON.
const SECRETS = ['hunter2', 'sentinel-secret', 'tls-passphrase', 'S0VZU0VDUkVU'];
const DEFAULTS = { ...tlsOptions(true) };
const TEMPLATE = { host: '', port: 0, path: '', username: '', password: '', db: 0 };

/** What `fn` throws, after checking its class and that it is one line naming `option`, quoting no secret. */
function thrown(fn, Class, option) {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(Class);
  expect(err.message).toContain(`"${option}"`);
  expect(err.message).not.toMatch(/[\r\n]/);
  for (const secret of SECRETS) expect(err.message).not.toContain(secret);
  return err.message;
}

/** A plain copy of a frozen result, for toEqual against object literals. */
const plain = (value) => (value && typeof value === 'object' ? { ...value } : value);

let savedUrl;
beforeEach(() => {
  savedUrl = process.env.REDIS_URL;
  delete process.env.REDIS_URL;
});
afterEach(() => {
  if (savedUrl === undefined) delete process.env.REDIS_URL;
  else process.env.REDIS_URL = savedUrl;
});

describe('o.topology', () => {
  it('is null with no Redis at all (embedded mode), and so are endpoint, cluster and sentinel', () => {
    const o = cacheOptions({});
    expect([o.topology, o.endpoint, o.cluster, o.sentinel]).toEqual([null, null, null, null]);
    expect(o.local).not.toBeNull();
  });

  it('is "single" for the "redis" option and for REDIS_URL, with cluster and sentinel null', () => {
    for (const options of [{ redis: 'redis://h:1' }, { redis: { host: 'h' } }]) {
      const o = cacheOptions(options);
      expect([o.topology, o.cluster, o.sentinel]).toEqual(['single', null, null]);
    }
    process.env.REDIS_URL = 'redis://h:1';
    expect(cacheOptions({}).topology).toBe('single');
  });

  it('is "cluster" or "sentinel" for those options, with the other one null', () => {
    const c = cacheOptions({ cluster: { nodes: ['redis://h:7000'] } });
    expect([c.topology, c.sentinel]).toEqual(['cluster', null]);
    const s = cacheOptions({ sentinel: { nodes: ['redis://h'], name: 'mymaster' } });
    expect([s.topology, s.cluster]).toEqual(['sentinel', null]);
  });

  it('ignores REDIS_URL when "cluster" or "sentinel" is given', () => {
    process.env.REDIS_URL = 'redis://:hunter2@elsewhere:1/3';
    expect(cacheOptions({ cluster: { nodes: ['redis://h:7000'] } }).endpoint).toEqual(TEMPLATE);
    expect(cacheOptions({ sentinel: { nodes: ['redis://h'], name: 'm' } }).endpoint).toEqual(TEMPLATE);
  });

  it('keeps the in-process tier off by default with a cluster or Sentinels, as with "redis"', () => {
    expect(cacheOptions({ cluster: { nodes: ['redis://h:7000'] } }).local).toBeNull();
    expect(cacheOptions({ sentinel: { nodes: ['redis://h'], name: 'm' }, local: true }).local).not.toBeNull();
  });
});

describe('when more than one of "redis", "cluster" and "sentinel" is given', () => {
  const cluster = { nodes: ['redis://h:7000'] };
  const sentinel = { nodes: ['redis://h'], name: 'm' };

  it.each([
    [{ redis: 'redis://h', cluster }, ['redis', 'cluster']],
    [{ redis: 'redis://h', sentinel }, ['redis', 'sentinel']],
    [{ cluster, sentinel }, ['cluster', 'sentinel']],
    [{ redis: { host: 'h' }, cluster, sentinel }, ['redis', 'cluster', 'sentinel']],
  ])('throws a TypeError naming each (%#)', (options, names) => {
    const message = thrown(() => cacheOptions(options), TypeError, names[0]);
    for (const name of names) expect(message).toContain(`"${name}"`);
    expect(message).toMatch(/^Expected only one of the /);
  });

  it('says it in full', () => {
    expect(thrown(() => cacheOptions({ redis: 'redis://h', cluster }), TypeError, 'cluster')).toBe(
      'Expected only one of the "redis" and "cluster" options: a cache uses a single Redis server ("redis"), ' +
      'a Redis Cluster ("cluster") or a master found through Sentinels ("sentinel")');
  });

  it('counts an option set to undefined as absent', () => {
    expect(cacheOptions({ redis: undefined, cluster }).topology).toBe('cluster');
    expect(cacheOptions({ redis: 'redis://h', sentinel: undefined, cluster: undefined }).topology).toBe('single');
  });
});

describe('the "cluster" option', () => {
  describe('with valid seeds', () => {
    it('gives every seed as a frozen { host, port }, URLs and objects alike', () => {
      const o = cacheOptions({ cluster: { nodes: [
        'redis://10.0.0.1:7000', 'redis://node-b.internal', 'redis://[::1]:7001', 'redis://h:7002/',
        { host: 'node-c', port: 7003 }, { port: 7004 }, { host: 'node-d' },
      ] } });
      expect(o.cluster.nodes.map(plain)).toEqual([
        { host: '10.0.0.1', port: 7000 }, { host: 'node-b.internal', port: 6379 }, { host: '::1', port: 7001 },
        { host: 'h', port: 7002 }, { host: 'node-c', port: 7003 }, { host: '127.0.0.1', port: 7004 },
        { host: 'node-d', port: 6379 },
      ]);
    });

    it('applies the defaults: slotsRefreshInterval 5000 ms, maxRedirections 16', () => {
      const o = cacheOptions({ cluster: { nodes: ['redis://h:7000'] } });
      expect(plain(o.cluster)).toEqual({ nodes: [{ host: 'h', port: 7000 }], slotsRefreshInterval: 5000, maxRedirections: 16 });
    });

    it('takes slotsRefreshInterval and maxRedirections (0 allowed: no redirection followed)', () => {
      const o = cacheOptions({ cluster: { nodes: ['redis://h:7000'], slotsRefreshInterval: 1000, maxRedirections: 0 } });
      expect([o.cluster.slotsRefreshInterval, o.cluster.maxRedirections]).toEqual([1000, 0]);
      expect(cacheOptions({ cluster: { nodes: ['redis://h:7000'], maxRedirections: 1000 } }).cluster.maxRedirections)
        .toBe(1000);
    });

    it('makes the endpoint the data-node template: no host or port, the credentials, database 0', () => {
      expect(cacheOptions({ cluster: { nodes: ['redis://h:7000'] } }).endpoint).toEqual(TEMPLATE);
      expect(cacheOptions({ cluster: { nodes: ['redis://h:7000'], username: 'app', password: 'hunter2' } }).endpoint)
        .toEqual({ ...TEMPLATE, username: 'app', password: 'hunter2' });
      expect(cacheOptions({ cluster: { nodes: ['redis://h:7000'], password: 'hunter2' } }).endpoint)
        .toEqual({ ...TEMPLATE, password: 'hunter2' });
    });
  });

  describe('and TLS', () => {
    const endpoint = (options) => cacheOptions(options).endpoint;

    it('uses TLS with Node\'s authorities for rediss:// seeds', () => {
      expect(endpoint({ cluster: { nodes: ['rediss://a:7000', 'rediss://b:7001'] } })).toEqual({ ...TEMPLATE, tls: DEFAULTS });
      // Objects have no scheme: they follow the URLs.
      expect(endpoint({ cluster: { nodes: [{ host: 'a', port: 7000 }, 'rediss://b:7001'] } }))
        .toEqual({ ...TEMPLATE, tls: DEFAULTS });
    });

    it('uses the "tls" option with rediss:// seeds, redis:// seeds or objects', () => {
      const tls = { ca: CA, servername: 'cluster.internal' };
      const expected = { ...TEMPLATE, tls: { ...DEFAULTS, ca: CA, servername: 'cluster.internal' } };
      expect(endpoint({ cluster: { nodes: ['rediss://a:7000'] }, tls })).toEqual(expected);
      expect(endpoint({ cluster: { nodes: ['redis://a:7000'] }, tls })).toEqual(expected);
      expect(endpoint({ cluster: { nodes: [{ host: 'a', port: 7000 }] }, tls: true })).toEqual({ ...TEMPLATE, tls: DEFAULTS });
    });

    it('connects in plain TCP otherwise, with no tls key in the template', () => {
      for (const options of [{ cluster: { nodes: ['redis://a:7000'] } }, { cluster: { nodes: ['redis://a:7000'] }, tls: false },
        { cluster: { nodes: [{ host: 'a' }] } }]) {
        expect([options, 'tls' in endpoint(options)]).toEqual([options, false]);
      }
    });

    it('refuses seeds of both schemes, naming the first of each', () => {
      expect(thrown(() => endpoint({ cluster: { nodes: ['rediss://a:7000', { host: 'b' }, 'redis://c:7002'] } }),
        TypeError, 'cluster.nodes[2]')).toBe('Expected the URLs of "cluster.nodes" to have one scheme: ' +
        '"cluster.nodes[0]" is rediss:// and "cluster.nodes[2]" is redis:// (rediss:// means TLS to every node)');
    });

    it('refuses tls: false with rediss:// seeds', () => {
      expect(thrown(() => endpoint({ cluster: { nodes: ['rediss://a:7000'] }, tls: false }), TypeError, 'tls')).toBe(
        'Expected the "tls" option not to be false with a rediss:// URL (the "cluster.nodes" option); ' +
        'use redis:// for a plain connection');
    });

    it('validates the "tls" option', () => {
      thrown(() => endpoint({ cluster: { nodes: ['redis://a:7000'] }, tls: { minVersion: 'TLSv1' } }), TypeError, 'tls.minVersion');
    });

    it('refuses a "tls" key inside the option, pointing to the cache option', () => {
      expect(thrown(() => endpoint({ cluster: { nodes: ['redis://a:7000'], tls: true } }), TypeError, 'tls')).toBe(
        'Unknown option "tls" for the "cluster" option (TLS is the createCache() option "tls", given next to "cluster", ' +
        'or rediss:// seed URLs)');
    });
  });

  describe('and keyPrefix', () => {
    it.each(['app{1}', 'app{', 'app}', '{app}'])('refuses %j with a RangeError saying why', (keyPrefix) => {
      expect(thrown(() => cacheOptions({ cluster: { nodes: ['redis://h:7000'] }, keyPrefix }), RangeError, 'keyPrefix'))
        .toBe('Expected the "keyPrefix" option to hold no "{" or "}" with the "cluster" option: Redis Cluster reads ' +
          'the first {...} of a key name as its hash tag, and respcache sets that tag itself');
    });

    it('takes one without braces', () => {
      expect(cacheOptions({ cluster: { nodes: ['redis://h:7000'] }, keyPrefix: 'app:v2' }).keyPrefix).toBe('app:v2');
    });

    it('allows braces with "redis" and "sentinel", where no key is routed by slot', () => {
      expect(cacheOptions({ redis: 'redis://h', keyPrefix: 'app{1}' }).keyPrefix).toBe('app{1}');
      expect(cacheOptions({ sentinel: { nodes: ['redis://h'], name: 'm' }, keyPrefix: 'app{1}' }).keyPrefix).toBe('app{1}');
    });
  });

  describe('when invalid', () => {
    const nodes = ['redis://h:7000'];

    it.each([
      ['cluster', 'redis://h:7000'],
      ['cluster', 42],
      ['cluster', null],
      ['cluster', true],
    ])('throws a TypeError naming "%s" for %j', (option, cluster) => {
      expect(thrown(() => cacheOptions({ cluster }), TypeError, option))
        .toMatch(/^Expected the "cluster" option to be an object \{ nodes, username, password, /);
    });

    it('points an array to "cluster.nodes"', () => {
      expect(thrown(() => cacheOptions({ cluster: nodes }), TypeError, 'cluster'))
        .toContain('(the list of seed nodes is "cluster.nodes")');
    });

    it('refuses "cluster.db", whatever its value: a cluster has database 0 only', () => {
      for (const db of [0, 1, 'x']) {
        expect(thrown(() => cacheOptions({ cluster: { nodes, db } }), TypeError, 'cluster.db'))
          .toBe('Expected no "cluster.db" option: Redis Cluster has database 0 only');
      }
    });

    it('refuses unknown options with a suggestion', () => {
      expect(thrown(() => cacheOptions({ cluster: { node: nodes } }), TypeError, 'node')).toBe(
        'Unknown option "node" for the "cluster" option (did you mean "nodes"?)');
      expect(thrown(() => cacheOptions({ cluster: { nodes, slotRefreshInterval: 1 } }), TypeError, 'slotRefreshInterval'))
        .toContain('(did you mean "slotsRefreshInterval"?)');
      expect(thrown(() => cacheOptions({ cluster: { nodes, scaleReads: 'slave' } }), TypeError, 'scaleReads'))
        .toContain('(known options: nodes, username, password, slotsRefreshInterval, maxRedirections)');
    });

    it.each([
      [TypeError, 'cluster.username', { username: 42, password: 'p' }],
      [TypeError, 'cluster.password', { password: 42 }],
      [TypeError, 'cluster.slotsRefreshInterval', { slotsRefreshInterval: 'often' }],
      [TypeError, 'cluster.slotsRefreshInterval', { slotsRefreshInterval: NaN }],
      [RangeError, 'cluster.slotsRefreshInterval', { slotsRefreshInterval: 0 }],
      [RangeError, 'cluster.slotsRefreshInterval', { slotsRefreshInterval: 1.5 }],
      [RangeError, 'cluster.slotsRefreshInterval', { slotsRefreshInterval: 86400001 }],
      [TypeError, 'cluster.maxRedirections', { maxRedirections: '16' }],
      [RangeError, 'cluster.maxRedirections', { maxRedirections: -1 }],
      [RangeError, 'cluster.maxRedirections', { maxRedirections: 1001 }],
      [RangeError, 'cluster.maxRedirections', { maxRedirections: 2.5 }],
      [RangeError, 'cluster.maxRedirections', { maxRedirections: Infinity }],
    ])('throws a %p naming "%s" for %j', (Class, option, extra) => {
      thrown(() => cacheOptions({ cluster: { nodes, ...extra } }), Class, option);
    });

    it('refuses a username without a password, which would not be used', () => {
      expect(thrown(() => cacheOptions({ cluster: { nodes, username: 'app' } }), TypeError, 'cluster.password')).toBe(
        'Expected the "cluster.password" option with "cluster.username" (Redis authenticates a user with AUTH username password)');
    });
  });
});

// The node lists of both options follow the same rules; what differs is in `hint`.
describe.each([
  ['cluster', { nodes: [] }, 6379, 'cluster.username'],
  ['sentinel', { nodes: [], name: 'mymaster' }, 26379, 'sentinel.sentinelUsername'],
])('"%s.nodes"', (option, base, defaultPort, credentialsOption) => {
  const where = `${option}.nodes`;
  const withNodes = (nodes) => cacheOptions({ [option]: { ...base, nodes } });

  it(`defaults a port to ${defaultPort}, in a URL and in an object`, () => {
    const o = withNodes(['redis://a', 'redis://[::1]', 'redis://b:1', { host: 'c' }]);
    expect(o[option].nodes.map(plain)).toEqual([{ host: 'a', port: defaultPort }, { host: '::1', port: defaultPort },
      { host: 'b', port: 1 }, { host: 'c', port: defaultPort }]);
  });

  it.each([
    [TypeError, '', undefined],
    [TypeError, '', 'redis://h:1'],
    [TypeError, '', { 0: 'redis://h:1' }],
    [RangeError, '', []],
    [TypeError, '[1]', ['redis://h:1', 42]],
    [TypeError, '[1]', ['redis://h:1', null]],
    [TypeError, '[0]', [['redis://h:1']]],
    [TypeError, '[0]', ['h:7000']],
    [TypeError, '[0]', ['http://h:7000']],
    [TypeError, '[0]', ['redis://h:99999']],
    [TypeError, '[0]', ['redis://h:7000#x']],
    [TypeError, '[0]', ['redis://h\n']],
    [TypeError, '[1].port', ['redis://h:1', { host: 'h', port: 'x' }]],
    [RangeError, '[1].port', ['redis://h:1', { host: 'h', port: 70000 }]],
    [RangeError, '[0].port', [{ port: 0 }]],
    [RangeError, '[0].port', [{ port: 6379.5 }]],
    [TypeError, '[0].host', [{ host: 42 }]],
    [RangeError, '[0].host', [{ host: '' }]],
  ])('throws a %p naming the option (%s) for %j', (Class, suffix, nodes) => {
    thrown(() => withNodes(nodes), Class, `${where}${suffix}`);
  });

  it('holds holes in an array to be missing nodes', () => {
    thrown(() => withNodes(['redis://h:1', , 'redis://h:2']), TypeError, `${where}[1]`); // a hole at [1]
  });

  it('refuses unknown fields of a node object with a suggestion', () => {
    expect(thrown(() => withNodes([{ hots: 'h' }]), TypeError, 'hots')).toBe(
      `Unknown option "hots" for the "${where}[0]" option (did you mean "host"?)`);
  });

  it('refuses credentials in a URL, pointing to the options that hold them, quoting none', () => {
    for (const url of ['redis://:hunter2@h:1', 'redis://app:hunter2@h:1', 'rediss://app@h:1', 'redis://:hunter2@h:1/2']) {
      const message = thrown(() => withNodes(['redis://h:2', url]), TypeError, `${where}[1]`);
      expect([url, message]).toEqual([url, expect.stringContaining(', without credentials: give them as the ')]);
      expect(message).toContain(`"${credentialsOption}"`);
    }
  });

  it('refuses credentials in a node object, pointing to the options that hold them', () => {
    for (const field of ['username', 'password']) {
      expect(thrown(() => withNodes([{ host: 'h', [field]: 'hunter2' }]), TypeError, field)).toContain(`"${credentialsOption}"`);
    }
  });

  it('refuses a database or a query in a URL, and "db" in a node object', () => {
    for (const url of ['redis://h:1/0', 'redis://h:1/2', 'redis://h:1?db=2', 'redis://h:1/?db=2']) {
      expect([url, thrown(() => withNodes([url]), TypeError, `${where}[0]`)])
        .toEqual([url, expect.stringContaining(', without a database or query: ')]);
    }
    thrown(() => withNodes([{ host: 'h', db: 1 }]), TypeError, 'db');
  });

  it('refuses a unix socket', () => {
    for (const url of ['unix:///tmp/r.sock', 'redis+unix:///tmp/r.sock']) {
      expect(thrown(() => withNodes([url]), TypeError, `${where}[0]`)).toMatch(/are reached over TCP, not a unix socket$/);
    }
  });

  it('refuses "tls" in a node object', () => {
    thrown(() => withNodes([{ host: 'h', tls: true }]), TypeError, 'tls');
  });

  it('leaves the caller\'s array and objects as they were, frozen or not', () => {
    const nodes = Object.freeze([Object.freeze({ host: 'h', port: 1 }), 'redis://i:2']);
    const o = withNodes(nodes);
    expect(o[option].nodes).not.toBe(nodes);
    expect(o[option].nodes[0]).not.toBe(nodes[0]);
    expect(nodes).toEqual([{ host: 'h', port: 1 }, 'redis://i:2']);
  });
});

describe('the "sentinel" option', () => {
  const nodes = ['redis://s1:26379'];

  describe('when valid', () => {
    it('gives the Sentinels, the master name, and their credentials apart from the data nodes\'', () => {
      const o = cacheOptions({ sentinel: {
        nodes: ['redis://s1', { host: 's2', port: 26380 }], name: 'mymaster',
        username: 'app', password: 'hunter2', db: 3, sentinelUsername: 'watcher', sentinelPassword: 'sentinel-secret',
      } });
      expect(o.endpoint).toEqual({ ...TEMPLATE, username: 'app', password: 'hunter2', db: 3 });
      expect(o.sentinel.nodes.map(plain)).toEqual([{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }]);
      expect(o.sentinel.name).toBe('mymaster');
      expect(plain(o.sentinel.auth)).toEqual({ username: 'watcher', password: 'sentinel-secret' });
      expect(o.sentinel.tls).toBeNull();
    });

    it('defaults the credentials to none and the database to 0', () => {
      const o = cacheOptions({ sentinel: { nodes, name: 'm' } });
      expect(o.endpoint).toEqual(TEMPLATE);
      expect(plain(o.sentinel.auth)).toEqual({ username: '', password: '' });
    });

    it('takes master names of letters, digits, ".", "-" and "_"', () => {
      expect(cacheOptions({ sentinel: { nodes, name: 'Cache-01.eu_west' } }).sentinel.name).toBe('Cache-01.eu_west');
    });
  });

  describe('and TLS', () => {
    const tlsOf = (options) => {
      const o = cacheOptions(options);
      return { data: o.endpoint.tls, sentinels: o.sentinel.tls };
    };

    it('uses none without "tls", "sentinel.tls" or rediss:// URLs', () => {
      expect(tlsOf({ sentinel: { nodes, name: 'm' } })).toEqual({ data: undefined, sentinels: null });
      expect('tls' in cacheOptions({ sentinel: { nodes, name: 'm' }, tls: false }).endpoint).toBe(false);
    });

    it('applies the "tls" option to the data nodes and the Sentinels, as one object', () => {
      const o = cacheOptions({ sentinel: { nodes, name: 'm' }, tls: { ca: CA } });
      expect(o.endpoint.tls).toEqual({ ...DEFAULTS, ca: CA });
      expect(o.sentinel.tls).toBe(o.endpoint.tls);
      expect(tlsOf({ sentinel: { nodes: [{ host: 's' }], name: 'm' }, tls: true })).toEqual({ data: DEFAULTS, sentinels: DEFAULTS });
    });

    it('lets "sentinel.tls" override it for the Sentinels only', () => {
      expect(tlsOf({ sentinel: { nodes, name: 'm', tls: false }, tls: { ca: CA } }))
        .toEqual({ data: { ...DEFAULTS, ca: CA }, sentinels: null });
      expect(tlsOf({ sentinel: { nodes, name: 'm', tls: true } })).toEqual({ data: undefined, sentinels: DEFAULTS });
      expect(tlsOf({ sentinel: { nodes, name: 'm', tls: { ca: CA2, servername: 'sentinel.internal' } }, tls: { ca: CA } }))
        .toEqual({ data: { ...DEFAULTS, ca: CA }, sentinels: { ...DEFAULTS, ca: CA2, servername: 'sentinel.internal' } });
    });

    it('uses TLS to the Sentinels for rediss:// URLs, and leaves the data nodes to "tls"', () => {
      expect(tlsOf({ sentinel: { nodes: ['rediss://s1', { host: 's2' }], name: 'm' } })).toEqual({ data: undefined, sentinels: DEFAULTS });
      expect(tlsOf({ sentinel: { nodes: ['rediss://s1'], name: 'm' }, tls: false })).toEqual({ data: undefined, sentinels: DEFAULTS });
      expect(tlsOf({ sentinel: { nodes: ['rediss://s1'], name: 'm' }, tls: { ca: CA } }))
        .toEqual({ data: { ...DEFAULTS, ca: CA }, sentinels: { ...DEFAULTS, ca: CA } });
      expect(tlsOf({ sentinel: { nodes: ['rediss://s1'], name: 'm', tls: { ca: CA2 } } }))
        .toEqual({ data: undefined, sentinels: { ...DEFAULTS, ca: CA2 } });
    });

    it('refuses "sentinel.tls": false with rediss:// URLs', () => {
      expect(thrown(() => cacheOptions({ sentinel: { nodes: ['rediss://s1'], name: 'm', tls: false } }), TypeError, 'sentinel.tls'))
        .toBe('Expected the "sentinel.tls" option not to be false with rediss:// URLs in "sentinel.nodes"; ' +
          'use redis:// for plain connections to the Sentinels');
    });

    it('refuses URLs of both schemes', () => {
      thrown(() => cacheOptions({ sentinel: { nodes: ['redis://s1', 'rediss://s2'], name: 'm' } }), TypeError, 'sentinel.nodes[1]');
    });

    it('validates "sentinel.tls" under its own name', () => {
      thrown(() => cacheOptions({ sentinel: { nodes, name: 'm', tls: 'yes' } }), TypeError, 'sentinel.tls');
      thrown(() => cacheOptions({ sentinel: { nodes, name: 'm', tls: { minVersion: 'TLSv1.1' } } }), TypeError, 'sentinel.tls.minVersion');
      thrown(() => cacheOptions({ sentinel: { nodes, name: 'm', tls: { cert: CERT } } }), TypeError, 'sentinel.tls.key');
      thrown(() => cacheOptions({ sentinel: { nodes, name: 'm', tls: { ciphers: 'x' } } }), TypeError, 'sentinel.tls.ciphers');
    });
  });

  describe('when invalid', () => {
    it.each([['a string', 'redis://s1'], ['a number', 26379], ['null', null]])('throws a TypeError naming "sentinel" for %s', (_, sentinel) => {
      expect(thrown(() => cacheOptions({ sentinel }), TypeError, 'sentinel'))
        .toMatch(/^Expected the "sentinel" option to be an object \{ nodes, name, /);
    });

    it('points an array to "sentinel.nodes"', () => {
      expect(thrown(() => cacheOptions({ sentinel: nodes }), TypeError, 'sentinel')).toContain('(the list of Sentinels is "sentinel.nodes")');
    });

    it.each([
      [TypeError, 'sentinel.name', {}],
      [TypeError, 'sentinel.name', { name: 42 }],
      [RangeError, 'sentinel.name', { name: '' }],
      [TypeError, 'sentinel.name', { name: 'my master' }],
      [TypeError, 'sentinel.name', { name: 'mymaster\n' }],
      [TypeError, 'sentinel.name', { name: 'mästare' }],
      [TypeError, 'sentinel.db', { name: 'm', db: '1' }],
      [RangeError, 'sentinel.db', { name: 'm', db: -1 }],
      [RangeError, 'sentinel.db', { name: 'm', db: 1.5 }],
      [TypeError, 'sentinel.username', { name: 'm', username: 42, password: 'p' }],
      [TypeError, 'sentinel.password', { name: 'm', password: 42 }],
      [TypeError, 'sentinel.sentinelUsername', { name: 'm', sentinelUsername: 42, sentinelPassword: 'p' }],
      [TypeError, 'sentinel.sentinelPassword', { name: 'm', sentinelPassword: ['x'] }],
      [TypeError, 'sentinel.password', { name: 'm', username: 'app' }],
      [TypeError, 'sentinel.sentinelPassword', { name: 'm', sentinelUsername: 'watcher' }],
    ])('throws a %p naming "%s" for %j', (Class, option, extra) => {
      thrown(() => cacheOptions({ sentinel: { nodes, ...extra } }), Class, option);
    });

    it('says what a master name is', () => {
      expect(thrown(() => cacheOptions({ sentinel: { nodes } }), TypeError, 'sentinel.name')).toBe(
        'Expected the "sentinel.name" option to be a string: the name of the master group (as in "sentinel monitor <name> ...")');
    });

    it('refuses unknown options, suggesting ours for ioredis\'s names', () => {
      expect(thrown(() => cacheOptions({ sentinel: { sentinels: nodes, name: 'm' } }), TypeError, 'sentinels'))
        .toBe('Unknown option "sentinels" for the "sentinel" option (did you mean "nodes"?)');
      expect(thrown(() => cacheOptions({ sentinel: { nodes, name: 'm', sentinelTLS: {} } }), TypeError, 'sentinelTLS'))
        .toContain('(did you mean "tls"?)');
      expect(thrown(() => cacheOptions({ sentinel: { nodes, nmae: 'm' } }), TypeError, 'nmae')).toContain('(did you mean "name"?)');
      expect(thrown(() => cacheOptions({ sentinel: { nodes, name: 'm', constructor: 1 } }), TypeError, 'constructor'))
        .toContain('(known options: ');
    });

    it('says where the database and the Sentinels\' credentials go', () => {
      expect(thrown(() => cacheOptions({ sentinel: { nodes: ['redis://s1:26379/2'], name: 'm' } }), TypeError, 'sentinel.nodes[0]'))
        .toContain('the database of the data nodes is the "sentinel.db" option');
      expect(thrown(() => cacheOptions({ sentinel: { nodes: ['redis://:sentinel-secret@s1'], name: 'm' } }), TypeError, 'sentinel.nodes[0]'))
        .toContain('"sentinel.sentinelUsername" and "sentinel.sentinelPassword"');
    });
  });
});

describe('the options kept', () => {
  const SECRET_TLS = { ca: CA, cert: CERT, key: KEY, passphrase: 'tls-passphrase' };
  const cluster = () => cacheOptions({ cluster: { nodes: ['rediss://a:7000', { host: 'b', port: 7001 }], username: 'app',
    password: 'hunter2' }, tls: SECRET_TLS });
  const sentinel = () => cacheOptions({ sentinel: { nodes: ['redis://s1', 'redis://s2:26380'], name: 'mymaster',
    username: 'app', password: 'hunter2', sentinelUsername: 'watcher', sentinelPassword: 'sentinel-secret', db: 1,
    tls: SECRET_TLS }, tls: true });

  describe.each([['cluster', cluster], ['sentinel', sentinel]])('for a %s', (_, make) => {
    it('show no password, passphrase or key in util.inspect or JSON.stringify', () => {
      const o = make();
      for (const text of [util.inspect(o, { depth: Infinity }), JSON.stringify(o), util.inspect(o.endpoint),
        JSON.stringify(o.endpoint), String(util.inspect(o.sentinel, { depth: Infinity })), JSON.stringify(o.sentinel)]) {
        for (const secret of SECRETS) expect([secret, text.includes(secret)]).toEqual([secret, false]);
      }
      expect(util.inspect(o, { depth: Infinity })).toContain("password: '[redacted]'");
      expect(JSON.stringify(o)).toContain('"password":"[redacted]"');
      expect(util.inspect(o.endpoint)).toMatch(/^RedisEndpoint \{/);
    });

    it('are frozen all the way down', () => {
      const o = make();
      const parts = [o, o.endpoint, o.endpoint.tls, o.cluster, o.sentinel].filter(Boolean);
      for (const list of [o.cluster, o.sentinel].filter(Boolean)) parts.push(list.nodes, ...list.nodes);
      if (o.sentinel) parts.push(o.sentinel.auth, o.sentinel.tls);
      expect(parts.length).toBeGreaterThan(6);
      for (const part of parts) expect(Object.isFrozen(part)).toBe(true);
    });
  });

  it('show the Sentinels\' user and redact their password', () => {
    const o = sentinel();
    expect(util.inspect(o.sentinel.auth)).toBe("SentinelAuth { username: 'watcher', password: '[redacted]' }");
    expect(JSON.parse(JSON.stringify(o.sentinel))).toEqual({
      nodes: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], name: 'mymaster',
      auth: { username: 'watcher', password: '[redacted]' }, tls: '[TLS options: client certificate, min TLSv1.2]',
    });
  });

  it('keep an empty password empty, not "[redacted]"', () => {
    const o = cacheOptions({ sentinel: { nodes: ['redis://s1'], name: 'm' } });
    expect(JSON.parse(JSON.stringify(o.sentinel.auth))).toEqual({ username: '', password: '' });
  });

  it('give the exact shape of a cluster\'s', () => {
    expect(JSON.parse(JSON.stringify(cluster()))).toEqual({
      topology: 'cluster',
      endpoint: { ...TEMPLATE, username: 'app', password: '[redacted]', tls: '[TLS options: client certificate, min TLSv1.2]' },
      cluster: { nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 7001 }], slotsRefreshInterval: 5000, maxRedirections: 16 },
      sentinel: null,
      local: null,
      compress: null,
      keyPrefix: 'respcache',
      connectTimeout: 1000,
      commandTimeout: 100,
    });
  });

  it('leave the caller\'s options as they were, frozen or not', () => {
    const options = Object.freeze({
      cluster: Object.freeze({ nodes: Object.freeze(['redis://a:7000']), password: 'hunter2', maxRedirections: 3 }),
      tls: Object.freeze({ ca: Object.freeze([Buffer.from(CA)]) }),
    });
    const before = util.inspect(options, { depth: Infinity });
    const o = cacheOptions(options);
    expect(o.cluster.maxRedirections).toBe(3);
    expect(util.inspect(options, { depth: Infinity })).toBe(before);
    const loose = { sentinel: { nodes: [{ host: 's1' }], name: 'm', tls: { ca: CA } } };
    const snapshot = JSON.stringify(loose);
    cacheOptions(loose);
    expect(JSON.stringify(loose)).toBe(snapshot);
  });
});

describe('the "tls" option without Redis', () => {
  it('names all three ways of giving one', () => {
    expect(thrown(() => cacheOptions({ tls: true }), TypeError, 'tls')).toBe('Expected the "tls" option only with a Redis ' +
      'server ("redis", "cluster" or "sentinel" option, or REDIS_URL); without one the cache is in-process and makes no connection');
  });
});
