'use strict';

// Error classes with stable codes. The addon builds its rejections through the factory handed to
// it below, so a native timeout is a real RedisTimeoutError of this realm (instanceof works, and
// Jest's constructor checks see one TypeError class, not two).
const binding = require('./binding');

class RespcacheError extends Error {
  /**
   * @param {string} message
   * @param {string} code stable, machine-readable: ERR_RESPCACHE_*
   * @param {{ cause?: unknown }} [options]
   */
  constructor(message, code, options) {
    super(message, options);
    this.name = this.constructor.name;
    this.code = code;
  }
}

/** Redis answered the command with an error reply (WRONGTYPE, NOAUTH, OOM ...). */
class RedisReplyError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_REDIS_REPLY', options); }
}

/** Redis did not answer within commandTimeout (or connectTimeout while connecting). */
class RedisTimeoutError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_REDIS_TIMEOUT', options); }
}

/** Not connected and no connection attempt under way, or the connection dropped mid-command. */
class RedisUnavailableError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_REDIS_UNAVAILABLE', options); }
}

/**
 * Sentinel, Cluster: a master ran an invalidation's write, but its replicas did not all confirm
 * it in time (WAIT): a failover could still lose it. Retried for a while before it is the
 * rejection of the invalidation.
 */
class RedisUnconfirmedError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_REDIS_UNCONFIRMED', options); }
}

/** The cache (and its Redis connection) was closed. */
class CacheClosedError extends RespcacheError {
  constructor(message = 'the cache is closed', options) { super(message, 'ERR_RESPCACHE_REDIS_CLOSED', options); }
}

/** A route's keyBuilder threw, rejected or returned something other than a non-empty string. */
class KeyBuilderError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_KEY_BUILDER', options); }
}

/** A route's condition threw or rejected. */
class ConditionError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_CONDITION', options); }
}

/** Redis held a value under an entry key that is not a valid entry (it is then deleted). */
class CorruptEntryError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_CORRUPT_ENTRY', options); }
}

/**
 * Redis held a key of another type at one of the cache's index, registry or fence names (it is
 * then deleted, and the invalidation that found it goes on).
 */
class CorruptIndexError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_CORRUPT_INDEX', options); }
}

/** A response could not be encoded or written to Redis (or a key of another type was in the way). */
class StoreError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_STORE', options); }
}

/** A bad argument to an invalidation or event call (the promise rejects with it; nothing is done). */
class InvalidArgumentError extends TypeError {
  constructor(message, options) {
    super(message, options);
    this.name = 'InvalidArgumentError';
    this.code = 'ERR_RESPCACHE_INVALID_ARGUMENT';
  }
}

/** Redis runs with a maxmemory policy that may evict the cache's invalidation indexes. */
class EvictionPolicyError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_EVICTION_POLICY', options); }
}

/** An invalidation run after a write (route option `invalidates`) failed. */
class InvalidationError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_INVALIDATION', options); }
}

/** An onEvent handler threw or rejected. */
class EventHandlerError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_EVENT_HANDLER', options); }
}

/** A background refresh of a stale entry failed: the handler answered 5xx, failed, or did not finish in time. */
class RefreshError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_REFRESH', options); }
}

/** A handler failed (5xx, an error, or handlerTimeout) and its request was answered from a stale entry. */
class HandlerFailedError extends RespcacheError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_HANDLER_FAILED', options); }
}

/**
 * An upstream could not be reached or failed mid-response: refused or reset connections, DNS
 * failures, a request body that could not be sent. cache.proxy answers 502 (Bad Gateway) unless a
 * stale response may be served (stale-if-error); cache.fetch rejects (or its body read does);
 * cache.aggregate reports it as the call's error. The base class of the three below.
 */
class UpstreamError extends RespcacheError {
  constructor(message, options, code = 'ERR_RESPCACHE_UPSTREAM') { super(message, code, options); }
}

/**
 * No answer in time: cache.proxy's upstream did not connect, send its headers or its next body
 * chunk within its `timeout` (504, Gateway Timeout); a cache.fetch or cache.aggregate call had no
 * complete response within its `timeout`.
 */
class UpstreamTimeoutError extends UpstreamError {
  constructor(message, options) { super(message, options, 'ERR_RESPCACHE_UPSTREAM_TIMEOUT'); }
}

/**
 * A TLS connection to Redis could not be set up, or its settings cannot be used. Each cause has
 * its subclass and code below; `err.cause`, when set by the addon, is { reason, detail }: a
 * node:tls-style reason (CERT_HAS_EXPIRED ...) and OpenSSL's own text. The first two are thrown
 * by createCache(); the others reach the 'error' event while requests bypass Redis.
 */
class TlsError extends RespcacheError {}

/** A PEM that does not parse, a key that does not match its certificate, or a wrong passphrase (createCache() throws it). */
class TlsBadOptionsError extends TlsError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_TLS_BAD_OPTIONS', options); }
}

