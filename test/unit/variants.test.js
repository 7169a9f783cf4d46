'use strict';

const { varyFieldNames, normalizedFieldValue, variantMatches, secondaryKey } = require('../../lib/http/variants');

describe('RFC 9111 4.1 Vary: varyFieldNames', () => {
  it('lists the lowercased names once, in order', () => {
    expect(varyFieldNames({ vary: ['Accept-Encoding, accept', 'ACCEPT-LANGUAGE, accept'] })).toEqual(['accept-encoding', 'accept', 'accept-language']);
  });

  it('gives ["*"] when Vary lists "*"', () => {
    expect(varyFieldNames(['vary', 'accept, *'])).toEqual(['*']);
  });

  it('gives [] without Vary', () => {
    expect(varyFieldNames({})).toEqual([]);
  });
});

describe('RFC 9111 4.1 matching a stored response\'s request: variantMatches', () => {
  const stored = { vary: 'accept-encoding, accept-language' };
  const storedReq = { 'accept-encoding': 'gzip,  br', 'accept-language': 'en' };

  it('matches equal values', () => {
    expect(variantMatches(stored, storedReq, { 'accept-encoding': 'gzip,  br', 'accept-language': 'en', 'x-other': '1' })).toBe(true);
  });

  it('matches values that differ only in whitespace or field lines', () => {
    expect(variantMatches(stored, storedReq, { 'accept-encoding': ['gzip', 'br'], 'accept-language': ' en ' })).toBe(true);
    expect(variantMatches(stored, storedReq, ['accept-encoding', 'gzip ,br', 'accept-language', 'en'])).toBe(true);
  });

  it('does not match a different value', () => {
    expect(variantMatches(stored, storedReq, { 'accept-encoding': 'gzip', 'accept-language': 'en' })).toBe(false);
  });

  it('matches an absent field only with an absent field, not with an empty one', () => {
    expect(variantMatches(stored, { 'accept-encoding': 'gzip' }, { 'accept-encoding': 'gzip' })).toBe(true);
    expect(variantMatches(stored, { 'accept-encoding': 'gzip' }, { 'accept-encoding': 'gzip', 'accept-language': '' })).toBe(false);
  });

  it('never matches Vary: *', () => {
    expect(variantMatches({ vary: '*' }, {}, {})).toBe(false);
  });

  it('always matches without Vary', () => {
    expect(variantMatches({}, { accept: 'a' }, { accept: 'b' })).toBe(true);
  });
});

describe('RFC 9111 4.1 secondary keys: secondaryKey', () => {
  it('is equal exactly when the requests match', () => {
    const names = ['accept-language', 'accept-encoding'];
    expect(secondaryKey(names, { 'accept-encoding': 'gzip, br', 'accept-language': 'en' }))
      .toBe(secondaryKey(['accept-encoding', 'accept-language'], { 'accept-language': 'en', 'accept-encoding': ['gzip', 'br'] }));
    expect(secondaryKey(names, { 'accept-encoding': 'gzip' })).not.toBe(secondaryKey(names, { 'accept-encoding': 'gzip', 'accept-language': '' }));
  });

  it('normalizes a value like normalizedFieldValue', () => {
    expect(normalizedFieldValue({ a: ' x  y ,z ' }, 'a')).toBe('x y, z');
    expect(normalizedFieldValue({}, 'a')).toBeNull();
  });
});
