'use strict';

const {
  isFlat, fieldValues, fieldValue, hasField, listMembers, toFieldMap, fromFieldMap,
} = require('../../lib/http/header-fields');

describe('header fields in both shapes (object and flat list)', () => {
  const object = { vary: ['accept', 'accept-encoding'], etag: '"a"', 'content-length': 3 };
  const flat = ['vary', 'accept', 'etag', '"a"', 'vary', 'accept-encoding', 'content-length', '3'];

  it('tells the flat shape apart', () => {
    expect(isFlat(flat)).toBe(true);
    expect(isFlat(object)).toBe(false);
  });

  it.each([['an object', object], ['a flat list', flat]])('reads every line of a field from %s, as strings', (_shape, headers) => {
    expect(fieldValues(headers, 'vary')).toEqual(['accept', 'accept-encoding']);
    expect(fieldValues(headers, 'content-length')).toEqual(['3']);
    expect(fieldValue(headers, 'vary')).toBe('accept, accept-encoding');
    expect(hasField(headers, 'etag')).toBe(true);
    expect(hasField(headers, 'age')).toBe(false);
  });

  it('matches flat names case-insensitively', () => {
    expect(fieldValues(['ETag', '"x"'], 'etag')).toEqual(['"x"']);
  });

  it('keeps an empty value as present', () => {
    expect(hasField({ 'cache-control': '' }, 'cache-control')).toBe(true);
  });

  it.each([[undefined], [null], [{}], [[]]])('gives [] and undefined for %p', (headers) => {
    expect(fieldValues(headers, 'age')).toEqual([]);
    expect(fieldValue(headers, 'age')).toBeUndefined();
  });

  it('does not read inherited properties as fields', () => {
    expect(fieldValues({}, 'constructor')).toEqual([]);
  });

  it('ignores a dangling name at the end of a flat list', () => {
    expect(fieldValues(['age'], 'age')).toEqual([]);
  });

  it('converts between the shapes through a field map, keeping order', () => {
    const map = toFieldMap(flat);
    expect([...map.keys()]).toEqual(['vary', 'etag', 'content-length']);
    expect(fromFieldMap(map, false)).toEqual({ vary: ['accept', 'accept-encoding'], etag: '"a"', 'content-length': '3' });
    expect(fromFieldMap(toFieldMap(object), true)).toEqual(['vary', 'accept', 'vary', 'accept-encoding', 'etag', '"a"', 'content-length', '3']);
  });
});

describe('RFC 9110 5.6.1 lists: listMembers', () => {
  it('splits on commas, trims and drops empty members', () => {
    expect(listMembers(' a ,b,, ,c ')).toEqual(['a', 'b', 'c']);
  });

  it('does not split inside a quoted string, escapes included', () => {
    expect(listMembers('a="x, y", b="q\\", r", c')).toEqual(['a="x, y"', 'b="q\\", r"', 'c']);
  });

  it('reads several field lines', () => {
    expect(listMembers(['a, b', 'c'])).toEqual(['a', 'b', 'c']);
  });

  it('gives [] for undefined', () => {
    expect(listMembers(undefined)).toEqual([]);
  });

  it('with uriReferences, does not split inside <...> either (RFC 8288 3 link-values)', () => {
    const link = ['</a,b.css>; rel=preload; title="x, y", </c.js>; rel=preload', '</d>; rel=preconnect'];
    expect(listMembers(link, { uriReferences: true }))
      .toEqual(['</a,b.css>; rel=preload; title="x, y"', '</c.js>; rel=preload', '</d>; rel=preconnect']);
    expect(listMembers('<a,b>')).toEqual(['<a', 'b>']);
  });
});

describe('RFC 9110 5.6.1 lists with an unterminated quoted string', () => {
  it('keeps the rest of the value as the last member', () => {
    expect(listMembers('a, b="x, c')).toEqual(['a', 'b="x, c']);
  });
});
