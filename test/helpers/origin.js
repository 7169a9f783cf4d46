'use strict';

// The conformance harness of test/gateway/rfc9111-*.test.js: a port to Jest of the test engine of
// http-tests/cache-tests (test-engine/server/handle-test.mjs, test-engine/client/test.mjs,
// Copyright (c) 2018, Mark Nottingham, BSD 3-Clause License, full text in docs/conformance.md).
//
// Each test is a list of requests. A scripted origin answers request N with the status, header
// fields and body the test wrote for it, and stamps its answer with the number of requests it has
// seen (Server-Request-Count); the client sends the requests in order through
// http.createServer(cache.proxy(origin.url)) and checks each answer. Whether an answer came from
// the cache is told by that stamp and by what the origin saw, never by the cache's own X-Cache
// header, so the checks hold for any shared cache.
//
// Time: the origin's clock (Date, Expires, Last-Modified) and the cache's clock are one fake clock
// (test/helpers/clock.js); where upstream pauses 3 s (`pause_after`) the clock is moved 3 s on and
// the harness waits a few real milliseconds for the cache to settle. RESPCACHE_CONFORMANCE_REAL_TIME=1
// runs on the system clock with real pauses, as upstream does (about ten times slower).
// RESPCACHE_CONFORMANCE_PROXY=<module> runs the tests against the handler that module's function
// returns for the origin's URL instead of cache.proxy() (to check the harness with a pass-through).
const http = require('http');
const crypto = require('crypto');
const { startRedis } = require('./redis');
const { openCache, closeCaches } = require('./cache');
const { fakeClock } = require('./clock');

const kClock = Symbol.for('respcache.clock');
const REAL_TIME = process.env.RESPCACHE_CONFORMANCE_REAL_TIME === '1';
const PAUSE_MS = 3000; // upstream's pause_after
const SETTLE_MS = Number(process.env.RESPCACHE_CONFORMANCE_SETTLE_MS || 10); // after every answer
const PAUSE_SETTLE_MS = 60; // after a pause_after, on the fake clock
const CACHED_SETTLE_MS = 100; // before a request expected from the cache, when no pause comes first
const REQUEST_TIMEOUT_MS = 10000; // upstream's requestTimeout

const NO_BODY_STATUS = new Set([204, 304]);
const DATE_HEADERS = new Set(['date', 'expires', 'last-modified', 'if-modified-since', 'if-unmodified-since']);
const LOCATION_HEADERS = new Set(['location', 'content-location']);
const SKIP_RESPONSE_HEADERS = new Set(['date']);

// RFC 9111 section of each spec anchor upstream tests name (the xml2rfc anchors of RFC 9111).
const SECTIONS = {
  'delta-seconds': '1.2.2',
  'caching.overview': '2',
  'response.cacheability': '3',
  'storing.fields': '3.1',
  update: '3.2',
  'incomplete.responses': '3.3',
  'combining.responses': '3.4',
  'caching.authenticated.responses': '3.5',
  'constructing.responses.from.caches': '4',
  'caching.negotiated.responses': '4.1',
  'expiration.model': '4.2',
  'calculating.freshness.lifetime': '4.2.1',
  'heuristic.freshness': '4.2.2',
  'age.calculations': '4.2.3',
  'serving.stale.responses': '4.2.4',
  'validation.model': '4.3',
  'validation.sent': '4.3.1',
  'validation.received': '4.3.2',
  'validation.response': '4.3.3',
  'freshening.responses': '4.3.4',
  'head.effects': '4.3.5',
  invalidation: '4.4',
  'field.age': '5.1',
  'field.cache-control': '5.2',
  'cache-request-directive': '5.2.1',
  'cache-request-directive.max-age': '5.2.1.1',
  'cache-request-directive.max-stale': '5.2.1.2',
  'cache-request-directive.min-fresh': '5.2.1.3',
  'cache-request-directive.no-cache': '5.2.1.4',
  'cache-request-directive.no-store': '5.2.1.5',
  'cache-request-directive.only-if-cached': '5.2.1.7',
  'cache-response-directive': '5.2.2',
  'cache-response-directive.max-age': '5.2.2.1',
  'cache-response-directive.must-revalidate': '5.2.2.2',
  'cache-response-directive.must-understand': '5.2.2.3',
  'cache-response-directive.no-cache': '5.2.2.4',
  'cache-response-directive.no-store': '5.2.2.5',
  'cache-response-directive.private': '5.2.2.7',
  'cache-response-directive.proxy-revalidate': '5.2.2.8',
  'cache-response-directive.public': '5.2.2.9',
  'cache-response-directive.s-maxage': '5.2.2.10',
  'cache.control.extensions': '5.2.3',
  'field.expires': '5.3',
  'field.pragma': '5.4',
  'field.date': 'RFC 9110 6.6.1',
  'https://www.rfc-editor.org/rfc/rfc5861.html#section-3': 'RFC 5861 3',
  'https://www.rfc-editor.org/rfc/rfc5861.html#section-4': 'RFC 5861 4',
  'https://www.rfc-editor.org/rfc/rfc8246.html#section-2': 'RFC 8246 2',
  'https://www.rfc-editor.org/rfc/rfc9213.html': 'RFC 9213',
};

