'use strict';

// Redis connection URLs, read once at setup:
//   redis://[[username]:password@]host[:port][/db][?db=N]   (host may be [IPv6])
//   rediss://…   the same, over TLS (the endpoint gets `tls: true`; lib/options.js replaces it
//                with the TLS settings, lib/tls-options.js)
//   unix:///path/to/redis.sock[?db=N&username=U&password=P]   and   redis+unix:///…
// An empty host (redis://, redis://:6380) means 127.0.0.1, as redis-cli assumes. Any query
// parameter other than these is refused, so a misspelt "?bd=2" fails at startup instead of
// silently using database 0. The TLS port of Redis has no default of its own (tls-port is set
// by hand), so rediss:// defaults to 6379 too, as redis-cli and ioredis do.
//
// Why the split is done on the raw string and WHATWG `URL` only validates IPv6 hosts: `URL`
// normalises exactly the parts this parser must see raw. It strips tabs and newlines anywhere
// (a "REDIS_URL=…\n" from an env file would pass), keeps "%zz" in credentials unvalidated,
// reads "?password=a+b" as "a b", decodes query names ("?d%62=1" becomes "db"), resolves "/a/../b"
// in socket paths, throws a bare "Invalid URL" for "redis://:6380" (which redis-cli accepts) and for
// every bad port, and reports "h:0" and "h:" as ports "0" and "". Where `URL` is right and the
// rules are intricate, the IPv6 literal, it validates; the address is kept as written (the
// resolver reads both forms, and logs then show what the operator wrote).
//
// Reasons never repeat the URL or any part of it but a query parameter's name: it may hold a
// password, and reasons end up in logs. Each reason is one line.

const MAX_DB = 0x7fffffff;
const EXAMPLE = 'expected a URL such as redis://127.0.0.1:6379 or unix:///run/redis.sock';
const utf8 = new TextDecoder('utf-8', { fatal: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * `text` for an error message: printable ASCII stays, every other byte of its UTF-8 form (and
 * '"' and '\') becomes \xHH, so a reason stays one line of plain text whatever the URL holds.
 * @param {string} text
 * @returns {string}
 */
function quoted(text) {
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c
      ? String.fromCharCode(byte) : `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `${out}"`;
}

/**
 * Percent-decodes `text` byte-wise and reads the bytes as UTF-8. Strict: a "%" not followed by
 * two hex digits, or bytes that are not UTF-8 (the endpoint holds JS strings, so "%FF" would turn
 * into U+FFFD and send the server a password other than the one written), are refused.
 * @param {string} text
 * @param {string} what the part being decoded, for the reason
 * @returns {string}
 */
function decode(text, what) {
  if (!text.includes('%')) return text;
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x25) {
      out[n++] = bytes[i];
      continue;
    }
    const hex = bytes.toString('latin1', i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new TypeError(`malformed percent-encoding in the ${what}`);
    out[n++] = parseInt(hex, 16);
    i += 2;
  }
  try {
    return utf8.decode(out.subarray(0, n));
  } catch {
    throw new TypeError(`the ${what} is not UTF-8 text once percent-decoded`);
  }
}

/** Decimal digits only: no sign, no spaces, no hex, so "0x10" or " 1" cannot slip through. */
function decimal(text, max) {
  if (!/^[0-9]{1,10}$/.test(text)) return -1;
  const value = Number(text);
  return value <= max ? value : -1;
}

function database(text) {
  const db = decimal(text, MAX_DB);
  if (db < 0) throw new TypeError(`the database must be a decimal number from 0 to ${MAX_DB}`);
  return db;
}

function ipv6(literal) {
  if (literal === '') throw new TypeError("the IPv6 address between '[' and ']' is empty");
  if (!/^[0-9A-Fa-f:.]+$/.test(literal)) throw new TypeError('invalid character in the IPv6 address');
  try {
    new URL(`redis://[${literal}]`);
  } catch {
    throw new TypeError('the IPv6 address is not valid');
  }
  return literal;
}

/** host[:port] or [IPv6][:port] into `endpoint`. */
function readHostPort(text, endpoint) {
  let host;
  let port;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new TypeError("an IPv6 address is missing its closing ']'");
    host = ipv6(text.slice(1, close));
    port = text.slice(close + 1);
    if (port !== '' && !port.startsWith(':')) throw new TypeError('unexpected characters after the IPv6 address');
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    port = colon < 0 ? '' : text.slice(colon);
    if (port.indexOf(':', 1) > 0) {
      throw new TypeError('an IPv6 host must be written in brackets, as in redis://[::1]:6379');
    }
    if (!/^[A-Za-z0-9._-]*$/.test(host)) throw new TypeError('invalid character in the host name');
  }
  if (host !== '') endpoint.host = host;
  if (port !== '') {
    endpoint.port = decimal(port.slice(1), 65535);
    if (endpoint.port < 1) throw new TypeError('the port must be a decimal number from 1 to 65535');
  }
}

/**
 * The query, split on '&' by hand: names are compared raw and values percent-decoded with '+'
 * kept, which URLSearchParams would both get wrong here.
 */
function readQuery(query, endpoint, { credentials, dbInPath }) {
  const seen = new Set(dbInPath ? ['db'] : []);
  for (const param of query.split('&')) {
    if (param === '') continue;
    const eq = param.indexOf('=');
    const name = eq < 0 ? param : param.slice(0, eq);
    const value = eq < 0 ? '' : param.slice(eq + 1);
    if (name !== 'db' && !(credentials && (name === 'username' || name === 'password'))) {
      throw new TypeError(`unknown query parameter ${quoted(name)} (expected ${credentials ? 'db, username or password' : 'db'})`);
    }
    const what = name === 'db' ? 'database' : name;
    if (seen.has(name)) throw new TypeError(`the ${what} is given more than once`);
    seen.add(name);
    if (name === 'db') endpoint.db = database(decode(value, what));
    else endpoint[name] = decode(value, what);
  }
}

function readTcp(rest, endpoint) {
  const q = rest.indexOf('?');
  const query = q < 0 ? '' : rest.slice(q + 1);
  if (q >= 0) rest = rest.slice(0, q);
  const slash = rest.indexOf('/');
  let authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  // The last '@' ends the credentials, so an unencoded '@' in a password still parses.
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userinfo.indexOf(':');
    if (colon < 0) {
      throw new TypeError('credentials must be written as [username]:password@ (a username needs a password)');
    }
    endpoint.username = decode(userinfo.slice(0, colon), 'username');
    endpoint.password = decode(userinfo.slice(colon + 1), 'password');
  }
  readHostPort(authority, endpoint);
  const dbInPath = path.length > 1;
  if (dbInPath) {
    if (path.indexOf('/', 1) > 0) {
      throw new TypeError('the path must be a single database number, as in redis://host:6379/2');
    }
    endpoint.db = database(path.slice(1));
  }
  readQuery(query, endpoint, { credentials: false, dbInPath });
}

