'use strict';

// Cache directives (RFC 9111 section 5.2): Cache-Control with its quoted-string arguments, the
// delta-seconds they carry, the targeted CDN-Cache-Control field (RFC 9213) that replaces
// Cache-Control and Expires for a CDN-like cache, and Pragma's no-cache in requests (5.4).
const { fieldValues, listMembers } = require('./header-fields');
const { parseDictionary } = require('./structured-fields');

const DIRECTIVE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*(?:=[ \t]*([^]*))?$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Directives whose argument is a list of field names: repeated, they add up (the unqualified form,
// the most restrictive, wins) rather than the first one being kept.
const FIELD_LIST_DIRECTIVES = new Set(['private', 'no-cache']);
// RFC 9111 1.2.2: "2147483648 (2^31) or the greatest positive integer it can conveniently represent".
const MAX_DELTA_SECONDS = 2147483648;

/**
 * The argument as written: a quoted-string loses its quotes and escapes; anything else is kept
 * raw (a malformed argument such as `max-age=60 junk` then fails deltaSeconds, and RFC 9111 4.2.1
 * encourages treating invalid freshness information as stale).
 */
function argumentText(raw) {
  const text = raw.replace(/[ \t]+$/, '');
  if (!text.startsWith('"')) return text;
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) out += text[++i];
    else if (c === '"') return i === text.length - 1 ? out : text;
    else out += c;
  }
  return text; // no closing quote
}

function mergeFieldLists(one, two) {
  if (one === '' || two === '') return '';
  return [...new Set([...fieldNames(one), ...fieldNames(two)])].join(', ');
}

function directiveMap() {
  const directives = new Map();
  directives.conflicts = new Set();
  return directives;
}

/**
 * Parses Cache-Control (RFC 9111 5.2) into a Map of lowercased directive name → argument ('' when
 * there is none; quoted-string arguments unquoted and unescaped, commas inside them kept).
 * Malformed members are skipped. When a directive appears more than once with different
 * arguments, the first argument is kept (RFC 9111 4.2.1) and the name is added to the map's
 * `conflicts` Set, except private and no-cache, whose field-name lists are united (an
 * unqualified occurrence wins: the most restrictive reading). An empty qualified list
 * (`private=""`) is indistinguishable from the unqualified directive and read as it, which is the
 * more restrictive reading.
 * @param {string|string[]|undefined} value the field value, or its field lines
 * @returns {Map<string, string> & { conflicts: Set<string> }}
 */
function parseCacheControl(value) {
  const directives = directiveMap();
  for (const member of listMembers(value)) {
    const m = DIRECTIVE.exec(member);
    if (!m) continue;
    const name = m[1].toLowerCase();
    const argument = m[2] === undefined ? '' : argumentText(m[2]);
    if (!directives.has(name)) {
      directives.set(name, argument);
    } else if (directives.get(name) !== argument) {
      directives.conflicts.add(name);
      if (FIELD_LIST_DIRECTIVES.has(name)) directives.set(name, mergeFieldLists(directives.get(name), argument));
    }
  }
  return directives;
}

/**
 * The field names of a qualified directive's argument (`no-cache="Set-Cookie, X-Id"`),
 * lowercased, in order, without duplicates or malformed names.
 * @param {string|undefined} argument
 * @returns {string[]}
 */
function fieldNames(argument) {
  if (typeof argument !== 'string') return [];
  const names = argument.split(',').map((name) => name.trim().toLowerCase()).filter((name) => TOKEN.test(name));
  return [...new Set(names)];
}

/**
 * A delta-seconds argument (RFC 9111 1.2.2): digits only, no sign, no fraction, no spaces; values
 * above 2^31 are 2^31.
 * @param {string|undefined} argument
 * @returns {number} whole seconds, or NaN when the argument is not delta-seconds
 */
function deltaSeconds(argument) {
  if (typeof argument !== 'string' || !/^\d+$/.test(argument)) return NaN;
  return Math.min(Number(argument), MAX_DELTA_SECONDS);
}

/**
 * A member of a targeted field in the shape parseCacheControl gives: '' for true, the number's
 * text, the string or token; undefined (the member is dropped) for false and byte sequences.
 */
