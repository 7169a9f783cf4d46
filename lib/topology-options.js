'use strict';

// The "cluster" and "sentinel" options of createCache(): their seed nodes or Sentinels (URLs or
// { host, port }), the credentials every node shares, the master name and TLS to the Sentinels,
// checked once at setup as lib/options.js checks the rest. lib/options.js calls these from
// topologyOptions() and freezes the endpoint they return.
const { parseRedisUrl } = require('./redis-url');
const { tlsOptions } = require('./tls-options');

// Required where used, not at the top: lib/options.js requires this file (as lib/tls-options.js).
const shared = () => require('./options');

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

/**
 * `{ username, password }` from two options of `o`. A username alone is refused: the native
 * client authenticates only when it has a password, so the user would silently not be used.
 */
function credentials(o, userKey, passwordKey, where) {
  const { stringField } = shared();
  const username = stringField(o[userKey], `${where}.${userKey}`);
  const password = stringField(o[passwordKey], `${where}.${passwordKey}`);
  if (username !== '' && password === '') {
    throw new TypeError(`Expected the "${where}.${passwordKey}" option with "${where}.${userKey}" ` +
      '(Redis authenticates a user with AUTH username password)');
  }
  return { username, password };
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
  const { isPlainObject, rejectUnknown, hostField, portField } = shared();
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
 * The "cluster" option: the data-node template and { nodes, slotsRefreshInterval, maxRedirections }.
 * @param {unknown} cluster the "cluster" option as given
 * @param {unknown} tlsOption the "tls" option as given
 * @returns {{ endpoint: object, cluster: Readonly<{ nodes: ReadonlyArray<Readonly<{ host: string, port: number }>>,
 *   slotsRefreshInterval: number, maxRedirections: number }>, sentinel: null }}
 */
function clusterOptions(cluster, tlsOption) {
  const { isPlainObject, rejectUnknown, checkMs, withTls } = shared();
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
 * @param {unknown} sentinel the "sentinel" option as given
 * @param {unknown} tlsOption the "tls" option as given
 * @returns {{ endpoint: object, cluster: null, sentinel: Readonly<{ nodes: ReadonlyArray<Readonly<{ host: string,
 *   port: number }>>, name: string, auth: Readonly<{ username: string, password: string }>, tls: object | null }> }}
 */
function sentinelOptions(sentinel, tlsOption) {
  const { isPlainObject, rejectUnknown, dbField, withTls, AUTH_PROTO } = shared();
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

module.exports = { clusterOptions, sentinelOptions, CLUSTER_DEFAULTS };