// Sections of the tests whose upstream definition names no anchor (none of their own, an empty
// list, and none in their suite), or only the whole of RFC 9213; looked up in the RFCs. An entry
// replaces the test's anchors. RFC 9213: 2.1 syntax (a Dictionary Structured Field; a field that
// fails to parse is ignored), 2.2 cache behaviour (the targeted field replaces Cache-Control and
// Expires; unknown directives ignored), 2.3 interaction with freshness (Age, Date and Expires a CDN
// may adjust), 3 the CDN-Cache-Control field (forwarded, or removed), 3.1 its examples.
const SECTIONS_BY_ID = {
  'cdn-max-age': ['RFC 9213 2.2'],
  'cdn-max-age-max': ['RFC 9213 2.1', 'RFC 9213 2.2'],
  'cdn-max-age-max-plus': ['RFC 9213 2.1', 'RFC 9213 2.2'],
  'cdn-max-age-age': ['4.2.3', 'RFC 9213 2.2'],
  'cdn-max-age-space-before-equals': ['RFC 9213 2.1'],
  'cdn-max-age-space-after-equals': ['RFC 9213 2.1'],
  'cdn-max-age-0': ['RFC 9213 2.2'],
  'cdn-max-age-extension': ['5.2.3', 'RFC 9213 2.2'],
  'cdn-max-age-case-insensitive': ['RFC 9213 2.1'],
  'cdn-max-age-expires': ['RFC 9213 2.2'],
  'cdn-max-age-cc-max-age-invalid-expires': ['RFC 9213 2.2'],
  'cdn-max-age-0-expires': ['RFC 9213 2.2'],
  'cdn-max-age-short-cc-max-age': ['RFC 9213 2.2'],
  'cdn-max-age-long-cc-max-age': ['RFC 9213 2.2'],
  'cdn-private': ['RFC 9213 2.2'],
  'cdn-no-cache': ['RFC 9213 2.2'],
  'cdn-no-store-cc-fresh': ['RFC 9213 2.2'],
  'cdn-fresh-cc-nostore': ['RFC 9213 2.2', 'RFC 9213 3.1'],
  'cdn-cc-invalid-sh-type-unknown': ['RFC 9213 2.1'],
  'cdn-cc-invalid-sh-type-wrong': ['RFC 9213 2.1'],
  'cdn-remove-header': ['RFC 9213 3'],
  'cdn-remove-age-exceed': ['RFC 9213 2.3'],
  'cdn-date-update-exceed': ['RFC 9213 2.3'],
  'cdn-expires-update-exceed': ['RFC 9213 2.3'],
  // the heuristically cacheable statuses (upstream gives these an empty list)
  ...Object.fromEntries([200, 203, 204, 404, 405, 410, 414, 501]
    .map((code) => [`heuristic-${code}-cached`, ['4.2.2', 'RFC 9110 15.1']])),
  // a cache stores the final response, never an interim one (RFC 9110 15.2: 1xx)
  'interim-102': ['3', 'RFC 9110 15.2'],
  'interim-103': ['3', 'RFC 9110 15.2'],
  'interim-no-header-reuse': ['3', '3.1', 'RFC 9110 15.2'],
  'other-age-delay': ['4.2.3', '5.1'], // response_delay counts into the Age sent
  'query-args-same': ['2', '4'], // the cache key is the whole target URI, query included
  'other-set-cookie': ['3', '7.3'], // 7.3: Set-Cookie does not inhibit caching
  'other-cookie': ['4', '4.1'], // a request's Cookie selects nothing unless the response varies on it
  'other-heuristic-content-disposition-attachment': ['4.2.2'],
  'other-fresh-content-disposition-attachment': ['4', '4.2'],
};

/**
 * The sections a test names, RFC 9111's bare and first, then each other RFC's after its number:
 * "4.2.1 5.3", "4.2.2 RFC 9110 15.1", "RFC 9213 2.1 2.2". From SECTIONS_BY_ID, else the test's
 * anchors, else (none, or an empty list) its suite's. A test with no section is an error.
 */
