'use strict';

// Option handling of createCache() and of cache-aside values (route options: lib/route-options.js),
// once, at setup: defaults applied, every value validated (TypeError for a wrong type, RangeError
// for a value out of range, both naming the option), unknown names refused with a suggestion, and
// the caller's objects never modified. The results are frozen plain objects.
const { parseRedisUrl } = require('./redis-url');
const { tlsOptions } = require('./tls-options');
const { wellFormed } = require('./http/keys');

const CACHE_DEFAULTS = Object.freeze({ keyPrefix: 'respcache', connectTimeout: 1000, commandTimeout: 100 });

const ROUTE_DEFAULTS = Object.freeze({
  ttl: 300,
  statuses: Object.freeze([200]),
  methods: Object.freeze(['GET', 'HEAD']),
  maxBodySize: 1024 * 1024,
  exposeKey: false,
  coalesce: true,
  coalesceTimeout: 10000,
  lockTtl: 10000,
});

const CACHE_OPTIONS = ['redis', 'cluster', 'sentinel', 'tls', 'keyPrefix', 'connectTimeout', 'commandTimeout', 'local',
  'compress'];
// Where Redis is: one of these, or none (embedded mode, unless REDIS_URL is set).
const TOPOLOGY_OPTIONS = ['redis', 'cluster', 'sentinel'];
const CLUSTER_OPTIONS = ['nodes', 'username', 'password', 'slotsRefreshInterval', 'maxRedirections'];
// The limits are those of the addon's RedisClusterClient (native/binding/redis_cluster_client_wrap.cc),
// so options accepted here never fail there.
const CLUSTER_DEFAULTS = Object.freeze({ slotsRefreshInterval: 5000, maxRedirections: 16 });
const MAX_REDIRECTIONS = 1000;
const SENTINEL_OPTIONS = ['nodes', 'name', 'username', 'password', 'db', 'sentinelUsername', 'sentinelPassword', 'tls'];
// ioredis's names for the same things, which a misspelling distance would not catch.
const SENTINEL_ALIASES = { sentinels: 'nodes', sentinelTLS: 'tls', sentinelTls: 'tls' };
const NODE_OPTIONS = ['host', 'port'];
const SENTINEL_PORT = 26379;
// Sentinel refuses other master names (sentinel.conf: "The valid charset is A-z 0-9 and the three
// characters ".-_""), and its +switch-master messages are split on spaces.
const MASTER_NAME = /^[A-Za-z0-9._-]+$/;
const LOCAL_OPTIONS = ['maxBytes', 'ttl'];
const COMPRESS_OPTIONS = ['threshold'];
// Entries of at least this many bytes are stored gzipped when `compress` is on (as the
// compression middleware's default: smaller bodies gain little and cost a HIT some work).
const COMPRESS_DEFAULTS = Object.freeze({ threshold: 1024 });
// The in-process tier: alone (no Redis configured) it keeps entries for their full ttl; in front
// of Redis its copies live at most local.ttl seconds, which bounds how stale a missed
// invalidation event can leave them.
const LOCAL_DEFAULTS = Object.freeze({ maxBytes: 64 * 1024 * 1024, nearTtl: 5 });
const REDIS_OBJECT_OPTIONS = ['host', 'port', 'path', 'username', 'password', 'db'];
const WRAP_OPTIONS = ['ttl', 'coalesceTimeout', 'lockTtl'];

const MAX_TIMEOUT_MS = 86400000;
const MAX_TTL_SECONDS = 10 * 365 * 86400;

// Logging the cache (util.inspect, JSON.stringify of its options) shows where it connects, never
// a password (the TLS options redact their keys the same way, lib/tls-options.js).
function redacting(label) {
  return Object.freeze({
    [require('util').inspect.custom](depth, options, inspect) {
      return `${label} ${inspect(this.toJSON(), options)}`;
    },
    toJSON() {
      const shown = { ...this };
      if (shown.password) shown.password = '[redacted]';
      return shown;
    },
  });
}
const ENDPOINT_PROTO = redacting('RedisEndpoint');
const AUTH_PROTO = redacting('SentinelAuth');

