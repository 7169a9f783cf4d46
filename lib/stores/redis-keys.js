'use strict';

// The names of everything the Redis store keeps in Redis: the only file that spells them. Every
// name is `<keyPrefix>:{<tag>}:<family><rest>`, where <tag> is the hash tag of one of B buckets:
// Redis Cluster places a key by the CRC16 of the text between its first '{' and the next '}', so
// all the names of one bucket are in one slot, and a script may touch any of them (a script's keys
// must share a slot). Everything one operation touches is in one bucket:
//
//   e:<key>, v:<key>        an entry, a value                          bucket of <key>
//   vr:<base>               a vary record                              bucket of <base>
//   l:e:<key>, l:v:<key>,   a fill lock, a refresh lock                bucket of <key>
//   l:r:<key>
//   iv:k:<key>              the fence of cache.delete(key)            bucket of <key>
//   p:…, s:…, t:…           an invalidation index (a path, a directory, a tag): one in each
//                           bucket that holds one of its entries
//   iv:p:…, iv:s:…, iv:t:…  the fence of an index, iv:keys the fence of key patterns, iv:seq the
//                           invalidation sequence, ix the index registry: one of each per bucket
//   n:<ns>                  a namespace's version: one copy per bucket (the bump INCRs the copy of
//                           the bucket of <ns> and raises the others to it)
//
// A key's bucket is FNV-1a-32 of its UTF-8 bytes, modulo B. B is 1 on a single node or behind
// Sentinel (the names then carry bucket 0's tag, so they read as a cluster's do) and
// BUCKETS_CLUSTER on a cluster. Bucket b's tag was chosen (by search, below) so that its slot lies
// in [b * 256, b * 256 + 255]: the 64 buckets spread evenly over masters that own equal slot
// ranges, as `redis-cli --cluster create` assigns them.
//
// Families never collide: after `<keyPrefix>:{` come exactly two tag characters and '}:', then
// the family, and no family's text is a prefix of another's where a user's key could follow ('e:',
// 'v:', 'vr:', 'l:', 'n:', 'iv:k:' and the index families 'p:', 's:', 't:' end in ':'; 'iv:' is
// followed only by 'k:', an index suffix, 'keys' or 'seq'; 'ix' is whole). Braces inside a user's
// key come after the tag's, so they never change the slot.

const BUCKETS_CLUSTER = 64;

// Bucket b's tag and CRC16 slot (test/unit/redis-keys.test.js checks both against
// cluster-key-slot and a cluster-enabled redis-server's CLUSTER KEYSLOT): the first tag of
// [0-9a-zA-Z]{2}, in that order, whose slot is in [b * 256, b * 256 + 255].
const TAGS = Object.freeze(['10', '18', '4Y', '03', '29', '21', '32', '4s', '0j', '0b', '1a', '0s', '0H', '0D', '0Y', '0Q',
  '11', '19', '4X', '02', '28', '20', '33', '4r', '0k', '0c', '0z', '0r', '0I', '0A', '0X', '0P',
  '12', '4B', '09', '01', '4h', '23', '30', '38', '0h', '0d', '0y', '0q', '0J', '0B', '1A', '0S',
  '13', '4C', '08', '00', '4i', '22', '31', '39', '0i', '0a', '0x', '0p', '0K', '0C', '0Z', '0R']);
const SLOTS = Object.freeze([247, 511, 653, 933, 1165, 1413, 1751, 1957, 2169, 2417, 2595, 2913, 3161, 3541, 3657, 3905,
  4310, 4574, 4780, 4996, 5292, 5540, 5878, 6020, 6232, 6480, 6728, 6976, 7288, 7536, 7784, 8032,
  8373, 8663, 8943, 9191, 9471, 9671, 9877, 10141, 10299, 10679, 10795, 11043, 11291, 11539, 11841, 12035,
  12436, 12790, 13006, 13254, 13534, 13798, 14004, 14268, 14362, 14610, 14858, 15106, 15418, 15666, 15914, 16162]);
const TAG_INDEX = new Map(TAGS.map((tag, b) => [tag, b]));

/**
 * FNV-1a (32 bits) of the UTF-8 encoding of `text`, without encoding it (a lone surrogate counts
 * as U+FFFD, as Buffer.from would encode it).
 * @param {string} text
 * @returns {number} an unsigned 32-bit integer
 */
function fnv1a32(text) {
  let h = 0x811c9dc5;
  const byte = (b) => { h = Math.imul(h ^ b, 0x01000193); };
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      byte(c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const low = c <= 0xdbff && i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (low >= 0xdc00 && low <= 0xdfff) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        byte(0xf0 | (c >> 18));
        byte(0x80 | ((c >> 12) & 0x3f));
        byte(0x80 | ((c >> 6) & 0x3f));
        byte(0x80 | (c & 0x3f));
        continue;
      }
      c = 0xfffd;
    }
    if (c < 0x800) {
      byte(0xc0 | (c >> 6));
    } else {
      byte(0xe0 | (c >> 12));
      byte(0x80 | ((c >> 6) & 0x3f));
    }
    byte(0x80 | (c & 0x3f));
  }
  return h >>> 0;
}

