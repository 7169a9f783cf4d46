'use strict';

// Answers the gateway builds from a stored response (RFC 9111 4; RFC 9110 13, 14, 15.4.5): the
// stored headers with Age, the client's own conditional request answered (304 / 412), a Range
// served from the stored full response (206 / 416, multipart/byteranges for several ranges), HEAD
// without the body; and the tee that streams an upstream body to the client while keeping a copy
// for the store.
const crypto = require('crypto');
const { PassThrough } = require('stream');
const { toFieldMap, fromFieldMap } = require('../http/header-fields');
const { ageFieldValue } = require('../http/freshness');
const { hasOriginPreconditions, clientConditionalAnswer, notModifiedFields } = require('../http/conditional');
const { parseRange, ifRangeMatches, contentRange } = require('../http/range');

const EMPTY = Buffer.alloc(0);

/** Whether the status has no body (RFC 9110 6.4.1). */
function bodiless(status) {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** The ranges of a stored 200 a GET asks for: null (send it all), 'unsatisfiable', or ranges. */
function rangesFor(request, entry) {
  if (request.method !== 'GET' || entry.status !== 200 || request.headers.range === undefined) return null;
  const ranges = parseRange(request.headers.range, entry.body.length);
  if (ranges === null || !ifRangeMatches(request.headers, entry.headers)) return null;
  return ranges;
}

function multipart(headers, body, ranges) {
  const boundary = crypto.randomBytes(12).toString('hex');
  const type = headers['content-type'];
  const parts = [];
  for (const range of ranges) {
    const head = `\r\n--${boundary}\r\n${type === undefined ? '' : `Content-Type: ${type}\r\n`}`
      + `Content-Range: ${contentRange(range, body.length)}\r\n\r\n`;
    parts.push(Buffer.from(head, 'latin1'), body.subarray(range.start, range.end + 1));
  }
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'));
  headers['content-type'] = `multipart/byteranges; boundary=${boundary}`;
  return Buffer.concat(parts);
}

/**
 * The answer to `request` from a stored entry.
 * @param {{ method: string, headers: object }} request
 * @param {{ status: number, headers: string[], body: Buffer, storedAt: number }} entry
 * @param {{ ageMs: number, cacheStatus: string, omit?: string[] }} how `omit`: fields not to send
 *   (a qualified no-cache's, when the entry was not validated)
 * @returns {{ status: number, headers: object, body: Buffer, cacheStatus: string }}
 */
function answerFromEntry(request, entry, { ageMs, cacheStatus, omit = [] }) {
  const fields = toFieldMap(entry.headers);
  for (const name of omit) fields.delete(name);
  let headers = fromFieldMap(fields, false);
  const age = ageFieldValue(ageMs);
  const method = request.method;
  if (!hasOriginPreconditions(request.headers)) {
    const answer = clientConditionalAnswer(request.headers, entry.headers, method, { responseTime: entry.storedAt });
    if (answer === 304) return { status: 304, headers: { ...notModifiedFields(headers), age }, body: EMPTY, cacheStatus };
    if (answer === 412) return { status: 412, headers: { date: headers.date, age, 'content-length': '0' }, body: EMPTY, cacheStatus };
  }
  headers.age = age;
  let status = entry.status;
  let body = entry.body;
  const ranges = rangesFor(request, entry);
  if (ranges === 'unsatisfiable') {
    status = 416;
    headers = { date: headers.date, age, 'content-range': contentRange(null, entry.body.length) };
    body = EMPTY;
  } else if (ranges !== null) {
    status = 206;
    if (ranges.length === 1) {
      headers['content-range'] = contentRange(ranges[0], entry.body.length);
      body = entry.body.subarray(ranges[0].start, ranges[0].end + 1);
    } else {
      body = multipart(headers, entry.body, ranges);
    }
  }
  if (bodiless(status)) {
    delete headers['content-length'];
    body = EMPTY;
  } else {
    headers['content-length'] = String(body.length);
  }
  if (method === 'HEAD') body = EMPTY;
  return { status, headers, body, cacheStatus };
}

/**
 * Streams `source` through a PassThrough (the client's copy, with backpressure) while keeping
 * its bytes up to `limit`. `kept` resolves with the whole body (a Buffer), or null when it went
 * past the limit, failed, or the client's copy was destroyed before the end.
 * @param {import('stream').Readable} source
 * @param {number} limit
 * @returns {{ out: PassThrough, kept: Promise<Buffer|null> }}
 */
function tee(source, limit) {
  const out = new PassThrough();
  let chunks = [];
  let size = 0;
  const kept = new Promise((resolve) => {
    let settled = false;
    const settle = (value) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    source.on('data', (chunk) => {
      size += chunk.length;
      if (chunks !== null && size <= limit) chunks.push(chunk);
      else chunks = null;
      if (!out.write(chunk)) {
        source.pause();
        out.once('drain', () => source.resume());
      }
    });
    source.once('end', () => {
      out.end();
      settle(chunks === null ? null : Buffer.concat(chunks, size));
    });
    source.once('error', (err) => {
      out.destroy(err);
      settle(null);
    });
    out.once('close', () => {
      if (!out.writableFinished) {
        source.destroy();
        settle(null);
      }
    });
  });
  return { out, kept };
}

/**
 * Reads a whole body (for a background revalidation, or to drain a 304).
 * @param {import('stream').Readable} source
 * @param {number} limit bytes kept; beyond it the body is read and dropped
 * @returns {Promise<Buffer|null>} null past the limit; rejects when the body fails
 */
async function readAll(source, limit) {
  const chunks = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size <= limit ? Buffer.concat(chunks, size) : null;
}

module.exports = { answerFromEntry, tee, readAll, bodiless, EMPTY };
