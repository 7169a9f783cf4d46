// With Node's types loaded (types: ["node"]), a condition's body is a Buffer, and Buffers are
// accepted where bytes are.
import { createCache, hashKey } from 'respcache';
import type { RouteOptions } from 'respcache';

const route: RouteOptions = {
  condition: (_req, _res, body) => {
    const buffer: Buffer = body;
    return buffer.toString('utf8').length > 0;
  },
};
const cache = createCache();
cache.middleware(route);
hashKey([Buffer.from('a'), 'b']);
cache.set('bytes', Buffer.from('value'));
// TLS settings take Buffers, as node:tls does (fs.readFileSync's result).
createCache({ redis: 'rediss://127.0.0.1:6380', tls: { ca: Buffer.from('pem'), cert: [Buffer.from('a'), 'b'], key: Buffer.from('k') } });
