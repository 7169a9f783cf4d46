'use strict';

// Validation: conditional requests and 304 (RFC 9111 4.3): conformance tests of cache.proxy() as a shared cache, run by
// scripts/conformance.js (docs/conformance.md says how they are counted).
// The test definitions below are ported from the HTTP caching tests of http-tests/cache-tests
// (tests/conditional-lm.mjs, tests/conditional-etag.mjs, tests/update304.mjs, tests/updateHead.mjs), Copyright (c) 2018, Mark Nottingham, BSD 3-Clause
// License (full text in docs/conformance.md). They are kept as close to the upstream text as
// possible (upstream's code style included) so that they can be diffed against new upstream
// versions; test/helpers/origin.js plays the scripted origin and the client.
const origin = require('../helpers/origin');

// tests/conditional-lm.mjs
const conditionalLm = (() => {
  const templates = origin.templates
  return {
    name: 'Conditional Requests: If-Modified-Since and Last-Modified',
    id: 'conditional-lm',
    description: 'These tests check handling of conditional requests using `If-Modified-Since` and `Last-Modified`.',
    spec_anchors: ['validation.model'],
    tests: [
      {
        name: 'An optimal HTTP cache responds to `If-Modified-Since` with a `304` when holding a fresh response with a matching `Last-Modified`',
        id: 'conditional-lm-fresh',
        kind: 'optimal',
        depends_on: ['freshness-max-age'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['Last-Modified', -3000]
            ]
          }),
          {
            request_headers: [
              ['If-Modified-Since', -3000]
            ],
            magic_ims: true,
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'An optimal HTTP cache responds to `If-Modified-Since` with a `304` when holding a fresh response with an earlier `Last-Modified`',
        id: 'conditional-lm-fresh-earlier',
        kind: 'optimal',
        depends_on: ['freshness-max-age'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['Last-Modified', -3000]
            ]
          }),
          {
            request_headers: [
              ['If-Modified-Since', -2000]
            ],
            magic_ims: true,
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'An optimal HTTP cache responds to `If-Modified-Since` with a `304` when holding a stale response with a matching `Last-Modified`, after validation',
        id: 'conditional-lm-stale',
        kind: 'optimal',
        depends_on: ['freshness-max-age-stale'],
        browser_skip: true,
        requests: [
          templates.becomeStale({
            response_headers: [
              ['Last-Modified', -3000]
            ]
          }),
          {
            request_headers: [
              ['If-Modified-Since', -3000]
            ],
            magic_ims: true,
            expected_type: 'lm_validated',
            expected_status: 304
          }
        ]
      },
      {
        name: 'An optimal HTTP cache responds to `If-Modified-Since` with a `304` when holding a newer fresh response with no `Last-Modified`',
        id: 'conditional-lm-fresh-no-lm',
        kind: 'optimal',
        depends_on: ['freshness-max-age'],
        browser_skip: true,
        requests: [
          templates.fresh({}),
          {
            request_headers: [
              ['If-Modified-Since', -3000]
            ],
            magic_ims: true,
            expected_type: 'cached',
            expected_status: 304,
            setup_tests: ['expected_type']
          }
        ]
      },
      {
        name: 'An optimal HTTP cache responds to `If-Modified-Since` with a `304` when holding a newer fresh response when IMS uses an equivalent rfc850 date',
        id: 'conditional-lm-fresh-rfc850',
        kind: 'optimal',
        depends_on: ['freshness-max-age'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['Last-Modified', -3000]
            ]
          }),
          {
            request_headers: [
              ['If-Modified-Since', -3000]
            ],
            magic_ims: true,
            rfc850date: ['if-modified-since'],
            expected_type: 'cached',
            expected_status: 304,
            setup_tests: ['expected_type']
          }
        ]
      }
    ]
  }
})()

