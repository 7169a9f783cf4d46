'use strict';

// Storing: status codes, methods, directives, Authorization (RFC 9111 3, 3.5, 5.2.2): conformance tests of cache.proxy() as a shared cache, run by
// scripts/conformance.js (docs/conformance.md says how they are counted).
// The test definitions below are ported from the HTTP caching tests of http-tests/cache-tests
// (tests/cc-response.mjs, tests/status.mjs, tests/method.mjs, tests/authorization.mjs), Copyright (c) 2018, Mark Nottingham, BSD 3-Clause
// License (full text in docs/conformance.md). They are kept as close to the upstream text as
// possible (upstream's code style included) so that they can be diffed against new upstream
// versions; test/helpers/origin.js plays the scripted origin and the client.
const origin = require('../helpers/origin');

// tests/cc-response.mjs
const ccResponse = (() => {

  return {
    name: 'Cache-Control Response Directives',
    id: 'cc-response',
    description: 'These tests check how caches handle response `Cache-Control` directives other than those related to freshness, like `no-cache` and `no-store`.',
    spec_anchors: ['cache-response-directive'],
    tests: [
      {
        name: 'Shared HTTP cache must not store a response with `Cache-Control: private`',
        id: 'cc-resp-private-shared',
        browser_skip: true,
        spec_anchors: ['cache-response-directive.private'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'private, max-age=3600']
            ],
            setup: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'An optimal private HTTP cache reuses a fresh response with `Cache-Control: private`',
        id: 'cc-resp-private-private',
        browser_only: true,
        kind: 'optimal',
        spec_anchors: ['cache-response-directive.private'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'private, max-age=3600']
            ],
            setup: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not store a response with `Cache-Control: no-store`',
        id: 'cc-resp-no-store',
        spec_anchors: ['cache-response-directive.no-store'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'no-store']
            ],
            setup: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not store a response with `Cache-Control: nO-StOrE`',
        id: 'cc-resp-no-store-case-insensitive',
        depends_on: ['cc-resp-no-store'],
        spec_anchors: ['cache-response-directive.no-store'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'No-StOrE']
            ],
            setup: true
          },
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'HTTP cache must not store a response with `Cache-Control: no-store`, even with `max-age` and `Expires`',
        id: 'cc-resp-no-store-fresh',
        depends_on: ['cc-resp-no-store'],
        spec_anchors: ['cache-response-directive.no-store'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=10000, no-store'],
              ['Expires', 10000],
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
        name: 'Does HTTP cache use older stored response when newer one came with `Cache-Control: no-store`?',
        id: 'cc-resp-no-store-old-new',
        depends_on: ['cc-resp-no-store'],
        spec_anchors: ['cache-response-directive.no-store'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=10000'],
              ['Expires', 10000],
              ['Date', 0],
              ['A', '1']
            ],
            setup: true,
            pause_after: true
          },
          {
            response_headers: [
              ['Cache-Control', 'no-store'],
              ['Date', 0],
              ['A', '2']
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached',
            expected_response_headers: [['a', '1']]
          }
        ]
      },
      {
        name: 'Does HTTP cache use older stored response when newer one came with `Cache-Control: no-store, max-age=0`?',
        id: 'cc-resp-no-store-old-max-age',
        depends_on: ['cc-resp-no-store'],
        spec_anchors: ['cache-response-directive.no-store'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=10000'],
              ['Expires', 10000],
              ['Date', 0],
              ['A', '1']
            ],
            setup: true,
            pause_after: true
          },
          {
            response_headers: [
              ['Cache-Control', 'no-store, max-age=0'],
              ['Date', 0],
              ['A', '2']
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached',
            expected_response_headers: [['a', '1']]
          }
        ]
      },
      {
        name: 'HTTP cache must not use a cached response with `Cache-Control: no-cache`, even with `max-age` and `Expires`',
        id: 'cc-resp-no-cache',
        spec_anchors: ['cache-response-directive.no-cache'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=10000, no-cache'],
              ['Expires', 10000],
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
        name: 'HTTP cache must not use a cached response with `Cache-Control: No-CaChE`, even with `max-age` and `Expires`',
        id: 'cc-resp-no-cache-case-insensitive',
        depends_on: ['cc-resp-no-cache'],
        spec_anchors: ['cache-response-directive.no-cache'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=10000, No-CaChE'],
              ['Expires', 10000],
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
        name: 'An optimal HTTP cache stores a response with `Cache-Control: no-cache`, but revalidates it upon use',
        id: 'cc-resp-no-cache-revalidate',
        kind: 'optimal',
        depends_on: ['cc-resp-no-cache'],
        spec_anchors: ['cache-response-directive.no-cache'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'no-cache'],
              ['ETag', '"abcd"']
            ],
            setup: true
          },
          {
            expected_type: 'etag_validated'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache stores a response with `Cache-Control: no-cache`, but revalidates it upon use, even with `max-age` and `Expires`',
        id: 'cc-resp-no-cache-revalidate-fresh',
        kind: 'optimal',
        depends_on: ['cc-resp-no-cache'],
        spec_anchors: ['cache-response-directive.no-cache'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=10000, no-cache'],
              ['Expires', 10000],
              ['Date', 0],
              ['ETag', '"abcd"']
            ],
            setup: true
          },
          {
            expected_type: 'etag_validated'
          }
        ]
      },
      {
        name: 'Does `Cache-Control: no-cache` inhibit storing a listed header?',
        id: 'headers-omit-headers-listed-in-Cache-Control-no-cache-single',
        kind: 'check',
        depends_on: ['cc-resp-no-cache-revalidate'],
        spec_anchors: ['cache-response-directive.no-cache'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'no-cache="a"'],
              ['a', '1'],
              ['b', '2'],
              ['Cache-Control', 'max-age=3600'],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached',
            expected_response_headers: [['b', '2']],
            expected_response_headers_missing: ['a'],
            setup_tests: ['expected_type']
          }
        ]
      },
      {
        name: 'Does `Cache-Control: no-cache` inhibit storing multiple listed headers?',
        id: 'headers-omit-headers-listed-in-Cache-Control-no-cache',
        kind: 'check',
        depends_on: ['cc-resp-no-cache-revalidate'],
        spec_anchors: ['cache-response-directive.no-cache'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'no-cache="a, b"'],
              ['a', '1'],
              ['b', '2'],
              ['c', '3'],
              ['Cache-Control', 'max-age=3600'],
              ['Date', 0]
            ],
            setup: true,
            pause_after: true
          },
          {
            expected_type: 'cached',
            expected_response_headers: [['c', '3']],
            expected_response_headers_missing: ['a', 'b'],
            setup_tests: ['expected_type']
          }
        ]
      },
      {
        name: 'An optimal HTTP cache reuses a response with positive `Cache-Control: max-age, must-revalidate`',
        id: 'cc-resp-must-revalidate-fresh',
        kind: 'optimal',
        depends_on: ['freshness-none'],
        spec_anchors: ['cache-response-directive.must-revalidate'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=10000, must-revalidate'],
              ['ETag', '"abcd"']
            ],
            setup: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'HTTP cache must revalidate a stale response with positive `Cache-Control: max-age, must-revalidate`',
        id: 'cc-resp-must-revalidate-stale',
        depends_on: ['freshness-none'],
        spec_anchors: ['cache-response-directive.must-revalidate'],
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=2, must-revalidate'],
              ['ETag', '"abcd"']
            ],
            setup: true
          },
          {
            expected_type: 'cached',
            setup: true,
            pause_after: true,
            response_headers: [
              ['Cache-Control', 'max-age=2, must-revalidate'],
              ['ETag', '"abcd"']
            ]
          },
          {
            expected_type: 'etag_validated'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache reuses a fresh response with `Cache-Control: immutable` without revalidation.',
        id: 'cc-resp-immutable-fresh',
        kind: 'optimal',
        browser_only: true,
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=10000, immutable'],
              ['ETag', '"abcd"']
            ],
            setup: true,
            pause_after: true
          },
          {
            cache: 'no-cache',
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'A HTTP cache MUST revalidate a stale response with `Cache-Control: immutable`',
        id: 'cc-resp-immutable-stale',
        spec_anchors: ['https://www.rfc-editor.org/rfc/rfc8246.html#section-2'],
        browser_only: true,
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=2, immutable'],
              ['ETag', '"abcd"']
            ],
            setup: true,
            pause_after: true
          },
          {
            cache: 'no-cache',
            expected_type: 'etag_validated',
            expected_request_headers: [['cache-control', 'max-age=0']]
          }
        ]
      }
    ]
  }
})()