function sectionsOf(test, suite) {
  let sections = SECTIONS_BY_ID[test.id];
  if (sections === undefined) {
    const anchors = test.spec_anchors && test.spec_anchors.length > 0 ? test.spec_anchors : suite.spec_anchors || [];
    sections = anchors.map((a) => {
      if (!(a in SECTIONS)) throw new Error(`origin.js: no RFC section known for the anchor "${a}" (test ${test.id})`);
      return SECTIONS[a];
    });
  }
  if (sections.length === 0) throw new Error(`origin.js: no RFC section for the test ${test.id} (add it to SECTIONS_BY_ID)`);
  const byRfc = new Map([['', []]]);
  for (const s of new Set(sections)) {
    const [, rfc = '', number] = /^(?:(RFC \d+) )?(.+)$/.exec(s);
    if (!byRfc.has(rfc)) byRfc.set(rfc, []);
    byRfc.get(rfc).push(number);
  }
  return [...byRfc].filter(([, numbers]) => numbers.length > 0)
    .map(([rfc, numbers]) => (rfc ? `${rfc} ${numbers.join(' ')}` : numbers.join(' '))).join(' ');
}

// ---- upstream's shared pieces (tests/lib/*.mjs, test-engine/lib/*.mjs) ----

function isObject(item) {
  return item && typeof item === 'object' && !Array.isArray(item);
}

function mergeDeep(target, ...sources) {
  if (!sources.length) return target;
  const source = sources.shift();
  if (isObject(target) && isObject(source)) {
    for (const key in source) {
      if (isObject(source[key])) {
        if (!target[key]) Object.assign(target, { [key]: {} });
        mergeDeep(target[key], source[key]);
      } else if (Array.isArray(source[key])) {
        if (!target[key]) Object.assign(target, { [key]: [] });
        Object.assign(target, { [key]: target[key].concat(source[key]) });
      } else {
        Object.assign(target, { [key]: source[key] });
      }
    }
  }
  return mergeDeep(target, ...sources);
}

/** A template: called with a request object, it returns the template merged with it. */
function makeTemplate(template) {
  return (request) => mergeDeep({}, template, request);
}

const templates = {
  makeTemplate,
  fresh: makeTemplate({ response_headers: [['Cache-Control', 'max-age=100000'], ['Date', 0]], setup: true, pause_after: true }),
  stale: makeTemplate({ response_headers: [['Expires', -5000], ['Last-Modified', -100000], ['Date', 0]], setup: true, pause_after: true }),
  becomeStale: makeTemplate({ response_headers: [['Cache-Control', 'max-age=2'], ['Date', 0], ['Template-A', '1']], setup: true, pause_after: true }),
};

const contentStore = {};
/** Deterministic filler text for a key (upstream's utils.httpContent). */
function httpContent(csKey, contentLength = 15) {
  if (!(csKey in contentStore)) {
    let keySeed = 0;
    for (let i = 0; i < csKey.length; i++) keySeed += csKey.charCodeAt(i);
    let content = '';
    for (let i = 0; i < contentLength; ++i) content += String.fromCharCode(((i * keySeed) % 26) + 97);
    contentStore[csKey] = content;
  }
  return contentStore[csKey];
}

const RFC850_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n) => String(n).padStart(2, '0');

/** An HTTP date `deltaSecs` from `now` (ms), IMF-fixdate or, with format 'rfc850', the obsolete form. */
function httpDate(now, deltaSecs, format) {
  const t = new Date(now + deltaSecs * 1000);
  if (format === 'rfc850') {
    return `${RFC850_DAYS[t.getUTCDay()]}, ${pad2(t.getUTCDate())}-${MONTHS[t.getUTCMonth()]}-${String(t.getUTCFullYear()).slice(2)} `
      + `${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())}:${pad2(t.getUTCSeconds())} GMT`;
  }
  return t.toUTCString();
}

const utils = { httpContent, httpDate };

// tests/lib/header-list.mjs: the header fields the "headers" and "update304" suites try one by one.
const headerList = [
  { name: 'Test-Header', reqUpdate: true },
  { name: 'X-Test-Header', reqUpdate: true },
  { name: 'Content-Foo', reqUpdate: true },
  { name: 'X-Content-Foo', reqUpdate: true },
  { name: 'Cache-Control', valA: 'max-age=1', valB: 'max-age=3600', reqUpdate: true },
  { name: 'Connection', noStore: true },
  { name: 'Content-Encoding' },
  { name: 'Content-Length', valA: '36', valB: '10', noUpdate: true, checkBody: false },
  { name: 'Content-Location', valA: '/foo', valB: '/bar' },
  { name: 'Content-MD5', valA: 'rL0Y20zC+Fzt72VPzMSk2A==', valB: 'N7UdGUp1E+RbVvZSTy1R8g==' },
  { name: 'Content-Range' },
  { name: 'Content-Security-Policy', valA: 'default-src \'self\'', valB: 'default-src \'self\' cdn.example.com' },
  { name: 'Content-Type', valA: 'text/plain', valB: 'text/plain;charset=utf-8' },
  { name: 'Clear-Site-Data', valA: 'cache', valB: 'cookies' },
  { name: 'ETag', valA: '"abcdef"', valB: '"ghijkl"' },
  { name: 'Expires', valA: 'Fri, 01 Jan 2038 01:01:01 GMT', valB: 'Mon, 11 Jan 2038 11:11:11 GMT' },
  { name: 'Keep-Alive', noStore: true },
  { name: 'Proxy-Authenticate', noStore: true },
  { name: 'Proxy-Authentication-Info', noStore: true },
  { name: 'Proxy-Authorization', noStore: true },
  { name: 'Proxy-Connection', noStore: true },
  { name: 'Public-Key-Pins' },
  { name: 'Set-Cookie', valA: 'a=b', valB: 'a=c' },
  { name: 'Set-Cookie2', valA: 'a=b', valB: 'a=c' },
  { name: 'TE', noStore: true },
  { name: 'Transfer-Encoding', noStore: true },
  { name: 'Upgrade', noStore: true },
  { name: 'X-Frame-Options', valA: 'deny', valB: 'sameorigin' },
  { name: 'X-XSS-Protection', valA: '1', valB: '1; mode=block' },
];

