'use strict';

const { MAX_RANGES, parseRange, ifRangeMatches, contentRange } = require('../../lib/http/range');
const { formatHttpDate } = require('../../lib/http/http-date');

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const at = (seconds) => formatHttpDate(T0 + seconds * 1000);

describe('RFC 9110 14.1.2 byte ranges: parseRange', () => {
  it.each([
    ['a first and last position', 'bytes=0-499', [{ start: 0, end: 499 }]],
    ['an open range', 'bytes=9500-', [{ start: 9500, end: 9999 }]],
    ['a suffix range', 'bytes=-500', [{ start: 9500, end: 9999 }]],
    ['a suffix longer than the representation', 'bytes=-20000', [{ start: 0, end: 9999 }]],
    ['a last position past the end (clamped)', 'bytes=9000-20000', [{ start: 9000, end: 9999 }]],
    ['a one-byte range', 'bytes=0-0', [{ start: 0, end: 0 }]],
    ['the last byte', 'bytes=-1', [{ start: 9999, end: 9999 }]],
    ['an uppercase unit', 'BYTES=0-1', [{ start: 0, end: 1 }]],
    ['whitespace around ranges and empty list elements', 'bytes= 0-1 ,, 5-6 ,', [{ start: 0, end: 1 }, { start: 5, end: 6 }]],
  ])('reads %s', (_what, header, ranges) => {
    expect(parseRange(header, 10000)).toEqual(ranges);
  });

  it('keeps the requested order of ranges that do not overlap', () => {
    expect(parseRange('bytes=500-599,0-99', 10000)).toEqual([{ start: 500, end: 599 }, { start: 0, end: 99 }]);
  });

  it('keeps adjacent ranges apart', () => {
    expect(parseRange('bytes=0-99,100-199', 10000)).toEqual([{ start: 0, end: 99 }, { start: 100, end: 199 }]);
  });

  it('sorts and merges when ranges overlap', () => {
    expect(parseRange('bytes=500-700,0-99,600-800,50-60', 10000)).toEqual([{ start: 0, end: 99 }, { start: 500, end: 800 }]);
  });

  it('merges a suffix range overlapping another', () => {
    expect(parseRange('bytes=9000-,-500', 10000)).toEqual([{ start: 9000, end: 9999 }]);
  });

  it('leaves out unsatisfiable ranges next to satisfiable ones', () => {
    expect(parseRange('bytes=20000-30000,0-1,-0', 10000)).toEqual([{ start: 0, end: 1 }]);
  });

  it.each([
    ['a first position at the end', 'bytes=10000-'],
    ['a first position past the end', 'bytes=20000-30000'],
    ['a zero-length suffix', 'bytes=-0'],
    ['only unsatisfiable ranges', 'bytes=10000-10001,-0'],
  ])('is unsatisfiable (416) with %s', (_what, header) => {
    expect(parseRange(header, 10000)).toBe('unsatisfiable');
  });

  it.each([
    ['no Range', undefined],
    ['another unit', 'items=0-5'],
    ['no unit', '0-5'],
    ['no ranges', 'bytes='],
    ['only empty elements', 'bytes=,,'],
    ['a last position before the first', 'bytes=500-100'],
    ['one bad range among good ones', 'bytes=0-1,5-2'],
    ['a negative first position', 'bytes=--5'],
    ['letters', 'bytes=a-b'],
    ['a lone dash', 'bytes=-'],
    ['spaces inside a range', 'bytes=0 - 5'],
    ['a fraction', 'bytes=0.5-9'],
    ['several Range lines', ['bytes=0-1', 'bytes=2-3']],
  ])('is ignored (null) with %s', (_what, header) => {
    expect(parseRange(header, 10000)).toBeNull();
  });

  it(`is ignored with more than ${MAX_RANGES} ranges`, () => {
    const many = Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',');
    expect(parseRange(`bytes=${many}`, 100000)).toBeNull();
    const enough = Array.from({ length: MAX_RANGES }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',');
    expect(parseRange(`bytes=${enough}`, 100000)).toHaveLength(MAX_RANGES);
  });

  it('is ignored for an empty representation (no range of it can be written)', () => {
    expect(parseRange('bytes=-5', 0)).toBeNull();
    expect(parseRange('bytes=0-5', 0)).toBeNull();
  });

  it('reads a one-element array like the value', () => {
    expect(parseRange(['bytes=0-1'], 10)).toEqual([{ start: 0, end: 1 }]);
  });

  it('handles positions larger than 2^53 without failing', () => {
    expect(parseRange('bytes=0-99999999999999999999999', 10)).toEqual([{ start: 0, end: 9 }]);
    expect(parseRange('bytes=99999999999999999999999-', 10)).toBe('unsatisfiable');
  });
});

describe('RFC 9110 13.1.5 If-Range: ifRangeMatches', () => {
  const stored = { etag: '"v1"', 'last-modified': at(-60), date: at(0) };

  it('lets the range apply without If-Range', () => {
    expect(ifRangeMatches({}, stored)).toBe(true);
  });

  it('matches an equal strong entity-tag', () => {
    expect(ifRangeMatches({ 'if-range': '"v1"' }, stored)).toBe(true);
  });

  it('does not match a different entity-tag', () => {
    expect(ifRangeMatches({ 'if-range': '"v2"' }, stored)).toBe(false);
  });

  it('never matches a weak entity-tag', () => {
    expect(ifRangeMatches({ 'if-range': 'W/"v1"' }, stored)).toBe(false);
    expect(ifRangeMatches({ 'if-range': 'W/"v1"' }, { etag: 'W/"v1"' })).toBe(false);
  });

  it('does not match a weak stored entity-tag', () => {
    expect(ifRangeMatches({ 'if-range': '"v1"' }, { etag: 'W/"v1"' })).toBe(false);
  });

  it('matches a date equal to a strong Last-Modified', () => {
    expect(ifRangeMatches({ 'if-range': at(-60) }, stored)).toBe(true);
  });

  it('does not match a date that is only later than Last-Modified', () => {
    expect(ifRangeMatches({ 'if-range': at(-30) }, stored)).toBe(false);
  });

  it('does not match when Last-Modified is weak (Date less than 1 s after it)', () => {
    expect(ifRangeMatches({ 'if-range': at(-60) }, { 'last-modified': at(-60), date: at(-60) })).toBe(false);
    expect(ifRangeMatches({ 'if-range': at(-60) }, { 'last-modified': at(-60) })).toBe(false);
  });

  it('holds Last-Modified strong at exactly 1 s before Date', () => {
    expect(ifRangeMatches({ 'if-range': at(-1) }, { 'last-modified': at(-1), date: at(0) })).toBe(true);
  });

  it.each([['garbage'], ['"unterminated'], ['']])('does not match the malformed If-Range %p', (value) => {
    expect(ifRangeMatches({ 'if-range': value }, stored)).toBe(false);
  });

  it('does not match several If-Range lines', () => {
    expect(ifRangeMatches({ 'if-range': ['"v1"', '"v1"'] }, stored)).toBe(false);
  });

  it('reads flat headers', () => {
    expect(ifRangeMatches(['if-range', '"v1"'], ['etag', '"v1"'])).toBe(true);
  });
});

describe('RFC 9110 14.4 Content-Range: contentRange', () => {
  it('writes a range', () => {
    expect(contentRange({ start: 0, end: 499 }, 1234)).toBe('bytes 0-499/1234');
  });

  it('writes the unsatisfied form for a 416', () => {
    expect(contentRange(null, 1234)).toBe('bytes */1234');
  });
});
