'use strict';

// The shared store suite on the Redis store over TLS: a TLS-only redis-server that requires
// client certificates (mutual TLS), reached by the command and subscriber connections alike.
const { runStoreSuite } = require('./store-suite');
const { redisBacking } = require('./redis-backing');

runStoreSuite('Redis over TLS', { ...redisBacking({ tls: true }), tier: 'redis' });