/** Magic values: integer dates are seconds from the origin's now; locations are made absolute paths. */
function fixupHeader(header, respHeaders, reqConfig) {
  const name = header[0].toLowerCase();
  const serverNow = parseInt(respHeaders['server-now'], 10);
  if (DATE_HEADERS.has(name) && Number.isInteger(header[1])) {
    const format = reqConfig.rfc850date && reqConfig.rfc850date.includes(name) ? 'rfc850' : undefined;
    header[1] = httpDate(serverNow, header[1], format);
  }
  if (LOCATION_HEADERS.has(name) && reqConfig.magic_locations) {
    const base = respHeaders['server-base-url'];
    header[1] = header[1] ? `${base}/${header[1]}` : `${base}`;
  }
  return header;
}

// ---- results: a failed check of a setup step is reported as such (upstream's SetupError) ----

class ConformanceError extends Error {
  constructor(isSetup, message) {
    super(`${isSetup ? '[setup] ' : ''}${message}`);
    this.name = isSetup ? 'Setup' : 'Assertion';
  }
}

function assert(isSetup, expr, message) {
  if (!expr) throw new ConformanceError(isSetup, message);
}

function setupCheck(reqConfig, member) {
  return reqConfig.setup === true || (Array.isArray(reqConfig.setup_tests) && reqConfig.setup_tests.includes(member));
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// ---- the scripted origin (test-engine/server/handle-test.mjs) ----

function getHeader(headers, name) {
  let result;
  for (const header of headers || []) if (header[0].toLowerCase() === name.toLowerCase()) result = header[1];
  return result;
}

/**
 * Starts the origin on 127.0.0.1:0. Tests register their requests under a uuid
 * (`configs.set(uuid, requests)`) and read what it saw from `stash.get(uuid)`.
 * @param {{ now(): number, advance?(ms: number): number }} clock
 */
async function startOrigin(clock) {
  const configs = new Map();
  const stash = new Map();
  // The response headers each request config was last answered with, fixed up (dates as sent):
  // upstream fixes the config's own header arrays up in place, and reads the previous response's
  // Last-Modified from them to decide whether a validation matches.
  const sent = new WeakMap();

  function answer(response, status, message) {
    response.writeHead(status, { 'Content-Type': 'text/plain' });
    response.end(`${message}\n`);
  }

  function respond(uuid, request, response, requests) {
    const serverState = stash.get(uuid) || [];
    const srvReqNum = serverState.length + 1;
    const cliReqNum = parseInt(request.headers['req-num'], 10);
    const reqNum = cliReqNum || srvReqNum;
    const reqConfig = requests[reqNum - 1];
    const previousConfig = requests[reqNum - 2];
    const now = clock.now();

    for (const [status, headers = []] of reqConfig.interim_responses || []) {
      if (status === 102) response.writeProcessing();
      else if (status === 103) response.writeEarlyHints(Object.fromEntries(headers));
    }

    let httpStatus = reqConfig.response_status || [200, 'OK'];
    if ('expected_type' in reqConfig && reqConfig.expected_type.endsWith('validated')) {
      const previousLm = getHeader(sent.get(previousConfig) || previousConfig.response_headers, 'Last-Modified');
      if (previousLm && request.headers['if-modified-since'] === previousLm) httpStatus = [304, 'Not Modified'];
      const previousEtag = getHeader(sent.get(previousConfig) || previousConfig.response_headers, 'ETag');
      if (previousEtag && request.headers['if-none-match'] === previousEtag) httpStatus = [304, 'Not Modified'];
      if (httpStatus[0] !== 304) httpStatus = [999, '304 Not Generated'];
    }
    response.statusCode = httpStatus[0];
    response.statusMessage = httpStatus[1];

    const savedHeaders = new Map();
    const fixedHeaders = [];
    sent.set(reqConfig, fixedHeaders);
    response.setHeader('Server-Base-Url', request.url);
    response.setHeader('Server-Request-Count', srvReqNum);
    response.setHeader('Client-Request-Count', cliReqNum);
    response.setHeader('Server-Now', now);
    for (const raw of reqConfig.response_headers || []) {
      // a copy: the request objects are reused when a test is retried with --testNamePattern
      const header = fixupHeader([...raw], response.getHeaders(), reqConfig);
      fixedHeaders.push(header);
      if (response.hasHeader(header[0])) {
        response.setHeader(header[0], [].concat(response.getHeader(header[0]), header[1]));
      } else {
        response.setHeader(header[0], header[1]);
      }
      if (header.length < 3 || header[2] === true) savedHeaders.set(header[0], response.getHeader(header[0]));
    }
    if (!response.hasHeader('content-type')) response.setHeader('Content-Type', 'text/plain');
    // Node would add a Date from the system clock; on the fake clock that Date falls behind by
    // every pause before it, and a cache rightly counts the gap as age (RFC 9111 4.2.3).
    if (!REAL_TIME && !response.hasHeader('date')) response.setHeader('Date', new Date(now).toUTCString());

    serverState.push({
      request_num: cliReqNum,
      request_method: request.method,
      request_headers: request.headers,
      response_headers: Array.from(savedHeaders.entries()),
    });
    response.setHeader('Request-Numbers', serverState.map((item) => item.request_num).join(' '));
    stash.set(uuid, serverState);

    if (reqConfig.disconnect) {
      response.socket.destroy();
    } else if (NO_BODY_STATUS.has(response.statusCode)) {
      response.end();
    } else {
      // A test that scripts Content-Length (the "headers" suite) gets a body of that length:
      // Node refuses to send more bytes than the field announces.
      const body = Buffer.from(reqConfig.response_body || uuid);
      const length = parseInt(response.getHeader('content-length'), 10);
      response.end(Number.isInteger(length) && length < body.length ? body.subarray(0, length) : body);
    }
  }

  function respondSafely(...args) {
    try {
      respond(...args);
    } catch (err) {
      // a scripted header Node cannot send: the test fails on what the client then sees
      args[2].destroy(err);
    }
  }

  const server = http.createServer((request, response) => {
    request.resume(); // request bodies are not looked at
    const uuid = new URL(request.url, 'http://origin').pathname.split('/')[2];
    const requests = configs.get(uuid);
    if (!requests) return answer(response, 409, `Requests not found for ${uuid}`);
    const srvReqNum = (stash.get(uuid) || []).length + 1;
    const reqNum = parseInt(request.headers['req-num'], 10) || srvReqNum;
    const reqConfig = requests[reqNum - 1];
    if (!reqConfig) return answer(response, 409, `${requests[0].id} config not found for request ${srvReqNum} (anticipating ${requests.length})`);
    if ('response_pause' in reqConfig) {
      // the origin takes response_pause seconds to answer: on the fake clock, the clock moves on
      if (!REAL_TIME) clock.advance(reqConfig.response_pause * 1000);
      setTimeout(respondSafely, REAL_TIME ? reqConfig.response_pause * 1000 : PAUSE_SETTLE_MS, uuid, request, response, requests);
    } else {
      respondSafely(uuid, request, response, requests);
    }
    return undefined;
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    configs,
    stash,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- the client (test-engine/client/test.mjs) ----

/** Sends one request; resolves { status, headers (a WHATWG Headers), text, interim }. */
function send(baseUrl, agent, uuid, idx, reqConfig, prevHeaders) {
  let path = `/test/${uuid}`;
  if ('filename' in reqConfig) path += `/${reqConfig.filename}`;
  if ('query_arg' in reqConfig) path += `?${reqConfig.query_arg}`;
  const headers = (reqConfig.request_headers || []).map((h) => [...h]);
  if (reqConfig.magic_ims === true) {
    for (let i = 0; i < headers.length; i++) {
      if (headers[i][0].toLowerCase() === 'if-modified-since') headers[i] = fixupHeader(headers[i], prevHeaders, reqConfig);
    }
  }
  headers.push(['Test-Name', reqConfig.name.replace(/[^\x20-\x7e]/g, '?')], ['Test-ID', reqConfig.id], ['Req-Num', String(idx + 1)]);
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${path}`, { method: reqConfig.request_method || 'GET', agent, timeout: REQUEST_TIMEOUT_MS });
    const grouped = new Map();
    for (const [name, value] of headers) {
      const key = name.toLowerCase();
      if (!grouped.has(key)) grouped.set(key, [name, []]);
      grouped.get(key)[1].push(String(value));
    }
    for (const [name, values] of grouped.values()) req.setHeader(name, values.length === 1 ? values[0] : values);
    const interim = [];
    req.on('information', (info) => interim.push([info.statusCode, info.headers]));
    req.on('timeout', () => req.destroy(new Error(`Request ${idx + 1} got no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const received = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) received.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        resolve({ status: res.statusCode, headers: received, text: Buffer.concat(chunks).toString('utf8'), interim });
      });
    });
    // without a Content-Length Node frames no body for GET/DELETE/... and the bytes would be read
    // as the next request
    if (reqConfig.request_body !== undefined) req.setHeader('Content-Length', Buffer.byteLength(reqConfig.request_body));
    req.end(reqConfig.request_body);
  });
}

