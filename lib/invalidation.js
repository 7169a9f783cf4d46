'use strict';

// Invalidation indexes. Every entry the middleware stores is indexed, in the same Lua script that
// stores it (all or nothing: no entry without all of its indexes), under:
//   `${prefix}:p:${path}`    the request path it was stored for, in normal form (normalisePath),
//   `${prefix}:s:${dir}`     every directory prefix of that path ('/', '/api/', '/api/users/'),
//   `${prefix}:t:${tag}`     each of its tags,
// each a sorted set of entry keys scored by the time the entry leaves Redis. An invalidation pops
// an index in batches (ZPOPMIN + UNLINK in one script: no command holds Redis for long, and no
// more than one batch is in JS memory), so a tag or prefix with any number of entries is removed
// exactly, without KEYS and without scanning the keyspace.
//
// Growth: each store prunes the members of the indexes it touches whose entries have expired;
// `${prefix}:ix` scores every index by the expiry of its longest-lived member, and a periodic
// sweep deletes indexes whose members have all expired. Index keys carry no TTL, so a volatile-*
// maxmemory policy never evicts them (allkeys-* could: checked at connect, reported on 'error').
//
// Races: an invalidation records its time (Redis clock) in `${prefix}:iv:${index}`; a store whose
// fill began before that time (measured on the Redis clock too: the script subtracts the fill's
// duration from its own TIME) is refused, so a response computed before a write never lands after
// the invalidation that followed the write. cache.delete(key) fences `${prefix}:iv:k:${key}` alike,
// and cache.invalidateKeys(pattern) fences `${prefix}:iv:keys`, which every store checks: a store
// script cannot cheaply match a key against a glob, so a pattern fences every fill under way.
const debug = require('debug')('respcache');
const { CacheClosedError, InvalidArgumentError, CorruptIndexError, StoreError } = require('./errors');
const { wellFormed } = require('./policy');
const { globMatcher } = require('./glob');

// How long an invalidation fences stores of fills that began before it (longer fills may still
// land; no handler should run that long).
const FENCE_MS = 10 * 60 * 1000;
// Members popped per script run: a few milliseconds of Redis time at most.
const BATCH = 500;
// Paths with more directory levels than this are not stored (each level is one index write).
const MAX_PATH_DEPTH = 32;
const SWEEP_INTERVAL_MS = 60 * 1000;
const SWEEP_BATCH = 200;

const NOW_MS = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n";

// Redis does not undo a script's earlier writes when a later command fails (WRONGTYPE), so each
// script checks the type of every key it writes before the first write a wrong type could fail.
// A key of another type at one of the cache's own names (under its prefix: SET there by hand or
// by another program) holds nothing the cache can use: it is deleted and listed in `bad` as
// (name, type found, what belongs there) for the caller to report. A store is then refused (its
// next attempt finds the name free); an invalidation goes on.
const CHECK_TYPES = `local bad = {}
local function misplaced(key, found, want)
  redis.call('UNLINK', key)
  bad[#bad + 1] = key
  bad[#bad + 1] = found
  bad[#bad + 1] = want
end
local function expect_type(key, kind, want)
  local found = redis.call('TYPE', key)['ok']
  if found == 'none' or found == kind then return found end
  misplaced(key, found, want)
  return 'none'
end
`;
const INDEX = 'an index (sorted set)';
const REGISTRY = 'the index registry (sorted set)';
const FENCE = 'a fence (a time in ms)';
// The fence of key patterns: no index suffix is spelled so (they all start '<letter>:').
const KEYS_FENCE = 'keys';

// KEYS: entry, registry, n indexes, fences (n + 2: indexes, key, patterns); ARGV: bytes, ttlMs, member, elapsedMs, n, n suffixes
// Returns 1 (stored), 0 (fenced: an invalidation since the fill began) or `bad` (nothing stored).
const STORE_SCRIPT = `${NOW_MS}${CHECK_TYPES}
local n = tonumber(ARGV[5])
local started = now - tonumber(ARGV[4])
expect_type(KEYS[2], 'zset', '${REGISTRY}')
for i = 3, 2 + n do expect_type(KEYS[i], 'zset', '${INDEX}') end
local fenced = false
for i = 3 + n, #KEYS do
  if expect_type(KEYS[i], 'string', '${FENCE}') == 'string' then
    local at = tonumber(redis.call('GET', KEYS[i]))
    if at == nil then misplaced(KEYS[i], 'string that is not a time', '${FENCE}')
    elseif at >= started then fenced = true end
  end
end
if #bad > 0 then return bad end
if fenced then return 0 end
local ttl = tonumber(ARGV[2])
local expires = now + ttl
for i = 1, n do
  local index = KEYS[2 + i]
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  redis.call('ZADD', index, expires, ARGV[3])
  redis.call('ZADD', KEYS[2], 'GT', expires, ARGV[5 + i])
end
-- The entry last: whatever failed above, no entry is left that an index does not list.
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 1`;

