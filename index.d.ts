// Type definitions for respcache.
import { EventEmitter } from 'events';
import type { IncomingMessage, ServerResponse } from 'http';

type Request = IncomingMessage & { originalUrl?: string; baseUrl?: string; path?: string; params?: Record<string, string> };
type Middleware = (req: any, res: any, next: (err?: any) => void) => void;

export interface RedisEndpoint {
  host?: string;
  port?: number;
  /** Unix socket path; host and port are then unused. */
  path?: string;
  username?: string;
  password?: string;
  db?: number;
}

export interface CacheOptions {
  /** redis://[user:password@]host[:port][/db], unix:///path[?db=N], or an object. Default: REDIS_URL, else none (embedded, in-process only). */
  redis?: string | RedisEndpoint;
  /** Default 'respcache'. Default keys start with it; entries live under `${keyPrefix}:e:`. */
  keyPrefix?: string;
  /** The in-process tier: near cache in front of Redis, or the only tier when no Redis is configured. */
  local?: true | { maxBytes?: number; ttl?: number };
  /** Store entries of at least `threshold` bytes (default 1024) gzipped when their type is text-like; off by default. */
  compress?: boolean | { threshold?: number };
  /** Milliseconds; default 1000. */
  connectTimeout?: number;
  /** Milliseconds; default 100. A slower Redis is bypassed, not waited for. */
  commandTimeout?: number;
}

export interface RouteOptions {
  /** Seconds, default 300; or 'http': from the response's s-maxage / max-age / Expires. */
  ttl?: number | 'http';
  /** Cache-Control sent to clients unless the handler sets its own. */
  cacheControl?: string | { public?: boolean; private?: boolean; noCache?: boolean; mustRevalidate?: boolean;
    maxAge?: number; sMaxAge?: number; staleWhileRevalidate?: number; staleIfError?: number };
  /** Let request Cache-Control: no-cache / max-age=0 / Pragma: no-cache run the handler. Default false. */
  honorRequestNoCache?: boolean;
  /** Default: the cache's keyPrefix. */
  keyPrefix?: string;
  /** Two requests share an entry exactly when their keys are equal. */
  keyBuilder?: (req: any, prefix: string) => string | Promise<string>;
  /** Decides whether a response is stored; `body` is always the complete body as a Buffer. */
  condition?: (req: any, res: any, body: Buffer) => boolean | Promise<boolean>;
  /** Default [200]. */
  statuses?: number[];
  /** Default ['GET', 'HEAD']; other methods need a keyBuilder. */
  methods?: string[];
  /** Bytes; default 1 MiB. Larger responses pass through unstored. */
  maxBodySize?: number;
  /** Adds X-Cache-Key to responses. Default false. */
  exposeKey?: boolean;
  /** Request headers whose values join the built-in key (and the response's Vary). Others the handler's Vary names are learnt. */
  vary?: string[];
  /**
   * Seconds after expiry during which the entry is served at once (X-Cache: STALE) while one
   * background refresh runs the handler. Default: the stored response's stale-while-revalidate, else 0.
   */
  staleWhileRevalidate?: number;
  /**
   * Seconds after expiry during which the entry answers instead of a failed handler (5xx, error,
   * handlerTimeout). Default: the stored response's stale-if-error, else 0.
   */
  staleIfError?: number;
  /** Milliseconds a handler may take to start its response when a stale entry can answer instead; also a refresh's limit (default lockTtl). */
  handlerTimeout?: number;
  /** One handler run per key for concurrent misses, in this process and across processes. Default true. */
  coalesce?: boolean;
  /** Milliseconds a waiter waits for the leader before running its own handler. Default 10000. */
  coalesceTimeout?: number;
  /** Milliseconds the cross-process fill lock lives if its holder dies. Default 10000. */
  lockTtl?: number;
  /** Tags of the stored entry, for cache.invalidateTags(); a function is called when the response is stored. */
  tags?: string[] | ((req: any, res: any) => string[]);
  /** Versioned namespace of the route's entries, for cache.bumpNamespace(). */
  namespace?: string | ((req: any) => string);
  /** On unsafe methods: what a successful (2xx/3xx) response invalidates, besides its own path. */
  invalidates?: string[] | ((req: any, res: any) => string[] | { tags?: string[]; paths?: string[] }
    | Promise<string[] | { tags?: string[]; paths?: string[] }>);
}