function checkResponse(uuid, reqConfig, idx, response) {
  const reqNum = idx + 1;
  const resNum = parseInt(response.headers.get('Server-Request-Count'), 10);

  if (response.headers.has('Request-Numbers')) {
    const seen = response.headers.get('Request-Numbers').split(' ').map((n) => parseInt(n, 10));
    assert(true, seen.length === new Set(seen).size, `Response ${reqNum}: the cache retried a request (origin saw ${seen.join(' ')})`);
  }

  if ('expected_type' in reqConfig) {
    const typeSetup = setupCheck(reqConfig, 'expected_type');
    if (reqConfig.expected_type === 'cached' && !(response.status === 304 && Number.isNaN(resNum))) {
      assert(typeSetup, resNum < reqNum, `Response ${reqNum} does not come from cache`);
    }
    if (reqConfig.expected_type === 'not_cached') assert(typeSetup, resNum === reqNum, `Response ${reqNum} comes from cache`);
  }

  if ('expected_status' in reqConfig) {
    if (reqConfig.expected_status !== null) {
      assert(setupCheck(reqConfig, 'expected_status'), response.status === reqConfig.expected_status,
        `Response ${reqNum} status is ${response.status}, not ${reqConfig.expected_status}`);
    }
  } else if ('response_status' in reqConfig) {
    assert(true, response.status === reqConfig.response_status[0], `Response ${reqNum} status is ${response.status}, not ${reqConfig.response_status[0]}`);
  } else if (response.status === 999) {
    assert(setupCheck(reqConfig, 'expected_type'), false, `Request ${reqNum} should have been conditional, but it was not.`);
  } else {
    assert(true, response.status === 200, `Response ${reqNum} status is ${response.status}, not 200`);
  }

  const headersNow = Object.fromEntries(response.headers);
  if ('expected_response_headers' in reqConfig) {
    const setup = setupCheck(reqConfig, 'expected_response_headers');
    for (const raw of reqConfig.expected_response_headers) {
      if (typeof raw === 'string') {
        assert(setup, response.headers.has(raw), `Response ${reqNum} ${raw} header not present.`);
      } else if (raw.length > 2) {
        assert(setup, response.headers.has(raw[0]), `Response ${reqNum} ${raw[0]} header not present.`);
        const value = response.headers.get(raw[0]);
        let condition;
        let msg;
        if (raw[1] === '=') {
          const expected = response.headers.get(raw[2]);
          condition = value === expected;
          msg = `match ${raw[2]} (${expected})`;
        } else if (raw[1] === '>') {
          condition = parseInt(value, 10) > raw[2];
          msg = `be bigger than ${raw[2]}`;
        } else {
          throw new Error(`Unknown expected-header operator '${raw[1]}'`);
        }
        assert(setup, condition, `Response ${reqNum} header ${raw[0]} is ${value}, should ${msg}`);
      } else {
        const expected = fixupHeader([...raw], headersNow, reqConfig)[1];
        assert(setup, response.headers.get(raw[0]) === expected,
          `Response ${reqNum} header ${raw[0]} is "${response.headers.get(raw[0])}", not "${expected}"`);
      }
    }
  }
  if ('expected_response_headers_missing' in reqConfig) {
    const setup = setupCheck(reqConfig, 'expected_response_headers_missing');
    for (const raw of reqConfig.expected_response_headers_missing) {
      if (typeof raw === 'string') {
        assert(setup, !response.headers.has(raw), `Response ${reqNum} includes unexpected header ${raw}: "${response.headers.get(raw)}"`);
      } else {
        // Upstream reads this through a property the Headers object does not have, so never fails
        // here; the check it means (the value must not contain the substring) is made.
        const value = response.headers.get(raw[0]);
        assert(setup, value === null || !value.includes(raw[1]), `Response ${reqNum} header ${raw[0]} still has value "${value}"`);
      }
    }
  }

  if ('expected_interim_responses' in reqConfig) {
    const setup = setupCheck(reqConfig, 'expected_interim_responses');
    reqConfig.expected_interim_responses.forEach(([statusCode, headers = []], i) => {
      const got = response.interim[i];
      assert(setup, got != null, `Interim response ${i + 1} not received`);
      assert(setup, got[0] === statusCode, `Interim response ${i + 1} status is ${got[0]}, not ${statusCode}`);
      for (const [name, value] of headers) {
        assert(setup, got[1][name.toLowerCase()] === value, `Interim response ${i + 1} header ${name} is ${got[1][name.toLowerCase()]}, should be ${value}`);
      }
    });
    assert(setup, response.interim.length === reqConfig.expected_interim_responses.length,
      `Received ${response.interim.length} interim response(s), expected ${reqConfig.expected_interim_responses.length}`);
  }

  if (reqConfig.check_body === false) return;
  if ('expected_response_text' in reqConfig) {
    if (reqConfig.expected_response_text !== null) {
      assert(setupCheck(reqConfig, 'expected_response_text'), response.text === reqConfig.expected_response_text,
        `Response body is "${response.text}", not "${reqConfig.expected_response_text}"`);
    }
  } else if ('response_body' in reqConfig && reqConfig.response_body !== null) {
    assert(true, response.text === reqConfig.response_body, `Response body is "${response.text}", not "${reqConfig.response_body}"`);
  } else if (!NO_BODY_STATUS.has(response.status) && reqConfig.request_method !== 'HEAD') {
    assert(true, response.text === uuid, `Response body is "${response.text}", not "${uuid}"`);
  }
}

