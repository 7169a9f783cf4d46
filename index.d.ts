// Type definitions for respcache: the public API only.
//
// Self-contained on purpose: no import of 'events', 'http', 'express' or 'prom-client', so a
// project compiles under --strict without @types/node, @types/express or prom-client. What
// respcache reads from a request, a response or a metrics registry is typed structurally: an
// Express Request, an Express Response and a prom-client Registry all fit.

/**
 * A callback type whose parameters are compared bivariantly, as a method's are, so a callback
 * annotated with a richer type (`(req: express.Request) => …`) still fits under --strict.
 */
type Callback<A extends unknown[], R> = { bivarianceHack(...args: A): R }['bivarianceHack'];

/** Node's Buffer where Node's types are loaded, else Uint8Array (which a Buffer is). */
type NodeBuffer = typeof globalThis extends { Buffer: { alloc(size: number): infer B } } ? B : Uint8Array;

/** A parsed query string, as Express gives it (`?a=1&a=2` is an array, `?a[b]=1` an object). */
export interface CacheQuery {
  [name: string]: undefined | string | CacheQuery | Array<string | CacheQuery>;
}

/**
 * The request respcache hands to callbacks: the Express request, typed by what every Express
 * request has. Add what your middleware attaches by augmenting it:
 * `declare module 'respcache' { interface CacheRequest { user?: { id: string } } }`.
 */
export interface CacheRequest {
  method: string;
  /** The target as routed (a mounted router sees its own part). */
  url: string;
  /** The target as received. */
  originalUrl: string;
  baseUrl: string;
  /** The routed path, without the query. */
  path: string;
  /** Route parameters. (Express 5 gives a `*name` wildcard's segments as an array at run time.) */
  params: Record<string, string>;
  query: CacheQuery;
  headers: Record<string, string | string[] | undefined>;
  /** A request header, by case-insensitive name. */
  get(name: string): string | undefined;
}

/** The response respcache hands to callbacks: the Express response, typed by what it has. */
export interface CacheResponse {
  statusCode: number;
  getHeader(name: string): number | string | string[] | undefined;
  hasHeader(name: string): boolean;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  /** A response header, by case-insensitive name (Express). */
  get(name: string): string | undefined;
  locals: Record<string, any>;
}

/** Express middleware, as cache.middleware() and cacheResponse() return it. */
export type Middleware = Callback<[req: CacheRequest, res: CacheResponse, next: (err?: unknown) => void], void>;

/** Decides which requests share an entry: two requests share one exactly when their keys are equal. */
export type KeyBuilder = Callback<[req: CacheRequest, prefix: string], string | Promise<string>>;

/** What a write invalidates: tags, or tags and paths ('/exact/path' or '/prefix/*'). */
export type Invalidates = readonly string[] | { tags?: readonly string[]; paths?: readonly string[] };

/** Anything with prom-client's `registerMetric`, such as `require('prom-client').register`. */
export interface MetricsRegistry {
  registerMetric(metric: unknown): void;
}

export interface RedisEndpoint {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 6379. */
  port?: number;
  /** Unix socket path; host and port are then unused. */
  path?: string;
  username?: string;
  password?: string;
  /** Default 0. */
  db?: number;
}

/** A node of a cluster, or a Sentinel: `host` defaults to '127.0.0.1', `port` to 6379 (26379 for a Sentinel). */
export interface NodeAddress {
  host?: string;
  port?: number;
}

/**
 * A node as a URL, `redis://host[:port]` or `rediss://host[:port]` (TLS), with no credentials and
 * no database (those are options of their own), or as an object.
 */
export type NodeSeed = string | NodeAddress;

/** Redis Cluster: the `cluster` option. */
export interface ClusterOptions {
  /** At least one node to discover the cluster from; the others are found by asking it. */
  nodes: readonly NodeSeed[];
  /** ACL user of every node; needs `password`. */
  username?: string;
  /** Password of every node. */
  password?: string;
  /** Milliseconds between reads of the slot map; default 5000. */
  slotsRefreshInterval?: number;
  /** MOVED/ASK redirections a command may follow, 0 to 1000; default 16. */
  maxRedirections?: number;
  /** A cluster has database 0 only. */
  db?: never;
}

