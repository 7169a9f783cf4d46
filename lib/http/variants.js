'use strict';

// Selecting a stored response by Vary (RFC 9111 section 4.1): the request fields a response
// varies on, and whether a new request matches the one a stored response was selected by.
const { fieldValues, listMembers } = require('./header-fields');

/**
 * The request field names a response's Vary lists, lowercased, without duplicates, in order;
 * ['*'] when it lists "*" (such a response never matches, 4.1).
 * @param {object|string[]} resHeaders
 * @returns {string[]}
 */
function varyFieldNames(resHeaders) {
  const names = listMembers(fieldValues(resHeaders, 'vary')).map((name) => name.toLowerCase());
  if (names.includes('*')) return ['*'];
  return [...new Set(names)];
}

/**
 * A request field's value normalized as RFC 9111 4.1 allows for any field: field lines combined
 * with ", ", whitespace around commas removed, runs of whitespace collapsed, ends trimmed. Finer
 * normalization (case, member order) depends on each field's own definition and is not done.
 * @param {object|string[]} reqHeaders
 * @param {string} name lowercased
 * @returns {string|null} null when the field is absent (4.1: absent only matches absent)
 */
function normalizedFieldValue(reqHeaders, name) {
  const values = fieldValues(reqHeaders, name);
  if (values.length === 0) return null;
  return values.join(',').replace(/[ \t]*,[ \t]*/g, ', ').replace(/[ \t]+/g, ' ').trim();
}

/**
 * Whether a request matches the request a stored response was selected by, on the fields the
 * stored response's Vary lists (4.1): each field's normalized value equal, or absent from both.
 * A Vary of "*" never matches; no Vary always does.
 * @param {object|string[]} storedResHeaders the stored response's headers
 * @param {object|string[]} storedReqHeaders the headers of the request it answered
 * @param {object|string[]} reqHeaders the new request's headers
 * @returns {boolean}
 */
function variantMatches(storedResHeaders, storedReqHeaders, reqHeaders) {
  const names = varyFieldNames(storedResHeaders);
  if (names[0] === '*') return false;
  return names.every((name) => normalizedFieldValue(storedReqHeaders, name) === normalizedFieldValue(reqHeaders, name));
}

/**
 * A secondary cache key (RFC 9111 4.1): text that is equal for two requests exactly when
 * variantMatches would match them for these Vary names.
 * @param {string[]} names lowercased, as varyFieldNames gives them
 * @param {object|string[]} reqHeaders
 * @returns {string}
 */
function secondaryKey(names, reqHeaders) {
  const sorted = [...new Set(names)].sort();
  return JSON.stringify(sorted.map((name) => [name, normalizedFieldValue(reqHeaders, name)]));
}

module.exports = { varyFieldNames, normalizedFieldValue, variantMatches, secondaryKey };