function readUnix(rest, endpoint) {
  const q = rest.indexOf('?');
  const query = q < 0 ? '' : rest.slice(q + 1);
  if (q >= 0) rest = rest.slice(0, q);
  if (!rest.startsWith('/')) {
    throw new TypeError('a unix socket URL needs an absolute path, as in unix:///run/redis.sock');
  }
  const path = decode(rest, 'socket path');
  if (path.length < 2 || path.endsWith('/')) throw new TypeError('the unix socket path names a directory, not a socket');
  if (path.includes('\0')) throw new TypeError('the unix socket path contains a NUL byte');
  endpoint.path = path;
  readQuery(query, endpoint, { credentials: true, dbInPath: false });
}

/**
 * Reads a Redis URL into the endpoint the native client connects to.
 * @param {string} url redis://…, rediss://…, unix://… or redis+unix://…
 * @returns {{ host: string, port: number, path: string, username: string, password: string, db: number,
 *   tls?: true }}
 *   `path` is set for a unix socket (host and port are then unused); defaults are 127.0.0.1, 6379,
 *   no credentials and database 0. `tls: true` for rediss:// (absent otherwise).
 * @throws {TypeError} with a one-line reason that never quotes the URL; callers say which setting
 *   the URL came from.
 */
function parseRedisUrl(url) {
  if (typeof url !== 'string') throw new TypeError('expected a string');
  // Checked up front rather than where each part is read: a control character is never meant
  // (a trailing newline from an env file is the usual one), and in a reason it is shown, not kept.
  const control = /[\x00-\x1f\x7f]/.exec(url);
  if (control) {
    throw new TypeError(`the URL contains a control character (${quoted(control[0])}); ` +
      'percent-encode it if a password or socket path really holds one');
  }
  if (LONE_SURROGATE.test(url)) throw new TypeError('the URL holds a lone UTF-16 surrogate');
  const sep = url.indexOf('://');
  if (sep <= 0 || !/^[A-Za-z0-9+.-]+$/.test(url.slice(0, sep))) throw new TypeError(EXAMPLE);
  if (url.includes('#')) {
    throw new TypeError("a Redis URL cannot have a fragment ('#'); percent-encode it as %23 in a password");
  }
  const scheme = url.slice(0, sep).toLowerCase();
  const rest = url.slice(sep + 3);
  const endpoint = { host: '127.0.0.1', port: 6379, path: '', username: '', password: '', db: 0 };
  if (scheme === 'redis' || scheme === 'rediss') readTcp(rest, endpoint);
  else if (scheme === 'unix' || scheme === 'redis+unix') readUnix(rest, endpoint);
  else throw new TypeError(`unsupported scheme "${scheme}://" (expected redis://, rediss://, unix:// or redis+unix://)`);
  if (scheme === 'rediss') endpoint.tls = true;
  return endpoint;
}

module.exports = { parseRedisUrl };