/** Redis Sentinel: the `sentinel` option. */
export interface SentinelOptions {
  /** At least one Sentinel to ask where the master is. */
  nodes: readonly NodeSeed[];
  /** The master group's name, as in `sentinel monitor <name> ...`: letters, digits, '.', '-' and '_'. */
  name: string;
  /** ACL user of the data nodes (master and replicas); needs `password`. */
  username?: string;
  /** Password of the data nodes. */
  password?: string;
  /** Database of the data nodes; default 0. */
  db?: number;
  /** ACL user of the Sentinels; needs `sentinelPassword`. */
  sentinelUsername?: string;
  /** Password of the Sentinels. */
  sentinelPassword?: string;
  /**
   * TLS to the Sentinels, when it differs from the data nodes' (the cache's `tls` option, which
   * applies to both by default). false: plain TCP to the Sentinels.
   */
  tls?: boolean | TlsOptions;
}

/** A PEM, as node:tls takes it: text, the bytes of a PEM file (a Buffer), or several of them. */
export type TlsPem = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

/** The "tls" option's settings, named and defaulted as node:tls's. */
export interface TlsOptions {
  /** Authorities trusted to sign the server's certificate. Default: Node's (tls.rootCertificates). */
  ca?: TlsPem;
  /** Client certificate chain, for servers that require one (tls-auth-clients); needs `key`. */
  cert?: TlsPem;
  /** The client certificate's private key; needs `cert`. */
  key?: TlsPem;
  /** Decrypts an encrypted `key`. */
  passphrase?: string;
  /** Name sent as SNI and checked against the certificate. Default: the host, when it is a DNS name. */
  servername?: string;
  /** false: accept any certificate, for any name (no verification at all). Default true. */
  rejectUnauthorized?: boolean;
  /** Default 'TLSv1.2'. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface CacheOptions {
  /**
   * A single Redis server: redis://[[username]:password@]host[:port][/db], rediss://… (TLS),
   * unix:///path[?db=N], or an object. Default: REDIS_URL, else none (embedded mode: in-process
   * only). At most one of `redis`, `cluster` and `sentinel`.
   */
  redis?: string | RedisEndpoint;
  /** A Redis Cluster, found from its seed nodes. keyPrefix may then hold no '{' or '}'. */
  cluster?: ClusterOptions;
  /** A master and its replicas monitored by Redis Sentinel, found by asking the Sentinels. */
  sentinel?: SentinelOptions;
  /**
   * TLS to Redis (every node, and the Sentinels unless `sentinel.tls` says otherwise): true
   * (verified against Node's roots) or settings. Default: TLS for rediss://, none otherwise. Not
   * with a unix socket or without Redis.
   */
  tls?: boolean | TlsOptions;
  /** Default 'respcache'. Default keys start with it. */
  keyPrefix?: string;
  /** The in-process tier: a near cache in front of Redis, or the only tier when no Redis is configured. */
  local?: boolean | { maxBytes?: number; ttl?: number };
  /** Store entries of at least `threshold` bytes (default 1024) gzipped when their type is text-like. Default off. */
  compress?: boolean | { threshold?: number };
  /** Milliseconds; default 1000. */
  connectTimeout?: number;
  /** Milliseconds; default 100. A slower Redis is bypassed, not waited for. */
  commandTimeout?: number;
}

