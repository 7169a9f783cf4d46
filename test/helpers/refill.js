'use strict';

/**
 * Requests a path until it is a HIT again (at most 10 times): a refill right after an
 * invalidation of its indexes may be fenced (the fence has millisecond resolution and errs on the
 * side of refusing). Every answer before the HIT must be a MISS.
 * @param {{ get: (path: string) => Promise<{ headers: object }> }} http
 * @param {string} path
 */
async function refill(http, path) {
  for (let attempt = 0; attempt < 10; attempt++) {
    const seen = (await http.get(path)).headers['x-cache'];
    if (seen === 'HIT') return;
    expect(seen).toBe('MISS');
  }
  throw new Error(`${path} was not stored again`);
}

module.exports = { refill };