function isPlainObject(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Edit distance, small inputs only: used to suggest the option a misspelling meant. */
function distance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * Throws a TypeError for the first option not in `known`, suggesting the one it likely meant.
 * @param {object} options
 * @param {string[]} known
 * @param {string} where what the options are given to, for the message
 * @param {Record<string, string>} [aliases] other libraries' names for known options
 */
function rejectUnknown(options, known, where, aliases = {}) {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const lower = name.toLowerCase();
    const guess = (Object.prototype.hasOwnProperty.call(aliases, name) ? aliases[name] : undefined)
      || known.find((k) => k.toLowerCase() === lower)
      || known.find((k) => distance(lower, k.toLowerCase()) <= 2);
    const hint = guess ? ` (did you mean "${guess}"?)` : ` (known options: ${known.join(', ')})`;
    throw new TypeError(`Unknown option "${name}" for ${where}${hint}`);
  }
}

function checkMs(value, name) {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected the "${name}" option to be a number of milliseconds`);
  }
  if (!Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    throw new RangeError(`Expected the "${name}" option to be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  }
  return value;
}

function checkPrefix(value, name = 'keyPrefix') {
  if (typeof value !== 'string') throw new TypeError(`Expected the "${name}" option to be a string`);
  if (value.length === 0) throw new RangeError(`Expected the "${name}" option to be a non-empty string`);
  if (!wellFormed(value)) throw new TypeError(`Expected the "${name}" option to be a well-formed string (no lone UTF-16 surrogates)`);
  return value;
}

/** An optional string option: '' when absent. */
function stringField(value, name) {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new TypeError(`Expected the "${name}" option to be a string`);
  return value;
}

function hostField(value, name) {
  if (value === undefined) return '127.0.0.1';
  if (stringField(value, name).length === 0) {
    throw new RangeError(`Expected the "${name}" option to be a non-empty host name or address`);
  }
  return value;
}

function portField(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected the "${name}" option to be a number`);
  }
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new RangeError(`Expected the "${name}" option to be a TCP port from 1 to 65535`);
  }
  return value;
}

function dbField(value, name) {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected the "${name}" option to be a database number`);
  }
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new RangeError(`Expected the "${name}" option to be a database number of 0 or more`);
  }
  return value;
}

/**
 * `{ username, password }` from two options of `o`. A username alone is refused: the native
 * client authenticates only when it has a password, so the user would silently not be used.
 */
function credentials(o, userKey, passwordKey, where) {
  const username = stringField(o[userKey], `${where}.${userKey}`);
  const password = stringField(o[passwordKey], `${where}.${passwordKey}`);
  if (username !== '' && password === '') {
    throw new TypeError(`Expected the "${where}.${passwordKey}" option with "${where}.${userKey}" ` +
      '(Redis authenticates a user with AUTH username password)');
  }
  return { username, password };
}

function checkRedisObject(redis) {
  if (Object.prototype.hasOwnProperty.call(redis, 'tls')) {
    throw new TypeError('Unknown option "tls" for the "redis" option (TLS is the createCache() option "tls", ' +
      'given next to "redis")');
  }
  rejectUnknown(redis, REDIS_OBJECT_OPTIONS, 'the "redis" option');
  return {
    host: hostField(redis.host, 'redis.host'),
    port: portField(redis.port, 'redis.port', 6379),
    path: stringField(redis.path, 'redis.path'),
    username: stringField(redis.username, 'redis.username'),
    password: stringField(redis.password, 'redis.password'),
    db: dbField(redis.db, 'redis.db'),
  };
}

function parseUrl(url, what) {
  try {
    return parseRedisUrl(url);
  } catch (err) {
    throw new TypeError(`Expected ${what} to be a Redis URL ` +
      `(redis[s]://[user:password@]host[:port][/db] or unix:///path/to/socket): ${err.message}`);
  }
}

/**
 * One node of "cluster.nodes" or "sentinel.nodes" given as a URL: redis[s]://host[:port] and
 * nothing more. Credentials and the database are options of their own, common to every node,
 * and `list.hints` says which. Messages never quote the URL.
 * @returns {{ host: string, port: number, tls: boolean }}
 */
