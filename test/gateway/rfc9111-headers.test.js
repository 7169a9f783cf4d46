'use strict';

// Stored and generated header fields, interim responses (RFC 9111 3.1, 4, 5.1): conformance tests of cache.proxy() as a shared cache, run by
// scripts/conformance.js (docs/conformance.md says how they are counted).
// The test definitions below are ported from the HTTP caching tests of http-tests/cache-tests
// (tests/headers.mjs, tests/other.mjs, tests/interim.mjs), Copyright (c) 2018, Mark Nottingham, BSD 3-Clause
// License (full text in docs/conformance.md). They are kept as close to the upstream text as
// possible (upstream's code style included) so that they can be diffed against new upstream
// versions; test/helpers/origin.js plays the scripted origin and the client.
const origin = require('../helpers/origin');

// tests/headers.mjs
const headers = (() => {
  const templates = origin.templates
  const utils = origin.utils
  const headerList = origin.headerList
  const tests = []

  tests.push({
    name: '`Connection` header must inhibit a HTTP cache from storing listed headers',
    id: 'headers-omit-headers-listed-in-Connection',
    spec_anchors: ['storing.fields'],
    kind: 'required',
    depends_on: ['freshness-max-age'],
    requests: [
      templates.fresh({
        response_headers: [
          ['Connection', 'a, b', false],
          ['a', '1', false],
          ['b', '2', false],
          ['c', '3', false]
        ]
      }),
      {
        expected_type: 'cached',
        expected_response_headers: [['c', '3']],
        expected_response_headers_missing: ['a', 'b'],
        setup_tests: ['expected_type', 'expected_response_headers']
      }
    ]
  })

  function checkStoreHeader (config) {
    const id = `store-${config.name}`
    const value = 'valB' in config ? config.valB : utils.httpContent(`${config.name}-store-value`)
    const storeHeader = 'noStore' in config ? !config.noStore : true
    const requirement = storeHeader ? 'must' : 'must not'
    const expectedHeaders = storeHeader ? [[config.name, value]] : []
    const unexpectedHeaders = storeHeader ? [] : [[config.name, value]]

    const respHeaders = [
      ['Date', 0],
      [config.name, value, storeHeader]
    ]
    if (config.name !== 'Cache-Control') {
      respHeaders.push(['Cache-Control', 'max-age=3600'])
    }

    tests.push({
      name: `HTTP cache ${requirement} store \`${config.name}\` header field`,
      id: `headers-${id}`,
      spec_anchors: ['storing.fields'],
      kind: 'required',
      depends_on: ['freshness-max-age'],
      requests: [
        {
          response_headers: respHeaders,
          setup: true,
          pause_after: true,
          check_body: 'checkBody' in config ? config.checkBody : true
        },
        {
          expected_type: 'cached',
          expected_response_headers: expectedHeaders,
          expected_response_headers_missing: unexpectedHeaders,
          setup_tests: ['expected_type'],
          check_body: 'checkBody' in config ? config.checkBody : true
        }
      ]
    })
  }

  headerList.forEach(checkStoreHeader)

  return {
    name: 'Storing Header Fields',
    id: 'headers',
    description: 'These tests examine how caches store headers in responses.',
    spec_anchors: ['storing.fields'],
    tests
  }
})()