// KEYS: index, fence, registry; ARGV: entry prefix, batch, index suffix, fence ms, '1' to set the fence
// Returns {entries removed, members popped, bad}.
const POP_SCRIPT = `${CHECK_TYPES}
if ARGV[5] == '1' then
  ${NOW_MS.replace(/\n/g, '\n  ')}redis.call('SET', KEYS[2], string.format('%d', now), 'PX', ARGV[4])
end
expect_type(KEYS[1], 'zset', '${INDEX}')
expect_type(KEYS[3], 'zset', '${REGISTRY}')
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[2])
local members = {}
local names = {}
for i = 1, #popped, 2 do
  members[#members + 1] = popped[i]
  names[#names + 1] = ARGV[1] .. popped[i]
end
local removed = 0
if #names > 0 then removed = redis.call('UNLINK', unpack(names)) end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('ZREM', KEYS[3], ARGV[3]) end
return {removed, members, bad}`;

// KEYS: fence, then any entries to delete; ARGV: fence ms. Returns the number of entries deleted.
const FENCE_SCRIPT = `${NOW_MS}
redis.call('SET', KEYS[1], string.format('%d', now), 'PX', ARGV[1])
if #KEYS == 1 then return 0 end
return redis.call('UNLINK', unpack(KEYS, 2))`;

// KEYS: registry; ARGV: key prefix with its colon, batch. Returns {indexes deleted, bad}.
const SWEEP_SCRIPT = `${NOW_MS}${CHECK_TYPES}
expect_type(KEYS[1], 'zset', '${REGISTRY}')
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, suffix in ipairs(dead) do
  redis.call('UNLINK', ARGV[1] .. suffix)
  redis.call('ZREM', KEYS[1], suffix)
end
return {#dead, bad}`;

const NAMESPACE_LIMIT = 1024;

/** A namespace: a non-empty string of at most 1024 characters. */
function checkNamespace(ns) {
  if (typeof ns !== 'string' || ns.length === 0 || ns.length > NAMESPACE_LIMIT) {
    throw new InvalidArgumentError(`Expected a namespace to be a non-empty string of at most ${NAMESPACE_LIMIT} characters, `
      + `got ${typeof ns === 'string' ? `${ns.length} characters` : typeof ns}`);
  }
  if (!wellFormed(ns)) throw new InvalidArgumentError(`Expected a namespace without lone UTF-16 surrogates, got ${JSON.stringify(ns)}`);
  return ns;
}

/** A tag list from a caller: non-empty strings only. */
function checkTags(tags, where) {
  if (!Array.isArray(tags)) throw new InvalidArgumentError(`Expected ${where} to be an array of tags (non-empty strings)`);
  for (const tag of tags) {
    if (typeof tag !== 'string' || tag.length === 0) {
      throw new InvalidArgumentError(`Expected ${where} to hold non-empty strings, got ${tag === '' ? 'an empty string' : typeof tag}`);
    }
    if (!wellFormed(tag)) throw new InvalidArgumentError(`Expected ${where} to hold strings without lone UTF-16 surrogates, got ${JSON.stringify(tag)}`);
  }
  return [...new Set(tags)];
}

// Paths are indexed, and invalidatePath arguments looked up, in one normal form that merges every
// spelling Express may route to the same handler with the same parameters: an invalidation that
// reaches more than the written path costs a refill, one that misses a spelling serves stale data.
// Express routes case-insensitively and with or without a trailing slash, on the path after an
// absolute-form target's authority, and decodes every escape in a parameter ('/users/a*b' and
// '/users/a%2Ab' are both id 'a*b'). Only '/' and '%2F' stay apart: they route differently.
// Bytes kept literal: the unreserved characters, the sub-delimiters but '*', ':' and '@' (RFC 3986
// pchar, less '*' so that the normal form never holds one and never reads as a '/*' prefix).
const LITERAL = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()+,;=:@") LITERAL[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';

