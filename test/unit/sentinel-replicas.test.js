'use strict';

// The replica count WAIT uses on Sentinel (lib/stores/sentinel-discovery.js healthyReplicas), from
// SENTINEL replicas <name> as Redis answers it: one flat field/value array per replica.
const { healthyReplicas } = require('../../lib/stores/sentinel-discovery');

const replica = (flags) => ['name', '127.0.0.1:7001', 'ip', '127.0.0.1', 'port', '7001', 'flags', flags];

describe('healthyReplicas', () => {
  it('counts every replica without a down flag', () => {
    expect(healthyReplicas([replica('slave'), replica('slave')])).toBe(2);
    expect(healthyReplicas([replica('slave,s_down'), replica('slave,o_down,s_down'), replica('slave')])).toBe(1);
    expect(healthyReplicas([])).toBe(0);
  });

  it('still counts a replica flagged disconnected: the one being promoted in a forced failover shows so', () => {
    // What every Sentinel listed for the old master about 60 ms after the promotion, for about a
    // second, while that master still took writes (measured on redis-sentinel 7.0).
    expect(healthyReplicas([replica('slave,disconnected,promoted')])).toBe(1);
    expect(healthyReplicas([replica('slave,disconnected')])).toBe(1);
  });

  it('answers null when there is no list', () => {
    expect(healthyReplicas(null)).toBeNull();
    expect(healthyReplicas('ERR')).toBeNull();
  });
});