function targetedArgument(member) {
  switch (member.type) {
    case 'boolean': return member.value ? '' : undefined;
    case 'integer': case 'decimal': case 'string': case 'token': return String(member.value);
    case 'inner-list': return member.value.map((item) => String(item.value)).join(', ');
    default: return undefined;
  }
}

// The types RFC 9213 2.2 maps the known directives' values to (delta-seconds: an Integer; no
// value: a Boolean; no-cache and private: a Boolean or a String of field names). A known
// directive of another type (`max-age="60"`, `max-age=1.5`) makes the field invalid: ignored.
const isSeconds = (m) => m.type === 'integer' && m.value >= 0;
const isFlag = (m) => m.type === 'boolean';
const isFlagOrNames = (m) => m.type === 'boolean' || m.type === 'string';
const TARGETED_TYPES = new Map([
  ...['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error'].map((n) => [n, isSeconds]),
  ...['no-store', 'must-revalidate', 'proxy-revalidate', 'public', 'immutable', 'no-transform', 'must-understand']
    .map((n) => [n, isFlag]),
  ...['no-cache', 'private'].map((n) => [n, isFlagOrNames]),
]);

/**
 * Parses a targeted cache-control field (RFC 9213 2.2: a Structured Field Dictionary, such as
 * `CDN-Cache-Control: max-age=60, private="x"`) into the Map shape of parseCacheControl
 * (parameters are ignored; `conflicts` is always empty, a repeated key keeping its last value).
 * @param {string|string[]|undefined} value
 * @returns {(Map<string, string> & { conflicts: Set<string> })|null} null when the field is absent,
 *   empty, not a valid Dictionary, or has a known directive of the wrong type: RFC 9213 then has
 *   the cache ignore it
 */
function parseTargetedCacheControl(value) {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return null;
  const dictionary = parseDictionary(value);
  if (dictionary === null || dictionary.size === 0) return null;
  const directives = directiveMap();
  for (const [name, member] of dictionary) {
    if (!TARGETED_TYPES.has(name) ? false : !TARGETED_TYPES.get(name)(member)) return null;
    const argument = targetedArgument(member);
    if (argument !== undefined) directives.set(name, argument);
  }
  return directives;
}

/**
 * The directives that govern a response for this cache: with `cdnCacheControl` (a shared cache
 * that targets CDN-Cache-Control), a valid non-empty CDN-Cache-Control replaces Cache-Control and
 * Expires altogether (RFC 9213 2.1: "it MUST ignore the Cache-Control and Expires header fields");
 * otherwise Cache-Control.
 * @param {object|string[]} resHeaders
 * @param {{ cdnCacheControl?: boolean, shared?: boolean }} [options]
 * @returns {{ directives: Map<string, string> & { conflicts: Set<string> }, targeted: boolean }}
 *   `targeted` true when the directives come from CDN-Cache-Control (Expires is then ignored)
 */
function responseDirectives(resHeaders, { cdnCacheControl = true, shared = true } = {}) {
  if (cdnCacheControl && shared) {
    const targeted = parseTargetedCacheControl(fieldValues(resHeaders, 'cdn-cache-control'));
    if (targeted !== null) return { directives: targeted, targeted: true };
  }
  return { directives: parseCacheControl(fieldValues(resHeaders, 'cache-control')), targeted: false };
}

/**
 * A request's directives (RFC 9111 5.2.1), with `Pragma: no-cache` read as `no-cache` when the
 * request has no Cache-Control field (5.4).
 * @param {object|string[]} reqHeaders
 * @returns {Map<string, string> & { conflicts: Set<string> }}
 */
function requestDirectives(reqHeaders) {
  const values = fieldValues(reqHeaders, 'cache-control');
  const directives = parseCacheControl(values);
  if (values.length === 0
    && listMembers(fieldValues(reqHeaders, 'pragma')).some((member) => member.toLowerCase() === 'no-cache')) {
    directives.set('no-cache', '');
  }
  return directives;
}

module.exports = {
  MAX_DELTA_SECONDS, parseCacheControl, fieldNames, deltaSeconds, parseTargetedCacheControl, responseDirectives,
  requestDirectives,
};