export interface RouteOptions {
  /** Seconds, default 300; or 'http': from the response's s-maxage / max-age / Expires - Date / heuristic, less its age (RFC 9111 4.2). */
  ttl?: number | 'http';
  /** ttl: 'http' only. Lifetime of a response without one (RFC 9111 4.2.2). Default { fraction: 0.1, maxAge: 86400, fallback: 300 }. */
  heuristic?: { fraction?: number; maxAge?: number; fallback?: number };
  /** ttl: 'http' only. Seconds Redis keeps an entry with a validator (ETag, Last-Modified) once stale, so that it can be revalidated. Default 86400; 0 turns it off. */
  retainStale?: number;
  /** Cache-Control sent to clients unless the handler sets its own. */
  cacheControl?: string | {
    public?: boolean; private?: boolean; noCache?: boolean; mustRevalidate?: boolean;
    maxAge?: number; sMaxAge?: number; staleWhileRevalidate?: number; staleIfError?: number;
  };
  /** Let request Cache-Control: no-cache / max-age=0 / Pragma: no-cache run the handler. Default false. */
  honorRequestNoCache?: boolean;
  /** Default: the cache's keyPrefix. */
  keyPrefix?: string;
  /** Default: the built-in key (see `keys`). */
  keyBuilder?: KeyBuilder;
  /** Decides, after the built-in rules, whether a response is stored; `body` is the complete body. */
  condition?: Callback<[req: CacheRequest, res: CacheResponse, body: NodeBuffer], boolean | Promise<boolean>>;
  /** Statuses that are stored. Default [200]. */
  statuses?: readonly number[];
  /** Default ['GET', 'HEAD']; other methods need a keyBuilder. */
  methods?: readonly string[];
  /** Bytes; default 1 MiB. Larger responses pass through unstored. */
  maxBodySize?: number;
  /** Adds X-Cache-Key to responses. Default false. */
  exposeKey?: boolean;
  /** Request headers whose values join the built-in key (and the response's Vary). */
  vary?: readonly string[];
  /** Seconds after expiry during which the entry is served (X-Cache: STALE) while one refresh runs. */
  staleWhileRevalidate?: number;
  /** Seconds after expiry during which the entry answers instead of a failed handler. */
  staleIfError?: number;
  /** Milliseconds a handler may take to start its response when a stale entry can answer instead. */
  handlerTimeout?: number;
  /** One handler run per key for concurrent misses, in this process and across processes. Default true. */
  coalesce?: boolean;
  /** Milliseconds a waiter waits for the leader before running its own handler. Default 10000. */
  coalesceTimeout?: number;
  /** Milliseconds the cross-process fill lock lives if its holder dies. Default 10000. */
  lockTtl?: number;
  /** Tags of the stored entry, for cache.invalidateTags(); a function is called when the response is stored. */
  tags?: readonly string[] | Callback<[req: CacheRequest, res: CacheResponse], readonly string[]>;
  /** Versioned namespace of the route's entries, for cache.bumpNamespace(). */
  namespace?: string | Callback<[req: CacheRequest], string>;
  /** On unsafe methods: what a successful (2xx/3xx) response invalidates, besides its own path. */
  invalidates?: readonly string[]
    | Callback<[req: CacheRequest, res: CacheResponse], Invalidates | Promise<Invalidates>>;
  /** Lets cache.front(app) answer this route's in-process HITs before the app runs (built-in key only). */
  front?: boolean;
}

/** Options of cache.wrap() and cache.set(). */
export interface ValueOptions {
  /** Seconds; default 300. */
  ttl?: number;
  /** Milliseconds (wrap); default 10000. */
  coalesceTimeout?: number;
  /** Milliseconds (wrap); default 10000. */
  lockTtl?: number;
}

/** The in-process tier's figures. */
export interface LocalStats {
  entries: number;
  bytes: number;
  maxBytes: number;
  hits: number;
  misses: number;
  evictions: number;
  expirations: number;
}

/** Counters since the cache was created. */
export interface CacheStats {
  /** HITs, of which localHits, coalesced and stale. */
  hits: number;
  localHits: number;
  coalesced: number;
  /** STALE answers (counted in hits too). */
  stale: number;
  misses: number;
  bypasses: number;
  stores: number;
  storeFailures: number;
  /** Stores refused because an invalidation happened while the response was being computed. */
  storesFenced: number;
  /** Entries removed by invalidateTags / invalidatePath / invalidateKeys. */
  invalidated: number;
  invalidationEvents: number;
  errors: number;
  suppressedErrors: number;
  /** The in-process tier's figures, or null when it is off. */
  local: LocalStats | null;
}

export interface WarmOptions {
  /** Sent with every request; the built-in key includes Host. */
  headers?: Record<string, string | number | readonly string[]>;
  /** Requests at a time; default 4. */
  concurrency?: number;
  /** Milliseconds per request; default 30000. */
  timeout?: number;
}

