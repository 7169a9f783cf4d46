'use strict';

// The pure pieces of the store contract (lib/stores/contract.js): argument checks that run before
// any store is asked anything, and the reading of invalidation announcements.
const { checkNamespace, checkTags, parseInvalidation } = require('../../lib/stores/contract');
const { InvalidArgumentError } = require('../../lib/errors');
const { thrownBy } = require('../helpers/thrown');

describe('checkNamespace(ns)', () => {
  it('returns a non-empty, well-formed string of at most 1024 characters', () => {
    expect(checkNamespace('users')).toBe('users');
    expect(checkNamespace('x'.repeat(1024))).toHaveLength(1024);
    expect(checkNamespace('caf\u00e9 \u{1F600}')).toBe('caf\u00e9 \u{1F600}');
  });

  it.each([
    ['an empty string', '', /non-empty string of at most 1024 characters, got 0 characters/],
    ['a string over the limit', 'x'.repeat(1025), /got 1025 characters/],
    ['a number', 42, /got number/],
    ['undefined', undefined, /got undefined/],
    ['a lone surrogate', 'a\ud800b', /without lone UTF-16 surrogates, got "a\\ud800b"/],
  ])('rejects %s with InvalidArgumentError', (what, ns, message) => {
    const err = thrownBy(() => checkNamespace(ns));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('ERR_RESPCACHE_INVALID_ARGUMENT');
    expect(err.message).toMatch(message);
  });
});

describe('checkTags(tags, where)', () => {
  it('returns the tags without repeats, in first-seen order', () => {
    expect(checkTags(['b', 'a', 'b', 'c', 'a'], 'tags')).toEqual(['b', 'a', 'c']);
    expect(checkTags([], 'tags')).toEqual([]);
  });

  it('does not change the caller\'s array', () => {
    const tags = Object.freeze(['a', 'a']);
    expect(checkTags(tags, 'tags')).toEqual(['a']);
    expect(tags).toEqual(['a', 'a']);
  });

  it.each([
    ['a string', 'tag', /Expected the tags to be an array of tags \(non-empty strings\)/],
    ['an empty tag', ['ok', ''], /Expected the tags to hold non-empty strings, got an empty string/],
    ['a number', ['ok', 7], /got number/],
    ['null', [null], /got object/],
    ['a lone surrogate', ['\udc00'], /without lone UTF-16 surrogates, got "\\udc00"/],
  ])('rejects %s with InvalidArgumentError naming where it came from', (what, tags, message) => {
    const err = thrownBy(() => checkTags(tags, 'the tags'));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(message);
  });
});

describe('parseInvalidation(payload)', () => {
  it('reads one name as it is', () => {
    expect(parseInvalidation(Buffer.from('e:some key'))).toEqual({ names: ['e:some key'], ns: null });
  });

  it('reads a batch of entry keys as entry names, skipping what is not a string', () => {
    expect(parseInvalidation(Buffer.from(JSON.stringify({ keys: ['a', 'b:c', 3, null] }))))
      .toEqual({ names: ['e:a', 'e:b:c'], ns: null });
  });

  it('reads a namespace bump as the name n:<ns> and its version', () => {
    expect(parseInvalidation(Buffer.from(JSON.stringify({ ns: 'users', version: '7' }))))
      .toEqual({ names: ['n:users'], ns: { name: 'users', version: '7' } });
  });

  it.each([
    ['JSON that does not parse', '{"keys": ['],
    ['JSON null-like shapes', '{}'],
    ['a bump without a string version', '{"ns":"users","version":7}'],
  ])('returns null (not ours) for %s', (what, text) => {
    expect(parseInvalidation(Buffer.from(text))).toBeNull();
  });

  it('reads non-UTF-8 bytes without throwing', () => {
    expect(parseInvalidation(Buffer.from([0x65, 0x3a, 0xff])).names).toHaveLength(1);
  });
});
