'use strict';

// HTTP-date (RFC 9110 section 5.6.7): the preferred IMF-fixdate and the two obsolete forms a
// recipient must still accept. Parsing is strict to the grammar (Date.parse accepts far more,
// e.g. "2024-01-01" or "Tue", which a cache must treat as invalid: RFC 9111 5.3 makes an invalid
// Expires mean "already expired"). Names are case-sensitive, as the grammar says (%s"..."),
// unless the lenient mode is asked for: RFC 9111 4.2 has a cache match the names of Expires,
// Date and Last-Modified case-insensitively when it calculates freshness.

const { fieldValues } = require('./header-fields');

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const DAY = DAYS.join('|');
const MONTH = MONTHS.join('|');
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^(?:${DAY}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
// Sunday, 06-Nov-94 08:49:37 GMT
const RFC850_DATE = new RegExp(`^(?:${LONG_DAYS.join('|')}), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`);
// Sun Nov  6 08:49:37 1994 (the day is two digits or a space and one digit)
const ASCTIME_DATE = new RegExp(`^(?:${DAY}) (${MONTH}) (\\d{2}| \\d) ${TIME} (\\d{4})$`);
const STRICT = [IMF_FIXDATE, RFC850_DATE, ASCTIME_DATE];
const LENIENT = STRICT.map((re) => new RegExp(re.source, 'i'));
const monthIndex = (name) => MONTHS.findIndex((m) => m.toLowerCase() === name.toLowerCase());

/**
 * ms since the epoch for a calendar date, or NaN when the day does not exist in that month or a
 * time component is out of range (second 60 is allowed: the grammar admits a leap second).
 */
function toEpoch(year, month, day, hour, minute, second) {
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return NaN;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  date.setUTCFullYear(year, month, day);
  if (date.getUTCMonth() !== month || date.getUTCDate() !== day) return NaN;
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

/**
 * RFC 9110 5.6.7: a two-digit year that would put the timestamp more than 50 years after `now`
 * is the most recent past year with those digits.
 */
function expandYear(twoDigits, month, day, hour, minute, second, now) {
  const reference = new Date(now);
  if (Number.isNaN(reference.getTime())) return NaN;
  const limit = new Date(reference.getTime());
  limit.setUTCFullYear(reference.getUTCFullYear() + 50);
  // The first of the month decides the century, so that 29-Feb-00 is not refused for lack of a
  // 29 February in a century year tried on the way (2100) before the right one (2000).
  const offset = ((((day - 1) * 24 + hour) * 60 + minute) * 60 + second) * 1000;
  let year = Math.floor(reference.getUTCFullYear() / 100) * 100 + twoDigits + 100;
  while (toEpoch(year, month, 1, 0, 0, 0) + offset > limit.getTime()) year -= 100;
  return toEpoch(year, month, day, hour, minute, second);
}

/**
 * Parses an HTTP-date in any of its three forms (IMF-fixdate, obsolete RFC 850, asctime), after
 * trimming surrounding whitespace. The weekday is matched against the grammar but not checked
 * against the date (RFC 9110 does not ask a recipient to).
 * @param {string} text
 * @param {number} [now] the time a two-digit RFC 850 year is interpreted against (ms)
 * @param {{ lenient?: boolean }} [options] `lenient`: weekday, month and GMT in any case ("thu",
 *   "JAN", "gmt"), as a cache calculating freshness should accept them (RFC 9111 4.2); default strict
 * @returns {number} ms since the epoch, or NaN when `text` is not an HTTP-date
 */
function parseHttpDate(text, now = Date.now(), { lenient = false } = {}) {
  if (typeof text !== 'string') return NaN;
  const value = text.replace(/^[ \t]+|[ \t]+$/g, '');
  const [imf, rfc850, asctime] = lenient ? LENIENT : STRICT;
  let m = imf.exec(value);
  if (m) return toEpoch(Number(m[3]), monthIndex(m[2]), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = rfc850.exec(value);
  if (m) {
    return expandYear(Number(m[3]), monthIndex(m[2]), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), now);
  }
  m = asctime.exec(value);
  if (m) return toEpoch(Number(m[6]), monthIndex(m[1]), Number(m[2].trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return NaN;
}

const pad = (n, width) => String(n).padStart(width, '0');

/**
 * Formats a time as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the form senders must
 * generate; milliseconds are dropped (rounded down).
 * @param {number} ms since the epoch
 * @returns {string}
 * @throws {RangeError} when `ms` is not a finite time in the years 0000..9999
 */
function formatHttpDate(ms) {
  const date = new Date(typeof ms === 'number' ? Math.floor(ms / 1000) * 1000 : NaN);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 0 || year > 9999) {
    throw new RangeError(`Expected a time in the years 0000 to 9999 (ms since the epoch), got ${String(ms)}`);
  }
  return `${DAYS[date.getUTCDay()]}, ${pad(date.getUTCDate(), 2)} ${MONTHS[date.getUTCMonth()]} ${pad(year, 4)} `
    + `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)} GMT`;
}

/**
 * The HTTP-date of a field that holds one (Date, Expires, Last-Modified, If-Modified-Since...):
 * NaN when the field is absent, invalid, or holds several different values (field lines repeated
 * with the same value count as one).
 * @param {object|string[]} headers
 * @param {string} name lowercased field name
 * @param {number} [now] for two-digit years, as parseHttpDate
 * @param {{ lenient?: boolean }} [options] as parseHttpDate
 * @returns {number} ms since the epoch, or NaN
 */
function fieldDate(headers, name, now, options) {
  const values = [...new Set(fieldValues(headers, name).map((v) => v.trim()))];
  return values.length === 1 ? parseHttpDate(values[0], now, options) : NaN;
}

module.exports = { parseHttpDate, formatHttpDate, fieldDate };
