// Must NOT compile: proves types.test.js notices a consumer that breaks. Route parameters are
// strings (TS2322 on line 7).
import { createCache } from 'respcache';

createCache().middleware({
  keyBuilder: (req, prefix) => {
    const id: number = req.params.id;
    return `${prefix}:${id}`;
  },
});