// tests/conditional-etag.mjs
const conditionalEtag = (() => {
  const templates = origin.templates
  return {
    name: 'Conditional Requests: If-None-Match and ETag',
    id: 'conditional-inm',
    description: 'These tests check handling of conditional requests using `If-None-Match` and `ETag`.',
    spec_anchors: ['validation.model'],
    tests: [
      {
        name: 'An optimal HTTP cache responds to `If-None-Match` with a `304` when holding a fresh response with a matching strong `ETag`',
        id: 'conditional-etag-strong-respond',
        kind: 'optimal',
        depends_on: ['freshness-max-age'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', '"abcdef"']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', '"abcdef"']
            ],
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'HTTP cache must include `ETag` in a `304 Not Modified`',
        id: 'conditional-304-etag',
        spec_anchors: ['freshening.responses'],
        depends_on: ['conditional-etag-strong-respond'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', '"abcdef"']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', '"abcdef"']
            ],
            expected_type: 'cached',
            expected_status: 304,
            expected_response_headers: [
              ['ETag', '"abcdef"']
            ]
          }
        ]
      },
      {
        name: 'HTTP cache must give precedence to `If-None-Match` over `If-Modified-Since`',
        id: 'conditional-etag-precedence',
        spec_anchors: ['validation.received'],
        depends_on: ['conditional-etag-strong-respond'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['Last-Modified', -5000],
              ['ETag', '"abcdef"']
            ]
          }),
          {
            // The two conditionals are intentionally in disagreement: the
            // matching `If-None-Match` yields 304, whereas `If-Modified-Since`
            // is set before `Last-Modified` (-10000 vs -5000) so on its own it
            // would yield 200. Only a cache that gives `If-None-Match`
            // precedence returns the expected 304.
            request_headers: [
              ['If-None-Match', '"abcdef"'],
              ['If-Modified-Since', -10000]
            ],
            magic_ims: true,
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'Does HTTP cache respond to `If-None-Match` with a `304` when holding a fresh response with a matching strong `ETag` containing obs-text?',
        id: 'conditional-etag-strong-respond-obs-text',
        kind: 'check',
        depends_on: ['conditional-etag-strong-respond'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', '"abcdefü"']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', '"abcdefü"']
            ],
            expected_type: 'cached',
            expected_status: 304,
            expected_response_headers: [
              ['ETag', '"abcdefü"']
            ]
          }
        ]
      },
      {
        name: 'Does HTTP cache respond to an unquoted `If-None-Match` with a `304` when holding a fresh response with a matching strong `ETag` that is quoted?',
        id: 'conditional-etag-quoted-respond-unquoted',
        kind: 'check',
        depends_on: ['conditional-etag-strong-respond'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', '"abcdef"']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', 'abcdef']
            ],
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'Does HTTP cache respond to an unquoted `If-None-Match` with a `304` when holding a fresh response with a matching strong `ETag` that is unquoted?',
        id: 'conditional-etag-unquoted-respond-unquoted',
        kind: 'check',
        depends_on: ['conditional-etag-strong-respond'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', 'abcdef']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', 'abcdef']
            ],
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'Does HTTP cache respond to a quoted `If-None-Match` with a `304` when holding a fresh response with a matching strong `ETag` that is unquoted?',
        id: 'conditional-etag-unquoted-respond-quoted',
        kind: 'check',
        depends_on: ['conditional-etag-strong-respond'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', 'abcdef']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', '"abcdef"']
            ],
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'An optimal HTTP cache responds to `If-None-Match` with a `304` when holding a fresh response with a matching weak `ETag`',
        id: 'conditional-etag-weak-respond',
        kind: 'optimal',
        depends_on: ['freshness-max-age'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', 'W/"abcdef"']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', 'W/"abcdef"']
            ],
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'Does HTTP cache respond to `If-None-Match` with a `304` when holding a fresh response with a matching weak `ETag`, and the entity-tag weakness flag is lowercase?',
        id: 'conditional-etag-weak-respond-lowercase',
        kind: 'check',
        depends_on: ['conditional-etag-weak-respond'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', 'w/"abcdef"']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', 'w/"abcdef"']
            ],
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'Does HTTP cache respond to `If-None-Match` with a `304` when holding a fresh response with a matching weak `ETag`, and the entity-tag weakness flag uses `\\` instead of `/`?',
        id: 'conditional-etag-weak-respond-backslash',
        kind: 'check',
        depends_on: ['conditional-etag-weak-respond'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', 'W\\"abcdef"']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', 'W\\"abcdef"']
            ],
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'Does HTTP cache respond to `If-None-Match` with a `304` when holding a fresh response with a matching weak `ETag`, and the entity-tag weakness flag omits `/`?',
        id: 'conditional-etag-weak-respond-omit-slash',
        depends_on: ['conditional-etag-weak-respond'],
        kind: 'check',
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', 'W"abcdef"']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', 'W"abcdef"']
            ],
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'An optimal HTTP cache responds to `If-None-Match` with a `304` when it contains multiple entity-tags (first one)',
        id: 'conditional-etag-strong-respond-multiple-first',
        kind: 'optimal',
        depends_on: ['conditional-etag-strong-respond'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', '"abcdef"']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', '"abcdef", "1234", "5678"']
            ],
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'An optimal HTTP cache responds to `If-None-Match` with a `304` when it contains multiple entity-tags (middle one)',
        id: 'conditional-etag-strong-respond-multiple-second',
        kind: 'optimal',
        depends_on: ['conditional-etag-strong-respond'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', '"abcdef"']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', '"1234", "abcdef", "5678"']
            ],
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'An optimal HTTP cache responds to `If-None-Match` with a `304` when it contains multiple entity-tags (last one)',
        id: 'conditional-etag-strong-respond-multiple-last',
        kind: 'optimal',
        depends_on: ['conditional-etag-strong-respond'],
        browser_skip: true,
        requests: [
          templates.fresh({
            response_headers: [
              ['ETag', '"abcdef"']
            ]
          }),
          {
            request_headers: [
              ['If-None-Match', '"1234", "5678", "abcdef"']
            ],
            expected_type: 'cached',
            expected_status: 304
          }
        ]
      },
      {
        name: 'HTTP cache must include stored response headers identified by `Vary` in a conditional request it generates',
        id: 'conditional-etag-vary-headers',
        spec_anchors: ['validation.sent'],
        requests: [
          {
            request_headers: [
              ['Abc', '123']
            ],
            response_headers: [
              ['Expires', 1],
              ['ETag', '"abcdef"'],
              ['Date', 0],
              ['Vary', 'Abc']
            ],
            setup: true,
            pause_after: true
          },
          {
            request_headers: [
              ['Abc', '123']
            ],
            expected_type: 'etag_validated',
            expected_request_headers: [
              ['Abc', '123']
            ],
            setup_tests: ['expected_type']
          }
        ]
      },
      {
        name: 'Does HTTP cache use a stored `ETag` to validate when the presented `Vary`ing request header differs?',
        id: 'conditional-etag-vary-headers-mismatch',
        kind: 'check',
        spec_anchors: ['caching.negotiated.responses'],
        depends_on: ['conditional-etag-vary-headers', 'vary-no-match'],
        requests: [
          {
            request_headers: [
              ['Abc', '123']
            ],
            response_headers: [
              ['Expires', 10000],
              ['ETag', '"abcdef"'],
              ['Date', 0],
              ['Vary', 'Abc']
            ],
            setup: true,
            pause_after: true
          },
          {
            request_headers: [
              ['Abc', '456']
            ],
            expected_request_headers: [
              ['If-None-Match', '"abcdef"']
            ]
          }
        ]
      },
      {
        name: 'An optimal HTTP cache generates a `If-None-Match` request when holding a stale response with a matching strong `ETag`',
        id: 'conditional-etag-strong-generate',
        kind: 'optimal',
        depends_on: ['freshness-max-age-stale'],
        requests: [
          templates.becomeStale({
            response_headers: [
              ['ETag', '"abcdef"']
            ]
          }),
          {
            expected_request_headers: [
              ['If-None-Match', '"abcdef"']
            ],
            expected_type: 'etag_validated'
          }
        ]
      },
      {
        name: 'An optimal HTTP cache generates a `If-None-Match` request when holding a stale response with a matching weak `ETag`',
        id: 'conditional-etag-weak-generate-weak',
        kind: 'optimal',
        depends_on: ['freshness-max-age-stale'],
        requests: [
          templates.becomeStale({
            response_headers: [
              ['ETag', 'W/"abcdef"']
            ]
          }),
          {
            expected_request_headers: [
              ['If-None-Match', 'W/"abcdef"']
            ],
            expected_type: 'etag_validated'
          }
        ]
      },
      {
        name: 'Does HTTP cache generate a quoted `If-None-Match` request when holding a stale response with a matching, unquoted strong `ETag`?',
        id: 'conditional-etag-strong-generate-unquoted',
        kind: 'check',
        depends_on: ['conditional-etag-strong-generate'],
        requests: [
          templates.becomeStale({
            response_headers: [
              ['ETag', 'abcdef']
            ]
          }),
          {
            expected_request_headers: [
              ['If-None-Match', '"abcdef"']
            ],
            expected_type: 'etag_validated'
          }
        ]
      },
      {
        name: 'Does HTTP cache forward `If-None-Match` request header when no stored response is available?',
        id: 'conditional-etag-forward',
        kind: 'check',
        requests: [
          {
            request_headers: [
              ['If-None-Match', '"abcdef"']
            ],
            expected_request_headers: [
              ['If-None-Match', '"abcdef"']
            ]
          }
        ]
      },
      {
        name: 'Does HTTP cache add quotes to an unquoted `If-None-Match` request when forwarding it?',
        id: 'conditional-etag-forward-unquoted',
        depends_on: ['conditional-etag-forward'],
        kind: 'check',
        requests: [
          {
            request_headers: [
              ['If-None-Match', 'abcdef']
            ],
            expected_request_headers: [
              ['If-None-Match', '"abcdef"']
            ]
          }
        ]
      }
    ]
  }
})()

