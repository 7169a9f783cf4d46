'use strict';

// The only file that knows where the compiled addon lives. Everything native is reached through
// the object exported here; its contract:
//
// hashKey(parts: Array<string|Buffer>): string
//   Hex SHA-256 of the length-prefixed encoding of parts (strings as UTF-8).
// requestKey(method: string, host: string, target: string, parsedQuery: string | null, vary: string[]): string
//   Hex SHA-256 of the canonical request (method, lowercased host, percent-normalised path,
//   query pairs sorted by name, varied headers as a flat [name, value, ...] list).
// encodeEntry(status: number, headers: string[] (flat [name, value, ...]), body: Buffer,
//             storedAt: number (ms), expiresAt: number (ms), meta?: {
//               kind?: 'response' | 'value' | 'vary' (default 'response'),
//               ns?: string (namespace version, <= 255 bytes of UTF-8),
//               valueType?: string (<= 64 bytes), vary?: string[] (<= 64 header names),
//               gzip?: { length: number (identity body length), etag: string (identity ETag) },
//               route?: string (<= 2048 bytes), flags?: number (u32, opaque to the codec) }): Buffer
//   An "RCE2" envelope (layout: native/core/entry_codec.h). Absent meta fields (undefined or
//   null) stay absent, distinct from ''. Throws a TypeError/RangeError when the entry cannot be
//   represented; for meta, the message names the field ("meta.vary ...").
// decodeEntry(bytes: Buffer): { status, headers (flat [name, value, ...]), body: Buffer,
//             storedAt, expiresAt, meta: { kind, ns: string | undefined, valueType, vary: string[]
//             ([] if none), gzip: { length, etag } | undefined, route, flags } } | string
//   A string is the reason the bytes are not a valid entry: 'outdated' (an "RCE1" entry of an
//   earlier release: a MISS, not damage), 'foreign', 'truncated' or 'corrupt'. body is a view of
//   `bytes`; an entry without metadata shares one frozen meta object (never mutate meta). Built in
//   this file over the addon's decodeEntryParts.
// setErrorFactory(fn: (code: string, message: string) => Error): void
//   Called once by lib/errors.js: native rejections are then built by fn (else plain Errors
//   with a `code`).
// new RedisClient({ host, port, path, username, password, db, connectTimeout, commandTimeout,
//                   subscriber?: boolean,
//                   onEvent(type: 'ready'|'error'|'reconnecting'|'end'|'message'|'pmessage',
//                           error?: Error, ...) })
//   .command(argv: Array<string|Buffer>, timeoutMs?: number, flush?: boolean): Promise<reply>
//      flush: write to the socket before returning instead of on the next writable event.
//      reply: bulk string -> Buffer, status -> string, integer -> number, nil -> null,
//      array -> Array of replies. Rejects with an Error whose code is
//      ERR_RESPCACHE_REDIS_REPLY (Redis answered with an error), ERR_RESPCACHE_REDIS_TIMEOUT
//      (no answer within the timeout), ERR_RESPCACHE_REDIS_UNAVAILABLE (not connected and no
//      connection attempt under way, or the connection dropped with the command in flight) or
//      ERR_RESPCACHE_REDIS_CLOSED (after close()).
//   .status: 'connecting' | 'ready' | 'reconnecting' | 'closed'
//   .close(): Promise<void>  resolves once commands in flight have settled and the socket is
//      closed; the process can then exit on its own.
//   A normal client refuses (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE and MONITOR with a TypeError.
//
//   subscriber: true makes a dedicated pub/sub connection:
//   .subscribe(channel: string|Buffer): Promise<void>, .psubscribe(pattern): Promise<void>
//      resolve once Redis confirmed; reject like command() (TIMEOUT after commandTimeout,
//      UNAVAILABLE, CLOSED). The client keeps the set of channels and patterns it was asked for,
//      changed at call time whatever the outcome (a refusal by Redis, e.g. an ACL, removes the
//      name again): every new connection, after a drop or a restart of Redis, subscribes them
//      all and has them confirmed before it announces 'ready'.
//   .unsubscribe(channel), .punsubscribe(pattern): Promise<void>  resolve once Redis confirmed,
//      or at once while there is no connection (nothing is subscribed then); messages already on
//      their way may still arrive before that.
//   .command(['PING', ...]) is the only command() it sends (anything else throws a TypeError);
//      Redis answers 'PONG' before the first subscription, [Buffer 'pong', Buffer ''] after.
//   Messages: onEvent('message', null, channel: Buffer, payload: Buffer) and
//      onEvent('pmessage', null, channel: Buffer, payload: Buffer, pattern: Buffer).
//      Messages published while disconnected are lost (Redis keeps none). None is delivered
//      after close() was called.
//   A silent subscriber connection is only checked by the commands it sends: PING it now and
//      then; a PING left unanswered for max(1 s, 10 * commandTimeout) makes it reconnect.
//   .close() unsubscribes nothing: it rejects what awaits a confirmation (CLOSED) and closes.
//
// new RedisClusterClient({ nodes: Array<{ host, port }>, username?, password?, connectTimeout?
//                          (1000), commandTimeout? (100), slotsRefreshInterval? (5000 ms),
//                          maxRedirections? (16), tls?, preload?: string[],
//                          onEvent(type: 'ready'|'error'|'reconnecting'|'topology'|'end',
//                                  error?: Error, epoch?: number) })
//   A Redis Cluster client (native/redis/cluster_client.h): one pipelined connection per master,
//   commands routed by key slot, MOVED/ASK/TRYAGAIN/CLUSTERDOWN followed within each command's
//   one timeout (redirects never stretch it). nodes are seeds: the topology is read from the
//   first that answers (CLUSTER SHARDS, or CLUSTER SLOTS before Redis 7). Reads go to masters
//   only. username, password and tls apply to every connection the client opens (seeds, masters,
//   nodes a MOVED/ASK or commandOnNode names).
//   tls: the same normalised object as RedisClient's (lib/tls-options.js; the same native
//      reading, so the same TypeError / ERR_RESPCACHE_TLS_BAD_OPTIONS / _UNAVAILABLE throws).
//      Nodes are reached on the "tls-port" CLUSTER SHARDS lists. The cluster announces nodes by
//      IP address, so each node's certificate is verified against that IP (a SAN IP entry)
//      unless tls.servername is set, which is then used for SNI and verification on every node.
//      A TLS failure reaches onEvent('error') with its ERR_RESPCACHE_TLS_* code (UNKNOWN_CA,
//      NAME_MISMATCH, CERT_EXPIRED, CLIENT_CERT_REJECTED, HANDSHAKE); while no seed can be read
//      the status stays 'connecting' and commands reject (TIMEOUT at their timeout).
//   preload: script texts that every node connection (each master, and a master reached after
//      a failover or a MOVED) SCRIPT LOADs in its handshake before it serves a command: EVALSHA
//      by their SHA1 works on a newly promoted master with no NOSCRIPT round trip. Not an array
//      of strings: a TypeError naming "preload".
//   .command(argv, timeoutMs?, flush?, route?): Promise<reply>  as RedisClient's, and:
//      route undefined: the slot of argv[1] (argv[3] for EVAL/EVALSHA/FCALL with numkeys > 0);
//      keyless commands (PING, PUBLISH, SCAN, INFO, CONFIG, CLUSTER, WAIT, SCRIPT ...) go to any
//      ready master. route = slot (integer 0..16383): that slot's master (the store passes its
//      bucket's slot: no hashing). route = "host:port": that node only, as commandOnNode().
//      Rejects with ERR_RESPCACHE_REDIS_UNAVAILABLE at once while the slot's master is
//      unreachable (until a refresh maps the slot to a promoted replica), or when the connection
//      dropped with the command in flight (never resent: it may have run). After
//      maxRedirections MOVED/ASK it rejects with ERR_RESPCACHE_REDIS_REPLY "MOVED ...".
//      Commands issued before the first topology wait for it within their timeout.
//   .commandDurable(argv, timeoutMs?, slot?): Promise<reply>  the command with `WAIT n <ms left>`
//      pipelined behind it, n = the replicas of that master the last refresh did not see failed
//      (online or loading); resolves
//      with the command's reply once WAIT >= n, else rejects ERR_RESPCACHE_REDIS_UNCONFIRMED (the
//      master ran it; a failover may lose it). n = 0: as command().
//   .commandOnNode("host:port", argv, timeoutMs?): Promise<reply>  that node (a connection opens
//      if needed), no redirect followed (SCAN, CONFIG, CLUSTER NODES on each node).
//   .status: 'connecting' (no topology yet) | 'ready' (every slot's master connected) |
//      'reconnecting' (a slot unserved or its master unreachable) | 'closed' (from close() on)
//   .masters: Array<{ addr: 'host:port', slots: Array<[first, last]>, replicas: number (not
//      failed, from the last refresh), ready: boolean }>  a fresh snapshot per read (walks 16384
//      slots)
//   .topologyEpoch: number  counts slot map changes (0 before the first topology); each change
//      is also onEvent('topology', null, epoch)
//   .refresh(): Promise<number>  asks for a topology refresh now and resolves with the epoch
//      once a refresh that started after the call has finished (one already under way when
//      called does not count: it may have read the map before the change the caller expects);
//      rejects UNAVAILABLE when no node answered, CLOSED on close().
//   .keySlot(key: string|Buffer): number  CLUSTER KEYSLOT (CRC16 with hash tags); also
//      RedisClusterClient.keySlot(key).
//   .close(): Promise<void>  as RedisClient's: commands waiting for a resend reject CLOSED at
//      once, commands in flight settle (answered or timed out), then every connection closes.
//   onEvent('error') carries ERR_RESPCACHE_REDIS_UNAVAILABLE (or, when a connection failed in
//      TLS, its ERR_RESPCACHE_TLS_* code): no seed gave a topology (still 'connecting', retried
//      every 250 ms), or a master was lost (then 'reconnecting').
//   A CLUSTERDOWN answer rejects UNAVAILABLE (not REPLY), also when it arrives after close().
//
// new SingleFlight(): .join(key, timeoutMs): null (the caller leads) | Promise<{ kind: 'value',
//   payload: Buffer } | { kind: 'failed' } | { kind: 'timeout' }> (never rejects);
//   .complete(key, payload: Buffer): number of followers served; .fail(key): number; .size
// new LocalStore(maxBytes): LRU bounded by bytes (key + payload.byteLength + 64 per item),
//   steady-clock TTLs, all in native memory; one JavaScript thread, nothing locked.
//   .set(key, payload: Buffer, ttlMs): boolean (false: larger than the store, and any old value
//   under key is dropped). Holds payload BY REFERENCE, no copy: the caller must never modify a
//   Buffer after giving it to set() (lib stores encoded entries, never written again). A Buffer
//   viewing part of a larger ArrayBuffer keeps all of it alive while stored.
//   .get(key): the very Buffer given to set() (get(k) === get(k) === payload), made the most
//   recently used; null when absent or expired. No copy, no allocation: never write into it.
//   The store lets go of a Buffer exactly once, when its item is evicted, expires, is deleted,
//   replaced by a later set(), cleared, or the store itself is collected or its environment torn
//   down; the GC may then collect it.
//   .delete(key): boolean; .deletePrefix(prefix): number; .purgeExpired(): number; .clear();
//   .stats(): { entries, bytes, maxBytes, hits, misses, evictions, expirations }
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
// The one platform with a prebuilt addon in the package (scripts/prebuild.sh makes it at pack time).
const PREBUILT = path.join(root, 'prebuilds', 'linux-x64', 'respcache.node');
// A build from source, by `npm run build` or by scripts/install.js where no prebuilt loads.
const BUILT = [
  path.join(root, 'build', 'Release', 'respcache.node'),
  path.join(root, 'build', 'Debug', 'respcache.node'),
];

