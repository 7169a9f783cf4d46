'use strict';

/**
 * A JSON document of exactly `size` bytes that looks like an API answer (a list of records), so
 * every scenario serves the same, realistic bytes.
 * @param {number} size bytes, at least 64
 * @returns {Buffer}
 */
function makeBody(size) {
  const head = '{"items":[';
  const tail = '],"pad":""}';
  const parts = [];
  let length = head.length + tail.length;
  for (let id = 1; ; id++) {
    const item = JSON.stringify({ id, name: `product ${id}`, category: ['garden', 'home', 'books'][id % 3],
      price: Math.round(id * 137.31) % 10000 / 100, inStock: id % 4 !== 0 });
    const added = item.length + (parts.length ? 1 : 0);
    if (length + added > size) break;
    parts.push(item);
    length += added;
  }
  const text = `${head}${parts.join(',')}],"pad":"${'x'.repeat(size - length)}"}`;
  const buf = Buffer.from(text);
  if (buf.length !== size) throw new RangeError(`makeBody(${size}) produced ${buf.length} bytes`);
  return buf;
}

module.exports = { makeBody };
