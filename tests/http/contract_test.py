#!/usr/bin/env python3
"""contract_test.py — unit test of contract.py (TAP), so that the OpenAPI
contract check the HTTP suites run is known to fail when it must.

A tiny inline OpenAPI 3.1 document, answers that must pass and answers that
must fail (a body off its schema through a "$ref", an undocumented status,
path and method, a wrong Content-Type, a body where none is declared), then
the real document: it loads, and one of its schemas refuses a wrong body.
Registered with meson (tests/unit/http/meson.build), so run_all.py's unit
suite runs it.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contract  # noqa: E402

RESULTS = []


def check(name, cond, diag=''):
    RESULTS.append(bool(cond))
    print('%s %d - %s' % ('ok' if cond else 'not ok', len(RESULTS), name))
    if not cond and diag:
        for line in str(diag).splitlines()[:20]:
            print('#   ' + line)
    sys.stdout.flush()
    return cond


ERROR = {'$ref': '#/components/responses/Error'}
DOC = {
    'openapi': '3.1.0',
    'info': {'title': 't', 'version': '1'},
    'paths': {
        '/api/v1/things/{id}': {
            'get': {'responses': {
                '200': {'description': 'a thing',
                        'content': {'application/json': {'schema': {'$ref': '#/components/schemas/Thing'}}}},
                '4XX': ERROR}},
            'delete': {'responses': {'204': {'description': 'gone'}, '404': ERROR}}},
        '/api/v1/things/new': {
            'post': {'responses': {'201': {'description': 'made', 'content': {'application/json': {
                'schema': {'type': 'object', 'required': ['id'], 'properties': {'id': {'type': 'integer'}}}}}},
                'default': ERROR}}},
    },
    'components': {
        'schemas': {
            'Thing': {'type': 'object', 'required': ['id', 'price'],
                      'properties': {'id': {'type': 'integer'}, 'price': {'$ref': '#/components/schemas/Price'},
                                     'note': {'type': ['string', 'null']}}},
            'Price': {'type': 'object', 'required': ['amount'], 'properties': {'amount': {'type': 'integer'}}},
            'Error': {'type': 'object', 'required': ['error'],
                      'properties': {'error': {'type': 'object', 'required': ['code']}}},
        },
        'responses': {'Error': {'description': 'error',
                                'content': {'application/json': {'schema': {'$ref': '#/components/schemas/Error'}}}}},
    },
}
J = 'application/json; charset=utf-8'
THING = json.dumps({'id': 7, 'price': {'amount': 1250}, 'note': None})
ERR = json.dumps({'error': {'code': 'not_found', 'message': 'x', 'request_id': 'r'}})


def main():
    c = contract.Contract(json.loads(json.dumps(DOC)))
    v = c.validate
    print('1..20')
    # answers that match
    check('a body matching its schema through $refs passes', v('GET', '/api/v1/things/7', 200, J, THING) is None,
          v('GET', '/api/v1/things/7', 200, J, THING))
    check('a query string is not part of the path', v('GET', '/api/v1/things/7?x=1', 200, J, THING) is None)
    check('"4XX" covers 404', v('GET', '/api/v1/things/9', 404, J, ERR) is None)
    check('"default" covers any status', v('POST', '/api/v1/things/new', 409, J, ERR) is None)
    check('a literal path is matched before a template',
          v('POST', '/api/v1/things/new', 201, J, '{"id": 1}') is None)
    check('a response without content and an empty body passes', v('DELETE', '/api/v1/things/7', 204, None, b'') is None)
    check('an unknown path answered 404 with an Error body passes', v('GET', '/api/v1/nope', 404, J, ERR) is None)
    check('an undeclared method answered 405 with an Error body passes',
          v('PUT', '/api/v1/things/7', 405, J, ERR) is None)
    # answers that must fail, each with a message naming why
    m = v('GET', '/api/v1/things/7', 200, J, json.dumps({'id': 7, 'price': {'amount': '12.50'}}))
    check('a body off its schema (a string where an integer is, behind a $ref) fails',
          m and 'price/amount' in m and 'integer' in m, m)
    m = v('GET', '/api/v1/things/7', 200, J, json.dumps({'id': 7}))
    check('a missing required property fails', m and "'price' is a required property" in m, m)
    m = v('DELETE', '/api/v1/things/7', 500, J, ERR)
    check('an undocumented status fails, naming the documented ones', m and 'status 500' in m and '204' in m, m)
    m = v('GET', '/api/v1/other', 200, J, '{}')
    check('an undocumented path fails', m and 'not in the document' in m, m)
    m = v('GET', '/api/v1/nope', 404, J, '{"oops": 1}')
    check('a 404 for an unknown path without an Error body fails', m and 'error' in m, m)
    m = v('PATCH', '/api/v1/things/7', 200, J, THING)
    check('an undeclared method answered 200 fails', m and 'not an operation' in m, m)
    m = v('GET', '/api/v1/things/7', 200, 'text/html', '<p>hi</p>')
    check('a Content-Type the response does not declare fails', m and 'Content-Type' in m, m)
    m = v('GET', '/api/v1/things/7', 200, J, '{"id": 7,')
    check('a body that is not JSON fails', m and 'not JSON' in m, m)
    m = v('DELETE', '/api/v1/things/7', 204, J, ERR)
    check('a body where the document declares none fails', m and 'no body' in m, m)
    # the recording side: chunked bodies, /api/v1 only, one line per distinct mismatch
    check('dechunk() reassembles a chunked body', contract.dechunk(b'4\r\n{"id\r\n4\r\n": 7\r\n1\r\n}\r\n0\r\n\r\n')
          == b'{"id": 7}')
    answers = [('GET', '/api/v1/things/7', 200, J, b'{"id": 7}')] * 3 + [('GET', '/api/v1/things/8', 200, J, THING)]
    found = contract.mismatches(c, answers)
    check('mismatches() reports distinct mismatches once, with method, path, status and message',
          len(found) == 1 and found[0].startswith('GET /api/v1/things/7 -> 200: body at (root): ')
          and found[0].endswith('(x3)'), found)
    # the real document
    real = contract.Contract.load()
    m = real.validate('GET', '/api/v1/products', 200, J, json.dumps({'items': [{'slug': 1}]}))
    check('the real document loads and its ProductList schema refuses a wrong body',
          m and 'is a required property' in m, m)
    failed = len(RESULTS) - sum(RESULTS)
    print('%d passed, %d failed' % (sum(RESULTS), failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
