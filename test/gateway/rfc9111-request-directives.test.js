'use strict';

// Request directives and Pragma (RFC 9111 5.2.1, 5.4): conformance tests of cache.proxy() as a shared cache, run by
// scripts/conformance.js (docs/conformance.md says how they are counted).
// The test definitions below are ported from the HTTP caching tests of http-tests/cache-tests
// (tests/cc-request.mjs, tests/pragma.mjs), Copyright (c) 2018, Mark Nottingham, BSD 3-Clause
// License (full text in docs/conformance.md). They are kept as close to the upstream text as
// possible (upstream's code style included) so that they can be diffed against new upstream
// versions; test/helpers/origin.js plays the scripted origin and the client.
const origin = require('../helpers/origin');

// tests/cc-request.mjs
const ccRequest = (() => {
  const templates = origin.templates
  const utils = origin.utils
  return {
    name: 'Cache-Control Request Directives',
    id: 'cc-request',
    description: 'These tests check to see if caches respect `Cache-Control` request directives. Note that HTTP does not require them to be supported.',
    spec_anchors: ['cache-request-directive'],
    tests: [
      {
        name: 'Does HTTP cache honor request `Cache-Control: max-age=0` when it holds a fresh response?',
        id: 'ccreq-ma0',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['cache-request-directive.max-age'],
        requests: [
          templates.fresh({}),
          {
            request_headers: [
              ['Cache-Control', 'max-age=0']
            ],
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache honour request `Cache-Control: max-age=1` when it holds a fresh response?',
        id: 'ccreq-ma1',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['cache-request-directive.max-age'],
        requests: [
          templates.fresh({}),
          {
            request_headers: [
              ['Cache-Control', 'max-age=1']
            ],
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache honour request `Cache-Control: max-age` when it holds a fresh but `Age`d response that is not fresh enough?',
        id: 'ccreq-magreaterage',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['cache-request-directive.max-age'],
        requests: [
          templates.fresh({
            response_headers: [
              ['Age', '1800']
            ]
          }),
          {
            request_headers: [
              ['Cache-Control', 'max-age=600']
            ],
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache reuse a stale response when request `Cache-Control: max-stale` allows it?',
        id: 'ccreq-max-stale',
        kind: 'check',
        depends_on: ['freshness-max-age-stale'],
        spec_anchors: ['cache-request-directive.max-stale'],
        requests: [
          templates.becomeStale({}),
          {
            request_headers: [
              ['Cache-Control', 'max-stale=1000']
            ],
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache reuse a stale `Age`d response when request `Cache-Control: max-stale` allows it?',
        id: 'ccreq-max-stale-age',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['cache-request-directive.max-stale'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=1500'],
              ['Age', '2000']
            ],
            setup: true
          },
          {
            request_headers: [
              ['Cache-Control', 'max-stale=1000']
            ],
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache honour request `Cache-Control: min-fresh` when the response it holds is not fresh enough?',
        id: 'ccreq-min-fresh',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['cache-request-directive.min-fresh'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=1500']
            ],
            setup: true
          },
          {
            request_headers: [
              ['Cache-Control', 'min-fresh=2000']
            ],
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache honour request `Cache-Control: min-fresh` when the `Age`d response it holds is not fresh enough?',
        id: 'ccreq-min-fresh-age',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['cache-request-directive.min-fresh'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=1500'],
              ['Age', '1000']
            ],
            setup: true
          },
          {
            request_headers: [
              ['Cache-Control', 'min-fresh=1000']
            ],
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache honour request `Cache-Control: no-cache` when it holds a fresh response?',
        id: 'ccreq-no-cache',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['cache-request-directive.no-cache'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=3600']
            ],
            setup: true
          },
          {
            request_headers: [
              ['Cache-Control', 'no-cache']
            ],
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache honour request `Cache-Control: no-cache` by validating a response with `Last-Modified`?',
        id: 'ccreq-no-cache-lm',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['cache-request-directive.no-cache'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=3600'],
              ['Last-Modified', -10000],
              ['Date', 0]
            ],
            setup: true
          },
          {
            request_headers: [
              ['Cache-Control', 'no-cache']
            ],
            expected_type: 'lm_validated'
          }
        ]
      },
      {
        name: 'Does HTTP cache honour request `Cache-Control: no-cache` by validating a response with an `ETag`?',
        id: 'ccreq-no-cache-etag',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['cache-request-directive.no-cache'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=3600'],
              ['ETag', `"${utils.httpContent('abc')}"`]
            ],
            setup: true
          },
          {
            request_headers: [
              ['Cache-Control', 'no-cache']
            ],
            expected_type: 'etag_validated'
          }
        ]
      },
      {
        name: 'Does HTTP cache honour request `Cache-Control: no-store` when it holds a fresh response?',
        id: 'ccreq-no-store',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['cache-request-directive.no-store'],
        requests: [
          templates.fresh({}),
          {
            request_headers: [
              ['Cache-Control', 'no-store']
            ],
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache honour request `Cache-Control: only-if-cached` by generating a `504` response when it does not have a stored response?',
        id: 'ccreq-oic',
        kind: 'check',
        spec_anchors: ['cache-request-directive.only-if-cached'],
        requests: [
          {
            request_headers: [
              ['Cache-Control', 'only-if-cached']
            ],
            expected_status: 504,
            expected_response_text: null
          }
        ]
      }
    ]
  }
})()

// tests/pragma.mjs
const pragma = (() => {
  const templates = origin.templates
  return {
    name: 'Pragma',
    id: 'pragma',
    description: 'These tests check how caches handle the deprecated `Pragma` header in reqeusts and responses. Note that This field is deprecated - it is not required to be supported.',
    spec_anchors: ['field.pragma'],
    tests: [
      {
        name: 'Does HTTP cache use a stored fresh response when request contains `Pragma: no-cache`?',
        id: 'pragma-request-no-cache',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        requests: [
          templates.fresh({}),
          {
            request_headers: [
              ['Pragma', 'no-cache']
            ],
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache reuse a stored fresh response when request contains `Pragma: unrecognised-extension`?',
        id: 'pragma-request-extension',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        requests: [
          templates.fresh({}),
          {
            request_headers: [
              ['Pragma', 'unrecognised-extension']
            ],
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache reuse a stored and otherwise fresh response when it contains `Pragma: no-cache`?',
        id: 'pragma-response-no-cache',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=3600'],
              ['Pragma', 'no-cache']
            ],
            setup: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache reuse a stored and heuristically fresh response when it contains `Pragma: no-cache`?',
        id: 'pragma-response-no-cache-heuristic',
        kind: 'check',
        depends_on: ['heuristic-200-cached'],
        requests: [
          {
            response_headers: [
              ['Date', 0],
              ['Last-Modified', -10000],
              ['Pragma', 'no-cache']
            ],
            setup: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache use a stored and otherwise fresh response when it contains `Pragma: unrecognised-extension`?',
        id: 'pragma-response-extension',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=3600'],
              ['Pragma', 'unrecognised-extension']
            ],
            setup: true
          },
          {
            expected_type: 'cached'
          }
        ]
      }
    ]
  }
})()

origin.runSuites([ccRequest, pragma]);