export interface ValueOptions {
  /** Seconds; default 300. */
  ttl?: number;
  coalesceTimeout?: number;
  lockTtl?: number;
}

export interface CacheEntry {
  status: number;
  /** Flat [name, value, ...] list. */
  headers: string[];
  body: Buffer;
  storedAt: number;
  expiresAt: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  localHits: number;
  /** STALE answers (counted in hits too). */
  stale: number;
  bypasses: number;
  coalesced: number;
  invalidationEvents: number;
  stores: number;
  errors: number;
  suppressedErrors: number;
  /** Stores refused because an invalidation happened while the response was being computed. */
  storesFenced: number;
  /** Entries removed by invalidateTags / invalidatePath / invalidateKeys. */
  invalidated: number;
}

export declare class Cache extends EventEmitter {
  readonly keyPrefix: string;
  readonly status: 'connecting' | 'ready' | 'reconnecting' | 'closed';
  stats(): CacheStats & { storeFailures: number; local: object | null };
  metrics(register: import('prom-client').Registry, options?: { prefix?: string }): unknown;
  middleware(options?: RouteOptions): Middleware;
  entryKey(key: string): string;
  lookup(key: string): Promise<CacheEntry | null>;
  delete(key: string): Promise<boolean>;
  invalidateTags(tags: string[]): Promise<number>;
  /** '/exact/path' or '/prefix/*'. */
  invalidatePath(paths: string | string[]): Promise<number>;
  /** A Redis glob over the keys keyBuilders returned. */
  invalidateKeys(pattern: string): Promise<number>;
  /** Resolves with the namespace's new version. */
  bumpNamespace(namespace: string): Promise<number>;
  publish(event: string, payload?: unknown): Promise<void>;
  onEvent(event: string, handler: (payload: any) => void | Promise<void>): (() => void) & { ready: Promise<void> };
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, options?: { ttl?: number }): Promise<void>;
  wrap<T>(key: string, fn: () => T | Promise<T>, options?: ValueOptions): Promise<T>;
  close(): Promise<void>;
  localStats(): { entries: number; bytes: number; maxBytes: number; hits: number; misses: number; evictions: number; expirations: number } | null;
  on(event: 'ready' | 'reconnecting' | 'end', listener: () => void): this;
  on(event: 'invalidated', listener: (name: string) => void): this;
  /** A background refresh stored the new entry for `key`. */
  on(event: 'refreshed', listener: (key: string) => void): this;
  on(event: 'error', listener: (err: RespcacheError) => void): this;
}

export declare function createCache(options?: CacheOptions): Cache;
export declare function cacheResponse(options?: RouteOptions): Middleware;
export declare function getDefaultCache(): Cache;
export declare function hashKey(parts: Array<string | Uint8Array>): string;
export declare const keys: {
  default(req: Request, prefix: string): string;
  perUser(getUserId: (req: any) => string | number | null | undefined): (req: any, prefix: string) => string;
  withHeaders(names: string[]): (req: any, prefix: string) => string;
};
export declare function defaultKeyBuilder(req: Request, prefix: string): string;
export declare function unstorableReason(req: IncomingMessage, res: ServerResponse,
  route: { statuses: Set<number>; keyBuilder: Function | null }): string | null;

export declare class RespcacheError extends Error { code: string; }
export declare class RedisReplyError extends RespcacheError {}
export declare class RedisTimeoutError extends RespcacheError {}
export declare class RedisUnavailableError extends RespcacheError {}
export declare class CacheClosedError extends RespcacheError {}
export declare class KeyBuilderError extends RespcacheError {}
export declare class ConditionError extends RespcacheError {}
export declare class CorruptEntryError extends RespcacheError {}
/** ERR_RESPCACHE_CORRUPT_INDEX: a key of another type was at an index, registry or fence name; it was deleted. */
export declare class CorruptIndexError extends RespcacheError {}
export declare class StoreError extends RespcacheError {}
export declare class InvalidArgumentError extends TypeError { code: 'ERR_RESPCACHE_INVALID_ARGUMENT'; }
export declare class EvictionPolicyError extends RespcacheError {}
export declare class InvalidationError extends RespcacheError {}
export declare class EventHandlerError extends RespcacheError {}
/** ERR_RESPCACHE_REFRESH: a background refresh of a stale entry failed. */
export declare class RefreshError extends RespcacheError {}
/** ERR_RESPCACHE_HANDLER_FAILED: a handler failed and a stale entry answered instead. */
export declare class HandlerFailedError extends RespcacheError {}