/** The glibc version node runs on ('2.36'), or '' (musl, or not Linux). */
function glibcVersion() {
  const report = process.report;
  // Leaving the network out keeps getReport() from resolving open sockets' peers.
  const excluded = report.excludeNetwork;
  if (excluded !== undefined) report.excludeNetwork = true;
  try {
    return report.getReport().header.glibcVersionRuntime || '';
  } finally {
    if (excluded !== undefined) report.excludeNetwork = excluded;
  }
}

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * The addon files to try, in order, each with the reason it is skipped (null: try it).
 * RESPCACHE_ADDON_PATH names one file and nothing else is tried (the sanitizer build of
 * scripts/test-sanitize.sh, the package tests). Otherwise the prebuilt comes first on linux-x64
 * with glibc, unless a build from source is newer (a fresh `npm run build` in a checkout that
 * still holds a packed prebuilt) or RESPCACHE_PREFER_BUILD=1 asks for the build.
 * RESPCACHE_PREBUILT_ONLY=1 leaves the builds out: scripts/install.js asks that way whether the
 * prebuilt serves this machine.
 * @returns {Array<{ file: string, skip: string|null }>}
 */
function candidates() {
  if (process.env.RESPCACHE_ADDON_PATH) {
    return [{ file: path.resolve(process.env.RESPCACHE_ADDON_PATH), skip: null }];
  }
  const built = process.env.RESPCACHE_PREBUILT_ONLY === '1' ? []
    : BUILT.map((file) => ({ file, skip: null }));
  const prebuiltTime = mtimeMs(PREBUILT);
  if (prebuiltTime < 0) return [{ file: PREBUILT, skip: 'not found' }, ...built];
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return [{ file: PREBUILT, skip: `for linux-x64 only, this is ${process.platform}-${process.arch}` },
      ...built];
  }
  const glibc = glibcVersion();
  if (glibc === '') return [{ file: PREBUILT, skip: 'for glibc only, this node is not on glibc' }, ...built];
  const prebuilt = { file: PREBUILT, skip: null };
  const buildFirst = process.env.RESPCACHE_PREFER_BUILD === '1' ||
    BUILT.some((file) => mtimeMs(file) > prebuiltTime);
  return buildFirst ? [...built, prebuilt] : [prebuilt, ...built];
}