function checkServerRequests(requests, responses, serverState) {
  let testIdx = 0;
  for (let i = 0; i < requests.length; ++i) {
    const reqConfig = requests[i];
    const response = responses[i];
    const serverRequest = serverState[testIdx];
    const reqNum = i + 1;
    const typeSetup = setupCheck(reqConfig, 'expected_type');
    const validating = [];
    if ('expected_type' in reqConfig) {
      if (reqConfig.expected_type === 'cached') continue; // the origin does not see the request
      if (reqConfig.expected_type === 'not_cached') {
        assert(typeSetup, serverRequest !== undefined && serverRequest.request_num === reqNum,
          `Response ${reqNum} comes from cache (${serverRequest ? serverRequest.request_num : 'no request'} on server)`);
      }
      if (reqConfig.expected_type === 'etag_validated') validating.push('if-none-match');
      if (reqConfig.expected_type === 'lm_validated') validating.push('if-modified-since');
    }
    testIdx++;
    for (const name of validating) {
      assert(typeSetup, serverRequest !== undefined, `request ${reqNum} wasn't sent to server`);
      assert(typeSetup, Object.prototype.hasOwnProperty.call(serverRequest.request_headers, name), `request ${reqNum} doesn't have ${name} header`);
    }
    if ('expected_request_headers' in reqConfig) {
      const setup = setupCheck(reqConfig, 'expected_request_headers');
      assert(setup, serverRequest !== undefined, `request ${reqNum} wasn't sent to server`);
      for (const header of reqConfig.expected_request_headers) {
        if (typeof header === 'string') {
          assert(setup, Object.prototype.hasOwnProperty.call(serverRequest.request_headers, header.toLowerCase()), `Request ${reqNum} ${header} header not present.`);
        } else {
          const value = serverRequest.request_headers[header[0].toLowerCase()];
          assert(setup, value === header[1], `Request ${reqNum} header ${header[0]} is "${value}", not "${header[1]}"`);
        }
      }
    }
    if ('expected_request_headers_missing' in reqConfig && serverRequest !== undefined) {
      const setup = setupCheck(reqConfig, 'expected_request_headers_missing');
      for (const header of reqConfig.expected_request_headers_missing) {
        if (typeof header === 'string') {
          assert(setup, !Object.prototype.hasOwnProperty.call(serverRequest.request_headers, header.toLowerCase()), `Request ${reqNum} ${header} header present.`);
        } else {
          const value = serverRequest.request_headers[header[0].toLowerCase()];
          assert(setup, value !== header[1], `Request ${reqNum} header ${header[0]} is "${value}"`);
        }
      }
    }
    if (serverRequest !== undefined && response !== undefined) {
      for (const [name, expectedRaw] of serverRequest.response_headers) {
        if (SKIP_RESPONSE_HEADERS.has(name.toLowerCase())) continue;
        const expected = Array.isArray(expectedRaw) ? expectedRaw.join(', ') : String(expectedRaw);
        const received = response.headers.get(name);
        assert(true, received === expected, `Response ${reqNum} header ${name} is "${received}", not "${expected}"`);
      }
    }
    if ('expected_method' in reqConfig) {
      assert(setupCheck(reqConfig, 'expected_method'), serverRequest !== undefined && serverRequest.request_method === reqConfig.expected_method,
        `Request ${reqNum} had method ${serverRequest && serverRequest.request_method}, not ${reqConfig.expected_method}`);
    }
  }
}