function hexDigit(code) {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** One byte as in the normal form: a letter lowercased, literal if it may be, else escaped. */
function normalByte(byte) {
  const b = byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
  return b < 128 && LITERAL[b] === 1 ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`;
}

/**
 * The normal form of a path (starting with '/') that entries are indexed and invalidations looked
 * up in: escapes decoded where the byte may be literal, every other byte escaped in uppercase hex
 * (a '%' that starts no escape too; characters outside ASCII as their UTF-8, a lone UTF-16
 * surrogate as its three WTF-8 bytes, so no two strings share a form for want of UTF-8), ASCII
 * letters lowercased, trailing slashes dropped (but the root's). Normalising twice changes nothing.
 * @param {string} path
 * @returns {string}
 */
function normalisePath(path) {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (code === 0x2f) {
      out += '/';
    } else if (code === 0x25 && i + 2 < path.length && hexDigit(path.charCodeAt(i + 1)) >= 0 && hexDigit(path.charCodeAt(i + 2)) >= 0) {
      out += normalByte(hexDigit(path.charCodeAt(i + 1)) * 16 + hexDigit(path.charCodeAt(i + 2)));
      i += 2;
    } else if (code < 0x80) {
      out += normalByte(code);
    } else {
      // A lone surrogate comes back as itself, and is encoded like any code point below 0x10000.
      const cp = path.codePointAt(i);
      if (cp > 0xffff) i++;
      if (cp < 0x800) {
        out += normalByte(0xc0 | (cp >> 6)) + normalByte(0x80 | (cp & 0x3f));
      } else if (cp < 0x10000) {
        out += normalByte(0xe0 | (cp >> 12)) + normalByte(0x80 | ((cp >> 6) & 0x3f)) + normalByte(0x80 | (cp & 0x3f));
      } else {
        out += normalByte(0xf0 | (cp >> 18)) + normalByte(0x80 | ((cp >> 12) & 0x3f)) + normalByte(0x80 | ((cp >> 6) & 0x3f))
          + normalByte(0x80 | (cp & 0x3f));
      }
    }
  }
  let end = out.length;
  while (end > 1 && out.charCodeAt(end - 1) === 0x2f) end--;
  return end === out.length ? out : out.slice(0, end);
}

/**
 * An invalidatePath argument: '/exact/path', or '/dir/*' (every path under '/dir/', and '/dir'
 * itself, which is '/dir/' in normal form). A '*' anywhere else is literal.
 * @param {string} path
 * @returns {string[]} the index suffixes to drain: ['p:<path>'], or ['s:<dir>/', 'p:<dir>']
 */
function pathIndexes(path) {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InvalidArgumentError(`Expected a path starting with "/", got ${typeof path === 'string' ? JSON.stringify(path) : typeof path}`);
  }
  if (path.includes('?')) throw new InvalidArgumentError(`Expected a path without a query string, got ${JSON.stringify(path)}`);
  if (!path.endsWith('/*')) return [`p:${normalisePath(path)}`];
  const dir = normalisePath(path.length === 2 ? '/' : path.slice(0, -2));
  return dir === '/' ? ['s:/'] : [`s:${dir}/`, `p:${dir}`];
}

/**
 * The index suffixes an entry stored for the path `requested` with `tags` is listed under, or null
 * when the path is too deep to index.
 * @param {string} requested a request path (requestPath gives it in normal form already)
 * @param {string[]} tags
 * @returns {string[] | null}
 */
function entryIndexes(requested, tags) {
  const suffixes = new Set();
  for (const one of Array.isArray(requested) ? requested : [requested]) {
    const path = normalisePath(one);
    suffixes.add(`p:${path}`);
    let slash = path.indexOf('/');
    let depth = 0;
    while (slash !== -1) {
      if (++depth > MAX_PATH_DEPTH) return null;
      suffixes.add(`s:${path.slice(0, slash + 1)}`);
      slash = path.indexOf('/', slash + 1);
    }
  }
  for (const tag of tags) suffixes.add(`t:${tag}`);
  return [...suffixes];
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The path a request's entry is indexed under, and a write invalidates: the target up to "?" or
 * "#" (after the scheme and authority of an absolute-form target, which Express routes on), in
 * normal form. That form holds no '*', so passed to cache.invalidatePath it names this path
 * alone, never a prefix, even for a request to '/dir/*'.
 * @param {{ originalUrl?: string, url?: string }} req
 * @returns {string}
 */
function requestPath(req) {
  let url = req.originalUrl || req.url || '/';
  const scheme = ABSOLUTE_FORM.exec(url);
  if (scheme !== null) {
    const afterAuthority = url.slice(scheme[0].length).search(/[/?#]/);
    url = afterAuthority === -1 ? '' : url.slice(scheme[0].length + afterAuthority);
  }
  const q = url.search(/[?#]/);
  const path = q === -1 ? url : url.slice(0, q);
  return normalisePath(path.startsWith('/') ? path : `/${path}`);
}

/**
 * The paths a request's entry is indexed under, and a write invalidates: requestPath(req), and
 * the path Express routed it on (req.baseUrl + req.path) where code before the cache rewrote
 * req.url to another one, so a write to either reaches the entry.
 * @param {{ originalUrl?: string, url?: string, baseUrl?: string, path?: string }} req
 * @returns {string[]}
 */
function requestPaths(req) {
  const sent = requestPath(req);
  if (typeof req.path !== 'string' || !req.path.startsWith('/')) return [sent];
  const routed = normalisePath(`${req.baseUrl || ''}${req.path}`);
  return routed === sent ? [sent] : [sent, routed];
}

/** A script's `bad` list ((name, type found, what belongs there) triples), one sentence per key. */
function misplacedKeys(bad) {
  const text = bad.map((b) => b.toString('utf8'));
  const sentences = [];
  for (let i = 0; i + 2 < text.length; i += 3) {
    sentences.push(`"${text[i]}" held a ${text[i + 1]} where the cache keeps ${text[i + 2]}; deleted`);
  }
  return sentences;
}

/** Glob (Redis MATCH syntax) metacharacters escaped, so a literal prefix matches only itself. */
function escapeGlob(text) {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The embedded tier's indexes (no Redis): the same rules as the Redis scripts, in process memory.
 */
class MemoryIndex {
  constructor() {
    this.indexes = new Map(); // suffix -> Map(key -> expiresAt)
    // suffix -> performance.now() of the invalidation: one clock with the fills' startedAt, so
    // unlike Redis's (milliseconds, and the fill's duration rounded up) it refuses no fill that
    // began after the invalidation.
    this.fences = new Map();
    this.all = new Map(); // key -> expiresAt (for key patterns)
    this.namespaces = new Map();
  }

  /**
   * Whether a fill that began at `startedAt` (performance.now()) may store: no invalidation of its
   * indexes, its key or any key pattern since.
   */
  admits(suffixes, key, startedAt) {
    const now = performance.now();
    for (const suffix of [...suffixes, `k:${key}`, KEYS_FENCE]) {
      const at = this.fences.get(suffix);
      if (at === undefined) continue;
      if (now - at > FENCE_MS) this.fences.delete(suffix);
      else if (at >= startedAt) return false;
    }
    return true;
  }

  add(suffixes, key, ttlMs) {
    const now = Date.now();
    const expires = now + ttlMs;
    for (const suffix of suffixes) {
      let index = this.indexes.get(suffix);
      if (!index) this.indexes.set(suffix, index = new Map());
      for (const [member, at] of index) if (at <= now) index.delete(member);
      index.set(key, expires);
    }
    this.all.set(key, expires);
  }

  /** Removes an index; returns its members whose entries had not expired. */
  take(suffix) {
    this.fences.set(suffix, performance.now());
    const index = this.indexes.get(suffix);
    if (!index) return [];
    this.indexes.delete(suffix);
    const now = Date.now();
    return [...index].filter(([, at]) => at > now).map(([key]) => key);
  }

  /** The live keys for which `matches(key)` is true; expired ones are forgotten on the way. */
  matching(matches) {
    const now = Date.now();
    const keys = [];
    for (const [key, at] of this.all) {
      if (at <= now) this.all.delete(key);
      else if (matches(key)) keys.push(key);
    }
    return keys;
  }

  fence(key) {
    this.fences.set(`k:${key}`, performance.now());
  }

  /** Fences every fill under way (cache.invalidateKeys), as `${prefix}:iv:keys` does in Redis. */
  fenceAll() {
    this.fences.set(KEYS_FENCE, performance.now());
  }

  sweep() {
    const now = Date.now();
    for (const [suffix, index] of this.indexes) {
      for (const [member, at] of index) if (at <= now) index.delete(member);
      if (index.size === 0) this.indexes.delete(suffix);
    }
    for (const [key, at] of this.all) if (at <= now) this.all.delete(key);
    const clock = performance.now();
    for (const [suffix, at] of this.fences) if (clock - at > FENCE_MS) this.fences.delete(suffix);
  }
}

/**
 * The invalidation side of a cache: indexes on store, and every invalidation form.
 */
class Invalidator {
  /** @param {import('./cache').Cache} cache */
  constructor(cache) {
    this.cache = cache;
    this.prefix = `${cache.keyPrefix}:`;
    this.registry = `${cache.keyPrefix}:ix`;
    this.memory = cache._client === null ? new MemoryIndex() : null;
    this.sweeper = setInterval(() => this.sweep().catch((err) => cache.report(err)), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  timeout() {
    return Math.max(this.cache.options.commandTimeout, 1000);
  }

  client() {
    const client = this.cache._client;
    if (this.cache._closing) throw new CacheClosedError();
    return client;
  }

  /**
   * Stores an encoded entry with all of its indexes, or nothing. Resolves true when stored, false
   * when an invalidation since the fill began refused it, null when the path is too deep to index;
   * rejects with a StoreError when a key of another type was at one of the names it writes (that
   * key is deleted, so the next store can succeed).
   * @param {string} key
   * @param {Buffer} encoded
   * @param {number} ttlMs how long Redis keeps it
   * @param {{ path: string | string[], tags: string[], startedAt: number }} fill startedAt: performance.now()
   */
  store(key, encoded, ttlMs, fill) {
    const suffixes = entryIndexes(fill.path, fill.tags);
    if (suffixes === null) {
      debug('not storing %s: path deeper than %d levels', key, MAX_PATH_DEPTH);
      return Promise.resolve(null);
    }
    if (this.memory !== null) {
      if (this.cache._closing) return Promise.reject(new CacheClosedError());
      if (!this.memory.admits(suffixes, key, fill.startedAt)) return Promise.resolve(false);
      this.memory.add(suffixes, key, ttlMs);
      return Promise.resolve(true);
    }
    const elapsed = Math.max(0, Math.ceil(performance.now() - fill.startedAt));
    const p = this.prefix;
    const keys = [`${p}e:${key}`, this.registry, ...suffixes.map((s) => p + s),
      ...suffixes.map((s) => `${p}iv:${s}`), `${p}iv:k:${key}`, `${p}iv:${KEYS_FENCE}`];
    const argv = ['EVAL', STORE_SCRIPT, String(keys.length), ...keys,
      encoded, String(ttlMs), key, String(elapsed), String(suffixes.length), ...suffixes];
    return this.client().command(argv, undefined, true).then((reply) => {
      if (!Array.isArray(reply)) return reply === 1;
      throw new StoreError(`the response for "${key}" was not stored: ${misplacedKeys(reply).join('; ')}`);
    });
  }

  /** Reports each key of another type a script found at one of the cache's names (and deleted). */
  reportMisplaced(bad) {
    for (const sentence of misplacedKeys(bad)) this.cache.report(new CorruptIndexError(sentence));
  }

  /**
   * Removes every entry listed in the given indexes. Resolves with the number of entries removed.
   * @param {string[]} suffixes
   */
  async invalidate(suffixes) {
    let removed = 0;
    for (const suffix of suffixes) removed += await this.drain(suffix);
    return removed;
  }

  async drain(suffix) {
    const cache = this.cache;
    if (this.memory !== null) {
      if (cache._closing) throw new CacheClosedError();
      const keys = this.memory.take(suffix);
      let removed = 0;
      for (const key of keys) if (cache._local.delete(`e:${key}`)) removed++;
      return removed;
    }
    const p = this.prefix;
    let removed = 0;
    for (let first = true; ; first = false) {
      const [count, members, bad] = await this.client().command(['EVAL', POP_SCRIPT, '3', p + suffix, `${p}iv:${suffix}`,
        this.registry, `${p}e:`, String(BATCH), suffix, String(FENCE_MS), first ? '1' : '0'], this.timeout(), true);
      this.reportMisplaced(bad);
      removed += count;
      const keys = members.map((m) => m.toString('utf8'));
      await this.dropped(keys);
      if (members.length < BATCH) return removed;
    }
  }

  /** After keys left Redis: this process's copies go at once, other processes' on the event. */
  async dropped(keys) {
    if (keys.length === 0) return;
    const cache = this.cache;
    if (cache._local !== null) for (const key of keys) cache._local.delete(`e:${key}`);
    if (cache._client !== null) {
      await this.client().command(['PUBLISH', `${cache.keyPrefix}:inval`, JSON.stringify({ keys })], this.timeout(), true);
    }
  }

  /** Deletes one entry and fences fills of it that began before (cache.delete). */
  deleteKey(key) {
    return this.removeKey(key, true);
  }

  /** Deletes one entry the cache itself found unusable: no fence, a fill may replace it at once. */
  dropKey(key) {
    return this.removeKey(key, false);
  }

  /** @returns {Promise<boolean>} whether Redis (or this process) held the entry */
  async removeKey(key, fence) {
    const cache = this.cache;
    const local = cache._local !== null && cache._local.delete(`e:${key}`);
    if (this.memory !== null) {
      if (cache._closing) throw new CacheClosedError();
      if (fence) this.memory.fence(key);
      return local;
    }
    const p = this.prefix;
    const removal = fence
      ? ['EVAL', FENCE_SCRIPT, '2', `${p}iv:k:${key}`, `${p}e:${key}`, String(FENCE_MS)]
      : ['UNLINK', `${p}e:${key}`];
    const [removed] = await Promise.all([
      this.client().command(removal, this.timeout(), true),
      // Other instances drop their in-process copies when this reaches them.
      this.client().command(['PUBLISH', `${cache.keyPrefix}:inval`, `e:${key}`], this.timeout(), true),
    ]);
    if (cache._local !== null) cache._local.delete(`e:${key}`);
    return removed > 0 || local;
  }

  /**
   * Removes the entries whose keys match a Redis MATCH pattern, in SCAN batches over the cache's
   * own entry family. Fences first: a store that lands after the fence is refused if its fill
   * began before, one that landed before is in Redis for the SCAN to find.
   */
  async invalidateKeys(pattern) {
    const cache = this.cache;
    if (this.memory !== null) {
      if (cache._closing) throw new CacheClosedError();
      this.memory.fenceAll();
      let removed = 0;
      for (const key of this.memory.matching(globMatcher(pattern))) if (cache._local.delete(`e:${key}`)) removed++;
      return removed;
    }
    await this.client().command(['EVAL', FENCE_SCRIPT, '1', `${this.prefix}iv:${KEYS_FENCE}`, String(FENCE_MS)],
      this.timeout(), true);
    const family = `${this.prefix}e:`;
    const match = escapeGlob(family) + pattern;
    let cursor = '0';
    let removed = 0;
    do {
      const [next, names] = await this.client().command(['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'], this.timeout());
      cursor = next.toString('utf8');
      if (names.length > 0) {
        removed += await this.client().command(['UNLINK', ...names], this.timeout(), true);
        await this.dropped(names.map((n) => n.toString('utf8').slice(family.length)));
      }
    } while (cursor !== '0');
    return removed;
  }

  /** Deletes indexes all of whose entries have expired. */
  async sweep() {
    if (this.memory !== null) {
      this.memory.sweep();
      return 0;
    }
    const client = this.cache._client;
    if (this.cache._closing || client.status !== 'ready') return 0;
    let total = 0;
    for (;;) {
      const [swept, bad] = await client.command(['EVAL', SWEEP_SCRIPT, '1', this.registry, this.prefix, String(SWEEP_BATCH)],
        this.timeout());
      this.reportMisplaced(bad);
      total += swept;
      if (swept < SWEEP_BATCH) return total;
    }
  }

  close() {
    clearInterval(this.sweeper);
  }
}

module.exports = { Invalidator, MemoryIndex, checkTags, checkNamespace, normalisePath, pathIndexes, entryIndexes, requestPath, requestPaths,
  escapeGlob, MAX_PATH_DEPTH, BATCH };