function nodeUrl(url, name, list) {
  const sep = url.indexOf('://');
  const scheme = sep > 0 ? url.slice(0, sep).toLowerCase() : '';
  const shape = `Expected the "${name}" option to be a URL redis[s]://host[:port] or an object { host, port }`;
  if (scheme === 'unix' || scheme === 'redis+unix') {
    throw new TypeError(`${shape}: ${list.what} are reached over TCP, not a unix socket`);
  }
  const rest = sep > 0 ? url.slice(sep + 3) : '';
  // Before parsing, so that the reason points to the right options rather than to the URL's syntax.
  if ((scheme === 'redis' || scheme === 'rediss') && rest.includes('@')) {
    throw new TypeError(`${shape}, without credentials: ${list.credentials}`);
  }
  let parsed;
  try {
    parsed = parseRedisUrl(url);
  } catch (err) {
    throw new TypeError(`${shape}: ${err.message}`);
  }
  const authority = rest.split(/[/?]/, 1)[0];
  if (rest !== authority && rest !== `${authority}/`) {
    throw new TypeError(`${shape}, without a database or query: ${list.db}`);
  }
  const hasPort = authority.startsWith('[') ? authority.includes(']:') : authority.includes(':');
  return { host: parsed.host, port: hasPort ? parsed.port : list.port, tls: parsed.tls === true };
}

/**
 * "cluster.nodes" or "sentinel.nodes": the frozen [{ host, port }], and whether its URLs are
 * rediss:// (every URL must have the same scheme; objects have none and follow the "tls" options).
 * @param {unknown} nodes as given
 * @param {{ where: string, what: string, port: number, credentials: string, db: string, tls: string }} list
 *   the option's name, what the nodes are and their default port, and where credentials, the
 *   database and TLS settings go instead
 * @returns {{ nodes: ReadonlyArray<Readonly<{ host: string, port: number }>>, rediss: boolean }}
 */
function nodeList(nodes, list) {
  const { where } = list;
  if (!Array.isArray(nodes)) {
    throw new TypeError(`Expected the "${where}" option to be an array of ${list.what} ` +
      "(URLs such as 'redis://10.0.0.1:6379', or objects { host, port })");
  }
  if (nodes.length === 0) throw new RangeError(`Expected the "${where}" option to list at least one node`);
  const out = [];
  let first = null;
  for (let i = 0; i < nodes.length; i++) {
    const name = `${where}[${i}]`;
    const node = nodes[i];
    if (typeof node === 'string') {
      const { host, port, tls } = nodeUrl(node, name, list);
      if (first === null) {
        first = { name, tls };
      } else if (tls !== first.tls) {
        const scheme = (t) => (t ? 'rediss://' : 'redis://');
        throw new TypeError(`Expected the URLs of "${where}" to have one scheme: "${first.name}" is ` +
          `${scheme(first.tls)} and "${name}" is ${scheme(tls)} (rediss:// means TLS to every node)`);
      }
      out.push(Object.freeze({ host, port }));
    } else if (isPlainObject(node)) {
      const misplaced = ['username', 'password', 'db', 'tls'].find((k) => Object.prototype.hasOwnProperty.call(node, k));
      if (misplaced !== undefined) {
        throw new TypeError(`Unknown option "${misplaced}" for the "${name}" option ` +
          `(a node is { host, port }: ${misplaced === 'db' ? list.db : misplaced === 'tls' ? list.tls : list.credentials})`);
      }
      rejectUnknown(node, NODE_OPTIONS, `the "${name}" option`);
      out.push(Object.freeze({ host: hostField(node.host, `${name}.host`), port: portField(node.port, `${name}.port`, list.port) }));
    } else {
      throw new TypeError(`Expected the "${name}" option to be a URL redis[s]://host[:port] or an object { host, port }`);
    }
  }
  return { nodes: Object.freeze(out), rediss: first !== null && first.tls };
}

