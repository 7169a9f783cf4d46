'use strict';

// Reading header fields in the two shapes the cache meets: an object of lowercased name →
// string | string[] (Node's res.getHeaders(), IncomingMessage.headers) and the flat
// [name, value, name, value, ...] list entries are stored with. Every rule module in lib/http
// reads headers through these functions only, so both shapes are accepted everywhere.

/**
 * Whether `headers` is the flat [name, value, ...] shape.
 * @param {object|string[]|undefined|null} headers
 * @returns {boolean}
 */
function isFlat(headers) {
  return Array.isArray(headers);
}

/**
 * Every field line value of `name` (lowercased), in received order; [] when absent.
 * @param {object|string[]|undefined|null} headers
 * @param {string} name lowercased field name
 * @returns {string[]}
 */
function fieldValues(headers, name) {
  if (headers === undefined || headers === null) return [];
  if (isFlat(headers)) {
    const values = [];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) values.push(String(headers[i + 1]));
    }
    return values;
  }
  const value = Object.prototype.hasOwnProperty.call(headers, name) ? headers[name] : undefined;
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

/**
 * The field's combined value (its lines joined with ", ", RFC 9110 5.3), or undefined when absent.
 * @param {object|string[]|undefined|null} headers
 * @param {string} name lowercased field name
 * @returns {string|undefined}
 */
function fieldValue(headers, name) {
  const values = fieldValues(headers, name);
  return values.length === 0 ? undefined : values.join(', ');
}

/**
 * Whether the field is present (even with an empty value).
 * @param {object|string[]|undefined|null} headers
 * @param {string} name lowercased field name
 * @returns {boolean}
 */
function hasField(headers, name) {
  return fieldValues(headers, name).length > 0;
}

/**
 * The members of a comma-separated list field (RFC 9110 5.6.1), trimmed, empty members dropped;
 * commas inside quoted strings do not split (an unterminated one runs to the end).
 * @param {string|string[]|undefined} value one value, or several field lines
 * @param {{ uriReferences?: boolean }} [how] `uriReferences`: commas inside <...> do not split
 *   either (Link's link-values, RFC 8288 3)
 * @returns {string[]}
 */
function listMembers(value, how) {
  if (value === undefined || value === null) return [];
  const text = Array.isArray(value) ? value.join(',') : String(value);
  const uris = Boolean(how) && how.uriReferences === true;
  const members = [];
  let start = 0;
  let quoted = false;
  let inUri = false;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (quoted && i < text.length) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (inUri && i < text.length) {
      if (c === '>') inUri = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === '<' && uris) {
      inUri = true;
    } else if (c === ',' || i === text.length) {
      const member = text.slice(start, i).trim();
      if (member) members.push(member);
      start = i + 1;
    }
  }
  return members;
}

/**
 * The headers as an ordered Map of lowercased name → field line values (a copy).
 * @param {object|string[]|undefined|null} headers
 * @returns {Map<string, string[]>}
 */
function toFieldMap(headers) {
  const map = new Map();
  if (headers === undefined || headers === null) return map;
  const add = (name, value) => {
    const key = String(name).toLowerCase();
    if (!map.has(key)) map.set(key, []);
    map.get(key).push(String(value));
  };
  if (isFlat(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1]);
  } else {
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (value === undefined || value === null) continue;
      for (const v of Array.isArray(value) ? value : [value]) add(name, v);
    }
  }
  return map;
}

/**
 * A field Map back in one of the two shapes: flat when `flat`, else an object whose repeated
 * fields are arrays.
 * @param {Map<string, string[]>} map
 * @param {boolean} flat
 * @returns {object|string[]}
 */
function fromFieldMap(map, flat) {
  if (flat) {
    const out = [];
    for (const [name, values] of map) for (const v of values) out.push(name, v);
    return out;
  }
  const out = {};
  for (const [name, values] of map) {
    if (values.length > 0) out[name] = values.length === 1 ? values[0] : values.slice();
  }
  return out;
}

module.exports = { isFlat, fieldValues, fieldValue, hasField, listMembers, toFieldMap, fromFieldMap };
