'use strict';

// The shared store suite on the Redis store over TLS, in every topology: a TLS-only
// redis-server that requires client certificates (mutual TLS), reached by the command and
// subscriber connections alike; a TLS-only Redis Cluster (clients, bus and replication over TLS,
// client certificates required); a TLS-only master and replica and their Sentinels, every
// connection (Sentinels included) over TLS.
const { runStoreSuite } = require('./store-suite');
const { redisBacking } = require('./redis-backing');

runStoreSuite('Redis over TLS', { ...redisBacking({ tls: true }), tier: 'redis' });
runStoreSuite('Redis Cluster over TLS', { ...redisBacking({ tls: true, cluster: true }), tier: 'redis' });
runStoreSuite('Redis Sentinel over TLS', { ...redisBacking({ tls: true, sentinel: true }), tier: 'redis' });