/**
 * The endpoint with its TLS settings: `tls` (the addon's shape, lib/tls-options.js) when the URL
 * is rediss:// or the "tls" option asks for TLS, no `tls` key for a plain connection.
 * @param {object|null} endpoint as parsed; null when no Redis is configured
 * @param {unknown} option the "tls" option as given
 * @param {string} from where the endpoint came from, for messages
 * @returns {object|null} a new endpoint (the parsed one is left as it was)
 */
function withTls(endpoint, option, from) {
  const settings = tlsOptions(option, 'tls'); // validated even where it cannot apply
  if (endpoint === null) {
    if (settings !== null) {
      throw new TypeError('Expected the "tls" option only with a Redis server ("redis", "cluster" or "sentinel" ' +
        'option, or REDIS_URL); without one the cache is in-process and makes no connection');
    }
    return null;
  }
  const { tls: fromUrl, ...rest } = endpoint;
  if (fromUrl && option === false) {
    throw new TypeError(`Expected the "tls" option not to be false with a rediss:// URL (${from}); ` +
      'use redis:// for a plain connection');
  }
  const chosen = settings !== null ? settings : fromUrl ? tlsOptions(true, 'tls') : null;
  if (chosen === null) return rest;
  if (rest.path !== '') {
    // Redis serves TLS on its tls-port (TCP) only; its unix socket is always plain.
    throw new TypeError('Expected the "tls" option only with a TCP endpoint (host and port): ' +
      'Redis serves TLS on its tls-port, never on a unix socket');
  }
  return { ...rest, tls: chosen };
}

/** The "redis" option, or REDIS_URL without it: { endpoint } with endpoint null for no Redis. */
function singleOptions(redis, tlsOption) {
  let endpoint;
  let from = 'the "redis" option';
  if (redis === undefined) {
    const fromEnv = process.env.REDIS_URL;
    from = 'REDIS_URL';
    endpoint = fromEnv ? parseUrl(fromEnv, 'REDIS_URL (used when the "redis" option is absent)') : null;
  } else if (typeof redis === 'string') {
    endpoint = parseUrl(redis, from);
  } else if (isPlainObject(redis)) {
    endpoint = checkRedisObject(redis);
  } else {
    throw new TypeError('Expected the "redis" option to be a Redis URL string or an object ' +
      '{ host, port, path, username, password, db }');
  }
  return { endpoint: withTls(endpoint, tlsOption, from), cluster: null, sentinel: null };
}

/** The "cluster" option: the data-node template and { nodes, slotsRefreshInterval, maxRedirections }. */
function clusterOptions(cluster, tlsOption) {
  if (!isPlainObject(cluster)) {
    throw new TypeError(`Expected the "cluster" option to be an object { ${CLUSTER_OPTIONS.join(', ')} }` +
      (Array.isArray(cluster) ? ' (the list of seed nodes is "cluster.nodes")' : ''));
  }
  if (Object.prototype.hasOwnProperty.call(cluster, 'db')) {
    throw new TypeError('Expected no "cluster.db" option: Redis Cluster has database 0 only');
  }
  if (Object.prototype.hasOwnProperty.call(cluster, 'tls')) {
    throw new TypeError('Unknown option "tls" for the "cluster" option (TLS is the createCache() option "tls", ' +
      'given next to "cluster", or rediss:// seed URLs)');
  }
  rejectUnknown(cluster, CLUSTER_OPTIONS, 'the "cluster" option');
  const { nodes, rediss } = nodeList(cluster.nodes, {
    where: 'cluster.nodes', what: 'cluster nodes', port: 6379,
    credentials: 'give them as the "cluster.username" and "cluster.password" options, which every node shares',
    db: 'Redis Cluster has database 0 only',
    tls: 'TLS is the createCache() option "tls", or rediss:// seed URLs',
  });
  const { username, password } = credentials(cluster, 'username', 'password', 'cluster');
  let { maxRedirections } = CLUSTER_DEFAULTS;
  if (cluster.maxRedirections !== undefined) {
    maxRedirections = cluster.maxRedirections;
    if (typeof maxRedirections !== 'number' || Number.isNaN(maxRedirections)) {
      throw new TypeError('Expected the "cluster.maxRedirections" option to be a number of redirections');
    }
    if (!Number.isInteger(maxRedirections) || maxRedirections < 0 || maxRedirections > MAX_REDIRECTIONS) {
      throw new RangeError(`Expected the "cluster.maxRedirections" option to be a whole number from 0 to ${MAX_REDIRECTIONS}`);
    }
  }
  const template = { host: '', port: 0, path: '', username, password, db: 0, ...(rediss ? { tls: true } : {}) };
  return {
    endpoint: withTls(template, tlsOption, 'the "cluster.nodes" option'),
    cluster: Object.freeze({
      nodes,
      slotsRefreshInterval: cluster.slotsRefreshInterval === undefined
        ? CLUSTER_DEFAULTS.slotsRefreshInterval : checkMs(cluster.slotsRefreshInterval, 'cluster.slotsRefreshInterval'),
      maxRedirections,
    }),
    sentinel: null,
  };
}

