'use strict';

// Option handling of createCache() and of cache-aside values (route options: lib/route-options.js),
// once, at setup: defaults applied, every value validated (TypeError for a wrong type, RangeError
// for a value out of range, both naming the option), unknown names refused with a suggestion, and
// the caller's objects never modified. The results are frozen plain objects. The "cluster" and
// "sentinel" options are read by lib/topology-options.js, with the field checks of this file.
const { parseRedisUrl } = require('./redis-url');
const { tlsOptions } = require('./tls-options');
const { clusterOptions, sentinelOptions, CLUSTER_DEFAULTS } = require('./topology-options');
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
// How long an entry with a validator outlives its freshness by default, on ttl: 'http' routes and
// in the gateway, so that a request after it goes stale revalidates it (a 304) instead of refetching.
const RETAIN_STALE_SECONDS = 86400;

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
const AUTH_PROTO = redacting('SentinelAuth'); // the Sentinels' credentials (lib/topology-options.js)

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

/**
 * An optional string option: '' when absent.
 * @param {unknown} value as given
 * @param {string} name the option's name, for messages
 * @returns {string}
 */
function stringField(value, name) {
  if (value === undefined) return '';
  if (typeof value !== 'string') throw new TypeError(`Expected the "${name}" option to be a string`);
  return value;
}

/**
 * A host name or address option: 127.0.0.1 when absent.
 * @param {unknown} value as given
 * @param {string} name the option's name, for messages
 * @returns {string}
 */
function hostField(value, name) {
  if (value === undefined) return '127.0.0.1';
  if (stringField(value, name).length === 0) {
    throw new RangeError(`Expected the "${name}" option to be a non-empty host name or address`);
  }
  return value;
}

/**
 * A TCP port option.
 * @param {unknown} value as given
 * @param {string} name the option's name, for messages
 * @param {number} fallback the port when absent
 * @returns {number}
 */
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

/**
 * A database number option: 0 when absent.
 * @param {unknown} value as given
 * @param {string} name the option's name, for messages
 * @returns {number}
 */
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
  CLUSTER_DEFAULTS, ROUTE_DEFAULTS, COMPRESS_DEFAULTS, MAX_TTL_SECONDS, RETAIN_STALE_SECONDS,
  // for lib/topology-options.js
  stringField, hostField, portField, dbField, withTls, AUTH_PROTO };
