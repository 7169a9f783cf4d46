'use strict';

// The Dictionary of Structured Field Values (RFC 8941 sections 3.2 and 4.2.2), the syntax of the
// targeted cache-control fields (RFC 9213 section 2.2: CDN-Cache-Control). Only parsing, and only
// what a Dictionary can hold; any syntax error fails the whole field, as RFC 8941 requires, and
// the caller then ignores the field.

const KEY_START = /[a-z*]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TOKEN_START = /[A-Za-z*]/;
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const BASE64_CHAR = /[A-Za-z0-9+/=]/;

class Parser {
  constructor(text) {
    this.text = text;
    this.at = 0;
  }

  peek() { return this.text[this.at]; }

  done() { return this.at >= this.text.length; }

  skip(chars) { while (!this.done() && chars.includes(this.peek())) this.at++; }

  fail() { throw new SyntaxError(`Structured field syntax error at ${this.at}`); }

  key() {
    if (!KEY_START.test(this.peek() || '')) this.fail();
    const start = this.at;
    while (!this.done() && KEY_CHAR.test(this.peek())) this.at++;
    return this.text.slice(start, this.at);
  }

  number() {
    const start = this.at;
    if (this.peek() === '-') this.at++;
    const digits = this.at;
    while (!this.done() && /[0-9.]/.test(this.peek())) this.at++;
    const body = this.text.slice(digits, this.at);
    const m = /^(\d{1,15})$|^(\d{1,12})\.(\d{1,3})$/.exec(body);
    if (!m) this.fail();
    return { type: m[1] !== undefined ? 'integer' : 'decimal', value: this.text.slice(start, this.at) };
  }

  string() {
    this.at++; // the opening quote
    let out = '';
    while (!this.done()) {
      const c = this.text[this.at++];
      if (c === '\\') {
        const next = this.text[this.at++];
        if (next !== '"' && next !== '\\') this.fail();
        out += next;
      } else if (c === '"') {
        return { type: 'string', value: out };
      } else if (c < ' ' || c > '~') {
        this.fail();
      } else {
        out += c;
      }
    }
    return this.fail();
  }

  bareItem() {
    const c = this.peek() || '';
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    if (c === '"') return this.string();
    if (c === '?') {
      const bit = this.text[this.at + 1];
      if (bit !== '0' && bit !== '1') this.fail();
      this.at += 2;
      return { type: 'boolean', value: bit === '1' };
    }
    if (c === ':') {
      const end = this.text.indexOf(':', this.at + 1);
      if (end === -1) this.fail();
      const body = this.text.slice(this.at + 1, end);
      if (![...body].every((ch) => BASE64_CHAR.test(ch))) this.fail();
      this.at = end + 1;
      return { type: 'bytes', value: body };
    }
    if (TOKEN_START.test(c)) {
      const start = this.at;
      while (!this.done() && TOKEN_CHAR.test(this.peek())) this.at++;
      return { type: 'token', value: this.text.slice(start, this.at) };
    }
    return this.fail();
  }

  parameters() {
    const params = new Map();
    while (this.peek() === ';') {
      this.at++;
      this.skip(' ');
      const name = this.key();
      let value = { type: 'boolean', value: true };
      if (this.peek() === '=') {
        this.at++;
        value = this.bareItem();
      }
      params.set(name, value);
    }
    return params;
  }

  itemOrInnerList() {
    if (this.peek() !== '(') {
      const item = this.bareItem();
      return { ...item, params: this.parameters() };
    }
    this.at++;
    const items = [];
    for (;;) {
      this.skip(' ');
      if (this.peek() === ')') {
        this.at++;
        return { type: 'inner-list', value: items, params: this.parameters() };
      }
      if (this.done()) this.fail();
      const item = this.bareItem();
      items.push({ ...item, params: this.parameters() });
      if (this.peek() !== ' ' && this.peek() !== ')') this.fail();
    }
  }
}

/**
 * Parses a Dictionary Structured Field (several field lines are joined with commas first).
 * A repeated key keeps its last value (RFC 8941 3.2).
 * @param {string|string[]} value
 * @returns {Map<string, { type: string, value: *, params: Map<string, object> }>|null} null on any
 *   syntax error
 */
function parseDictionary(value) {
  const text = (Array.isArray(value) ? value.join(',') : String(value)).replace(/^[ \t]+|[ \t]+$/g, '');
  const parser = new Parser(text);
  const members = new Map();
  try {
    while (!parser.done()) {
      const name = parser.key();
      let member;
      if (parser.peek() === '=') {
        parser.at++;
        member = parser.itemOrInnerList();
      } else {
        member = { type: 'boolean', value: true, params: parser.parameters() };
      }
      members.delete(name); // the last occurrence also takes the last place in order
      members.set(name, member);
      parser.skip(' \t');
      if (parser.done()) break;
      if (parser.peek() !== ',') parser.fail();
      parser.at++;
      parser.skip(' \t');
      if (parser.done()) parser.fail(); // a trailing comma
    }
  } catch (err) {
    if (err instanceof SyntaxError) return null;
    throw err;
  }
  return members;
}

module.exports = { parseDictionary };
