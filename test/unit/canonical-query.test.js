'use strict';

// req.query as the built-in key compares it: equal text exactly for deep-equal values (object key
// order ignored), whatever the parser produced.
const { canonicalQuery } = require('../../lib/http/keys');

describe('canonicalQuery(query)', () => {
  it.each([
    ['objects whose keys come in another order', { a: '1', b: '2' }, { b: '2', a: '1' }],
    ['nested objects likewise', { f: { x: '1', y: ['a', 'b'] } }, { f: { y: ['a', 'b'], x: '1' } }],
    ['a null-prototype object and a plain one', Object.assign(Object.create(null), { a: '1' }), { a: '1' }],
    ['equal Dates', { d: new Date(5) }, { d: new Date(5) }],
  ])('gives one text for %s', (_what, one, two) => {
    expect(canonicalQuery(one)).toBe(canonicalQuery(two));
  });

  it.each([
    ['arrays in another order', { a: ['1', '2'] }, { a: ['2', '1'] }],
    ['a string and a one-element array', { a: '1' }, { a: ['1'] }],
    ['a string and a number', { a: '1' }, { a: 1 }],
    ['0 and -0', { a: 0 }, { a: -0 }],
    ['null and undefined', { a: null }, { a: undefined }],
    ['an array hole and an explicit undefined', { a: [, '1'] }, { a: [undefined, '1'] }], // eslint-disable-line no-sparse-arrays
    ['two lone surrogates (no U+FFFD in between)', { a: '\uD800' }, { a: '\uD801' }],
    ['a quote inside a value and a separator', { a: 'x","b":"y' }, { a: 'x', b: 'y' }],
    ['a name holding a colon and a nested object', { 'a:{': '1' }, { a: { '': '1' } }],
  ])('tells apart %s', (_what, one, two) => {
    expect(canonicalQuery(one)).not.toBe(canonicalQuery(two));
  });

  it('produces well-formed text, which converts to UTF-8 without loss', () => {
    expect(canonicalQuery({ a: '\uD800x' }).isWellFormed()).toBe(true);
  });

  it.each([
    ['a Map', { a: new Map() }],
    ['a function', { a: () => 1 }],
    ['a symbol', { a: Symbol('s') }],
    ['a cycle', (() => { const o = {}; o.self = o; return o; })()],
    ['33 levels of nesting', JSON.parse(`${'{"a":'.repeat(33)}"x"${'}'.repeat(33)}`)],
  ])('refuses %s (the request is then not cached)', (_what, value) => {
    expect(() => canonicalQuery(value)).toThrow(/req\.query/);
  });
});