/**
 * The "sentinel" option: the data-node template (credentials, db, the "tls" option) and
 * { nodes, name, auth, tls } for the Sentinels. TLS to the Sentinels is "sentinel.tls" when
 * given, else the "tls" option, else TLS with defaults for rediss:// URLs.
 */
function sentinelOptions(sentinel, tlsOption) {
  if (!isPlainObject(sentinel)) {
    throw new TypeError(`Expected the "sentinel" option to be an object { ${SENTINEL_OPTIONS.join(', ')} }` +
      (Array.isArray(sentinel) ? ' (the list of Sentinels is "sentinel.nodes")' : ''));
  }
  rejectUnknown(sentinel, SENTINEL_OPTIONS, 'the "sentinel" option', SENTINEL_ALIASES);
  const { nodes, rediss } = nodeList(sentinel.nodes, {
    where: 'sentinel.nodes', what: 'Sentinels', port: SENTINEL_PORT,
    credentials: 'give them as the "sentinel.sentinelUsername" and "sentinel.sentinelPassword" options, ' +
      'which every Sentinel shares',
    db: 'the database of the data nodes is the "sentinel.db" option',
    tls: 'TLS to the Sentinels is the "sentinel.tls" option, or rediss:// URLs',
  });
  const { name } = sentinel;
  if (typeof name !== 'string') {
    throw new TypeError('Expected the "sentinel.name" option to be a string: the name of the master group ' +
      '(as in "sentinel monitor <name> ...")');
  }
  if (name.length === 0) throw new RangeError('Expected the "sentinel.name" option to be a non-empty master name');
  if (!MASTER_NAME.test(name)) {
    throw new TypeError('Expected the "sentinel.name" option to be a master name of letters, digits, ".", "-" ' +
      'and "_" (the only characters Sentinel accepts)');
  }
  const data = credentials(sentinel, 'username', 'password', 'sentinel');
  const auth = credentials(sentinel, 'sentinelUsername', 'sentinelPassword', 'sentinel');
  const template = { host: '', port: 0, path: '', ...data, db: dbField(sentinel.db, 'sentinel.db') };
  const endpoint = withTls(template, tlsOption, 'the "sentinel" option');
  let tls;
  if (sentinel.tls === undefined) {
    tls = endpoint.tls || (rediss ? tlsOptions(true, 'tls') : null);
  } else {
    tls = tlsOptions(sentinel.tls, 'sentinel.tls');
    if (tls === null && rediss) {
      throw new TypeError('Expected the "sentinel.tls" option not to be false with rediss:// URLs in "sentinel.nodes"; ' +
        'use redis:// for plain connections to the Sentinels');
    }
  }
  return {
    endpoint,
    cluster: null,
    sentinel: Object.freeze({ nodes, name, auth: Object.freeze(Object.assign(Object.create(AUTH_PROTO), auth)), tls }),
  };
}

/**
 * The topology and its settings from "redis", "cluster", "sentinel" (at most one), REDIS_URL and
 * "tls". The endpoint of a cluster or a Sentinel deployment is the template of its data nodes:
 * host '' and port 0, which the store fills in per node.
 */
