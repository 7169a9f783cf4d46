// The Lua scripts of the Redis store (lib/stores/redis.js). Each runs atomically in Redis; each
// that writes checks the type of every key it writes first (see CHECK_TYPES), since Redis does
// not undo a script's earlier writes when a later command fails. Every script touches the names
// of one bucket only (lib/stores/redis-keys.js spells them; B buckets, 1 on a single node), so
// that on a cluster all its keys are in one slot; the names below are those of one bucket.
//
// Indexes: every entry is listed, in the same script that stores it, in its bucket's
//   p:<path>      the request path it was stored for, in normal form,
//   s:<dir>       every directory prefix of that path ('/', '/api/', '/api/users/'),
//   t:<tag>       each of its tags,
// each a sorted set of entry keys scored by the time the entry leaves Redis. An invalidation
// drains an index in batches (INVAL_BEGIN lists a batch, INVAL_DRAIN removes it with its entries
// and lists the next: no command holds Redis for long, and no more than one batch is in JS
// memory), in every bucket, so a tag or prefix with any number of entries is removed exactly,
// without KEYS and without scanning the keyspace.
//
// Growth: each store prunes the members of the indexes it touches whose entries have expired;
// the bucket's registry `ix` scores every index by the expiry of its longest-lived member, and a
// periodic sweep deletes indexes whose members have all expired. Index keys carry no TTL, so a
// volatile-* maxmemory policy never evicts them (allkeys-* could: checked at connect, reported on
// 'error').
//
// Races: every invalidation takes the next number of its bucket's sequence, `iv:seq` (INCR), and
// records it with its time (Redis clock) in the index's fence `iv:<index>` ("<seq> <ms>"). A fill
// reads the sequence of its key's bucket with its lookup (LOOKUP_SCRIPT), before its handler
// runs; its store is refused when any fence it checks holds a later number: the invalidation came
// after the fill began, and the response may predate the write that caused it. Sequence numbers
// are exact whatever the network and queueing delays; they are compared only within a bucket (a
// fill whose store goes to another bucket than its lookup's, a newly learnt Vary, has none). A
// fill that has no number (no lookup: a request that asked for a fresh answer, a background
// refresh) is compared by time instead: the script subtracts the fill's duration, as measured by
// the client, from its own TIME (a store that waits in Redis's queue then looks younger than it
// is). cache.delete(key) fences `iv:k:<key>` alike, and cache.invalidateKeys(pattern) fences
// `iv:keys` in every bucket, which every store checks: a store script cannot cheaply match a key
// against a glob, so a pattern fences every fill under way.

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
const FENCE = 'a fence (a sequence number and a time in ms)';

// A fence's value: "<seq> <ms>", or "<ms>" as an earlier release wrote it (compared by time);
// Lua: seq (nil for the earlier form), ms (nil when the value is no fence at all).
const PARSE_FENCE = `local function parse_fence(text)
  local seq, at = string.match(text, '^(%d+) (%d+)$')
  if seq == nil then return nil, tonumber(text) end
  return tonumber(seq), tonumber(at)
end
`;

// KEYS: entry, registry, n indexes, fences (n + 2: indexes, key, patterns)
// ARGV: bytes, ttlMs, member, elapsedMs, the fill's sequence number ('' when it has none), n, n suffixes
// Returns 1 (stored), 0 (fenced: an invalidation since the fill began) or `bad` (nothing stored).
const STORE_SCRIPT = `${NOW_MS}${CHECK_TYPES}${PARSE_FENCE}
local n = tonumber(ARGV[6])
local started = now - tonumber(ARGV[4])
local began = tonumber(ARGV[5])
expect_type(KEYS[2], 'zset', '${REGISTRY}')
for i = 3, 2 + n do expect_type(KEYS[i], 'zset', '${INDEX}') end
local fenced = false
for i = 3 + n, #KEYS do
  if expect_type(KEYS[i], 'string', '${FENCE}') == 'string' then
    local seq, at = parse_fence(redis.call('GET', KEYS[i]))
    if at == nil then misplaced(KEYS[i], 'string that is not a fence', '${FENCE}')
    elseif began ~= nil and seq ~= nil then
      if seq > began then fenced = true end
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
  redis.call('ZADD', KEYS[2], 'GT', expires, ARGV[6 + i])
end
-- The entry last: whatever failed above, no entry is left that an index does not list.
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 1`;

