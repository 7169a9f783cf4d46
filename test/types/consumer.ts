// A TypeScript consumer of the public API, compiled under --strict by types.test.js in a project
// that has neither @types/node, @types/express nor prom-client. Each `@ts-expect-error` line is a
// wrong usage that must stay an error (tsc reports an unused one as TS2578).
import {
  Cache, createCache, cacheResponse, getDefaultCache, hashKey, keys, defaultKeyBuilder, unstorableReason,
  RespcacheError, RedisReplyError, RedisTimeoutError, RedisUnavailableError, RedisUnconfirmedError, CacheClosedError, KeyBuilderError,
  ConditionError, CorruptEntryError, CorruptIndexError, StoreError, InvalidArgumentError, EvictionPolicyError,
  InvalidationError, EventHandlerError, RefreshError, HandlerFailedError, TlsError, TlsBadOptionsError,
  TlsUnavailableError, TlsUnknownCaError, TlsNameMismatchError, TlsCertExpiredError, TlsClientCertRejectedError,
  TlsHandshakeError, UpstreamError, UpstreamTimeoutError,
} from 'respcache';
import { AggregateCallError, UpstreamBodyError, UpstreamStatusError } from 'respcache';
import type {
  CacheOptions, RouteOptions, CacheStats, CacheRequest, CacheResponse, Middleware, KeyBuilder, LocalStats,
  MetricsRegistry, WarmResult, CacheEvents, ValueOptions, TlsOptions, TlsErrorCode, ClusterOptions, SentinelOptions,
  NodeAddress, NodeSeed, ProxyOptions, ProxyRequest, ProxyHandler, AggregateResult, AggregateResponse,
} from 'respcache';

// What an app's own middleware attaches to the request, added the documented way.
declare module 'respcache' {
  interface CacheRequest {
    user?: { id: string };
  }
}

const options: CacheOptions = {
  redis: 'redis://:secret@127.0.0.1:6379/2',
  keyPrefix: 'api',
  local: { maxBytes: 64 * 1024 * 1024, ttl: 5 },
  compress: { threshold: 2048 },
  connectTimeout: 1000,
  commandTimeout: 100,
};
const cache: Cache = createCache(options);
createCache({ redis: { host: '::1', port: 6380, db: 1, username: 'app', password: 'pw' } });
createCache({ redis: { path: '/run/redis.sock' }, local: true, compress: true });
createCache();
createCache({ redis: 'rediss://:pw@redis.internal:6380' });
createCache({ redis: 'rediss://redis.internal:6380', tls: true });
const tlsSettings: TlsOptions = {
  ca: '-----BEGIN CERTIFICATE-----\n', cert: ['-----BEGIN CERTIFICATE-----\n'], key: new Uint8Array([45]),
  passphrase: 'pw', servername: 'redis.internal', rejectUnauthorized: true, minVersion: 'TLSv1.3',
};
createCache({ redis: { host: 'redis.internal', port: 6380 }, tls: tlsSettings });
createCache({ redis: 'redis://127.0.0.1:6380', tls: { ca: ['a', new Uint8Array([1])] } });
// Redis Cluster and Sentinel: seeds as URLs or objects, readonly lists accepted.
const seeds: readonly NodeSeed[] = ['redis://10.0.0.1:7000', { host: '10.0.0.2', port: 7000 }];
const clusterOptions: ClusterOptions = {
  nodes: seeds, username: 'app', password: 'pw', slotsRefreshInterval: 5000, maxRedirections: 16,
};
createCache({ cluster: clusterOptions, tls: tlsSettings, keyPrefix: 'api' });
createCache({ cluster: { nodes: ['rediss://cluster.internal:7000'] } });
const sentinelAddress: NodeAddress = { host: 'sentinel-1' };
const sentinelOptions: SentinelOptions = {
  nodes: [sentinelAddress, 'redis://sentinel-2:26379'], name: 'mymaster', username: 'app', password: 'pw', db: 2,
  sentinelUsername: 'watcher', sentinelPassword: 'spw', tls: false,
};
createCache({ sentinel: sentinelOptions, tls: true, local: true });
createCache({ sentinel: { nodes: ['rediss://sentinel-1'], name: 'mymaster', tls: { ca: 'pem', servername: 'sentinel.internal' } } });
const constructed = new Cache({ keyPrefix: 'direct' });
const shared: Cache = getDefaultCache();