function load() {
  const attempts = [];
  for (const { file, skip } of candidates()) {
    if (skip !== null) {
      attempts.push({ file, error: skip });
      continue;
    }
    if (!fs.existsSync(file)) {
      attempts.push({ file, error: 'not found' });
      continue;
    }
    try {
      return require(file);
    } catch (err) {
      // A file that exists but does not load (too old a glibc: "version `GLIBC_2.32' not found",
      // another architecture, a broken build) is reported, and the next one is tried.
      const message = err.message.startsWith(`${file}: `) ? err.message.slice(file.length + 2) : err.message;
      attempts.push({ file, error: message });
    }
  }
  const err = new Error(
    'respcache: no native addon could be loaded. Tried:\n' +
    attempts.map(({ file, error }) => `  ${file}: ${error}`).join('\n') + '\n' +
    'linux-x64 with glibc >= 2.32 uses the prebuilt one in the package; elsewhere it is built ' +
    'from source when the package is installed (`npm rebuild respcache`, or `npm run build` in ' +
    'a clone), which needs cmake >= 3.15, a C++17 compiler and the hiredis headers (Debian: ' +
    'build-essential cmake libhiredis-dev), and Node\'s own headers (include/node; distribution ' +
    'packages of Node: libnode-dev or nodejs-dev).');
  err.code = 'ERR_RESPCACHE_ADDON_MISSING';
  err.attempts = attempts;
  throw err;
}