// Sets a fence: the next sequence number (KEYS[seq]) and the time. Lua: fence(key, seqKey, ms).
// A sequence Redis lost (a restart without persistence, a flush, a failover to a lagging replica)
// or that holds something else starts again from the current time in microseconds, so it never
// goes back below a number a fill read before the loss (each invalidation takes more than a
// microsecond of Redis time).
const SET_FENCE = `local function fence(key, seqKey, ms)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local kind = redis.call('TYPE', seqKey)['ok']
  if kind == 'string' and not string.match(redis.call('GET', seqKey), '^%d+$') then kind = 'other' end
  if kind ~= 'string' then
    if kind ~= 'none' then redis.call('UNLINK', seqKey) end
    redis.call('SET', seqKey, string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2])))
  end
  local seq = redis.call('INCR', seqKey)
  redis.call('SET', key, string.format('%d %d', seq, now), 'PX', ms)
end
`;

// The first step of an invalidation in one bucket. KEYS: sequence, registry, n indexes, their n
// fences; ARGV: fence ms, batch, n suffixes. Sets every fence (one sequence number each), then
// lists the first `batch` members of each index (not removed: INVAL_DRAIN removes them with their
// entries, which it declares). Returns {{members of index 1}, …, {members of index n}, bad}.
const INVAL_BEGIN = `${CHECK_TYPES}${SET_FENCE}
local n = (#KEYS - 2) / 2
local batch = tonumber(ARGV[2])
expect_type(KEYS[2], 'zset', '${REGISTRY}')
local lists = {}
for i = 1, n do
  fence(KEYS[2 + n + i], KEYS[1], ARGV[1])
  local members = {}
  if expect_type(KEYS[2 + i], 'zset', '${INDEX}') == 'zset' then
    members = redis.call('ZRANGE', KEYS[2 + i], 0, batch - 1)
  else
    redis.call('ZREM', KEYS[2], ARGV[2 + i])
  end
  lists[i] = members
end
lists[n + 1] = bad
return lists`;

// One batch of an invalidation in one bucket: the members INVAL_BEGIN or the previous batch
// listed leave their index, and their entries (declared, so that during a slot migration Redis
// refuses the whole script up front instead of failing halfway) are deleted. KEYS: index,
// registry, the entries of the members; ARGV: batch, index suffix, the members (in the order of
// their entries). Returns {entries deleted, the next batch of members, bad}; the index leaves the
// registry once it is empty.
const INVAL_DRAIN = `${CHECK_TYPES}
local removed = 0
if expect_type(KEYS[1], 'zset', '${INDEX}') == 'zset' and #ARGV > 2 then
  redis.call('ZREM', KEYS[1], unpack(ARGV, 3))
end
expect_type(KEYS[2], 'zset', '${REGISTRY}')
if #KEYS > 2 then removed = redis.call('UNLINK', unpack(KEYS, 3)) end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return {removed, {}, bad}
end
return {removed, redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1), bad}`;