// tests/status.mjs
const status = (() => {
  const templates = origin.templates
  const utils = origin.utils
  const tests = []

  function checkStatus (status) {
    const code = status[0]
    const phrase = status[1]
    let body = status[2]
    if (body === undefined) {
      body = utils.httpContent(code)
    }
    const is3xx = code > 299 && code < 400
    tests.push({
      name: 'An optimal HTTP cache reuses a fresh `' + code + '` response with explict freshness',
      id: `status-${code}-fresh`,
      kind: 'optimal',
      depends_on: ['freshness-max-age'],
      browser_skip: is3xx,
      requests: [
        templates.fresh({
          response_status: [code, phrase],
          response_body: body,
          redirect: 'manual'
        }), {
          expected_type: 'cached',
          response_status: [code, phrase],
          redirect: 'manual',
          response_body: body
        }
      ]
    })
    tests.push({
      name: 'HTTP cache must not reuse a stale `' + code + '` response with explicit freshness',
      id: `status-${code}-stale`,
      spec_anchors: ['response.cacheability'],
      depends_on: [`status-${code}-fresh`],
      browser_skip: is3xx,
      requests: [
        templates.stale({
          response_status: [code, phrase],
          response_body: body,
          redirect: 'manual',
          setup: true
        }), {
          expected_type: 'not_cached',
          redirect: 'manual',
          response_body: body
        }
      ]
    })
  }
  [
    [200, 'OK'],
    [203, 'Non-Authoritative Information'],
    [204, 'No Content', null],
    [299, 'Whatever'],
    [301, 'Moved Permanently'],
    [302, 'Found'],
    [303, 'See Other'],
    [307, 'Temporary Redirect'],
    [308, 'Permanent Redirect'],
    [400, 'Bad Request'],
    [404, 'Not Found'],
    [410, 'Gone'],
    [499, 'Whatever'],
    [500, 'Internal Server Error'],
    [502, 'Bad Gateway'],
    [503, 'Service Unavailable'],
    [504, 'Gateway Timeout'],
    [599, 'Whatever']
  ].forEach(checkStatus)

  tests.push({
    name: 'HTTP cache must not reuse a fresh response with an unrecognised status code and `Cache-Control: no-store, must-understand`',
    id: 'status-599-must-understand',
    depends_on: ['status-599-fresh'],
    spec_anchors: ['cache-response-directive.must-understand'],
    requests: [
      {
        response_status: [599, 'Whatever'],
        response_headers: [
          ['Cache-Control', 'max-age=3600, no-store, must-understand']
        ],
        setup: true
      },
      {
        expected_type: 'not_cached'
      }
    ]
  })

  tests.push({
    name: 'An optimal HTTP cache reuses a fresh response with a recognised status code and `Cache-Control: no-store, must-understand`',
    id: 'status-200-must-understand',
    kind: 'optimal',
    depends_on: ['status-200-fresh', 'cc-resp-no-store-fresh'],
    spec_anchors: ['cache-response-directive.must-understand'],
    requests: [
      {
        response_status: [200, 'OK'],
        response_headers: [
          ['Cache-Control', 'max-age=3600, no-store, must-understand']
        ],
        setup: true
      },
      {
        expected_type: 'cached'
      }
    ]
  })

  return {
    name: 'Status Code Cacheability',
    id: 'status',
    description: 'These tests check to see if a cache will store and reuse various status codes when they have explicit freshness information associated with them.',
    spec_anchors: ['response.cacheability'],
    tests
  }
})()