export interface WarmResult {
  path: string;
  /** The answer's status, or 0 when the request failed. */
  status: number;
  /** The answer's X-Cache. */
  cache: string | undefined;
  /** Why the request failed. */
  error?: string;
}

/** The cache's events and their listeners. */
export interface CacheEvents {
  /** Connected and usable; again after every reconnection. */
  ready: () => void;
  reconnecting: () => void;
  /** Closed, and the connection to Redis is gone. */
  end: () => void;
  /** An invalidation announced by any instance: 'e:<key>' per entry removed, 'n:<namespace>' for a bump. */
  invalidated: (name: string) => void;
  /** A background refresh stored the new entry for `key`. */
  refreshed: (key: string) => void;
  /** A cache fault; it never fails a response. Nothing is thrown when nobody listens. */
  error: (err: RespcacheError) => void;
}

/** Removes an onEvent() handler; `ready` resolves once this instance's subscription is confirmed. */
export type EventSubscription = (() => void) & { ready: Promise<void> };

/** A response cache: an EventEmitter (see CacheEvents). */
export declare class Cache {
  /** As createCache(options). */
  constructor(options?: CacheOptions);
  readonly keyPrefix: string;
  readonly status: 'connecting' | 'ready' | 'reconnecting' | 'closed';

  /** Route middleware: `app.get(path, cache.middleware({ ttl: 60 }), handler)`. */
  middleware(options?: RouteOptions): Middleware;
  /**
   * A cached, coalesced HTTP client through the same shared cache as cache.proxy(): resolves with
   * a WHATWG Response carrying X-Cache (docs/api.md), its body decoded from gzip, x-gzip, deflate
   * and br as fetch() decodes it (headers as sent; the stored entry stays encoded). Rejects with a
   * TypeError naming a bad option, an UpstreamError (UpstreamTimeoutError after `timeout`), or the
   * signal's reason; a failing body read rejects with those or UpstreamBodyError. The call's `ttl`
   * and `tags` apply only to the response it stores: a HIT or a coalesced answer leaves the entry as it is.
   */
  fetch(url: string | WebURL, init?: FetchInit): Promise<WebResponse>;
  /**
   * Service calls run concurrently through cache.fetch(), each cached by its own ttl (applied, with
   * its tags, only to what that call stores), merged with per-call errors: UpstreamError,
   * UpstreamTimeoutError, UpstreamStatusError (any non-2xx), UpstreamBodyError (a 2xx whose JSON does not parse).
   */
  aggregate<K extends string = string>(calls: Record<K, AggregateCall> | Array<AggregateCall & { name: K }>,
    options?: AggregateOptions): Promise<AggregateResult<K>>;
  /** Fills entries with a GET to the app's own server (a listening server, or its base URL) per path. */
  warm(target: string | { address(): unknown }, paths: readonly string[], options?: WarmOptions): Promise<WarmResult[]>;

  /** The value stored for `key`, or undefined (also when Redis cannot answer). */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores a value (a Buffer, a string, or anything JSON can represent). */
  set(key: string, value: unknown, options?: ValueOptions): Promise<void>;
  /** The value stored for `key`, or fn's result, run once for all concurrent callers and stored. */
  wrap<T>(key: string, fn: () => T | PromiseLike<T>, options?: ValueOptions): Promise<T>;

  /** Deletes the entry for `key` (what a keyBuilder returned, or an X-Cache-Key); resolves whether there was one. */
  delete(key: string): Promise<boolean>;
  /** Removes every entry carrying any of the tags; resolves with the number removed. */
  invalidateTags(tags: readonly string[]): Promise<number>;
  /** '/exact/path' or '/prefix/*'; resolves with the number of entries removed. */
  invalidatePath(paths: string | readonly string[]): Promise<number>;
  /** Removes the entries whose keys match a Redis glob pattern. */
  invalidateKeys(pattern: string): Promise<number>;
  /** Makes every entry of the namespace a MISS; resolves with the namespace's new version. */
  bumpNamespace(namespace: string): Promise<number>;

