'use strict';

// Range requests answered from a stored full response (RFC 9110 section 14; RFC 9111 3.3-3.4 are
// the engine's): the byte ranges a Range field asks for, whether If-Range lets them apply, and
// the Content-Range of the answer.
const { fieldValues } = require('./header-fields');
const { fieldDate } = require('./http-date');
const { parseEntityTag } = require('./conditional');

/** More ranges than this in one request and the field is ignored (RFC 9110 14.2 allows a limit). */
const MAX_RANGES = 100;
const RANGE_SPEC = /^(?:(\d+)-(\d*)|-(\d+))$/;

/** Ranges sorted by start, with overlapping ones merged (adjacent ones stay apart). */
function coalesce(ranges) {
  const sorted = [...ranges].sort((a, b) => a.start - b.start || a.end - b.end);
  const out = [{ ...sorted[0] }];
  for (const range of sorted.slice(1)) {
    const last = out[out.length - 1];
    if (range.start <= last.end) last.end = Math.max(last.end, range.end);
    else out.push({ ...range });
  }
  return out;
}

/**
 * The byte ranges a Range field asks of a representation of `size` bytes (RFC 9110 14.1.2, 14.2).
 * Range applies to GET only (14.2): the caller checks the method. The result is
 * - null when the field is to be ignored (the whole representation is sent with 200): absent,
 *   repeated, another unit than bytes (compared case-insensitively), malformed (including a
 *   range whose last position is before its first), more than MAX_RANGES ranges, or an empty
 *   representation (no range of it can be expressed in a Content-Range);
 * - 'unsatisfiable' (416) when no range overlaps the representation: every first position is at
 *   or past its end, and no suffix range has a non-zero length;
 * - otherwise the satisfiable ranges as inclusive { start, end } offsets, last positions clamped
 *   to the end, suffix ranges counted from it, in the order asked, except that when any two
 *   overlap all are sorted and the overlapping ones merged (14.2 lets a server coalesce them).
 * @param {string|string[]|undefined} header the Range field value
 * @param {number} size the representation's length in bytes
 * @returns {null|'unsatisfiable'|Array<{ start: number, end: number }>}
 */
function parseRange(header, size) {
  const values = header === undefined ? [] : [].concat(header);
  if (values.length !== 1 || !(size > 0)) return null;
  const m = /^[ \t]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)=([^]*)$/.exec(String(values[0]));
  if (!m || m[1].toLowerCase() !== 'bytes') return null;
  const specs = m[2].split(',').map((spec) => spec.trim()).filter(Boolean); // empty list elements are allowed
  if (specs.length === 0 || specs.length > MAX_RANGES) return null;
  const ranges = [];
  for (const spec of specs) {
    const r = RANGE_SPEC.exec(spec);
    if (!r) return null;
    if (r[3] !== undefined) {
      const length = Number(r[3]);
      if (length > 0) ranges.push({ start: Math.max(0, size - length), end: size - 1 });
      continue;
    }
    const first = Number(r[1]);
    const last = r[2] === '' ? Infinity : Number(r[2]);
    if (last < first) return null;
    if (first < size) ranges.push({ start: first, end: Math.min(last, size - 1) });
  }
  if (ranges.length === 0) return 'unsatisfiable';
  const byStart = [...ranges].sort((a, b) => a.start - b.start);
  const overlap = byStart.some((range, i) => i > 0 && range.start <= byStart[i - 1].end);
  return overlap ? coalesce(ranges) : ranges;
}

/**
 * Whether If-Range lets a Range field apply to the stored response (RFC 9110 13.1.5): true without
 * If-Range; with an entity-tag, when it is strong and equal to the stored ETag, itself strong
 * (a weak tag never matches); with an HTTP-date, when it equals the stored Last-Modified exactly and
 * that Last-Modified is strong, the stored Date being at least 1 s later (8.8.2.2). Anything
 * else, a malformed If-Range included, is false: the whole representation is sent.
 * @param {object|string[]} reqHeaders
 * @param {object|string[]} storedHeaders
 * @returns {boolean}
 */
function ifRangeMatches(reqHeaders, storedHeaders) {
  const values = fieldValues(reqHeaders, 'if-range');
  if (values.length === 0) return true;
  if (values.length > 1) return false;
  const value = values[0].trim();
  if (value.startsWith('"') || value.startsWith('W/')) {
    const wanted = parseEntityTag(value);
    const etags = fieldValues(storedHeaders, 'etag');
    const stored = etags.length === 1 ? parseEntityTag(etags[0]) : null;
    return Boolean(wanted && stored && !wanted.weak && !stored.weak && wanted.opaque === stored.opaque);
  }
  const date = fieldDate(reqHeaders, 'if-range');
  const lastModified = fieldDate(storedHeaders, 'last-modified');
  return !Number.isNaN(date) && date === lastModified && fieldDate(storedHeaders, 'date') - lastModified >= 1000;
}

/**
 * The Content-Range field value for a range of a representation (RFC 9110 14.4), or for a 416
 * when `range` is null ("bytes *\/size").
 * @param {{ start: number, end: number }|null} range
 * @param {number} size
 * @returns {string}
 */
function contentRange(range, size) {
  return range === null ? `bytes */${size}` : `bytes ${range.start}-${range.end}/${size}`;
}

module.exports = { MAX_RANGES, parseRange, ifRangeMatches, contentRange };