const native = load();

// Written by each decodeEntryParts call and read at once: [status, bodyStart, bodyEnd, storedAt,
// expiresAt, header count (-1: not an entry), kind, flags, present bits (1 ns, 2 valueType,
// 4 gzip, 8 route), gzip length, lengths of ns, valueType, route and etag, vary count, and the
// length of each vary name (up to 64)]; see native/binding/entry_functions.cc.
const fieldsBuffer = new ArrayBuffer((15 + 64) * 8);
const fields = new Float64Array(fieldsBuffer);
const KINDS = ['response', 'value', 'vary'];
const NO_META = Object.freeze({
  kind: 'response', ns: undefined, valueType: undefined, vary: Object.freeze([]),
  gzip: undefined, route: undefined, flags: 0,
});

/** The meta strings at the front of `joined`, per `fields`; returns where the headers start. */
function readMeta(joined, present) {
  let at = 0;
  const take = (length) => joined.slice(at, (at += length));
  const ns = present & 1 ? take(fields[10]) : undefined;
  const valueType = present & 2 ? take(fields[11]) : undefined;
  const route = present & 8 ? take(fields[12]) : undefined;
  const gzip = present & 4 ? { length: fields[9], etag: take(fields[13]) } : undefined;
  const vary = new Array(fields[14]);
  for (let i = 0; i < vary.length; i++) vary[i] = take(fields[15 + i]);
  return { meta: { kind: KINDS[fields[6]], ns, valueType, vary, gzip, route, flags: fields[7] }, at };
}