/** This process has no OpenSSL 3 the addon can use (createCache() throws it). */
class TlsUnavailableError extends TlsError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_TLS_UNAVAILABLE', options); }
}

/** The server's certificate is not signed by an authority in `tls.ca` (or Node's roots). */
class TlsUnknownCaError extends TlsError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_TLS_UNKNOWN_CA', options); }
}

/** The server's certificate is not valid for the host (or `tls.servername`). */
class TlsNameMismatchError extends TlsError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_TLS_NAME_MISMATCH', options); }
}

/** The server's certificate has expired, or is not valid yet. */
class TlsCertExpiredError extends TlsError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_TLS_CERT_EXPIRED', options); }
}

/** The server wants a client certificate and got none, or refused the one sent. */
class TlsClientCertRejectedError extends TlsError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED', options); }
}

/** Any other TLS failure: no TLS on that port, no common protocol version, the handshake cut short. */
class TlsHandshakeError extends TlsError {
  constructor(message, options) { super(message, 'ERR_RESPCACHE_TLS_HANDSHAKE', options); }
}

/**
 * A call of cache.aggregate() answered with a status other than 2xx. `status`, `headers` and
 * `body` are the response's, as a successful call's result would hold them (the body as text when
 * it does not parse as the JSON its content-type says; undefined, with the reason as `cause`, when
 * it could not be read).
 */
class UpstreamStatusError extends UpstreamError {
  constructor(message, response, options) {
    super(message, options, 'ERR_RESPCACHE_UPSTREAM_STATUS');
    holdResponse(this, response);
  }
}

/**
 * A response's body is not what its header fields say: it does not decode as its Content-Encoding
 * says (a cache.fetch() body read rejects with it), or a cache.aggregate() call's 2xx body does not
 * parse as the JSON its content-type says. `status` and `headers` are the response's; `body` is
 * its text when it was read (the JSON case), else undefined; `cause` is the decoder's or parser's error.
 */
class UpstreamBodyError extends UpstreamError {
  constructor(message, response, options) {
    super(message, options, 'ERR_RESPCACHE_UPSTREAM_BODY');
    holdResponse(this, response);
  }
}

/** Sets an upstream error's `status`, `headers` and `body` (the response it is about). */
function holdResponse(err, { status, headers, body }) {
  Object.assign(err, { status, headers, body });
}

/**
 * cache.aggregate() with `allowPartial: false` and at least one failed call. `failed` names the
 * failed calls, `errors` maps each to its error, `results` holds the calls that succeeded.
 */
class AggregateCallError extends RespcacheError {
  constructor(message, { errors, results, failed }) {
    super(message, 'ERR_RESPCACHE_AGGREGATE');
    this.failed = failed;
    this.errors = errors;
    this.results = results;
  }
}

const byCode = {
  ERR_RESPCACHE_REDIS_REPLY: RedisReplyError,
  ERR_RESPCACHE_REDIS_TIMEOUT: RedisTimeoutError,
  ERR_RESPCACHE_REDIS_UNAVAILABLE: RedisUnavailableError,
  ERR_RESPCACHE_REDIS_UNCONFIRMED: RedisUnconfirmedError,
  ERR_RESPCACHE_REDIS_CLOSED: CacheClosedError,
  ERR_RESPCACHE_TLS_BAD_OPTIONS: TlsBadOptionsError,
  ERR_RESPCACHE_TLS_UNAVAILABLE: TlsUnavailableError,
  ERR_RESPCACHE_TLS_UNKNOWN_CA: TlsUnknownCaError,
  ERR_RESPCACHE_TLS_NAME_MISMATCH: TlsNameMismatchError,
  ERR_RESPCACHE_TLS_CERT_EXPIRED: TlsCertExpiredError,
  ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED: TlsClientCertRejectedError,
  ERR_RESPCACHE_TLS_HANDSHAKE: TlsHandshakeError,
};

// (code, message[, cause]): the addon may hand a cause (the TLS errors' { reason, detail }).
binding.setErrorFactory((code, message, cause) => {
  const Class = byCode[code];
  const options = cause === undefined ? undefined : { cause };
  return Class ? new Class(message, options) : new RespcacheError(message, code, options);
});

module.exports = {
  RespcacheError,
  RedisReplyError,
  RedisTimeoutError,
  RedisUnavailableError,
  RedisUnconfirmedError,
  CacheClosedError,
  KeyBuilderError,
  ConditionError,
  CorruptEntryError,
  CorruptIndexError,
  StoreError,
  InvalidArgumentError,
  EvictionPolicyError,
  InvalidationError,
  EventHandlerError,
  RefreshError,
  HandlerFailedError,
  UpstreamError,
  UpstreamTimeoutError,
  TlsError,
  TlsBadOptionsError,
  TlsUnavailableError,
  TlsUnknownCaError,
  TlsNameMismatchError,
  TlsCertExpiredError,
  TlsClientCertRejectedError,
  TlsHandshakeError,
  UpstreamStatusError,
  UpstreamBodyError,
  AggregateCallError,
};