function topologyOptions(options) {
  const given = TOPOLOGY_OPTIONS.filter((name) => options[name] !== undefined);
  if (given.length > 1) {
    const names = given.map((name) => `"${name}"`);
    throw new TypeError(`Expected only one of the ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} ` +
      'options: a cache uses a single Redis server ("redis"), a Redis Cluster ("cluster") or a master found ' +
      'through Sentinels ("sentinel")');
  }
  const topology = given[0] === 'cluster' || given[0] === 'sentinel' ? given[0] : 'single';
  const parts = topology === 'cluster' ? clusterOptions(options.cluster, options.tls)
    : topology === 'sentinel' ? sentinelOptions(options.sentinel, options.tls)
      : singleOptions(options.redis, options.tls);
  const { endpoint } = parts;
  return {
    ...parts,
    topology: endpoint === null ? null : topology,
    endpoint: endpoint && Object.freeze(Object.assign(Object.create(ENDPOINT_PROTO), endpoint)),
  };
}

/**
 * Validates and normalises createCache() options.
 * @param {object} [options]
 * @returns {Readonly<{ topology: 'single' | 'cluster' | 'sentinel' | null, endpoint: object | null,
 *   cluster: object | null, sentinel: object | null, local: object | null, compress: object | null,
 *   keyPrefix: string, connectTimeout: number, commandTimeout: number }>}
 *   `topology` and `endpoint` are null in embedded mode. `endpoint` is the frozen { host, port,
 *   path, username, password, db } the addon connects to, with `tls` (lib/tls-options.js's shape)
 *   when it connects over TLS; for 'cluster' and 'sentinel' it is the template of every data node
 *   (host '', port 0). `cluster` is { nodes: [{ host, port }], slotsRefreshInterval,
 *   maxRedirections } for 'cluster', `sentinel` is { nodes: [{ host, port }], name,
 *   auth: { username, password }, tls } for 'sentinel'; each is null otherwise.
 */
function cacheOptions(options = {}) {
  if (!isPlainObject(options)) {
    throw new TypeError('Expected createCache(options) to be given an options object');
  }
  rejectUnknown(options, CACHE_OPTIONS, 'createCache()');
  const { topology, endpoint, cluster, sentinel } = topologyOptions(options);
  const keyPrefix = options.keyPrefix === undefined ? CACHE_DEFAULTS.keyPrefix : checkPrefix(options.keyPrefix);
  if (topology === 'cluster' && /[{}]/.test(keyPrefix)) {
    // The store puts a hash tag of its own right after the prefix to keep related keys on one node.
    throw new RangeError('Expected the "keyPrefix" option to hold no "{" or "}" with the "cluster" option: ' +
      'Redis Cluster reads the first {...} of a key name as its hash tag, and respcache sets that tag itself');
  }
  return Object.freeze({
    topology,
    endpoint,
    cluster,
    sentinel,
    local: localOptions(options.local, endpoint === null),
    compress: compressOptions(options.compress),
    keyPrefix,
    connectTimeout: options.connectTimeout === undefined
      ? CACHE_DEFAULTS.connectTimeout : checkMs(options.connectTimeout, 'connectTimeout'),
    commandTimeout: options.commandTimeout === undefined
      ? CACHE_DEFAULTS.commandTimeout : checkMs(options.commandTimeout, 'commandTimeout'),
  });
}

/**
 * The in-process tier: { maxBytes, ttlMs } or null (off). Without Redis it is always on, and its
 * ttl cap is off (entries live their route ttl).
 */