// Callbacks get strings for req.path and req.params without any request type imported.
const byPathAndId: KeyBuilder = (req, prefix) => `${prefix}:${req.path.toUpperCase()}:${req.params.id.toUpperCase()}`;
const route: RouteOptions = {
  ttl: 60,
  cacheControl: { public: true, maxAge: 60, staleWhileRevalidate: 30 },
  honorRequestNoCache: true,
  keyPrefix: 'products',
  keyBuilder: async (req, prefix) => `${prefix}:${hashKey([req.params.id, req.get('accept-language') ?? ''])}`,
  condition: (req, res, body) => res.statusCode === 200 && body.byteLength > 0 && req.method === 'GET',
  statuses: [200, 203],
  methods: ['GET', 'HEAD'],
  maxBodySize: 1024 * 1024,
  exposeKey: true,
  staleWhileRevalidate: 30,
  staleIfError: 600,
  handlerTimeout: 2000,
  coalesce: true,
  coalesceTimeout: 10000,
  lockTtl: 10000,
  tags: (req, res) => ['products', `product:${req.params.id}`, String(res.getHeader('etag'))],
  namespace: (req) => `tenant:${req.params.tenant}`,
};
const writes: RouteOptions = {
  methods: ['POST'],
  keyBuilder: byPathAndId,
  invalidates: async (req) => ({ tags: [`product:${req.params.id}`], paths: ['/api/search/*'] }),
};
const plainVary: RouteOptions = { vary: ['accept-language'], ttl: 'http', cacheControl: 'public, max-age=60', tags: ['a'], invalidates: ['a'] };
const revalidating: RouteOptions = { ttl: 'http', heuristic: { fraction: 0.1, maxAge: 3600, fallback: 300 }, retainStale: 600 };
const perUser: RouteOptions = { keyBuilder: keys.perUser((req) => req.user?.id) };
const byHeaders: RouteOptions = { keyBuilder: keys.withHeaders(['X-Tenant']) };
const builtIn: RouteOptions = { keyBuilder: keys.default };
const inFront: RouteOptions = { ttl: 60, front: true };
// The front lane keeps the listener's own request and response types.
const lane: (req: { url?: string }, res: { end(): void }) => void = cache.front((req: { url?: string }, res: { end(): void }) => res.end());
void [inFront, lane];

// A callback annotated with a richer request type (as express.Request is) still fits.
interface AppRequest extends CacheRequest { tenant: string }
const annotated: RouteOptions = { keyBuilder: (req: AppRequest, prefix: string) => `${prefix}:${req.tenant}` };

// The middleware is a plain (req, res, next) function.
const middleware: Middleware = cache.middleware(route);
const fromShared: Middleware = cacheResponse({ ttl: 30 });
declare const req: CacheRequest;
declare const res: CacheResponse;
middleware(req, res, (err?: unknown) => { if (err) throw err; });
const key: string = defaultKeyBuilder(req, 'api');
const reason: string | null = unstorableReason(req, res, { statuses: new Set([200]), keyBuilder: null });

async function useTheCache(): Promise<void> {
  const user = await cache.get<{ name: string }>('user:1');
  if (user !== undefined) user.name.toUpperCase();
  await cache.set('user:1', { name: 'Ada' }, { ttl: 600 });
  const value: number = await cache.wrap('answer', async () => 42, { ttl: 60, coalesceTimeout: 500, lockTtl: 1000 });
  const removed: boolean = await cache.delete('api:user:1');
  const counts: number[] = await Promise.all([
    cache.invalidateTags(['products']),
    cache.invalidatePath('/api/users/*'),
    cache.invalidatePath(['/a', '/b']),
    cache.invalidateKeys('api:user:42:*'),
    cache.bumpNamespace('catalog'),
  ]);
  await cache.publish('product_updated', { id: 42 });
  const unsubscribe = cache.onEvent('product_updated', ({ id }) => { void cache.invalidateTags([`product:${id}`]); });
  await unsubscribe.ready;
  unsubscribe();
  const results: WarmResult[] = await cache.warm('http://127.0.0.1:3000', ['/api/products'],
    { headers: { host: 'shop.example' }, concurrency: 2, timeout: 5000 });
  const server = { address: () => ({ address: '::1', family: 'IPv6', port: 3000 }) };
  const first: WarmResult | undefined = (await cache.warm(server, ['/']))[0];
  if (first && first.error === undefined) first.status.toFixed();
  const stats: CacheStats = cache.stats();
  const local: LocalStats | null = stats.local ?? cache.localStats();
  const counters: number = stats.hits + stats.storeFailures + stats.storesFenced + stats.invalidated + stats.stale;
  const registry: MetricsRegistry = { registerMetric() {} };
  cache.metrics(registry, { prefix: 'app_' });
  const state: 'connecting' | 'ready' | 'reconnecting' | 'closed' = cache.status;
  const prefix: string = cache.keyPrefix;
  void [value, removed, counts, results, local, counters, state, prefix];
  await cache.close();
}