// tests/other.mjs
const other = (() => {
  const templates = origin.templates
  const utils = origin.utils
  return {
    name: 'Other Caching Requirements',
    id: 'other',
    description: 'These tests check miscellaneous HTTP cache behaviours. ',
    tests: [
      {
        name: 'HTTP cache must generate an `Age` header field when using a stored response.',
        id: 'other-age-gen',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['field.age', 'constructing.responses.from.caches'],
        requests: [
          templates.fresh({}),
          {
            expected_type: 'cached',
            expected_response_headers: [
              ['Age', '>', 2]
            ]
          }
        ]
      },
      {
        name: 'Does HTTP cache insert an `Age` header field when there is delay generating the response?',
        id: 'other-age-delay',
        kind: 'check',
        requests: [
          {
            response_headers: [
              ['Cache-Control', 'max-age=3600'],
              ['Date', 0]
            ],
            response_pause: 5,
            expected_response_headers: [['age', '>', 0]]
          }
        ]
      },
      {
        name: 'HTTP cache must update the `Age` header field when freshness is based upon `Expires`',
        id: 'other-age-update-expires',
        depends_on: ['freshness-expires-future'],
        spec_anchors: ['constructing.responses.from.caches', 'field.age'],
        requests: [
          {
            response_headers: [
              ['Expires', 30 * 24 * 60 * 60],
              ['Date', 0],
              ['Age', '30']
            ],
            pause_after: true,
            setup: true
          },
          {
            expected_type: 'cached',
            expected_response_headers: [
              ['Age', '>', 32]
            ]
          }
        ]
      },
      {
        name: 'HTTP cache must update the `Age` header field when freshness is based upon `CC: max-age`',
        id: 'other-age-update-max-age',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['constructing.responses.from.caches', 'field.age'],
        requests: [
          templates.fresh({
            response_headers: [
              ['Age', '30']
            ]
          }),
          {
            expected_type: 'cached',
            expected_response_headers: [
              ['Age', '>', 32]
            ]
          }
        ]
      },
      {
        name: 'HTTP cache must not update the `Date` header field',
        id: 'other-date-update',
        depends_on: ['freshness-max-age'],
        spec_anchors: ['field.date'],
        requests: [
          templates.fresh({}),
          {
            expected_type: 'cached',
            expected_response_headers: [
              ['Date', 0]
            ]
          }
        ]
      },
      {
        name: 'HTTP cache must not update the `Date` header field when `Expires` is present',
        id: 'other-date-update-expires',
        depends_on: ['freshness-expires-future'],
        spec_anchors: ['field.date'],
        requests: [
          {
            response_headers: [
              ['Expires', 30 * 24 * 60 * 60],
              ['Date', 0]
            ],
            pause_after: true,
            setup: true
          },
          {
            expected_type: 'cached',
            expected_response_headers: [
              ['Date', 0]
            ]
          }
        ]
      },
      {
        name: 'Does HTTP cache leave the `Expires` header field alone?',
        id: 'other-date-update-expires-update',
        kind: 'check',
        depends_on: ['freshness-expires-future'],
        spec_anchors: ['field.date'],
        requests: [
          {
            response_headers: [
              ['Expires', 30 * 24 * 60 * 60],
              ['Date', 0]
            ],
            pause_after: true,
            setup: true
          },
          {
            expected_type: 'cached',
            expected_response_headers: [
              ['Expires', 30 * 24 * 60 * 60]
            ]
          }
        ]
      },
      {
        name: 'Different query arguments must be different cache keys',
        id: 'query-args-different',
        spec_anchors: ['caching.overview'],
        depends_on: ['freshness-max-age'],
        requests: [
          templates.fresh({
            query_arg: 'test=' + utils.httpContent('query-args-different-1')
          }),
          {
            query_arg: 'test=' + utils.httpContent('query-args-different-2'),
            expected_type: 'not_cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache should not be affected by the presence of a URL query',
        id: 'query-args-same',
        kind: 'optimal',
        depends_on: ['freshness-max-age'],
        requests: [
          templates.fresh({
            query_arg: 'test=' + utils.httpContent('query-args-same')
          }),
          {
            query_arg: 'test=' + utils.httpContent('query-args-same'),
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'Does HTTP heuristically cache a response with a `Content-Disposition: attachment` header?',
        id: 'other-heuristic-content-disposition-attachment',
        kind: 'check',
        depends_on: ['heuristic-200-cached'],
        requests: [
          {
            response_headers: [
              ['Last-Modified', -100000],
              ['Date', 0],
              ['Content-Disposition', 'attachment; filename=example.txt']
            ],
            setup: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'Does HTTP reuse a fresh response with a `Content-Disposition: attachment` header?',
        id: 'other-fresh-content-disposition-attachment',
        kind: 'check',
        depends_on: ['freshness-max-age'],
        requests: [
          templates.fresh({
            response_headers: [
              ['Content-Disposition', 'attachment; filename=example.txt']
            ]
          }),
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache reuses a fresh response with a `Set-Cookie` header',
        id: 'other-set-cookie',
        depends_on: ['freshness-max-age'],
        kind: 'optimal',
        requests: [
          templates.fresh({
            response_headers: [
              ['Set-Cookie', 'a=b']
            ]
          }),
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache reuses a fresh response when the request has a `Cookie` header',
        id: 'other-cookie',
        kind: 'optimal',
        depends_on: ['freshness-max-age'],
        requests: [
          templates.fresh({}),
          {
            request_headers: [
              ['Cookie', 'a=b']
            ],
            expected_type: 'cached'
          }
        ]
      }
    ]
  }
})()

// tests/interim.mjs
const interim = (() => {

  return {
    name: 'Interim Response Handling',
    id: 'interim',
    description: 'These tests check how caches handle interim responses.',
    tests: [
      {
        name: 'An optimal HTTP cache passes a 102 response through and caches the final response',
        id: 'interim-102',
        browser_skip: true, // Fetch API in browsers don't expose interim responses
        kind: 'optimal',
        requests: [
          {
            interim_responses: [[102]],
            expected_interim_responses: [[102]],
            response_headers: [
              ['Cache-Control', 'max-age=100000'],
              ['Date', 0]
            ],
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache passes a 103 response through and caches the final response',
        id: 'interim-103',
        browser_skip: true,
        kind: 'optimal',
        requests: [
          {
            interim_responses: [
              [103, [
                ['link', '</styles.css>; rel=preload; as=style'],
                ['x-my-header', 'test']
              ]]
            ],
            expected_interim_responses: [
              [103, [
                ['link', '</styles.css>; rel=preload; as=style'],
                ['x-my-header', 'test']
              ]]
            ],
            response_headers: [
              ['Cache-Control', 'max-age=100000'],
              ['Date', 0]
            ],
            pause_after: true
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'An HTTP cache should not cache non-final responses',
        id: 'interim-not-cached',
        spec_anchors: ['response.cacheability'],
        browser_skip: true,
        kind: 'required',
        requests: [
          {
            interim_responses: [
              [103, [
                ['link', '</styles.css>; rel=preload; as=style']
              ]]
            ],
            expected_interim_responses: [
              [103, [
                ['link', '</styles.css>; rel=preload; as=style']
              ]]
            ],
            response_headers: [
              ['Cache-Control', 'max-age=100000'],
              ['Date', 0]
            ],
            pause_after: true
          },
          {
            expected_type: 'cached',
            expected_interim_responses: []
          }
        ]
      },
      {
        name: 'An optimal HTTP cache should not store headers from non-final responses',
        id: 'interim-no-header-reuse',
        browser_skip: true,
        kind: 'optimal',
        requests: [
          {
            interim_responses: [
              [103, [
                ['link', '</styles.css>; rel=preload; as=style'],
                ['x-my-header', 'test']
              ]]
            ],
            expected_interim_responses: [
              [103, [
                ['link', '</styles.css>; rel=preload; as=style'],
                ['x-my-header', 'test']
              ]]
            ],
            response_headers: [
              ['Cache-Control', 'max-age=100000'],
              ['Date', 0]
            ],
            expected_response_headers_missing: [
              'x-my-header'
            ],
            pause_after: true
          },
          {
            expected_type: 'cached',
            expected_response_headers_missing: [
              'x-my-header'
            ]
          }
        ]
      }
    ]
  }
})()

origin.runSuites([headers, other, interim]);