  /** Sends an application event to every instance sharing the Redis and keyPrefix. */
  publish(event: string, payload?: unknown): Promise<void>;
  /** Calls `handler(payload)` for every event of that name, from any instance. */
  onEvent(event: string, handler: (payload: any) => void | Promise<void>): EventSubscription;

  stats(): CacheStats;
  localStats(): LocalStats | null;
  /** Registers Prometheus metrics with a prom-client registry. */
  metrics(register: MetricsRegistry, options?: { prefix?: string }): void;
  /** Closes the connections once commands in flight have settled. */
  close(): Promise<void>;
  /**
   * The front lane of the root app, for http.createServer(): answers in-process HITs of routes
   * with `front: true` before the app runs, and hands every other request to the app.
   */
  front<L extends (req: any, res: any) => void>(app: L): (req: Parameters<L>[0], res: Parameters<L>[1]) => void;
  /**
   * A gateway in front of an upstream service, caching as an RFC 9111 shared cache: a request
   * listener for http.createServer() that is also Express middleware (docs/gateway.md).
   * Throws a TypeError naming the option when an option is invalid.
   */
  proxy(upstream: string, options?: ProxyOptions): ProxyHandler;

  on<E extends keyof CacheEvents>(event: E, listener: CacheEvents[E]): this;
  addListener<E extends keyof CacheEvents>(event: E, listener: CacheEvents[E]): this;
  prependListener<E extends keyof CacheEvents>(event: E, listener: CacheEvents[E]): this;
  once<E extends keyof CacheEvents>(event: E, listener: CacheEvents[E]): this;
  prependOnceListener<E extends keyof CacheEvents>(event: E, listener: CacheEvents[E]): this;
  off<E extends keyof CacheEvents>(event: E, listener: CacheEvents[E]): this;
  removeListener<E extends keyof CacheEvents>(event: E, listener: CacheEvents[E]): this;
  removeAllListeners(event?: keyof CacheEvents): this;
  listenerCount(event: keyof CacheEvents): number;
}

/** Options of cache.proxy(upstream, options); every one is optional (docs/gateway.md). */
export interface ProxyOptions {
  /**
   * A cap in seconds on the freshness lifetime: stored fresh for min(HTTP freshness, ttl). It never
   * makes a stale or unstorable response servable. null (default): no cap.
   */
  ttl?: number | null;
  /** Share of the Last-Modified age a response without explicit freshness stays fresh (default 0.1). */
  heuristicFraction?: number;
  /** Cap on a heuristic lifetime, in seconds (default 86400). */
  heuristicMaxAge?: number;
  /** Only store these statuses (default null: every status RFC 9111 allows). */
  statuses?: number[] | null;
  /** Largest body stored, in bytes (default 8 MiB); larger ones are streamed and not stored. */
  maxBodyBytes?: number;
  /** Seconds a stale entry with a validator is kept for revalidation (default 86400). */
  retainStale?: number;
  /** Honour CDN-Cache-Control (RFC 9213) over Cache-Control (default true). */
  cdnCacheControl?: boolean;
  /** Upstream timeouts in ms: one number for all, or each (defaults 10000, 30000, 30000). */
  timeout?: number | { connect?: number; headers?: number; body?: number };
  /** Tags of every stored response, or a function of the exchange that returns them. */
  tags?: string[] | ((request: ProxyRequest, response: { status: number; headers: Record<string, string | string[]> }) => string[]);
  /** Coalesce concurrent misses of a URL in this process and across processes (default true). */
  coalesce?: boolean;
  /** How long a coalesced request waits for the one that fetches, in ms (default 10000). */
  coalesceTimeout?: number;
  /** How long the cross-process fill lock is held at most, in ms (default 10000). */
  lockTtl?: number;
  /** `Via: 1.1 respcache` (true, default) or `Via: 1.1 <pseudonym>`; a proxy must send Via (RFC 9110 7.6.3), so false throws. */
  via?: true | string;
  /**
   * Send X-Forwarded-For (appended), -Host and -Proto, set by the gateway (the client's Forwarded
   * and other forwarded fields, X-Forwarded-Host, -Proto, -Port, -Prefix, -Server, -Scheme, X-Original-URL
   * and the like, removed unless `trustForwarded`: docs/api.md); every
   * forwarded field sent but X-Forwarded-For is part of the cache key (default true). false: none
   * sent, the key is the URL alone, as cache.fetch()'s (whose entries such a gateway shares).
   */
  xForwarded?: boolean;
  /**
   * Behind a proxy that sets them (a TLS-terminating load balancer): pass the client's Forwarded
   * and other forwarded fields on as they are, X-Forwarded-Host / -Proto set by
   * the gateway only where none was sent; each is part of the cache key (default false). Only
   * with `xForwarded` (true with `xForwarded: false` throws).
   */
  trustForwarded?: boolean;
  /** Most upstream connections kept alive (default 128). */
  connections?: number;
}