// tests/update304.mjs
const update304 = (() => {
  const utils = origin.utils
  const headerList = origin.headerList
  const tests = []

  // first, check to see that the cache actually returns a stored header
  const storedHeader = 'Test-Header'
  const valueA = utils.httpContent(`${storedHeader}-value-A`)
  const lm1 = 'Wed, 01 Jan 2020 00:00:00 GMT'
  tests.push({
    name: `HTTP cache must return stored \`${storedHeader}\` from a \`304\` that omits it`,
    id: `304-lm-use-stored-${storedHeader}`,
    spec_anchors: ['freshening.responses'],
    requests: [
      {
        response_headers: [
          ['Cache-Control', 'max-age=2'],
          ['Last-Modified', lm1],
          ['Date', 0],
          [storedHeader, valueA]
        ],
        setup: true,
        pause_after: true
      },
      {
        response_headers: [
          ['Last-Modified', lm1],
          ['Date', 0]
        ],
        expected_type: 'lm_validated',
        expected_response_headers: [
          [storedHeader, valueA]
        ],
        setup_tests: ['expected_type']
      }
    ]
  })

  // now check headers in the list
  function check304 (config) {
    if (config.noStore) return
    config.valueA = config.valA || utils.httpContent(`${config.name}-value-A`)
    config.valueB = config.valB || utils.httpContent(`${config.name}-value-B`)
    if (config.noUpdate === true) {
      config.expectedValue = config.valueA
      config.requirement = 'HTTP cache must not'
      config.punctuation = ''
      config.kind = 'required'
    } else if (config.reqUpdate === true) {
      config.expectedValue = config.valueB
      config.requirement = 'HTTP cache must'
      config.punctuation = ''
      config.kind = 'required'
    } else {
      config.expectedValue = config.valueB
      config.requirement = 'Does HTTP cache'
      config.punctuation = '?'
      config.kind = 'check'
    }
    config.etagVal = utils.httpContent(`${config.name}-etag-1`)
    config.etag = `"${config.etagVal}"`
    config.lm = 'Wed, 01 Jan 2020 00:00:00 GMT'

    tests.push({
      name: `${config.requirement} update and return \`${config.name}\` from a \`304\`${config.punctuation}`,
      id: `304-etag-update-response-${config.name}`,
      spec_anchors: ['freshening.responses'],
      kind: config.kind,
      depends_on: [`304-lm-use-stored-${storedHeader}`],
      requests: makeRequests(config, 'ETag', config.etag)
    })
  }

  function makeRequests (config, validatorType, validatorValue) {
    return [
      {
        response_headers: makeResponse(config, config.valueA, validatorType, validatorValue),
        setup: true,
        pause_after: true,
        check_body: 'checkBody' in config ? config.checkBody : true
      },
      {
        response_headers: makeResponse(config, config.valueB, validatorType, validatorValue),
        expected_type: validatorType === 'ETag' ? 'etag_validated' : 'lm_validated',
        setup_tests: ['expected_type'],
        expected_response_headers: [
          [config.name, config.expectedValue]
        ],
        check_body: 'checkBody' in config ? config.checkBody : true
      },
      {
        response_headers: makeResponse(config, config.expectedValue),
        expected_type: 'cached',
        setup_tests: ['expected_type'],
        expected_response_headers: [
          [config.name, config.expectedValue]
        ],
        check_body: 'checkBody' in config ? config.checkBody : true
      }
    ]
  }

  function makeResponse (config, value, validatorType, validatorValue) {
    const checkHeader = 'noUpdate' in config ? !config.noUpdate : true
    const responseHeaders = [
      ['Date', 0],
      [config.name, value, checkHeader]
    ]
    if (config.name !== 'Cache-Control') {
      responseHeaders.push(['Cache-Control', 'max-age=2'])
    }
    if (validatorType && validatorType !== config.name) {
      responseHeaders.push([validatorType, validatorValue])
    }
    return responseHeaders
  }

  headerList.forEach(check304)

  return {
    name: 'Update Headers Upon a 304',
    id: 'update304',
    description: 'These tests check cache behaviour upon receiving a `304 Not Modified` response.',
    spec_anchors: ['freshening.responses'],
    tests
  }
})()