// tests/method.mjs
const method = (() => {

  return {
    name: 'Method-related Caching Requirements',
    id: 'method',
    description: 'These tests check how caches handle different HTTP methods.',
    spec_anchors: ['response.cacheability'],
    tests: [
      {
        name: 'An optimal HTTP cache reuses a stored `POST` response (that has `Content-Location` with the same URL and explicit freshness) for subsequent `GET` requests',
        id: 'method-POST',
        kind: 'optimal',
        requests: [
          {
            request_method: 'POST',
            request_body: '12345',
            request_headers: [
              ['Content-Type', 'text/plain']
            ],
            response_headers: [
              ['Cache-Control', 'max-age=3600'],
              ['Content-Location', ''],
              ['Date', 0]
            ],
            magic_locations: true,
            pause_after: true,
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

// tests/authorization.mjs
const authorization = (() => {
  const templates = origin.templates
  return {
    name: 'Storing Respones to Authenticated Requests',
    id: 'auth',
    description: 'These tests check for behaviours regarding authenticated HTTP responses.',
    spec_anchors: ['caching.authenticated.responses'],
    tests: [
      {
        name: 'HTTP shared cache must not reuse a response to a request that contained `Authorization`, even with explicit freshness',
        id: 'other-authorization',
        spec_anchors: ['caching.authenticated.responses'],
        depends_on: ['freshness-max-age'],
        browser_skip: true,
        requests: [
          templates.fresh({
            request_headers: [
              ['Authorization', 'FOO']
            ],
            expected_request_headers: [
              ['Authorization', 'FOO']
            ]
          }),
          {
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP shared cache reuses a response to a request that contained `Authorization`, if it has `Cache-Control: public`',
        id: 'other-authorization-public',
        kind: 'optimal',
        browser_skip: true,
        depends_on: ['other-authorization'],
        spec_anchors: ['cache-response-directive.public'],
        requests: [
          {
            request_headers: [
              ['Authorization', 'FOO']
            ],
            expected_request_headers: [
              ['Authorization', 'FOO']
            ],
            response_headers: [
              ['Cache-Control', 'max-age=3600, public'],
              ['Date', 0]
            ],
            pause_after: true,
            setup: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP shared cache reuses a response to a request that contained `Authorization`, if it has `Cache-Control: must-revalidate`',
        id: 'other-authorization-must-revalidate',
        kind: 'optimal',
        browser_skip: true,
        depends_on: ['other-authorization'],
        requests: [
          {
            request_headers: [
              ['Authorization', 'FOO']
            ],
            expected_request_headers: [
              ['Authorization', 'FOO']
            ],
            response_headers: [
              ['Cache-Control', 'max-age=3600, must-revalidate'],
              ['Date', 0]
            ],
            pause_after: true,
            setup: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP shared cache reuses a response to a request that contained `Authorization`, if it has `Cache-Control: s-maxage`',
        id: 'other-authorization-smaxage',
        kind: 'optimal',
        browser_skip: true,
        depends_on: ['other-authorization'],
        requests: [
          {
            request_headers: [
              ['Authorization', 'FOO']
            ],
            expected_request_headers: [
              ['Authorization', 'FOO']
            ],
            response_headers: [
              ['Cache-Control', 's-maxage=3600'],
              ['Date', 0]
            ],
            pause_after: true,
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

// Project rules (issue 14), not from upstream: kind 'project', counted apart from RFC 9111's.
const projectRules = {
  name: 'respcache project rules',
  id: 'project',
  tests: [
    {
      name: 'A response carrying `Set-Cookie` is never stored, whatever its freshness',
      id: 'project-set-cookie-not-stored',
      kind: 'project',
      spec_anchors: ['response.cacheability'],
      requests: [
        {
          response_headers: [
            ['Cache-Control', 'public, max-age=3600'],
            ['Set-Cookie', 'session=abc']
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

origin.runSuites([ccResponse, status, method, authorization, projectRules]);