/** What the gateway's `tags` function is given about the request. */
export interface ProxyRequest {
  method: string;
  /** The absolute upstream URL. */
  url: string;
  headers: Record<string, string | string[]>;
}

/**
 * A global class's instance type when the consumer's lib declares it (lib "DOM", or @types/node),
 * else a minimal shape: these types compile with ES2022's lib alone.
 */
type GlobalOr<K extends string, Fallback> = typeof globalThis extends Record<K, { prototype: infer T }> ? T : Fallback;
/** The global Response (cache.fetch() resolves with one). */
export type WebResponse = GlobalOr<'Response', {
  readonly status: number; readonly ok: boolean; readonly url: string;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };
  text(): Promise<string>; json(): Promise<any>; arrayBuffer(): Promise<ArrayBuffer>;
}>;
/** The global Headers. */
export type WebHeaders = GlobalOr<'Headers', { get(name: string): string | null; forEach(fn: (value: string, name: string) => void): void }>;
/** The global AbortSignal. */
export type WebAbortSignal = GlobalOr<'AbortSignal', { readonly aborted: boolean; readonly reason: any }>;
/** The global URL. */
export type WebURL = GlobalOr<'URL', { readonly href: string; readonly origin: string }>;

/** The init of cache.fetch(url, init). */
export interface FetchInit {
  /** Default 'GET'. */
  method?: string;
  headers?: Record<string, string | number | undefined> | WebHeaders | Array<[string, string]>;
  /** Not with GET or HEAD. */
  body?: string | Uint8Array | null;
  signal?: WebAbortSignal | null;
  /**
   * Seconds: a fixed lifetime instead of the response's HTTP freshness (storability rules still
   * apply), for the response this call stores (a MISS, a revalidation); a HIT or a coalesced
   * answer leaves the entry's lifetime as it is.
   */
  ttl?: number | null;
  /** Tags of the response this call stores, for cache.invalidateTags(); a HIT or a coalesced answer adds none. */
  tags?: string[];
  /**
   * Milliseconds for the whole exchange, body included: then the request is aborted and the call
   * (or its body read) rejects with UpstreamTimeoutError.
   */
  timeout?: number | null;
}

/** One call of cache.aggregate(). */
export interface AggregateCall extends FetchInit {
  url: string | WebURL;
}

/** The options of cache.aggregate(). */
export interface AggregateOptions {
  /** Resolve with the calls that succeeded (default true); false: any failure rejects with AggregateCallError. */
  allowPartial?: boolean;
  /** Milliseconds per call, body included (a call's own `timeout` wins); past it the call fails with UpstreamTimeoutError. */
  timeout?: number;
}

/**
 * A call's response: body decoded, parsed as JSON when its content-type is a JSON MIME type
 * (application/json, text/json, any +json subtype), else a string.
 */
export interface AggregateResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: any;
}

/** What cache.aggregate() resolves with. */
export interface AggregateResult<K extends string = string> {
  results: Partial<Record<K, AggregateResponse>>;
  partial: boolean;
  errors: Partial<Record<K, Error>>;
}

/** What cache.proxy() returns: a request listener that is also Express middleware. */
export interface ProxyHandler {
  (req: any, res: any, next?: (err?: unknown) => void): void;
  /** Closes the upstream connections (cache.close() does it too). */
  close(): Promise<void>;
}