// Raises bucket's copy of a namespace version to at least ARGV[1] (the bump INCRs the copy in the
// namespace's own bucket, then raises the others: concurrent bumps leave every copy at the
// highest). KEYS: the copy. Something else than a number there is replaced.
const NS_RAISE = `local v = tonumber(ARGV[1])
local held = redis.pcall('GET', KEYS[1])
if type(held) == 'string' and tonumber(held) ~= nil and tonumber(held) >= v then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

// KEYS: fence, sequence, then any entries to delete; ARGV: fence ms. Returns the number of entries deleted.
const FENCE_SCRIPT = `${SET_FENCE}
fence(KEYS[1], KEYS[2], ARGV[1])
if #KEYS == 2 then return 0 end
return redis.call('UNLINK', unpack(KEYS, 3))`;

// KEYS: registry; ARGV: the bucket's name prefix ('<prefix>:{<tag>}:'), batch. Returns {indexes
// deleted, bad}. The indexes are not declared (the script learns them from the registry): an
// UNLINK Redis refuses (its slot is being migrated) stops the sweep of this bucket until the next.
const SWEEP_SCRIPT = `${NOW_MS}${CHECK_TYPES}
expect_type(KEYS[1], 'zset', '${REGISTRY}')
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local swept = 0
for _, suffix in ipairs(dead) do
  local done = redis.pcall('UNLINK', ARGV[1] .. suffix)
  if type(done) == 'table' and done.err then break end
  redis.call('ZREM', KEYS[1], suffix)
  swept = swept + 1
end
return {swept, bad}`;

// The rest of a request's lookup, sent right behind a GET of the entry (one round trip for both):
// the invalidation sequence number, which a fill that follows this lookup began after (see Races
// above); the namespace version, when wanted; and when there is no entry, the route's vary record
// (another process learnt that responses vary) and, when there is none either, the fill lock,
// taken for the caller (a cold MISS then runs its handler at once). The entry itself is not read
// here: a script's reply is a copy of what it read, which for a large entry costs Redis more than
// the GET beside it. ARGV: flags ('1'/'0': the namespace version, the record, the lock are
// wanted), token, lock ttl ms. KEYS: entry, sequence, then in that order those wanted: the
// namespace version, the record, the lock. Returns {seq, version, record, locked} (false reads
// as nil).
const LOOKUP_SCRIPT = `local k = 2
local seq = redis.pcall('GET', KEYS[2])
if type(seq) ~= 'string' then seq = '0' end
local version = false
local wantsNs, wantsRecord, wantsLock = ARGV[1] == '1', ARGV[2] == '1', ARGV[3] == '1'
if wantsNs then
  k = k + 1
  version = redis.pcall('GET', KEYS[k])
  if type(version) ~= 'string' then version = false end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {seq, version, false, 0} end
if wantsRecord then
  k = k + 1
  local record = redis.pcall('GET', KEYS[k])
  if type(record) == 'string' then return {seq, version, record, 0} end
end
if wantsLock then
  k = k + 1
  if redis.call('SET', KEYS[k], ARGV[4], 'NX', 'PX', ARGV[5]) then return {seq, version, false, 1} end
  -- Something else than a lock at the lock's name (no lock holder wrote it) would read as a lock
  -- held forever: it is replaced.
  if redis.call('TYPE', KEYS[k])['ok'] ~= 'string' then
    redis.call('UNLINK', KEYS[k])
    redis.call('SET', KEYS[k], ARGV[4], 'PX', ARGV[5])
    return {seq, version, false, 1}
  end
end
return {seq, version, false, 0}`;

// KEYS: lock; ARGV: token. Deletes the lock only if `token` still holds it.
const RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** A script's `bad` list ((name, type found, what belongs there) triples), one sentence per key. */
function misplacedKeys(bad) {
  const text = bad.map((b) => b.toString('utf8'));
  const sentences = [];
  for (let i = 0; i + 2 < text.length; i += 3) {
    sentences.push(`"${text[i]}" held a ${text[i + 1]} where the cache keeps ${text[i + 2]}; deleted`);
  }
  return sentences;
}

module.exports = { LOOKUP_SCRIPT, STORE_SCRIPT, INVAL_BEGIN, INVAL_DRAIN, NS_RAISE, FENCE_SCRIPT, SWEEP_SCRIPT, RELEASE_LOCK,
  misplacedKeys };
