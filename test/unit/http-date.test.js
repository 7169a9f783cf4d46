'use strict';

const { parseHttpDate, formatHttpDate, fieldDate } = require('../../lib/http/http-date');

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);
const NOW = Date.UTC(2025, 5, 15, 12, 0, 0);

describe('RFC 9110 5.6.7 HTTP-date: parseHttpDate', () => {
  it.each([
    ['IMF-fixdate', 'Sun, 06 Nov 1994 08:49:37 GMT'],
    ['obsolete RFC 850', 'Sunday, 06-Nov-94 08:49:37 GMT'],
    ['asctime with a space-padded day', 'Sun Nov  6 08:49:37 1994'],
    ['asctime with a two-digit day', 'Sun Nov 06 08:49:37 1994'],
    ['IMF-fixdate with surrounding whitespace', '  Sun, 06 Nov 1994 08:49:37 GMT\t'],
  ])('reads the %s form', (_form, text) => {
    expect(parseHttpDate(text, NOW)).toBe(NOV_6_1994);
  });

  it.each([
    ['garbage', 'soon'],
    ['an empty string', ''],
    ['an ISO 8601 date (Date.parse takes it)', '1994-11-06T08:49:37Z'],
    ['a delta-seconds value', '3600'],
    ['a zero (common "Expires: 0")', '0'],
    ['"-1"', '-1'],
    ['another zone than GMT', 'Sun, 06 Nov 1994 08:49:37 UTC'],
    ['a numeric offset', 'Sun, 06 Nov 1994 08:49:37 +0000'],
    ['a lowercase month', 'Sun, 06 nov 1994 08:49:37 GMT'],
    ['a lowercase zone', 'Sun, 06 Nov 1994 08:49:37 gmt'],
    ['a one-digit day in IMF-fixdate', 'Sun, 6 Nov 1994 08:49:37 GMT'],
    ['a two-digit year in IMF-fixdate', 'Sun, 06 Nov 94 08:49:37 GMT'],
    ['a missing comma', 'Sun 06 Nov 1994 08:49:37 GMT'],
    ['a long day name in IMF-fixdate', 'Sunday, 06 Nov 1994 08:49:37 GMT'],
    ['a short day name in RFC 850', 'Sun, 06-Nov-94 08:49:37 GMT'],
    ['asctime with one space before a one-digit day', 'Sun Nov 6 08:49:37 1994'],
    ['asctime with a zone', 'Sun Nov  6 08:49:37 1994 GMT'],
    ['31 November', 'Thu, 31 Nov 1994 08:49:37 GMT'],
    ['29 February of a common year', 'Tue, 29 Feb 2023 00:00:00 GMT'],
    ['day 00', 'Sun, 00 Nov 1994 08:49:37 GMT'],
    ['hour 24', 'Sun, 06 Nov 1994 24:00:00 GMT'],
    ['minute 60', 'Sun, 06 Nov 1994 08:60:00 GMT'],
    ['second 61', 'Sun, 06 Nov 1994 08:49:61 GMT'],
    ['trailing text', 'Sun, 06 Nov 1994 08:49:37 GMT x'],
    ['two dates in one value (two Expires lines joined)', 'Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT'],
  ])('gives NaN for %s', (_what, text) => {
    expect(parseHttpDate(text, NOW)).toBeNaN();
  });

  it.each([[undefined], [null], [784111777], [['Sun, 06 Nov 1994 08:49:37 GMT']]])('gives NaN for the non-string %p', (value) => {
    expect(parseHttpDate(value)).toBeNaN();
  });

  it('accepts 29 February of a leap year', () => {
    expect(parseHttpDate('Thu, 29 Feb 2024 00:00:00 GMT')).toBe(Date.UTC(2024, 1, 29));
  });

  it('accepts a leap second (the grammar allows second 60) as the next minute', () => {
    expect(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT')).toBe(Date.UTC(2017, 0, 1));
  });

  it('does not check the weekday against the date', () => {
    expect(parseHttpDate('Mon, 06 Nov 1994 08:49:37 GMT')).toBe(NOV_6_1994);
  });

  it('reads four-digit years below 100 as such (not 19xx)', () => {
    expect(new Date(parseHttpDate('Sat, 01 Jan 0050 00:00:00 GMT')).getUTCFullYear()).toBe(50);
  });
});

describe('parseHttpDate in the lenient mode (RFC 9111 4.2: names matched case-insensitively)', () => {
  it.each([
    ['a lowercase weekday', 'sun, 06 Nov 1994 08:49:37 GMT'],
    ['an uppercase month', 'Sun, 06 NOV 1994 08:49:37 GMT'],
    ['a lowercase zone', 'Sun, 06 Nov 1994 08:49:37 gmt'],
    ['an RFC 850 date in capitals', 'SUNDAY, 06-NOV-94 08:49:37 GMT'],
    ['an asctime date in lowercase', 'sun nov  6 08:49:37 1994'],
  ])('reads %s', (_what, text) => {
    expect(parseHttpDate(text, NOW, { lenient: true })).toBe(NOV_6_1994);
    expect(parseHttpDate(text, NOW)).toBeNaN();
  });

  it.each([
    ['an unknown month', 'Sun, 06 Nox 1994 08:49:37 GMT'],
    ['another zone', 'Sun, 06 Nov 1994 08:49:37 UTC'],
    ['a missing comma', 'sun 06 nov 1994 08:49:37 gmt'],
  ])('still gives NaN for %s', (_what, text) => {
    expect(parseHttpDate(text, NOW, { lenient: true })).toBeNaN();
  });

  it('is what fieldDate uses when asked', () => {
    expect(fieldDate({ expires: 'sun, 06 nov 1994 08:49:37 gmt' }, 'expires', NOW, { lenient: true })).toBe(NOV_6_1994);
    expect(fieldDate({ expires: 'sun, 06 nov 1994 08:49:37 gmt' }, 'expires', NOW)).toBeNaN();
  });
});

describe('RFC 9110 5.6.7 two-digit years of the RFC 850 form', () => {
  it.each([
    ['94, more than 50 years ahead as 2094, is 1994', '06-Nov-94', 1994],
    ['30 is 2030 (5 years ahead)', '06-Nov-30', 2030],
    ['75 is 2075 (less than 50 years ahead)', '01-Jan-75', 2075],
    ['76 is 1976 (2076 would be more than 50 years ahead)', '01-Jan-76', 1976],
    ['25 is 2025', '15-Jun-25', 2025],
    ['00 is 2000', '01-Jan-00', 2000],
  ])('%s', (_what, date, year) => {
    expect(new Date(parseHttpDate(`Sunday, ${date} 00:00:00 GMT`, NOW)).getUTCFullYear()).toBe(year);
  });

  it('compares the whole timestamp with now + 50 years, not only the year', () => {
    // now is 15 June 2025: 15 June 2075 11:00 is within 50 years, 15 June 2075 13:00 is not.
    expect(new Date(parseHttpDate('Saturday, 15-Jun-75 11:00:00 GMT', NOW)).getUTCFullYear()).toBe(2075);
    expect(new Date(parseHttpDate('Saturday, 15-Jun-75 13:00:00 GMT', NOW)).getUTCFullYear()).toBe(1975);
  });

  it('reads 29-Feb-00 as 2000 (a leap year) although 2100 is not one', () => {
    expect(parseHttpDate('Tuesday, 29-Feb-00 00:00:00 GMT', NOW)).toBe(Date.UTC(2000, 1, 29));
  });

  it('is relative to the given now', () => {
    const in2090 = Date.UTC(2090, 0, 1);
    expect(new Date(parseHttpDate('Monday, 01-Jan-30 00:00:00 GMT', in2090)).getUTCFullYear()).toBe(2130);
  });

  it('gives NaN for an impossible day', () => {
    expect(parseHttpDate('Friday, 31-Apr-26 00:00:00 GMT', NOW)).toBeNaN();
  });
});

describe('RFC 9110 5.6.7 formatHttpDate', () => {
  it('writes an IMF-fixdate', () => {
    expect(formatHttpDate(NOV_6_1994)).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
  });

  it('drops milliseconds (rounding down)', () => {
    expect(formatHttpDate(NOV_6_1994 + 999)).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
  });

  it('pads the year to four digits', () => {
    expect(formatHttpDate(parseHttpDate('Sat, 01 Jan 0050 00:00:00 GMT'))).toBe('Sat, 01 Jan 0050 00:00:00 GMT');
  });

  it('round-trips through parseHttpDate', () => {
    for (const ms of [0, NOV_6_1994, NOW, Date.UTC(2024, 1, 29, 23, 59, 59)]) {
      expect(parseHttpDate(formatHttpDate(ms))).toBe(ms);
    }
  });

  it.each([[NaN], [Infinity], ['784111777000'], [Date.UTC(10000, 0, 1)], [undefined]])('throws a RangeError for %p', (ms) => {
    expect(() => formatHttpDate(ms)).toThrow(RangeError);
    expect(() => formatHttpDate(ms)).toThrow(/Expected a time in the years 0000 to 9999/);
  });
});

describe('fieldDate(headers, name)', () => {
  it('reads a single field from an object or flat headers', () => {
    expect(fieldDate({ date: 'Sun, 06 Nov 1994 08:49:37 GMT' }, 'date')).toBe(NOV_6_1994);
    expect(fieldDate(['date', 'Sun, 06 Nov 1994 08:49:37 GMT'], 'date')).toBe(NOV_6_1994);
  });

  it('counts repeated equal values as one', () => {
    expect(fieldDate({ expires: ['Sun, 06 Nov 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 08:49:37 GMT '] }, 'expires')).toBe(NOV_6_1994);
  });

  it('gives NaN for different repeated values, or none', () => {
    expect(fieldDate({ expires: ['Sun, 06 Nov 1994 08:49:37 GMT', 'Mon, 07 Nov 1994 08:49:37 GMT'] }, 'expires')).toBeNaN();
    expect(fieldDate({}, 'expires')).toBeNaN();
  });
});
