#!/usr/bin/env python3
"""contract_test.py — unit test of contract.py (TAP), so that the OpenAPI
contract check the HTTP suites run is known to fail when it must.

A tiny inline OpenAPI 3.1 document, answers that must pass and answers that
must fail (a body off its schema through a "$ref", an undocumented status,
path and method, a wrong Content-Type, a body where none is declared), then
the real document: real-shaped answers (a product list, a cart, an order as
checkout and as GET /api/v1/orders/{id} give it, an error) pass, and the same
answers with a required field dropped or renamed, or a field added to a
closed object, fail.  Registered with meson (tests/unit/http/meson.build), so run_all.py's unit
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


# ==== Real-shaped answers of the server, for the real document ====

def price(amount):
    return {'amount': amount, 'currency': 'EUR', 'formatted': '\u20ac%d.%02d' % (amount // 100, amount % 100)}


PRODUCT_LIST = {
    'items': [{'id': 68, 'slug': 'alpine-loafers', 'name': 'Alpine Loafers',
               'category': {'slug': 'clothing-shoes', 'name': 'Shoes'}, 'price': price(15899),
               'price_max': price(16899), 'in_stock': True, 'image': '/media/products/alpine-loafers.svg'},
              {'id': 70, 'slug': 'bare', 'name': 'Bare', 'category': None, 'price': None, 'in_stock': False,
               'image': None}],
    'page': 1, 'per_page': 20, 'total': 2, 'pages': 1, 'sort': 'name', 'q': None, 'category': None,
}
CART = {
    'items': [{'id': 3, 'variant_id': 11, 'sku': 'SF-0001-1', 'name': 'Slim Flannel Shirt', 'variant': 'S',
               'product_slug': 'slim-flannel-shirt', 'quantity': 3, 'available': 99, 'unit_price': price(8699),
               'line_total': price(26097)}],
    'has_items': True, 'count': 3, 'currency': 'EUR', 'prices_include_tax': True, 'coupon': None,
    'coupon_error': None, 'too_large': False, 'max_total': price(1000000000),
    'totals': {'subtotal': price(26097), 'discount': price(0), 'tax': price(4350), 'total': price(26097)},
    'shipping_methods': [{'code': 'standard', 'name': 'Standard delivery (3-5 days)', 'price': price(490)}],
    'csrf_token': 'jsplthbclckprgpjhjktgtqhrnmcthncmsdhnmjnjrfsfhjgnptfshnrgdhhsktg',
}
ORDER = {
    'id': 1, 'status': 'pending_payment', 'is_pending': True, 'payment_on_its_way': False, 'currency': 'EUR', 'prices_include_tax': True,
    'created_at': '2026-11-22T03:59:11Z', 'reserved_until': 1795321751,
    'totals': {'subtotal': price(26097), 'discount': price(0), 'shipping': price(0), 'tax': price(4350),
               'total': price(26097), 'paid': price(0), 'refunded': price(0)},
    'has_discount': False, 'coupon': None, 'shipping': {'code': 'standard', 'name': 'Standard delivery (3-5 days)'},
    'lines': [{'sku': 'SF-0001-1', 'name': 'Slim Flannel Shirt - S', 'quantity': 3, 'unit_price': price(8699),
               'tax_class': 'standard', 'tax_rate_bp': 2000, 'line_total': price(26097)}],
    'shipments': [], 'has_shipments': False,
    'history': [{'from': None, 'to': 'pending_payment', 'by': 'anonymous', 'reason': 'order placed',
                 'at': '2026-11-22T03:59:11Z'}],
}
PERSONAL = {'email': 'ada@example.org', 'address': {'name': 'Ada Lovelace', 'street': '12 Rue de la Paix',
                                                    'city': 'Paris', 'postcode': '75002', 'country': 'FR',
                                                    'phone': None}}


def changed(value, path, rename=None, drop=False, add=None):
    """A deep copy of value with, at path (keys and indexes), one field
    renamed, dropped, or added (add: (name, value))."""
    value = json.loads(json.dumps(value))
    obj = value
    for p in path[:-1] if (rename or drop) else path:
        obj = obj[p]
    if rename:
        obj[rename] = obj.pop(path[-1])
    elif drop:
        del obj[path[-1]]
    else:
        obj[add[0]] = add[1]
    return value


def main():
    c = contract.Contract(json.loads(json.dumps(DOC)))
    v = c.validate
    print('1..40')
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
    # the real document: real answers pass, altered ones fail
    real = contract.Contract.load()

    def rv(method, path, status, value):
        return real.validate(method, path, status, J, json.dumps(value))
    checkout = {'order': ORDER, 'replayed': False}
    detail = dict(ORDER, **PERSONAL)
    refunded = dict(ORDER, status='partially_refunded', is_pending=False, stage='shipped')
    for label, method, path, status, value in (
            ('a product list', 'GET', '/api/v1/products', 200, PRODUCT_LIST),
            ('a cart', 'GET', '/api/v1/cart', 200, CART),
            ('a cart above the money cap (no totals)', 'GET', '/api/v1/cart', 200,
             dict(CART, too_large=True, totals=None)),
            ('a checkout answer', 'POST', '/api/v1/checkout', 201, checkout),
            ('an order with its personal data', 'GET', '/api/v1/orders/1', 200, detail),
            ('a partially refunded order with its stage', 'GET', '/api/v1/orders/1', 200, dict(refunded, **PERSONAL)),
            ('an error', 'GET', '/api/v1/orders/1', 404, json.loads(ERR.replace('"r"', '"%s"' % ('a' * 26))))):
        m = rv(method, path, status, value)
        check('the real document takes a real answer: %s' % label, m is None, m)
    m = rv('GET', '/api/v1/products', 200, changed(PRODUCT_LIST, ['items', 0, 'slug'], rename='handle'))
    check('ProductSummary: a renamed required field (slug -> handle) fails',
          m and m.startswith("body at items/0: 'slug' is a required property"), m)
    m = rv('GET', '/api/v1/products', 200, changed(PRODUCT_LIST, ['items', 0], add=('stock', 12)))
    check('ProductSummary: an extra field fails', m and 'items/0' in m and "'stock'" in m, m)
    m = rv('GET', '/api/v1/products', 200, changed(PRODUCT_LIST, ['items', 1, 'image'], drop=True))
    check('ProductSummary: a nullable field left out fails (null is written, never nothing)',
          m and "'image' is a required property" in m, m)
    m = rv('GET', '/api/v1/cart', 200, changed(CART, ['items', 0, 'quantity'], rename='qty'))
    check('Cart: a renamed field of a line (quantity -> qty) fails',
          m and m.startswith("body at items/0: 'quantity' is a required property"), m)
    m = rv('GET', '/api/v1/cart', 200, changed(CART, ['csrf_token'], drop=True))
    check('Cart: csrf_token left out fails', m and "'csrf_token' is a required property" in m, m)
    m = rv('GET', '/api/v1/cart', 200, changed(CART, ['totals'], add=('shipping', price(490))))
    check('Cart: an extra total fails (totals before shipping are closed)', m and 'totals' in m and 'shipping' in m, m)
    m = rv('POST', '/api/v1/checkout', 201, changed(checkout, ['order', 'totals', 'total'], rename='grand_total'))
    check('Order: a renamed total (total -> grand_total) fails',
          m and m.startswith("body at order/totals: 'total' is a required property"), m)
    m = rv('POST', '/api/v1/checkout', 201, changed(checkout, ['order'], add=('email', 'ada@example.org')))
    check("Order: checkout's order carries no personal data (an e-mail fails)", m and "'email'" in m, m)
    m = rv('GET', '/api/v1/orders/1', 200, changed(detail, ['address', 'phone'], drop=True))
    check("OrderDetail: the address's phone left out fails (null when none was given)",
          m and "'phone' is a required property" in m, m)
    m = rv('GET', '/api/v1/orders/1', 200, changed(detail, ['history', 0], add=('actor_id', '7')))
    check('OrderDetail: an extra field in a history entry fails', m and 'history/0' in m and 'actor_id' in m, m)
    m = rv('GET', '/api/v1/orders/1', 200, dict(detail, status='partially_refunded', is_pending=False))
    check('OrderDetail: a partially refunded order without its stage fails', m and 'stage' in m, m)
    m = rv('GET', '/api/v1/orders/1', 200, dict(detail, stage='paid'))
    check('OrderDetail: a stage on an order that is not partially refunded fails', m and m.startswith('body at stage'),
          m)
    m = rv('GET', '/api/v1/orders/1', 200, dict(detail, status='on_hold'))
    check('OrderDetail: a status outside the enum fails', m and m.startswith('body at status'), m)
    m = rv('GET', '/api/v1/orders/1', 404, {'error': {'code': 'not_found', 'message': 'x'}})
    check('Error: request_id left out fails', m and "'request_id' is a required property" in m, m)
    failed = len(RESULTS) - sum(RESULTS)
    print('%d passed, %d failed' % (sum(RESULTS), failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