/** Creates a cache; it connects in the background (requests bypass it until it is ready). */
export declare function createCache(options?: CacheOptions): Cache;
/** cache.middleware(options) on the shared default cache (getDefaultCache()). */
export declare function cacheResponse(options?: RouteOptions): Middleware;
/** The shared cache behind cacheResponse(): REDIS_URL, else embedded. */
export declare function getDefaultCache(): Cache;
/** Hex SHA-256 of the length-prefixed parts (strings as UTF-8), for building keys. */
export declare function hashKey(parts: ReadonlyArray<string | Uint8Array>): string;

/** A user id for keys.perUser: null, undefined or '' means the request is not cached. */
export type UserId = string | number | bigint | null | undefined;

/** Built-in key builders. */
export declare const keys: {
  /** The built-in key; as a route's keyBuilder, the same as none. */
  readonly default: KeyBuilder;
  /** One entry per user. */
  perUser(getUserId: Callback<[req: CacheRequest], UserId | Promise<UserId>>): KeyBuilder;
  /** The built-in key plus those request headers' values (as the route option `vary`). */
  withHeaders(names: readonly string[]): KeyBuilder;
};
/** The built-in key. */
export declare function defaultKeyBuilder(req: CacheRequest, prefix: string): string;
/** Why the built-in rules would not store this response, or null when they would. */
export declare function unstorableReason(req: CacheRequest, res: CacheResponse,
  route: { statuses: { has(status: number): boolean }; keyBuilder?: KeyBuilder | null }): string | null;

export declare class RespcacheError extends Error {
  constructor(message: string, code: string, options?: { cause?: unknown });
  /** Stable and machine-readable: ERR_RESPCACHE_*. */
  code: string;
}
/** Redis answered with an error reply (WRONGTYPE, NOAUTH, OOM ...). */
export declare class RedisReplyError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_REDIS_REPLY';
}
/** Redis did not answer within commandTimeout (or connectTimeout while connecting). */
export declare class RedisTimeoutError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_REDIS_TIMEOUT';
}
/** Not connected, or the connection dropped with a command in flight. */
export declare class RedisUnavailableError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_REDIS_UNAVAILABLE';
}
/** Sentinel, Cluster: the replicas did not all confirm an invalidation's write in time (WAIT). */
export declare class RedisUnconfirmedError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_REDIS_UNCONFIRMED';
}
/** The cache was closed. */
export declare class CacheClosedError extends RespcacheError {
  constructor(message?: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_REDIS_CLOSED';
}
/** A route's keyBuilder (or namespace function) failed. */
export declare class KeyBuilderError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_KEY_BUILDER';
}
/** A route's condition threw or rejected. */
export declare class ConditionError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_CONDITION';
}
/** An entry key held something that is not a valid entry; it was deleted. */
export declare class CorruptEntryError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_CORRUPT_ENTRY';
}
/** A key of another type was at an index, registry or fence name; it was deleted. */
export declare class CorruptIndexError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_CORRUPT_INDEX';
}
/** A response or value could not be stored. */
export declare class StoreError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_STORE';
}
/** An invalidation call was given a bad argument (it rejects before doing anything). */
export declare class InvalidArgumentError extends TypeError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_INVALID_ARGUMENT';
}
/** Redis runs with an allkeys-* maxmemory policy. */
export declare class EvictionPolicyError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_EVICTION_POLICY';
}
/** The invalidation after a write (route option `invalidates`) failed. */
export declare class InvalidationError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_INVALIDATION';
}
/** An onEvent() handler threw or rejected. */
export declare class EventHandlerError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_EVENT_HANDLER';
}
/** A background refresh of a stale entry failed; the stale entry is kept. */
export declare class RefreshError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_REFRESH';
}
/** A handler failed and a stale entry answered instead. */
export declare class HandlerFailedError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_HANDLER_FAILED';
}
/**
 * An upstream could not be reached or failed mid-response: cache.proxy() answered 502; a
 * cache.fetch() call (or its body read) rejects with it; a cache.aggregate() call fails with it.
 */
