'use strict';

// Redis names as the Redis store spells them (lib/stores/redis-keys.js), for tests that plant or
// inspect keys around a cache. A cache on one Redis has one bucket: its names carry bucket 0's
// hash tag, `<keyPrefix>:{<tag>}:<family><rest>`.
const { layout } = require('../../lib/stores/redis-keys');

/**
 * The Redis name of a family name of one key: 'e:<key>', 'v:<key>', 'vr:<base>', 'l:e:<key>',
 * 'iv:k:<key>', 'n:<namespace>'.
 * @param {string} name
 * @param {string} [prefix] the cache's keyPrefix
 * @param {number} [buckets] the store's bucket count (1 on one Redis)
 * @returns {string}
 */
function redisName(name, prefix = 'respcache', buckets = 1) {
  return layout(prefix, buckets).nameOf(name);
}

/**
 * A name of one bucket's own: an index ('t:<tag>', 'p:<path>', 's:<dir>'), a fence ('iv:t:<tag>'),
 * the sequence ('iv:seq') or the registry ('ix').
 * @param {string} rest
 * @param {string} [prefix]
 * @param {number} [bucket]
 * @returns {string}
 */
function bucketName(rest, prefix = 'respcache', bucket = 0) {
  return layout(prefix, bucket + 1).base(bucket) + rest;
}

/**
 * A KEYS/SCAN pattern for names of a family in every bucket: familyPattern('e:*') finds every
 * entry of the prefix. The prefix is taken literally when it has no glob characters.
 * @param {string} glob what follows the bucket's tag, e.g. 'e:*', 'vr:*'
 * @param {string} [prefix]
 * @returns {string}
 */
function familyPattern(glob, prefix = 'respcache') {
  return `${prefix}:{??}:${glob}`;
}

module.exports = { redisName, bucketName, familyPattern };