cache.on('ready', () => {}).on('end', () => {}).once('reconnecting', () => {});
cache.on('invalidated', (name) => name.startsWith('e:'));
cache.on('refreshed', (refreshedKey: string) => refreshedKey);
const onError: CacheEvents['error'] = (err) => {
  if (err instanceof RedisTimeoutError) {
    const code: 'ERR_RESPCACHE_REDIS_TIMEOUT' = err.code;
    void code;
  }
  if (err instanceof TlsError) {
    const code: TlsErrorCode = err.code;
    void code;
  }
  if (err instanceof TlsCertExpiredError) {
    const code: 'ERR_RESPCACHE_TLS_CERT_EXPIRED' = err.code;
    void code;
  }
  err.message.concat(err.code);
};
cache.on('error', onError);
cache.off('error', onError);
const listeners: number = cache.listenerCount('error');

const errors: RespcacheError[] = [new CacheClosedError(), new KeyBuilderError('bad key', { cause: new Error('x') })];
const invalid: TypeError = new InvalidArgumentError('bad tag');
const coded: Array<{ code: string }> = [RedisReplyError, RedisUnavailableError, RedisUnconfirmedError, ConditionError, CorruptEntryError,
  CorruptIndexError, StoreError, EvictionPolicyError, InvalidationError, EventHandlerError, RefreshError,
  HandlerFailedError, TlsBadOptionsError, TlsUnavailableError, TlsUnknownCaError, TlsNameMismatchError,
  TlsCertExpiredError, TlsClientCertRejectedError, TlsHandshakeError].map((Class) => new Class('x'));
const tlsErrors: TlsError[] = [new TlsHandshakeError('x', { cause: { reason: 'EPROTO', detail: '' } })];
const hashed: string = hashKey(['a', new Uint8Array([1, 2])]);
const wrapOptions: ValueOptions = { ttl: 1 };

// Internals are not part of the API.
// @ts-expect-error lookup() is internal
cache.lookup('k');
// @ts-expect-error entryKey() is internal
cache.entryKey('k');
// @ts-expect-error report() is internal
cache.report(new Error('x'));
// @ts-expect-error the validated options are internal
cache.options;

// Wrong usages stay errors.
// @ts-expect-error params are strings, not numbers
const wrongParam: RouteOptions = { keyBuilder: (r, p) => p + r.params.id.toFixed() };
// @ts-expect-error a keyBuilder returns a string
const wrongKey: RouteOptions = { keyBuilder: () => 42 };
// @ts-expect-error ttl is seconds or 'http'
const wrongTtl: RouteOptions = { ttl: '60' };
// @ts-expect-error unknown route option
const misspelt: RouteOptions = { tll: 60 };
// @ts-expect-error unknown cache option
createCache({ comandTimeout: 50 });
// @ts-expect-error the redis option is a URL or an endpoint object
createCache({ redis: 6379 });
// @ts-expect-error minVersion is 'TLSv1.2' or 'TLSv1.3'
createCache({ tls: { minVersion: 'TLSv1.1' } });
// @ts-expect-error unknown tls option
createCache({ tls: { rejectUnauthorised: false } });
// @ts-expect-error ca is PEM text or bytes
createCache({ tls: { ca: 42 } });
// @ts-expect-error a cluster has database 0 only
createCache({ cluster: { nodes: ['redis://h:7000'], db: 1 } });
// @ts-expect-error a cluster needs its seed nodes
createCache({ cluster: { password: 'pw' } });
// @ts-expect-error a seed is a URL or { host, port }
createCache({ cluster: { nodes: [7000] } });
// @ts-expect-error TLS of a cluster is the cache's tls option
createCache({ cluster: { nodes: ['redis://h:7000'], tls: true } });
// @ts-expect-error a Sentinel deployment needs the master's name
createCache({ sentinel: { nodes: ['redis://h:26379'] } });
// @ts-expect-error ioredis's "sentinels" is "nodes" here
createCache({ sentinel: { sentinels: [{ host: 'h' }], name: 'mymaster' } });
// @ts-expect-error no such event
cache.on('connected', () => {});
// @ts-expect-error 'invalidated' listeners take the name as a string
cache.on('invalidated', (name: number) => name);
// @ts-expect-error a registry needs registerMetric
cache.metrics({});
// @ts-expect-error warm needs paths
cache.warm('http://127.0.0.1:3000');
// @ts-expect-error tags are strings
cache.invalidateTags([1]);
// @ts-expect-error hashKey takes an array
hashKey('a');

