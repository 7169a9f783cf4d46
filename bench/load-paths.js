'use strict';

// autocannon over many URLs, for bench/run.js when wrk is not installed (its CLI requests one
// URL): node bench/load-paths.js <port> <connections> <seconds> <count>
// Each connection goes round GET /data/0 ... /data/<count - 1> (autocannon builds each request's
// bytes once, so going round costs the load generator no more than one URL). Prints autocannon's
// result as one JSON line, as its CLI does with -j. Exits when its stdin closes (the runner went
// away).
const autocannon = require('autocannon');

const [port, connections, seconds, count] = process.argv.slice(2).map(Number);
if (![port, connections, seconds, count].every((n) => n > 0)) {
  console.error('usage: node bench/load-paths.js <port> <connections> <seconds> <count>');
  process.exit(2);
}

const stdinStat = require('fs').fstatSync(0);
if (stdinStat.isFIFO() || stdinStat.isSocket()) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

autocannon({
  url: `http://127.0.0.1:${port}`,
  connections,
  duration: seconds,
  requests: Array.from({ length: count }, (_, i) => ({ method: 'GET', path: `/data/${i}` })),
}, (err, result) => {
  if (err) {
    console.error(`load-paths: ${err.stack || err}`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
});