/**
 * The names of one store: `keyPrefix` and its bucket count.
 * @param {string} prefix the keyPrefix option (without the colon)
 * @param {number} buckets 1 (single node, Sentinel) up to BUCKETS_CLUSTER
 */
function layout(prefix, buckets) {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > BUCKETS_CLUSTER) {
    throw new RangeError(`Expected a bucket count from 1 to ${BUCKETS_CLUSTER}, got ${buckets}`);
  }
  // The first '{…}' of a name is its hash tag: a brace in the prefix would take the tag's place.
  if (buckets > 1 && /[{}]/.test(prefix)) {
    throw new RangeError(`Expected a key prefix without "{" or "}" for names in ${buckets} buckets, got ${JSON.stringify(prefix)}`);
  }
  // `<prefix>:{<tag>}:` of each bucket.
  const bases = TAGS.slice(0, buckets).map((tag) => `${prefix}:{${tag}}:`);
  const bucketOf = buckets === 1 ? () => 0 : (key) => fnv1a32(key) % buckets;

  /** The bucket of a lock name ('e:<key>', 'v:<key>', 'r:<key>'): its key's. */
  const lockBucket = (name) => bucketOf(name.slice(name.indexOf(':') + 1));

  const names = {
    prefix,
    buckets,
    /** The bucket of a key (an entry's, a value's, a vary record's base key, a namespace). */
    bucketOf,
    lockBucket,
    /** The cluster slot every name of bucket b is in. */
    slotOf: (b) => SLOTS[b],
    /** `<prefix>:{<tag>}:`, the start of every name of bucket b. */
    base: (b) => bases[b],
    entry: (b, key) => `${bases[b]}e:${key}`,
    /** A record of a family ('e:', 'v:', 'vr:'). */
    record: (b, family, key) => bases[b] + family + key,
    /** A lock: name 'e:<key>', 'v:<key>' or 'r:<key>'; b = lockBucket(name). */
    lock: (b, name) => `${bases[b]}l:${name}`,
    /** An invalidation index of bucket b ('p:…', 's:…', 't:…'). */
    index: (b, suffix) => bases[b] + suffix,
    /** The fence of an index (or of KEYS_FENCE) in bucket b. */
    fence: (b, suffix) => `${bases[b]}iv:${suffix}`,
    keyFence: (b, key) => `${bases[b]}iv:k:${key}`,
    seq: (b) => `${bases[b]}iv:seq`,
    registry: (b) => `${bases[b]}ix`,
    /** Bucket b's copy of the version of namespace `ns`. */
    ns: (b, ns) => `${bases[b]}n:${ns}`,

    /**
     * The Redis name of a one-bucket family name as the store contract spells it ('e:<key>',
     * 'v:<key>', 'vr:<base>', 'l:e:<key>', 'iv:k:<key>', 'n:<ns>' (the copy of its home bucket)).
     * Per-bucket names (indexes, fences, sequence, registry) have one name per bucket: use the
     * functions above.
     */
    nameOf(name) {
      const match = /^(e:|v:|vr:|l:[a-z]+:|iv:k:|n:)/.exec(name);
      if (match === null) throw new RangeError(`"${name}" is not a name of one bucket`);
      const key = name.slice(match[1].length);
      return bases[bucketOf(key)] + name;
    },

    /**
     * The start of a SCAN MATCH pattern for the entries of every bucket (the tag is two '?', so no
     * user glob after it can reach back into the tag). Glob characters in the prefix are escaped.
     */
    entryMatch: () => `${escapeGlob(`${prefix}:{`)}??${escapeGlob('}:e:')}`,

    /**
     * What an entry name found by SCAN holds: { bucket, key }, or null when it is not an entry
     * name of this prefix with one of the tags (any of the 64: an entry of this prefix is ours to
     * remove, whatever bucket count wrote it).
     */
    parseEntry(name) {
      const head = prefix.length + 2; // '<prefix>:{'
      if (name.length < head + 6 || !name.startsWith(`${prefix}:{`) || name.slice(head + 2, head + 6) !== '}:e:') return null;
      const b = TAG_INDEX.get(name.slice(head, head + 2));
      return b === undefined ? null : { bucket: b, key: name.slice(head + 6) };
    },
  };
  return Object.freeze(names);
}

/** Glob (Redis MATCH syntax) metacharacters escaped, so a literal text matches only itself. */
function escapeGlob(text) {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

module.exports = { BUCKETS_CLUSTER, TAGS, SLOTS, layout, fnv1a32, escapeGlob };