void [constructed, shared, writes, plainVary, revalidating, perUser, byHeaders, builtIn, annotated, fromShared, key, reason,
  useTheCache, listeners, errors, invalid, coded, hashed, wrapOptions, wrongParam, wrongKey, wrongTtl, misspelt,
  tlsErrors];

// cache.proxy(): a gateway handler with its options, and the upstream errors.
const gateway: ProxyHandler = cache.proxy('http://users.internal:8080', {
  ttl: null, statuses: [200, 404], timeout: { headers: 5000 }, tags: (request: ProxyRequest) => [request.method],
  via: 'edge-1', maxBodyBytes: 1 << 20,
});
const gatewayOptions: ProxyOptions = { timeout: 2000, coalesce: false, via: true, ttl: 60, xForwarded: false };
const behindBalancer: ProxyOptions = { trustForwarded: true };
void behindBalancer;
void gatewayOptions;
// @ts-expect-error a proxy must send Via (RFC 9110 7.6.3): true or a pseudonym
const noVia: ProxyOptions = { via: false };
void noVia;
void gateway.close();
// @ts-expect-error the upstream is a URL string
cache.proxy(8080);
const upstreamCode: 'ERR_RESPCACHE_UPSTREAM' | 'ERR_RESPCACHE_UPSTREAM_TIMEOUT' | 'ERR_RESPCACHE_UPSTREAM_STATUS'
  | 'ERR_RESPCACHE_UPSTREAM_BODY' = new UpstreamError('down').code;
const timeoutCode: 'ERR_RESPCACHE_UPSTREAM_TIMEOUT' = new UpstreamTimeoutError('slow').code;
void upstreamCode;
void timeoutCode;

// cache.fetch() and cache.aggregate(): the client through the gateway's cache, and its errors.
async function client(): Promise<void> {
  const reply = await cache.fetch('http://users.internal/users/1', { ttl: 30, tags: ['user:1'], timeout: 2000,
    headers: [['accept', 'application/json']] });
  const status: number = reply.status;
  const xCache: string | null = reply.headers.get('x-cache');
  const merged: AggregateResult<'user' | 'orders'> = await cache.aggregate({
    user: { url: 'http://users.internal/users/1', ttl: 30 },
    orders: { url: 'http://orders.internal/orders/1', method: 'GET' },
  }, { allowPartial: false, timeout: 1000 });
  const user: AggregateResponse | undefined = merged.results.user;
  const failed: string[] = new AggregateCallError('x', { errors: {}, results: {}, failed: ['orders'] }).failed;
  const code: 'ERR_RESPCACHE_UPSTREAM_STATUS' = new UpstreamStatusError('503', { status: 503, headers: {}, body: '' }).code;
  const bodyError = new UpstreamBodyError('not JSON', { status: 200, headers: {}, body: '<html>' }, { cause: new Error('x') });
  const bodyCode: 'ERR_RESPCACHE_UPSTREAM_BODY' = bodyError.code;
  const notJson: number = bodyError.status;
  // @ts-expect-error ttl is a number of seconds
  void cache.fetch('http://x/', { ttl: '30' });
  void [status, xCache, user, failed, code, bodyCode, notJson];
}
void client;