// tests/updateHead.mjs
const updateHead = (() => {
  const templates = origin.templates
  return {
    name: 'HEAD updates',
    id: 'updateHEAD',
    description: 'These tests check how a cache updates stored responses when receiving a `HEAD` response.',
    spec_anchors: ['head.effects'],
    tests: [
      {
        name: 'Does HTTP cache write through a HEAD when stored response is stale?',
        id: 'head-writethrough',
        kind: 'check',
        depends_on: ['freshness-max-age-stale'],
        requests: [
          templates.becomeStale({}),
          {
            request_method: 'HEAD',
            expected_method: 'HEAD'
          }
        ]
      },
      {
        name: 'Does HTTP cache preserve stored fields not received in a `200` response to a `HEAD`?',
        id: 'head-200-retain',
        kind: 'check',
        depends_on: ['head-writethrough'],
        requests: [
          templates.becomeStale({}),
          {
            request_method: 'HEAD',
            expected_method: 'HEAD',
            expected_response_headers: [
              ['Template-A', '1']
            ]
          }
        ]
      },
      {
        name: 'Does HTTP cache update freshness lifetime recieved in a `200` response to a `HEAD`?',
        id: 'head-200-freshness-update',
        kind: 'check',
        depends_on: ['head-writethrough'],
        requests: [
          templates.becomeStale({}),
          {
            request_method: 'HEAD',
            expected_method: 'HEAD',
            response_headers: [
              ['Cache-Control', 'max-age=1000']
            ]
          },
          {
            expected_type: 'cached'
          }
        ]
      },
      {
        name: 'Does HTTP cache update stored fields recieved in a `200` response to a `HEAD`?',
        id: 'head-200-update',
        kind: 'check',
        depends_on: ['head-200-freshness-update'],
        requests: [
          templates.becomeStale({}),
          {
            request_method: 'HEAD',
            expected_method: 'HEAD',
            response_headers: [
              ['Template-A', '2'],
              ['Cache-Control', 'max-age=1000']
            ]
          },
          {
            expected_type: 'cached',
            setup_tests: ['expected_type'],
            expected_response_headers: [
              ['Template-A', '2']
            ]
          }
        ]
      },
      {
        name: 'Does HTTP cache update stored fields recieved in a `410` response to a `HEAD`?',
        id: 'head-410-update',
        kind: 'check',
        depends_on: ['head-200-freshness-update'],
        requests: [
          templates.becomeStale({}),
          {
            request_method: 'HEAD',
            expected_method: 'HEAD',
            response_status: [410, 'Gone'],
            response_headers: [
              ['Template-A', '2'],
              ['Cache-Control', 'max-age=1000']
            ]
          },
          {
            expected_type: 'cached',
            setup_tests: ['expected_type'],
            expected_response_headers: [
              ['Template-A', '2']
            ]
          }
        ]
      }
    ]
  }
})()

origin.runSuites([conditionalLm, conditionalEtag, update304, updateHead]);
