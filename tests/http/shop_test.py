#!/usr/bin/env python3
"""shop_test.py — cart, checkout and orders against the real storefort binary
over HTTPS (TAP output), with the WAF in block mode.

Sections: the guest API flow (cart -> checkout -> order pending_payment,
idempotent order creation, order visibility), the same flow through the
server-rendered pages (CSRF token in every form, CSP-clean markup), hostile
input on every endpoint (malformed JSON, bad quantities, unknown and foreign
ids, over-long fields, card numbers, a client-sent price) answered 4xx with
an error code and nothing half-written, the money cap (a cart above it is
refused, or still shown for repair), 64 concurrent HTTPS buyers for
the last 10 units of a variant -> exactly 10 orders, and, on a second
server with small [shop] limits, the cart merged at login within them.
"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from accounts_test import Browser  # noqa: E402  (a cookie jar with same-origin headers)
from app_test import CLI, Server, check  # noqa: E402  (shared helpers)

ADDRESS = {'name': 'Ada Lovelace', 'street': '12 Rue de la Paix', 'city': 'Paris', 'postcode': '75002',
           'country': 'FR', 'phone': '+33 1 23 45 67 89'}
CARD = '4111 1111 1111 1111'


class Shopper(Browser):
    """One visitor (the accounts suite's cookie jar) speaking the cart API:
    its CSRF token comes from GET /api/v1/cart."""

    def __init__(self, port):
        super().__init__(port)
        self.token = None

    def send(self, method, path, body=None, ctype=None, headers=None):
        return self.call(method, path, body, ctype, headers)

    def api(self, method, path, obj=None, raw_body=None, headers=None, token=True):
        h = dict(headers or {})
        if token and method != 'GET':
            if self.token is None:
                self.cart()
            h['X-CSRF-Token'] = self.token
        body = raw_body if raw_body is not None else (json.dumps(obj).encode() if obj is not None else None)
        st, hd, data = self.call(method, path, body, 'application/json' if body is not None else None, h)
        try:
            js = json.loads(data.decode() or 'null')
        except ValueError:
            js = None
        if isinstance(js, dict) and js.get('csrf_token'):
            self.token = js['csrf_token']
        return st, js, hd

    def cart(self):
        return self.api('GET', '/api/v1/cart')

    def form(self, path, fields, token=False):
        return self.call('POST', path, urllib.parse.urlencode(fields).encode(), 'application/x-www-form-urlencoded')


def code(js):
    return (js or {}).get('error', {}).get('code') if isinstance(js, dict) else None


def hidden(html, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), html)
    return m.group(1) if m else None


def count(db, sql, args=()):
    c = sqlite3.connect(db)
    try:
        return c.execute(sql, args).fetchone()[0]
    finally:
        c.close()


def csp_clean(html):
    """No inline style or script, no event-handler attributes."""
    return ('style=' not in html and '<script' not in html and '<style' not in html
            and not re.search(r'<[^>]*\son[a-z]+\s*=', html, re.I))


# ==== the guest API flow ====

def test_api_flow(P, db, sku):
    a = Shopper(P)
    st, cart, hd = a.cart()
    check('GET /api/v1/cart: empty cart with a CSRF token', st == 200 and cart['items'] == [] and a.token, (st, cart))
    price = count(db, 'SELECT price_minor FROM variants WHERE sku = ?', (sku,))
    st, cart, hd = a.api('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 2, 'price': 1, 'unit_price': 1})
    check('add to cart: 201, cart cookie set', st == 201 and '__Host-sf_cart' in a.cookies, (st, cart))
    item = (cart or {}).get('items', [{}])[0]
    check('cart cookie is Secure, HttpOnly, SameSite=Lax (hashed token, 52 chars)',
          any(c.startswith('__Host-sf_cart=') and 'HttpOnly' in c and 'SameSite=Lax' in c and 'Secure' in c
              for c in hd.get('_set_cookie', [])), hd.get('_set_cookie'))
    check('a client-sent price is ignored: unit price from the catalog',
          item.get('unit_price', {}).get('amount') == price and item.get('quantity') == 2, (price, item))
    st, cart, _ = a.api('PATCH', '/api/v1/cart/items/%d' % item.get('id', 0), {'quantity': 3})
    check('PATCH item quantity', st == 200 and cart['items'][0]['quantity'] == 3, (st, cart))
    b = Shopper(P)
    b.cart()
    st, cart, _ = b.api('POST', '/api/v1/cart/items', {'sku': sku})
    gone = (cart or {}).get('items', [{}])[0].get('id', 0)
    st, cart, _ = b.api('DELETE', '/api/v1/cart/items/%d' % gone)
    check('DELETE an item: 200, the cart without it', st == 200 and cart['items'] == [] and cart['count'] == 0,
          (st, cart))
    b.api('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 2})
    st, cart, _ = b.api('DELETE', '/api/v1/cart')
    check('DELETE the cart: 200, empty', st == 200 and cart['items'] == [] and not cart['has_items'], (st, cart))
    st, js, _ = a.api('POST', '/api/v1/checkout', {'email': 'ada@example.org', 'address': ADDRESS,
                                                    'shipping_method': 'standard'})
    check('checkout without Idempotency-Key: 400', st == 400 and code(js) == 'idempotency_key_required', (st, js))
    body = {'email': 'ada@example.org', 'address': ADDRESS, 'shipping_method': 'standard', 'total': 1}
    st, js, hd = a.api('POST', '/api/v1/checkout', body, headers={'Idempotency-Key': 'api-flow-key-0001'})
    order = (js or {}).get('order', {})
    check('checkout: 201 with an order pending_payment', st == 201 and order.get('status') == 'pending_payment',
          (st, js))
    oid = order.get('id', 0)
    check('order total computed by the server',
          order.get('totals', {}).get('subtotal', {}).get('amount') == 3 * price, order.get('totals'))
    st2, js2, _ = a.api('POST', '/api/v1/checkout', body, headers={'Idempotency-Key': 'api-flow-key-0001'})
    check('same Idempotency-Key: the same order (200)', st2 == 200 and js2['order']['id'] == oid, (st2, js2))
    body2 = dict(body, shipping_method='express')
    st3, js3, _ = a.api('POST', '/api/v1/checkout', body2, headers={'Idempotency-Key': 'api-flow-key-0001'})
    check('same key, different body: 409', st3 == 409 and code(js3) == 'idempotency_conflict', (st3, js3))
    check('exactly one order', count(db, 'SELECT count(*) FROM orders') == 1)
    st, cart, _ = a.cart()
    check('the cart is empty after the order', st == 200 and cart['items'] == [], cart)
    st, js, _ = a.api('GET', '/api/v1/orders/%d' % oid)
    check('the guest sees its order with the address', st == 200 and js['address']['city'] == 'Paris', (st, js))
    b = Shopper(P)
    b.cart()
    st, js, _ = b.api('GET', '/api/v1/orders/%d' % oid)
    check("someone else's order: 404", st == 404 and code(js) == 'not_found', (st, js))
    st, js2, _ = b.api('GET', '/api/v1/orders/%d' % (oid + 1000))
    check('a nonexistent order: the same 404', st == 404 and code(js2) == 'not_found', (st, js2))
    st, js, _ = b.api('GET', '/api/v1/orders')
    check('order history needs a customer session: 401', st == 401, (st, js))
    st, js, _ = b.api('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 1}, token=False)
    check('a write without the CSRF token: 403', st == 403, (st, js))
    check('sealed order data: no plaintext in the database',
          count(db, "SELECT count(*) FROM orders WHERE instr(address, 'Lovelace') > 0") == 0)
    return oid


# ==== the page flow ====

def test_pages(P, db, sku, slug):
    s = Shopper(P)
    st, hd, body = s.send('GET', '/p/%s' % slug)
    html = body.decode('utf-8', 'replace')
    check('product page has an add-to-cart form', st == 200 and 'action="/cart/add"' in html, st)
    st, hd, body = s.send('GET', '/cart/add?sku=%s&quantity=2' % urllib.parse.quote(sku))
    html = body.decode('utf-8', 'replace')
    tok = hidden(html, 'csrf_token')
    check('add confirmation carries a CSRF token', st == 200 and tok, (st, html[:300]))
    st, hd, body = s.form('/cart/add', {'csrf_token': tok, 'sku': sku, 'quantity': '2'})
    check('POST /cart/add: 303 to /cart', st == 303 and hd.get('location', '').endswith('/cart'), (st, hd))
    st, hd, body = s.form('/cart/add', {'sku': sku, 'quantity': '1'})
    check('a form without the CSRF token: 403', st == 403, st)
    st, hd, body = s.send('GET', '/cart')
    html = body.decode('utf-8', 'replace')
    check('cart page lists the item, every form has the token',
          st == 200 and sku in html and html.count('name="csrf_token"') == html.count('<form method="post"'),
          html[:500])
    check('cart page is CSP-clean', csp_clean(html))
    tok = hidden(html, 'csrf_token')
    st, hd, body = s.send('GET', '/checkout')
    check('checkout step 1', st == 200 and 'action="/checkout/shipping"' in body.decode(), st)
    fields = dict(ADDRESS, email='ada@example.org', csrf_token=tok)
    st, hd, body = s.form('/checkout/shipping', dict(fields, name=''))
    check('step 1 with a missing name: 400 on the same page', st == 400 and b'invalid_address' in body, st)
    st, hd, body = s.form('/checkout/shipping', fields)
    html = body.decode('utf-8', 'replace')
    check('step 2 offers shipping methods', st == 200 and 'name="shipping_method"' in html, st)
    st, hd, body = s.form('/checkout/review', dict(fields, shipping_method='parcel'))
    html = body.decode('utf-8', 'replace')
    key = hidden(html, 'idempotency_key')
    fp = hidden(html, 'review_fingerprint')
    check('step 3 reviews totals with a fresh idempotency key and the fingerprint of what it shows',
          st == 200 and key and fp and len(fp) == 64 and 'Place order' in html, st)
    check('checkout pages are CSP-clean', csp_clean(html))
    place = dict(fields, shipping_method='parcel', idempotency_key=key, review_fingerprint=fp)
    st, hd, body = s.form('/checkout/place', place)
    loc = hd.get('location', '')
    check('place order: 303 to the order page', st == 303 and '/orders/' in loc, (st, hd, body[:300]))
    st2, hd2, _ = s.form('/checkout/place', place)
    check('the same form again: the same order', st2 == 303 and hd2.get('location') == loc, (st2, hd2))
    path = urllib.parse.urlparse(loc).path
    st, hd, body = s.send('GET', path)
    html = body.decode('utf-8', 'replace')
    check('order page: pending payment, address shown', st == 200 and 'pending_payment' in html and
          'Rue de la Paix' in html, st)
    other = Shopper(P)
    st, hd, body = other.send('GET', path)
    check("another visitor's view of that order: 404", st == 404, st)
    st, hd, body = s.send('GET', '/account/orders')
    check('order history page needs a customer session', st in (401, 303), st)


# ==== what a refused checkout form shows again ====

def checkout_ready(P, sku):
    """A visitor with sku in the cart, and the CSRF token of its pages."""
    s = Shopper(P)
    st, _, _ = s.api('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 1})
    check('checkout setup: add to cart', st == 201, st)
    return s, hidden(s.send('GET', '/cart')[2].decode(), 'csrf_token')


def test_checkout_echo(P, db, sku):
    """A refused checkout form never puts a card number back into the page
    (docs/SECURITY.md), whichever step refused it; the other fields stay."""
    s, tok = checkout_ready(P, sku)
    orders = count(db, 'SELECT count(*) FROM orders')
    fields = dict(ADDRESS, email='ada@example.org', csrf_token=tok, street='Card ' + CARD)
    for path, extra in [('/checkout/shipping', {}), ('/checkout/review', {'shipping_method': 'standard'}),
                        ('/checkout/place', {'shipping_method': 'standard', 'idempotency_key': 'echo-key-0001'})]:
        st, hd, body = s.form(path, dict(fields, **extra))
        html = body.decode('utf-8', 'replace')
        check('%s with a card number in the street: 400 card_data_refused' % path,
              st == 400 and 'card_data_refused' in html, (st, html[:300]))
        check('... the page holds neither the card number nor its field\'s value',
              CARD not in html and 'value="Card' not in html, html)
        check('... and the other fields are kept', 'value="Paris"' in html and 'value="Ada Lovelace"' in html, html)
    st, hd, body = s.form('/checkout/shipping', dict(fields, street=ADDRESS['street'], name='x' * 101, phone=CARD))
    html = body.decode('utf-8', 'replace')
    check('a card number in a field refused for another reason first: still not shown',
          st == 400 and CARD not in html and 'value="Paris"' in html, (st, html[:300]))
    check('refused checkout forms: no order written', count(db, 'SELECT count(*) FROM orders') == orders)


def test_checkout_limits(P, db, sku):
    """Field limits are characters, as the form's maxlength counts them; a
    refusal names the field, never its value."""
    s, tok = checkout_ready(P, sku)
    fields = dict(ADDRESS, email='ada@example.org', csrf_token=tok)
    st, hd, body = s.form('/checkout/shipping', dict(fields, name='Ж' * 60))
    check('a name of 60 x "Ж" (120 bytes, maxlength 100): step 2', st == 200 and b'name="shipping_method"' in body,
          (st, body[:300]))
    street = '東京都千代田区千代田一丁目一番一号' * 4  # 68 characters, 204 bytes
    st, hd, body = s.form('/checkout/review', dict(fields, street=street, shipping_method='standard'))
    check('a Japanese street of %d characters: the review' % len(street), st == 200 and b'Place order' in body,
          (st, body[:300]))
    st, hd, body = s.form('/checkout/shipping', dict(fields, street='あ' * 201))
    html = body.decode('utf-8', 'replace')
    alert = re.search(r'role="alert">(.*?)</p>', html, re.S)
    check('a street of 201 characters: 400 naming the field, without its value',
          st == 400 and alert and 'invalid_address' in alert.group(1)
          and 'street and number must be one line of at most 200' in alert.group(1) and 'あ' not in alert.group(1),
          (st, html[:600]))
    st, js, _ = s.api('POST', '/api/v1/checkout', {'email': 'a@b.example', 'address': dict(ADDRESS, name='Ж' * 101),
                                                    'shipping_method': 'standard'},
                      headers={'Idempotency-Key': 'limits-key-0001'})
    check('the API names the field too', st == 400 and code(js) == 'invalid_address'
          and 'name must be one line of at most 100 characters' in js['error']['message']
          and 'Ж' not in js['error']['message'], (st, js))
    st, js, _ = s.api('POST', '/api/v1/checkout', {'email': 'a@b.example', 'address': dict(ADDRESS, name='Ж' * 100),
                                                    'shipping_method': 'standard'},
                      headers={'Idempotency-Key': 'limits-key-0002'})
    check('and takes a name of 100 x "Ж" (200 bytes): 201', st == 201, (st, js))
    # A 13-digit mobile number that passes Luhn (one in ten do) is refused
    # as a card number; the page says how to write it, and that works.
    s, tok = checkout_ready(P, sku)  # the order above emptied the cart
    fields = dict(ADDRESS, email='ada@example.org', csrf_token=tok)
    st, hd, body = s.form('/checkout/shipping', dict(fields, phone='+86 138 1234 5603'))
    html = body.decode('utf-8', 'replace')
    alert = re.search(r'role="alert">(.*?)</p>', html, re.S)
    check('a phone number that reads like a card: 400 card_data_refused, saying to bracket the country code',
          st == 400 and alert and 'card_data_refused' in alert.group(1)
          and 'write its country code in brackets' in alert.group(1) and '5603' not in html, (st, html[:600]))
    st, hd, body = s.form('/checkout/shipping', dict(fields, phone='(+86) 138 1234 5603'))
    check('... written so, it is taken: step 2', st == 200 and b'name="shipping_method"' in body, (st, body[:300]))
    st, hd, body = s.form('/checkout/shipping', dict(fields, name=CARD))
    html = body.decode('utf-8', 'replace')
    check('a card number as the name: the card error without the phone advice',
          st == 400 and 'card_data_refused' in html and 'brackets' not in html and '1111' not in html,
          (st, html[:600]))
    orders = count(db, 'SELECT count(*) FROM orders')
    for label, addr, advice in [('the phone', dict(ADDRESS, phone='+86 138 1234 5603'), True),
                                ('the phone and the name', dict(ADDRESS, phone='+86 138 1234 5603', name=CARD), False)]:
        st, js, _ = s.api('POST', '/api/v1/checkout', {'email': 'a@b.example', 'address': addr,
                                                        'shipping_method': 'standard'},
                          headers={'Idempotency-Key': 'phone-card-key-%d' % advice})
        msg = (js or {}).get('error', {}).get('message', '')
        check('API: a card-like number in %s: 400 card_data_refused, %s' % (label, 'with the phone advice' if advice
                                                                              else 'the plain card error'),
              st == 400 and code(js) == 'card_data_refused' and ('brackets' in msg) == advice and '5603' not in msg,
              (st, js))
    check('API: the refused checkouts wrote no order', count(db, 'SELECT count(*) FROM orders') == orders)


def sql(db, statement, args=()):
    c = sqlite3.connect(db, timeout=10)
    try:
        c.execute(statement, args)
        c.commit()
    finally:
        c.close()


def review(s, fields, method='standard'):
    """POST /checkout/review: (status, html, the place form's fields)."""
    st, hd, body = s.form('/checkout/review', dict(fields, shipping_method=method))
    html = body.decode('utf-8', 'replace')
    place = dict(fields, shipping_method=method, idempotency_key=hidden(html, 'idempotency_key'))
    fp = hidden(html, 'review_fingerprint')
    if fp is not None:
        place['review_fingerprint'] = fp
    return st, html, place


def kept(html):
    """Does the page carry the address typed at step 1?"""
    return all('value="%s"' % v in html for v in ('ada@example.org', 'Ada Lovelace', '12 Rue de la Paix', 'Paris',
                                                   '75002', 'FR', '+33 1 23 45 67 89'))


def test_place_refusals(P, db, sku):
    """What place refuses shows a checkout step again with the address kept
    and the reason, never the cart page with the address lost."""
    s, tok = checkout_ready(P, sku)
    fields = dict(ADDRESS, email='ada@example.org', csrf_token=tok)
    orders = count(db, 'SELECT count(*) FROM orders')
    # a coupon deactivated between review and place
    sql(db, "INSERT INTO coupons (code, kind, value, active, created_at) VALUES ('GONE10', 'percent', 1000, 1, 0)")
    st, js, _ = s.api('PATCH', '/api/v1/cart', {'coupon': 'GONE10'})
    check('refusals setup: the coupon applies', st == 200, (st, js))
    st, html, place = review(s, fields)
    check('refusals setup: the review shows the discount', st == 200 and 'GONE10' in html, (st, html[:300]))
    sql(db, "UPDATE coupons SET active = 0 WHERE code = 'GONE10'")
    st, hd, body = s.form('/checkout/place', place)
    html = body.decode('utf-8', 'replace')
    check('place with a coupon deactivated since the review: 400 coupon_invalid on the shipping step',
          st == 400 and 'coupon_invalid' in html and 'action="/checkout/review"' in html, (st, html[:400]))
    check('... the address kept, the method still chosen, a way to the cart',
          kept(html) and 'value="standard" checked' in html and 'href="/cart">Change the cart' in html, html)
    st, js, _ = s.api('PATCH', '/api/v1/cart', {'coupon': ''})
    check('the shopper drops the coupon', st == 200, (st, js))
    # stock gone between review and place
    st, html, place = review(s, fields)
    stock = count(db, 'SELECT stock FROM variants WHERE sku = ?', (sku,))
    sql(db, 'UPDATE variants SET stock = 0 WHERE sku = ?', (sku,))
    st, hd, body = s.form('/checkout/place', place)
    html = body.decode('utf-8', 'replace')
    sql(db, 'UPDATE variants SET stock = ? WHERE sku = ?', (stock, sku))
    check('place with the stock gone since the review: 409 out_of_stock, address kept',
          st == 409 and 'out_of_stock' in html and kept(html) and 'action="/checkout/review"' in html,
          (st, html[:400]))
    # no shipping method
    st, html, place = review(s, fields)
    del place['shipping_method']
    st, hd, body = s.form('/checkout/place', place)
    html = body.decode('utf-8', 'replace')
    check('place without a shipping method: 400, back to the shipping step with the address',
          st == 400 and 'invalid_shipping_method' in html and 'name="shipping_method"' in html and kept(html)
          and 'Change the cart' not in html, (st, html[:400]))
    # the form's idempotency key: missing, or malformed
    for what, key in [('without', None), ('with a malformed', 'short')]:
        st, html, place = review(s, fields)
        if key is None:
            del place['idempotency_key']
        else:
            place['idempotency_key'] = key
        st, hd, body = s.form('/checkout/place', place)
        html = body.decode('utf-8', 'replace')
        check('place %s idempotency key: 400, the review again with a human message and a fresh key' % what,
              st == 400 and 'Idempotency-Key' not in html and 'This order form has expired' in html
              and 'Place order' in html and len(hidden(html, 'idempotency_key') or '') == 32 and kept(html),
              (st, html[:600]))
    check('refusals at place: no order written', count(db, 'SELECT count(*) FROM orders') == orders)
    st, html, place = review(s, fields)
    st, hd, body = s.form('/checkout/place', place)
    check('and then the order is placed: 303', st == 303 and '/orders/' in hd.get('location', ''), (st, body[:300]))


def test_reviewed_is_placed(P, db, sku, other):
    """The order placed is the order reviewed: a cart changed in another tab,
    a price changed in the back office, or a missing fingerprint -> 409, the
    review again with the new figures and a fresh fingerprint, no order."""
    s, tok = checkout_ready(P, sku)
    fields = dict(ADDRESS, email='ada@example.org', csrf_token=tok)
    orders = count(db, 'SELECT count(*) FROM orders')
    st, html, place = review(s, fields)
    total = re.search(r'<dt>Total</dt><dd><strong>([^<]*)</strong>', html).group(1)
    st, js, _ = s.api('POST', '/api/v1/cart/items', {'sku': other, 'quantity': 5})
    check('second tab: 5 of another item added', st == 201, (st, js))
    st, hd, body = s.form('/checkout/place', place)
    html = body.decode('utf-8', 'replace')
    new_total = re.search(r'<dt>Total</dt><dd><strong>([^<]*)</strong>', html)
    check('place after the cart changed: 409 cart_changed, nothing placed', st == 409 and 'cart_changed' in html
          and 'Your cart changed since you reviewed it: please check the order again' in html
          and count(db, 'SELECT count(*) FROM orders') == orders, (st, html[:500]))
    check('... the review again: the new total, a fresh fingerprint and key, the address kept',
          new_total and new_total.group(1) != total and 'Place order' in html
          and hidden(html, 'review_fingerprint') not in (None, place['review_fingerprint'])
          and hidden(html, 'idempotency_key') != place['idempotency_key'] and kept(html), (total, html[:800]))
    place2 = dict(place, review_fingerprint=hidden(html, 'review_fingerprint'),
                  idempotency_key=hidden(html, 'idempotency_key'))
    # a price changed in the back office between review and place
    vid = count(db, 'SELECT id FROM variants WHERE sku = ?', (sku,))
    price = count(db, 'SELECT price_minor FROM variants WHERE id = ?', (vid,))
    sql(db, 'UPDATE variants SET price_minor = ? WHERE id = ?', (price + 100, vid))
    st, hd, body = s.form('/checkout/place', place2)
    html = body.decode('utf-8', 'replace')
    check('place after a price change: 409 cart_changed, nothing placed',
          st == 409 and 'cart_changed' in html and count(db, 'SELECT count(*) FROM orders') == orders, (st, html[:300]))
    sql(db, 'UPDATE variants SET price_minor = ? WHERE id = ?', (price, vid))
    st, html, place3 = review(s, fields)
    nofp = dict(place3)
    del nofp['review_fingerprint']
    st, hd, body = s.form('/checkout/place', nofp)
    check('place without the fingerprint: 409 the same way', st == 409 and b'cart_changed' in body
          and count(db, 'SELECT count(*) FROM orders') == orders, st)
    st, hd, body = s.form('/checkout/place', place3)
    loc = hd.get('location', '')
    check('place with the fingerprint of the cart as it is: 303 to the order', st == 303 and '/orders/' in loc,
          (st, body[:300]))
    st, hd, body = s.form('/checkout/place', place3)
    check('the same form again: the same order', st == 303 and hd.get('location') == loc, (st, hd))
    oid = int(loc.rstrip('/').rsplit('/', 1)[1])
    check('the order is what was reviewed last', count(db, 'SELECT count(*) FROM order_lines WHERE order_id = ?',
                                                       (oid,)) == 2, oid)
    # the API's expected_total
    a = Shopper(P)
    st, js, _ = a.api('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 1})
    check('API setup: add to cart', st == 201, st)
    body = {'email': 'ada@example.org', 'address': ADDRESS, 'shipping_method': 'standard'}
    orders = count(db, 'SELECT count(*) FROM orders')
    for bad in ('100', 1.5, -1, True):
        st, js, _ = a.api('POST', '/api/v1/checkout', dict(body, expected_total=bad),
                          headers={'Idempotency-Key': 'expect-key-bad'})
        check('expected_total %r: 400 bad_parameter' % (bad,), st == 400 and code(js) == 'bad_parameter', (st, js))
    st, js, _ = a.api('POST', '/api/v1/checkout', dict(body, expected_total=1),
                      headers={'Idempotency-Key': 'expect-key-0001'})
    check('API checkout with another expected_total: 409 total_mismatch, nothing written',
          st == 409 and code(js) == 'total_mismatch' and count(db, 'SELECT count(*) FROM orders') == orders, (st, js))
    rev_total = price + (490 if price < 5000 else 0)
    st, js, _ = a.api('POST', '/api/v1/checkout', dict(body, expected_total=rev_total),
                      headers={'Idempotency-Key': 'expect-key-0001'})
    check('with the right expected_total: 201', st == 201 and js['order']['totals']['total']['amount'] == rev_total,
          (st, js, rev_total))
    oid = (js or {}).get('order', {}).get('id')
    st, js, _ = a.api('POST', '/api/v1/checkout', dict(body, expected_total=rev_total),
                      headers={'Idempotency-Key': 'expect-key-0001'})
    check('the same request again: the same order (200)', st == 200 and js['order']['id'] == oid, (st, js))
    st, js, _ = a.api('POST', '/api/v1/checkout', dict(body, expected_total=rev_total + 1),
                      headers={'Idempotency-Key': 'expect-key-0001'})
    check('the same key with another expected_total: 409 total_mismatch', st == 409 and code(js) == 'total_mismatch',
          (st, js))


# ==== hostile input ====

def test_hostile(P, db, sku):
    s = Shopper(P)
    s.cart()
    orders = count(db, 'SELECT count(*) FROM orders')
    items = count(db, 'SELECT count(*) FROM cart_items')
    cases = [
        ('POST', '/api/v1/cart/items', None, b'{"sku":', ('bad_json',)),
        ('POST', '/api/v1/cart/items', None, b'[1,2]', ('bad_json',)),
        ('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': -1}, None, ('invalid_quantity',)),
        ('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 0}, None, ('invalid_quantity',)),
        ('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 10 ** 12}, None, ('invalid_quantity',)),
        ('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 1.5}, None, ('invalid_quantity',)),
        ('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': '2'}, None, ('invalid_quantity',)),
        ('POST', '/api/v1/cart/items', None, b'{"sku":"%s","quantity":99999999999999999999999}' % sku.encode(),
         ('invalid_quantity', 'bad_json')),
        ('POST', '/api/v1/cart/items', {'variant_id': 987654321, 'quantity': 1}, None, ('not_found',)),
        ('POST', '/api/v1/cart/items', {'variant_id': 'x', 'quantity': 1}, None, ('bad_parameter',)),
        ('POST', '/api/v1/cart/items', {'sku': 'NO-SUCH-SKU', 'quantity': 1}, None, ('not_found',)),
        ('POST', '/api/v1/cart/items', {'sku': 'A' * 5000, 'quantity': 1}, None, ('not_found',)),
        ('POST', '/api/v1/cart/items', {'sku': CARD, 'quantity': 1}, None, ('card_data_refused',)),
        ('POST', '/api/v1/cart/items', {'quantity': 1}, None, ('bad_parameter',)),
        ('PATCH', '/api/v1/cart/items/999999', {'quantity': 1}, None, ('not_found',)),
        ('PATCH', '/api/v1/cart/items/abc', {'quantity': 1}, None, ('not_found',)),
        ('DELETE', '/api/v1/cart/items/-1', None, None, ('not_found',)),
        ('PATCH', '/api/v1/cart', {'coupon': 42}, None, ('bad_parameter',)),
        ('PATCH', '/api/v1/cart', {'coupon': CARD}, None, ('card_data_refused',)),
        ('PATCH', '/api/v1/cart', {'coupon': 'NOSUCH'}, None, ('cart_empty', 'coupon_invalid')),
        ('POST', '/api/v1/checkout', {'email': 'a@b.example', 'address': ADDRESS, 'shipping_method': 'standard'},
         None, ('cart_empty',)),
        ('GET', '/api/v1/orders/abc', None, None, ('not_found',)),
        ('GET', '/api/v1/orders/99999999999999999999', None, None, ('not_found',)),
    ]
    for method, path, obj, raw_body, codes in cases:
        st, js, _ = s.api(method, path, obj, raw_body=raw_body,
                          headers={'Idempotency-Key': 'hostile-key-0001'} if 'checkout' in path else None)
        check('%s %s %s -> 4xx %s' % (method, path, (raw_body or json.dumps(obj))[:60], '/'.join(codes)),
              400 <= st < 500 and code(js) in codes, (st, js))
    # with an item in the cart: checkout input
    st, _, _ = s.api('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 1})
    check('hostile shopper can still add a valid item', st == 201, st)
    bad_bodies = [
        ({'email': 'a@b.example', 'address': dict(ADDRESS, name='x' * 5000), 'shipping_method': 'standard'},
         'invalid_address'),
        ({'email': 'a@b.example', 'address': dict(ADDRESS, name=CARD), 'shipping_method': 'standard'},
         'card_data_refused'),
        ({'email': 'a@b.example', 'address': dict(ADDRESS, phone='4242424242424242'), 'shipping_method': 'standard'},
         'card_data_refused'),
        ({'email': 'a@b.example', 'address': 'Paris', 'shipping_method': 'standard'}, 'invalid_address'),
        ({'email': 'a@b.example', 'address': dict(ADDRESS, city=7), 'shipping_method': 'standard'}, 'bad_parameter'),
        ({'email': 'a@b.example', 'address': ADDRESS, 'shipping_method': 'teleport'}, 'invalid_shipping_method'),
        ({'email': 'a@b.example', 'address': ADDRESS, 'shipping_method': 'standard', 'coupon': 'NOPE-NOPE'},
         'coupon_invalid'),
        ({'email': 'x' * 300, 'address': ADDRESS, 'shipping_method': 'standard'}, 'invalid_address'),
        # addresses the mail outbox refuses: such an order could never send its confirmation
        ({'email': 'a,b@example.org', 'address': ADDRESS, 'shipping_method': 'standard'}, 'invalid_address'),
        ({'email': 'x<y@example.org', 'address': ADDRESS, 'shipping_method': 'standard'}, 'invalid_address'),
        ({'email': '"q"@example.org', 'address': ADDRESS, 'shipping_method': 'standard'}, 'invalid_address'),
    ]
    for i, (body, want) in enumerate(bad_bodies):
        st, js, _ = s.api('POST', '/api/v1/checkout', body, headers={'Idempotency-Key': 'hostile-co-%04d' % i})
        check('checkout hostile #%d -> 4xx %s' % (i, want), 400 <= st < 500 and code(js) == want, (st, js))
    st, js, _ = s.api('POST', '/api/v1/checkout', {'email': 'a@b.example', 'address': ADDRESS,
                                                    'shipping_method': 'standard'},
                      headers={'Idempotency-Key': 'bad key with blanks'})
    check('an Idempotency-Key with blanks: 400', st == 400 and code(js) == 'idempotency_key_required', (st, js))
    check('hostile input: no order written', count(db, 'SELECT count(*) FROM orders') == orders)
    check('hostile input: only the one valid cart line', count(db, 'SELECT count(*) FROM cart_items') == items + 1)
    # pages
    tok = hidden(s.send('GET', '/cart')[2].decode(), 'csrf_token')
    for fields, what in [({'sku': sku, 'quantity': '-3'}, 'negative'), ({'sku': sku, 'quantity': '1e3'}, 'float'),
                         ({'sku': sku, 'quantity': '99999999999999999999'}, 'huge'),
                         ({'sku': 'NOPE', 'quantity': '1'}, 'unknown')]:
        st, hd, body = s.form('/cart/add', dict(fields, csrf_token=tok))
        check('page form /cart/add %s quantity/sku -> 4xx' % what, 400 <= st < 500, st)
    st, hd, body = s.form('/cart/update', {'csrf_token': tok, 'item_id': '999999', 'quantity': '1'})
    check("page form: someone else's/unknown cart line -> 404", st == 404, st)


# ==== the money cap ====

def set_price(db, vid, price):
    c = sqlite3.connect(db, timeout=10)
    try:
        c.execute('UPDATE variants SET price_minor = ?, stock = 100 WHERE id = ?', (price, vid))
        c.commit()
    finally:
        c.close()


def test_money_cap(P, db, vid):
    """A cart may not pass 10^9 minor units: the add that would is refused and
    writes nothing; a cart that passed it anyway (staff raised a price) still
    shows its lines with the forms to repair it."""
    old = count(db, 'SELECT price_minor FROM variants WHERE id = ?', (vid,))
    set_price(db, vid, 600000000)
    s = Shopper(P)
    st, js, _ = s.api('POST', '/api/v1/cart/items', {'variant_id': vid, 'quantity': 2})
    check('an add above the money cap: 413 too_large', st == 413 and code(js) == 'too_large', (st, js))
    check('... and nothing written', count(db, 'SELECT count(*) FROM cart_items WHERE variant_id = ?', (vid,)) == 0)
    st, js, _ = s.api('POST', '/api/v1/cart/items', {'variant_id': vid, 'quantity': 1})
    check('one unit fits: 201', st == 201 and js['too_large'] is False, (st, js))
    item = (js or {}).get('items', [{}])[0].get('id', 0)
    st, js, _ = s.api('PATCH', '/api/v1/cart/items/%d' % item, {'quantity': 2})
    check('a quantity above the money cap: 413 too_large', st == 413 and code(js) == 'too_large', (st, js))
    tok = hidden(s.send('GET', '/cart')[2].decode(), 'csrf_token')
    st, hd, body = s.form('/cart/update', {'csrf_token': tok, 'item_id': str(item), 'quantity': '2'})
    check('the same on the cart page: 413 with what went wrong', st == 413 and b'That would take' in body, st)
    set_price(db, vid, 1200000000)  # as the back office could have before prices were capped
    st, js, _ = s.cart()
    check('a cart above the cap still reads: 200, too_large, its line, a CSRF token',
          st == 200 and js['too_large'] is True and js['totals'] is None and len(js['items']) == 1
          and js.get('csrf_token'), (st, js))
    st, hd, body = s.send('GET', '/cart')
    html = body.decode('utf-8', 'replace')
    check('the cart page shows it with its forms and no checkout link',
          st == 200 and 'above the most one order may reach' in html and 'action="/cart/remove"' in html
          and 'href="/checkout"' not in html, (st, html[:600]))
    st, hd, body = s.send('GET', '/checkout')
    check('checkout of such a cart: 413, the cart page with its notice',
          st == 413 and body.count(b'above the most one order may reach') == 1, st)
    tok = hidden(html, 'csrf_token')
    st, hd, body = s.form('/cart/remove', {'csrf_token': tok, 'item_id': str(item)})
    check('the shopper removes the line: 303', st == 303, (st, body[:300]))
    st, js, _ = s.cart()
    check('... and the cart is empty and fits again', st == 200 and js['items'] == [] and js['too_large'] is False,
          (st, js))
    set_price(db, vid, old)


# ==== 64 concurrent buyers ====

def test_race(P, db, sku):
    n = 64
    buyers = [Shopper(P) for _ in range(n)]
    results = [None] * n
    for b in buyers:
        st, _, _ = b.api('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 1})
        if st != 201:
            check('race setup: add to cart', False, st)
            return
    go = threading.Barrier(n)

    def buy(i):
        try:
            go.wait()
            st, js, _ = buyers[i].api('POST', '/api/v1/checkout', {'email': 'r%d@example.org' % i, 'address': ADDRESS,
                                                                    'shipping_method': 'standard'},
                                      headers={'Idempotency-Key': 'race-%04d-key' % i})
            results[i] = (st, code(js))
        except Exception as e:  # noqa: BLE001 — a transport error is a failed buyer
            results[i] = (0, repr(e))

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = sum(1 for r in results if r[0] == 201)
    out = sum(1 for r in results if r[0] == 409 and r[1] == 'out_of_stock')
    check('64 HTTPS buyers for the last 10 units: exactly 10 orders', ok == 10, results)
    check('the other 54 get 409 out_of_stock (no 5xx)', out == n - 10, results)
    vid = count(db, 'SELECT id FROM variants WHERE sku = ?', (sku,))
    check('stock is 0, never negative', count(db, 'SELECT stock FROM variants WHERE sku = ?', (sku,)) == 0)
    check('10 units sold in total',
          count(db, 'SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE variant_id = ?', (vid,)) == 10)


def test_reads_beside_blocked_writes(P, db, sku):
    """Writes run on the request pool: while the database's write lock is held
    (another process, here this test), requests that must write wait, and
    catalog reads on every connection are still answered."""
    writers = [Shopper(P) for _ in range(6)]
    for w in writers:  # each has its pre-session cookie and CSRF token before the lock
        w.api('GET', '/api/v1/cart')
    lock = sqlite3.connect(db, timeout=10, isolation_level=None)
    lock.execute('BEGIN IMMEDIATE')
    results = [None] * len(writers)

    def write(i):
        try:
            st, _, _ = writers[i].api('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 1})
            results[i] = st
        except Exception as e:  # noqa: BLE001
            results[i] = repr(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(writers))]
    for t in threads:
        t.start()
    time.sleep(0.5)  # the writes are now waiting for the lock
    t0 = time.time()
    reads = []
    for _ in range(10):
        try:
            reads.append(Shopper(P).send('GET', '/api/v1/products?per_page=5')[0])
        except Exception:  # noqa: BLE001 — a read that times out is the failure this test is about
            reads.append(0)
    read_s = time.time() - t0
    waiting = sum(1 for r in results if r is None)
    lock.execute('COMMIT')
    lock.close()
    for t in threads:
        t.join()
    check('while writes wait for the write lock, catalog reads on new connections are answered',
          reads == [200] * 10 and waiting == len(writers), (reads, read_s, results))
    check('and the waiting writes complete once the lock is free (201)', results == [201] * len(writers), results)


def test_merge_limits(P, d, db):
    """The cart merged at login keeps the configured [shop] limits (this
    server: max_cart_lines 2, max_line_quantity 3): lines add up to the
    line maximum, and a guest line beyond the cart's line count is left out."""
    from accounts_test import PW, link_token, mails, wait_mail
    c = sqlite3.connect(db, timeout=10)
    skus = [r[0] for r in c.execute("SELECT v.sku FROM variants v JOIN products p ON p.id = v.product_id WHERE "
                                    "p.status = 'active' AND v.currency = 'EUR' ORDER BY v.id LIMIT 3 OFFSET 4")]
    c.close()
    for sku in skus:
        sql(db, 'UPDATE variants SET stock = 100 WHERE sku = ?', (sku,))
    a, b, c = skus
    s = Shopper(P)
    before = mails(d)
    st, js, _ = s.api('POST', '/api/v1/account/register', {'email': 'merge@example.org', 'password': PW})
    _, text = wait_mail(d, before, want='To: merge@example.org')
    st2, _, _ = s.api('POST', '/api/v1/account/verify', {'token': link_token(text, '/account/verify')})
    st3, js, _ = s.api('POST', '/api/v1/account/login', {'email': 'merge@example.org', 'password': PW})
    check('merge limits setup: a confirmed customer logged in', (st, st2, st3) == (202, 200, 200), (st, st2, st3, js))
    s.api('POST', '/api/v1/cart/items', {'sku': a, 'quantity': 2})
    st, cart, _ = s.api('POST', '/api/v1/cart/items', {'sku': c, 'quantity': 1})
    st4, js, _ = s.api('POST', '/api/v1/cart/items', {'sku': b, 'quantity': 1})
    check('the customer cart holds at most 2 lines ([shop] max_cart_lines)',
          st == 201 and len(cart['items']) == 2 and st4 >= 400, (st, cart, st4, js))
    s.api('POST', '/api/v1/account/logout', {})
    s.token = None
    st, js, _ = s.api('POST', '/api/v1/cart/items', {'sku': a, 'quantity': 3})
    st2, js2, _ = s.api('POST', '/api/v1/cart/items', {'sku': b, 'quantity': 1})
    check('a guest cart of %s x3 and %s x1' % (a, b), (st, st2) == (201, 201), (st, js, st2, js2))
    st, js, _ = s.api('POST', '/api/v1/account/login', {'email': 'merge@example.org', 'password': PW})
    st2, cart, _ = s.cart()
    got = {i['sku']: i['quantity'] for i in (cart or {}).get('items', [])}
    check('after the merge: %s 2+3 capped at 3, %s kept, the guest\'s third line left out' % (a, c),
          st == 200 and st2 == 200 and got == {a: 3, c: 1}, (st, got))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    a = ap.parse_args()
    cli = CLI(os.path.abspath(a.binary))
    tmp = tempfile.mkdtemp(prefix='sf-shop-')
    srv = None
    try:
        d = os.path.join(tmp, 'dev')
        rc, out, err = cli.run('init', '--dir', d, '--demo', timeout=600)
        if check('init --demo', rc == 0, (rc, err)):
            db = os.path.join(d, 'db', 'storefort.db')
            c = sqlite3.connect(db)
            rows = c.execute("SELECT v.sku, p.slug FROM variants v JOIN products p ON p.id = v.product_id "
                             "WHERE p.status = 'active' ORDER BY v.id LIMIT 3").fetchall()
            capped = c.execute("SELECT v.id FROM variants v JOIN products p ON p.id = v.product_id "
                               "WHERE p.status = 'active' AND v.currency = 'EUR' ORDER BY v.id LIMIT 1 OFFSET 3"
                               ).fetchone()[0]
            c.execute('UPDATE variants SET stock = 1000 WHERE sku IN (?, ?)', (rows[0][0], rows[1][0]))
            c.execute('UPDATE variants SET stock = 10 WHERE sku = ?', (rows[2][0],))
            c.commit()
            c.close()
            srv = Server(cli, os.path.join(d, 'storefort.ini'),
                         env={'STOREFORT_WAF_MODE': 'block', 'STOREFORT_RATELIMIT_ENABLED': 'off'})
            test_api_flow(srv.https, db, rows[0][0])
            test_pages(srv.https, db, rows[1][0], rows[1][1])
            test_hostile(srv.https, db, rows[0][0])
            test_checkout_echo(srv.https, db, rows[0][0])
            test_checkout_limits(srv.https, db, rows[0][0])
            test_place_refusals(srv.https, db, rows[0][0])
            test_reviewed_is_placed(srv.https, db, rows[0][0], rows[1][0])
            test_money_cap(srv.https, db, capped)
            test_race(srv.https, db, rows[2][0])
            test_reads_beside_blocked_writes(srv.https, db, rows[0][0])
            rc, out, err = cli.run('--config', os.path.join(d, 'storefort.ini'), 'audit', 'verify')
            check('audit trail intact after the commerce suite', rc == 0, (rc, out, err))
            rc, out, err = srv.stop()
            srv = None
            check('serve stops cleanly (first server)', rc == 0, err[-2000:])
            check('no sanitizer report from the first server', 'runtime error' not in err and
                  'AddressSanitizer' not in err, err[-3000:])
            srv = Server(cli, os.path.join(d, 'storefort.ini'),
                         env={'STOREFORT_WAF_MODE': 'block', 'STOREFORT_RATELIMIT_ENABLED': 'off',
                              'STOREFORT_SHOP_MAX_CART_LINES': '2', 'STOREFORT_SHOP_MAX_LINE_QUANTITY': '3'})
            test_merge_limits(srv.https, d, db)
    except Exception:  # a crash of the test itself is a failure, not a pass
        import traceback
        check('shop tests ran to the end', False, traceback.format_exc())
    finally:
        if srv:
            rc, out, err = srv.stop()
            check('serve stops cleanly', rc == 0, err[-2000:])
            check('no sanitizer report from the server', 'runtime error' not in err and 'AddressSanitizer' not in err,
                  err[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    from app_test import summary
    return summary()


if __name__ == '__main__':
    sys.exit(main())
