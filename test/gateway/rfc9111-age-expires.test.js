'use strict';

// Age and Expires (RFC 9111 4.2.1, 4.2.3, 5.1, 5.3): conformance tests of cache.proxy() as a shared cache, run by
// scripts/conformance.js (docs/conformance.md says how they are counted).
// The test definitions below are ported from the HTTP caching tests of http-tests/cache-tests
// (tests/age-parse.mjs, tests/expires-freshness.mjs, tests/expires-parse.mjs), Copyright (c) 2018, Mark Nottingham, BSD 3-Clause
// License (full text in docs/conformance.md). They are kept as close to the upstream text as
// possible (upstream's code style included) so that they can be diffed against new upstream
// versions; test/helpers/origin.js plays the scripted origin and the client.
const origin = require('../helpers/origin');

// tests/age-parse.mjs
const ageParse = (() => {

  return {
    name: 'Age Parsing',
    id: 'age-parse',
    description: 'These tests check how caches parse the `Age` response header.',
    spec_anchors: ['field.age', 'expiration.model'],
    tests: [
      {
        name: 'HTTP cache should ignore an `Age` header with a non-numeric value',
        id: 'age-parse-nonnumeric',
        spec_anchors: ['field.age'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', 'abc', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache should ignore an `Age` header with a negative value',
        id: 'age-parse-negative',
        spec_anchors: ['field.age'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '-7200', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache should ignore an `Age` header with a float value',
        id: 'age-parse-float',
        spec_anchors: ['field.age'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '7200.0', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache should consider a response with a `Age` value of 2147483647 to be stale',
        id: 'age-parse-large-minus-one',
        spec_anchors: ['field.age'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '2147483647', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache should consider a response with a `Age` value of 2147483648 to be stale',
        id: 'age-parse-large',
        spec_anchors: ['delta-seconds'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '2147483648', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache should consider a response with a `Age` value of 2147483649 to be stale',
        id: 'age-parse-larger',
        spec_anchors: ['delta-seconds'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '2147483649', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache should consider a response with a single `Age` header line `old, 0` to be stale',
        id: 'age-parse-suffix',
        spec_anchors: ['field.age'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '7200, 0', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache should consider a response with a single `Age` header line `0, old` to be fresh',
        id: 'age-parse-prefix',
        spec_anchors: ['field.age'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '0, 7200', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache should use the first line in a response with multiple `Age` header lines: `old`, `0`',
        id: 'age-parse-suffix-twoline',
        spec_anchors: ['field.age'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '7200', false],
              ['Age', '0', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache should use the first line in a response with multiple `Age` header lines: `0`, `old`',
        id: 'age-parse-prefix-twoline',
        spec_anchors: ['field.age'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '0', false],
              ['Age', '7200', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache should consider a response with a single line `Age: 0, 0` to be fresh',
        id: 'age-parse-dup-0',
        spec_anchors: ['field.age'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '0, 0', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache should consider a response with two `Age: 0` header lines to be fresh',
        id: 'age-parse-dup-0-twoline',
        spec_anchors: ['field.age'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '0', false],
              ['Age', '0', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache should consider a response with two `Age: not_old` header lines to be fresh',
        id: 'age-parse-dup-old',
        spec_anchors: ['field.age'],
        depends_on: ['freshness-max-age-age'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=10000'],
              ['Age', '3600', false],
              ['Age', '3600', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache consider an alphabetic parameter on `Age` header to be valid?',
        id: 'age-parse-parameter',
        depends_on: ['freshness-max-age-age'],
        kind: 'check',
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '7200;foo=bar', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache should consider a numeric parameter on `Age` header to be valid?',
        id: 'age-parse-numeric-parameter',
        depends_on: ['freshness-max-age-age'],
        kind: 'check',
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Cache-Control', 'max-age=3600'],
              ['Age', '7200;foo=111', false]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      }
    ]
  }
})()

// tests/expires-freshness.mjs
const expiresFreshness = (() => {

  return {
    name: 'Expires Freshness',
    id: 'expires',
    description: 'These tests check how caches calculate freshness using `Expires`.',
    spec_anchors: ['expiration.model', 'field.expires'],
    tests: [
      {
        name: 'An optimal HTTP cache reuses a response with a future `Expires`',
        id: 'freshness-expires-future',
        kind: 'optimal',
        depends_on: ['freshness-none'],
        requests: [
          {
            response_headers: [
              ['Expires', 30 * 24 * 60 * 60],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with a past `Expires`',
        id: 'freshness-expires-past',
        spec_anchors: ['calculating.freshness.lifetime'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', -30 * 24 * 60 * 60],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with a present `Expires`',
        id: 'freshness-expires-present',
        spec_anchors: ['calculating.freshness.lifetime'],
        depends_on: ['freshness-none'],
        requests: [
          {
            response_headers: [
              ['Expires', 0],
              ['Date', 0]
            ],
            setup: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with an `Expires` older than `Date`, both fast',
        id: 'freshness-expires-old-date',
        spec_anchors: ['calculating.freshness.lifetime'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 300],
              ['Date', 400]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with an invalid `Expires` (0)',
        id: 'freshness-expires-invalid',
        spec_anchors: ['field.expires'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', '0', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache reuses a response with `Expires`, even if `Date` is invalid',
        id: 'freshness-expires-invalid-date',
        depends_on: ['freshness-expires-future'],
        kind: 'optimal',
        requests: [
          {
            response_headers: [
              ['Date', 'foo', false],
              ['Expires', 10]
            ],
            setup: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response when the `Age` header is greater than its `Expires` minus `Date`, and `Date` is slow',
        id: 'freshness-expires-age-slow-date',
        spec_anchors: ['calculating.freshness.lifetime'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Date', -10],
              ['Expires', 10],
              ['Age', '25']
            ],
            setup: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response when the `Age` header is greater than its `Expires` minus `Date`, and `Date` is fast',
        id: 'freshness-expires-age-fast-date',
        spec_anchors: ['calculating.freshness.lifetime'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Date', 10],
              ['Expires', 20],
              ['Age', '15']
            ],
            setup: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      }
    ]
  }
})()

// tests/expires-parse.mjs
const expiresParse = (() => {

  return {
    name: 'Expires Parsing',
    id: 'expires-parse',
    description: 'These tests check how caches parse the `Expires` response header.',
    spec_anchors: ['field.expires'],
    tests: [
      {
        name: 'An optimal HTTP cache reuses a response with an `Expires` that is exactly 32 bits',
        id: 'freshness-expires-32bit',
        kind: 'optimal',
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Tue, 19 Jan 2038 14:14:08 GMT', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache reuses a response with an `Expires` that is far in the future',
        id: 'freshness-expires-far-future',
        kind: 'optimal',
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Sun, 21 Nov 2286 04:46:39 GMT', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache reuses a response with a future `Expires` in obsolete RFC 850 format',
        id: 'freshness-expires-rfc850',
        kind: 'optimal',
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thursday, 18-Aug-50 02:01:18 GMT', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache reuses a response with a future `Expires` in ANSI C\'s asctime() format',
        id: 'freshness-expires-ansi-c',
        kind: 'optimal',
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu Aug  8 02:01:18 2050', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache reuses a response with a future `Expires` using wrong case (weekday)',
        id: 'freshness-expires-wrong-case-weekday',
        kind: 'optimal',
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'THU, 18 Aug 2050 02:01:18 GMT', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache reuses a response with a future `Expires` using wrong case (month)',
        id: 'freshness-expires-wrong-case-month',
        kind: 'optimal',
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu, 18 AUG 2050 02:01:18 GMT', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache reuses a response with a future `Expires` using wrong case (tz)',
        id: 'freshness-expires-wrong-case-tz',
        kind: 'optimal',
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu, 18 Aug 2050 02:01:18 gMT', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with an invalid `Expires` (UTC)',
        id: 'freshness-expires-invalid-utc',
        spec_anchors: ['field.expires'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu, 18 Aug 2050 02:01:18 UTC', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with an invalid `Expires` (other tz)',
        id: 'freshness-expires-invalid-aest',
        spec_anchors: ['field.expires'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu, 18 Aug 2050 02:01:18 AEST', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with an invalid `Expires` (two-digit year)',
        id: 'freshness-expires-invalid-2-digit-year',
        spec_anchors: ['field.expires'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu, 18 Aug 50 02:01:18 GMT', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with an invalid `Expires` (missing comma)',
        id: 'freshness-expires-invalid-no-comma',
        spec_anchors: ['field.expires'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu 18 Aug 2050 02:01:18 GMT', false],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with an invalid `Expires` (multiple spaces)',
        id: 'freshness-expires-invalid-multiple-spaces',
        spec_anchors: ['field.expires'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu, 18  Aug  2050 02:01:18 GMT', false],
              ['Date', 0]
            ],
            setup: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with an invalid `Expires` (date dashes)',
        id: 'freshness-expires-invalid-date-dashes',
        spec_anchors: ['field.expires'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu, 18-Aug-2050 02:01:18 GMT', false],
              ['Date', 0]
            ],
            setup: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with an invalid `Expires` (time periods)',
        id: 'freshness-expires-invalid-time-periods',
        spec_anchors: ['field.expires'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu, 18 Aug 2050 02.01.18 GMT', false],
              ['Date', 0]
            ],
            setup: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with an invalid `Expires` (1-digit hour)',
        id: 'freshness-expires-invalid-1-digit-hour',
        spec_anchors: ['field.expires'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu, 18 Aug 2050 2:01:18 GMT', false],
              ['Date', 0]
            ],
            setup: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not reuse a response with an invalid `Expires` (multiple lines)',
        id: 'freshness-expires-invalid-multiple-lines',
        spec_anchors: ['field.expires'],
        depends_on: ['freshness-expires-future'],
        requests: [
          {
            response_headers: [
              ['Expires', 'Thu, 18 Aug 2050 2:01:18 GMT', false],
              ['Expires', 'Thu, 18 Aug 2050 2:01:19 GMT', false],
              ['Date', 0]
            ],
            setup: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      }
    ]
  }
})()

origin.runSuites([ageParse, expiresFreshness, expiresParse]);