// ---- the Jest side ----

/**
 * Registers the tests of upstream suites in the calling test file: one `describe` per suite,
 * one per kind inside it (required / optimal / check / project: scripts/conformance.js counts by
 * it), one `it` per test named `[id] <RFC sections> <upstream name>`. Tests upstream runs only
 * against browser caches (browser_only) do not apply to a shared cache and are not registered.
 * Each file gets its own redis-server, cache, origin and proxy server.
 * @param {Array<{ name: string, id: string, tests: object[] }>} suites
 * @param {{ proxyOptions?: object }} [options]
 */
function runSuites(suites, { proxyOptions } = {}) {
  const env = {};
  const results = new Map();

  beforeAll(async () => {
    env.clock = REAL_TIME ? { now: () => Date.now(), advance() {} } : fakeClock();
    env.redis = await startRedis();
    ({ cache: env.cache } = await openCache({ redis: env.redis.url, commandTimeout: 1000, [kClock]: env.clock }));
    env.origin = await startOrigin(env.clock);
    if (process.env.RESPCACHE_CONFORMANCE_PROXY) {
      // another handler under test, e.g. a pass-through proxy to check the harness itself
      // eslint-disable-next-line global-require, import/no-dynamic-require
      env.handler = require(require('path').resolve(process.env.RESPCACHE_CONFORMANCE_PROXY))(env.origin.url);
    } else {
      env.handler = proxyOptions === undefined ? env.cache.proxy(env.origin.url) : env.cache.proxy(env.origin.url, proxyOptions);
    }
    env.server = http.createServer(env.handler);
    await new Promise((resolve) => env.server.listen(0, '127.0.0.1', resolve));
    env.url = `http://127.0.0.1:${env.server.address().port}`;
    env.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }, 20000);

  afterAll(async () => {
    if (env.agent) env.agent.destroy();
    if (env.server) {
      env.server.closeAllConnections();
      await new Promise((resolve) => env.server.close(() => resolve()));
    }
    if (env.handler && typeof env.handler.close === 'function') await env.handler.close();
    if (env.origin) await env.origin.close();
    await closeCaches();
    if (env.redis) await env.redis.close();
  });

  async function run(test) {
    assert(false, env.url !== undefined, 'the proxy server did not start (see the beforeAll error)');
    const uuid = crypto.randomUUID();
    const requests = test.requests.map((r) => ({ ...r, name: test.name, id: test.id }));
    env.origin.configs.set(uuid, requests);
    const responses = [];
    for (let idx = 0; idx < requests.length; idx++) {
      const reqConfig = requests[idx];
      const prev = idx > 0 ? Object.fromEntries(responses[idx - 1].headers) : undefined;
      const response = await send(env.url, env.agent, uuid, idx, reqConfig, prev);
      responses.push(response);
      checkResponse(uuid, reqConfig, idx, response);
      // A cache may write an entry after the answer has ended: before a request that must be
      // served from the cache, give it longer (upstream's runs pause 3 s before most of them).
      const next = requests[idx + 1];
      await sleep(next && next.expected_type === 'cached' && reqConfig.pause_after !== true ? CACHED_SETTLE_MS : SETTLE_MS);
      if (reqConfig.pause_after === true) {
        if (REAL_TIME) await sleep(PAUSE_MS);
        else {
          env.clock.advance(PAUSE_MS);
          await sleep(PAUSE_SETTLE_MS);
        }
      }
    }
    checkServerRequests(requests, responses, env.origin.stash.get(uuid) || []);
  }

  for (const suite of suites) {
    describe(`${suite.name} [${suite.id}]`, () => {
      for (const kind of ['required', 'optimal', 'check', 'project']) {
        const tests = suite.tests.filter((t) => (t.kind || 'required') === kind && !t.browser_only);
        if (tests.length === 0) continue;
        describe(kind, () => {
          for (const test of tests) {
            it(`[${test.id}] ${sectionsOf(test, suite)} ${test.name}`, async () => {
              try {
                await run(test);
                results.set(test.id, true);
              } catch (err) {
                results.set(test.id, false);
                const failedDeps = (test.depends_on || []).filter((d) => results.get(d) === false);
                const deps = test.depends_on ? `\n(cache-tests depends_on: ${test.depends_on.join(', ')}`
                  + `${failedDeps.length ? `; failed here: ${failedDeps.join(', ')}` : ''})` : '';
                err.message += deps;
                throw err;
              }
            }, REQUEST_TIMEOUT_MS * 2);
          }
        });
      }
    });
  }
}

module.exports = { runSuites, startOrigin, templates, utils, headerList, httpDate, SECTIONS };