function localOptions(local, embedded) {
  if (local === undefined || local === false) {
    return embedded ? Object.freeze({ maxBytes: LOCAL_DEFAULTS.maxBytes, ttlMs: Infinity }) : null;
  }
  if (local === true) local = {};
  if (!isPlainObject(local)) {
    throw new TypeError('Expected the "local" option to be true or an object { maxBytes, ttl }');
  }
  rejectUnknown(local, LOCAL_OPTIONS, 'the "local" option');
  let maxBytes = LOCAL_DEFAULTS.maxBytes;
  if (local.maxBytes !== undefined) {
    if (typeof local.maxBytes !== 'number' || Number.isNaN(local.maxBytes)) {
      throw new TypeError('Expected the "local.maxBytes" option to be a number of bytes');
    }
    if (!Number.isInteger(local.maxBytes) || local.maxBytes < 1024 || local.maxBytes > 2 ** 40) {
      throw new RangeError('Expected the "local.maxBytes" option to be a whole number of bytes from 1024 to 2^40');
    }
    maxBytes = local.maxBytes;
  }
  let ttlMs = embedded ? Infinity : LOCAL_DEFAULTS.nearTtl * 1000;
  if (local.ttl !== undefined) {
    if (typeof local.ttl !== 'number' || Number.isNaN(local.ttl)) {
      throw new TypeError('Expected the "local.ttl" option to be a number of seconds');
    }
    if (!(local.ttl > 0) || local.ttl > MAX_TTL_SECONDS) {
      throw new RangeError('Expected the "local.ttl" option to be a positive number of seconds');
    }
    ttlMs = Math.max(1, Math.round(local.ttl * 1000));
  }
  return Object.freeze({ maxBytes, ttlMs });
}

/** Compression of stored entries: { threshold } or null (off, the default). */
function compressOptions(compress) {
  if (compress === undefined || compress === false) return null;
  if (compress === true) compress = {};
  if (!isPlainObject(compress)) {
    throw new TypeError('Expected the "compress" option to be a boolean or an object { threshold }');
  }
  rejectUnknown(compress, COMPRESS_OPTIONS, 'the "compress" option');
  let { threshold } = COMPRESS_DEFAULTS;
  if (compress.threshold !== undefined) {
    if (typeof compress.threshold !== 'number' || Number.isNaN(compress.threshold)) {
      throw new TypeError('Expected the "compress.threshold" option to be a number of bytes');
    }
    if (!Number.isInteger(compress.threshold) || compress.threshold < 0 || compress.threshold > 0x7fffffff) {
      throw new RangeError('Expected the "compress.threshold" option to be a whole number of bytes from 0 to 2147483647');
    }
    threshold = compress.threshold;
  }
  return Object.freeze({ threshold });
}

/** ttl (seconds), coalesceTimeout and lockTtl (milliseconds), shared by routes and wrap(). */
function timing(o) {
  let ttl = ROUTE_DEFAULTS.ttl;
  if (o.ttl !== undefined) {
    if (typeof o.ttl !== 'number' || Number.isNaN(o.ttl)) {
      throw new TypeError('Expected the "ttl" option to be a positive number of seconds');
    }
    if (!(o.ttl > 0) || o.ttl > MAX_TTL_SECONDS) {
      throw new RangeError(`Expected the "ttl" option to be a positive number of seconds, at most ${MAX_TTL_SECONDS}`);
    }
    ttl = o.ttl;
  }
  return {
    ttlMs: Math.max(1, Math.round(ttl * 1000)),
    coalesceTimeout: o.coalesceTimeout === undefined
      ? ROUTE_DEFAULTS.coalesceTimeout : checkMs(o.coalesceTimeout, 'coalesceTimeout'),
    lockTtl: o.lockTtl === undefined ? ROUTE_DEFAULTS.lockTtl : checkMs(o.lockTtl, 'lockTtl'),
  };
}

/**
 * Validates the options of cache.wrap() / cache.set(): { ttl, coalesceTimeout, lockTtl }.
 * @param {object} [options]
 */
function wrapOptions(options = {}) {
  if (!isPlainObject(options)) throw new TypeError('Expected the options to be an object');
  rejectUnknown(options, WRAP_OPTIONS, 'cache.wrap()');
  return Object.freeze(timing(options));
}

module.exports = { cacheOptions, wrapOptions, timing, isPlainObject, rejectUnknown, checkMs, checkPrefix, CACHE_DEFAULTS,
  CLUSTER_DEFAULTS, ROUTE_DEFAULTS, COMPRESS_DEFAULTS, MAX_TTL_SECONDS };