/** "name\nvalue\nname\nvalue" -> [name, value, name, value], for `count` pairs. */
function splitHeaders(joined, count) {
  const out = new Array(count * 2);
  const last = out.length - 1;
  let from = 0;
  for (let i = 0; i < last; i++) {
    const to = joined.indexOf('\n', from);
    out[i] = joined.slice(from, to);
    from = to + 1;
  }
  if (last >= 0) out[last] = joined.slice(from);
  return out;
}

/**
 * Decodes a stored entry.
 * @param {Buffer} bytes
 * @returns {{ status: number, headers: string[], body: Buffer, storedAt: number, expiresAt: number,
 *   meta: { kind: 'response'|'value'|'vary', ns: string|undefined, valueType: string|undefined,
 *   vary: string[], gzip: { length: number, etag: string }|undefined, route: string|undefined,
 *   flags: number } } | string}
 *   the entry (body a view of `bytes`), or the reason the bytes are not one
 */
function decodeEntry(bytes) {
  if (!Buffer.isBuffer(bytes)) throw new TypeError('decodeEntry(bytes) expects a Buffer');
  let joined = native.decodeEntryParts(bytes, fieldsBuffer);
  const count = fields[5];
  if (count < 0) return joined;
  const present = fields[8];
  let meta = NO_META;
  if (present !== 0 || fields[14] !== 0 || fields[6] !== 0 || fields[7] !== 0) {
    const read = readMeta(joined, present);
    meta = read.meta;
    if (read.at > 0) joined = joined.slice(read.at);
  }
  return {
    status: fields[0],
    headers: splitHeaders(joined, count),
    body: bytes.subarray(fields[1], fields[2]),
    storedAt: fields[3],
    expiresAt: fields[4],
    meta,
  };
}

module.exports = {
  setErrorFactory: native.setErrorFactory,
  hashKey: native.hashKey,
  requestKey: native.requestKey,
  encodeEntry: native.encodeEntry,
  decodeEntry,
  RedisClient: native.RedisClient,
  RedisClusterClient: native.RedisClusterClient,
  SingleFlight: native.SingleFlight,
  LocalStore: native.LocalStore,
};
