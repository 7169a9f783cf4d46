'use strict';

// Redis glob matching (KEYS, SCAN MATCH) for the embedded store, byte for byte as Redis 7 does it
// (stringmatchlen in Redis's util.c): the pattern and the key are compared as their UTF-8 bytes,
// so '?' is one byte, '[^...]' negates, ranges may be written either way round ('[z-a]') and
// compare bytes as C's signed char does, '\' escapes (also inside a class), an unclosed class
// ends with the pattern, and a pattern nested more than 1000 '*' deep matches nothing.
const MAX_NESTING = 1000;

/** A byte as C's (signed) char holds it, as Redis compares range bounds. */
function signed(byte) {
  return byte > 127 ? byte - 256 : byte;
}

/** The pattern's byte at i; 0 past its end, as the NUL after a Redis string reads. */
function at(p, i) {
  return i < p.length ? p[i] : 0;
}

/** Whether the key's bytes `s` from si match the pattern's bytes `p` from pi. */
function matchFrom(p, pi, s, si, state, nesting) {
  if (nesting > MAX_NESTING) return false;
  while (pi < p.length && si < s.length) {
    const c = p[pi];
    if (c === 0x2a) { // '*'
      while (pi < p.length && at(p, pi + 1) === 0x2a) pi++;
      if (p.length - pi === 1) return true;
      for (; si < s.length; si++) {
        if (matchFrom(p, pi + 1, s, si, state, nesting + 1)) return true;
        if (state.skipLonger) return false;
      }
      state.skipLonger = true;
      return false;
    } else if (c === 0x3f) { // '?'
      si++;
    } else if (c === 0x5b) { // '['
      pi++;
      const not = at(p, pi) === 0x5e; // '^'
      if (not) pi++;
      let match = false;
      for (;;) {
        if (at(p, pi) === 0x5c && p.length - pi >= 2) { // '\' escapes the next byte
          pi++;
          if (p[pi] === s[si]) match = true;
        } else if (at(p, pi) === 0x5d) { // ']'
          break;
        } else if (pi >= p.length) { // unclosed: the class ends with the pattern
          pi--;
          break;
        } else if (p.length - pi >= 3 && at(p, pi + 1) === 0x2d) { // a range 'a-z'
          let start = signed(p[pi]);
          let end = signed(p[pi + 2]);
          if (start > end) [start, end] = [end, start];
          const b = signed(s[si]);
          pi += 2;
          if (b >= start && b <= end) match = true;
        } else if (p[pi] === s[si]) {
          match = true;
        }
        pi++;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
    } else {
      if (c === 0x5c && p.length - pi >= 2) pi++; // '\' makes the next byte literal
      if (p[pi] !== s[si]) return false;
      si++;
    }
    pi++;
    if (si === s.length) {
      while (at(p, pi) === 0x2a) pi++;
      break;
    }
  }
  return pi >= p.length && si === s.length;
}

/**
 * A predicate telling whether a key matches a Redis glob pattern, as SCAN MATCH decides it.
 * @param {string} pattern
 * @returns {(key: string) => boolean}
 */
function globMatcher(pattern) {
  const p = Buffer.from(pattern, 'utf8');
  return (key) => matchFrom(p, 0, Buffer.from(key, 'utf8'), 0, { skipLonger: false }, 0);
}

module.exports = { globMatcher };
