'use strict';

// Writes (an unsafe method the route does not cache, RFC 9111 section 4.4): once the handler's
// response is known to be a success (2xx/3xx), the entries stored for the request's path and
// whatever the route's `invalidates` names are removed before the response's last byte is sent,
// so the writer's next read sees its write. A failed invalidation is reported; the response
// still goes out.
const { InvalidationError } = require('../errors');
const { checkTags } = require('../stores/contract');
const { requestPath, requestPaths } = require('../http/paths');
const { bypass } = require('./handler');

async function writeInvalidation(r, req, res) {
  const route = r.route;
  const paths = requestPaths(req);
  let tags = [];
  const named = typeof route.invalidates === 'function' ? await route.invalidates(req, res) : route.invalidates;
  if (Array.isArray(named)) {
    tags = named;
  } else if (named !== null && named !== undefined) {
    if (typeof named !== 'object') throw new TypeError('the "invalidates" function returned neither an array of tags nor { tags, paths }');
    if (named.tags !== undefined) tags = named.tags;
    if (named.paths !== undefined) {
      if (!Array.isArray(named.paths)) throw new TypeError('the "paths" that "invalidates" returned is not an array');
      paths.push(...named.paths);
    }
  }
  checkTags(tags, 'the tags to invalidate');
  await Promise.all([r.cache.invalidatePath(paths), tags.length > 0 ? r.cache.invalidateTags(tags) : 0]);
}

/** Lets the write's handler run, holding back its response's end until the invalidation is done. */
function invalidateOnWrite(r, req, res, next) {
  const originalEnd = res.end;
  res.end = function end(...args) {
    res.end = originalEnd;
    if (res.statusCode < 200 || res.statusCode >= 400) return originalEnd.apply(res, args);
    let work;
    try {
      work = writeInvalidation(r, req, res);
    } catch (err) {
      work = Promise.reject(err);
    }
    work.catch((err) => r.report(new InvalidationError(
      `invalidating after ${req.method} ${requestPath(req)} failed: ${err && err.message}`, { cause: err })))
      .then(() => originalEnd.apply(res, args));
    return res;
  };
  bypass(r, req, res, next, undefined, `method ${req.method}`);
}

module.exports = { invalidateOnWrite };