export declare class UpstreamError extends RespcacheError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_UPSTREAM' | 'ERR_RESPCACHE_UPSTREAM_TIMEOUT' | 'ERR_RESPCACHE_UPSTREAM_STATUS' | 'ERR_RESPCACHE_UPSTREAM_BODY';
}
/**
 * No answer in time: cache.proxy()'s upstream did not connect, answer or send its body within its
 * `timeout` (answered 504); a cache.fetch() or cache.aggregate() call had no complete response within its `timeout`.
 */
export declare class UpstreamTimeoutError extends UpstreamError {
  code: 'ERR_RESPCACHE_UPSTREAM_TIMEOUT';
}
/** Any TLS failure; the subclasses below say which. `cause` is { reason, detail } when the addon knows them. */
export declare class TlsError extends RespcacheError {
  code: TlsErrorCode;
}
/** The codes of TlsError's subclasses. */
export type TlsErrorCode = 'ERR_RESPCACHE_TLS_BAD_OPTIONS' | 'ERR_RESPCACHE_TLS_UNAVAILABLE'
  | 'ERR_RESPCACHE_TLS_UNKNOWN_CA' | 'ERR_RESPCACHE_TLS_NAME_MISMATCH' | 'ERR_RESPCACHE_TLS_CERT_EXPIRED'
  | 'ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED' | 'ERR_RESPCACHE_TLS_HANDSHAKE';
/** createCache() throws it: a PEM that does not parse, a key not matching its certificate, a wrong passphrase. */
export declare class TlsBadOptionsError extends TlsError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_TLS_BAD_OPTIONS';
}
/** createCache() throws it: this process has no OpenSSL 3 the addon can use. */
export declare class TlsUnavailableError extends TlsError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_TLS_UNAVAILABLE';
}
/** The server's certificate is not signed by a trusted authority. */
export declare class TlsUnknownCaError extends TlsError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_TLS_UNKNOWN_CA';
}
/** The server's certificate is not valid for the host (or servername). */
export declare class TlsNameMismatchError extends TlsError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_TLS_NAME_MISMATCH';
}
/** The server's certificate has expired or is not valid yet. */
export declare class TlsCertExpiredError extends TlsError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_TLS_CERT_EXPIRED';
}
/** The server required a client certificate and got none, or refused it. */
export declare class TlsClientCertRejectedError extends TlsError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_TLS_CLIENT_CERT_REJECTED';
}
/** Any other TLS failure (no TLS on that port, no common protocol version, handshake cut short). */
export declare class TlsHandshakeError extends TlsError {
  constructor(message: string, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_TLS_HANDSHAKE';
}
/**
 * A call of cache.aggregate() answered a status other than 2xx; it holds that response (`body` as
 * text when it does not parse, undefined with the reason as `cause` when it could not be read).
 */
export declare class UpstreamStatusError extends UpstreamError {
  constructor(message: string, response: AggregateResponse, options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_UPSTREAM_STATUS';
  status: number;
  headers: Record<string, string | string[]>;
  body: any;
}
/**
 * A body that is not what its header fields say: a cache.fetch() body that does not decode as its
 * Content-Encoding says (the body read rejects), or a cache.aggregate() call's 2xx whose JSON does
 * not parse (`body` holds the text). `cause` is the decoder's or the parser's error.
 */
export declare class UpstreamBodyError extends UpstreamError {
  constructor(message: string, response: { status: number; headers: Record<string, string | string[]>; body?: any },
    options?: { cause?: unknown });
  code: 'ERR_RESPCACHE_UPSTREAM_BODY';
  status: number;
  headers: Record<string, string | string[]>;
  body: any;
}
/** cache.aggregate() with `allowPartial: false` and failed calls: `failed` names them. */
export declare class AggregateCallError extends RespcacheError {
  constructor(message: string, details: { errors: Record<string, Error>; results: Record<string, AggregateResponse>; failed: string[] });
  code: 'ERR_RESPCACHE_AGGREGATE';
  failed: string[];
  errors: Record<string, Error>;
  results: Record<string, AggregateResponse>;
}

// Only what is exported above is the API (Callback and NodeBuffer stay private).
export {};
