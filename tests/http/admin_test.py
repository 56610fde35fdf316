#!/usr/bin/env python3
"""admin_test.py — the back office's pages against the real storefort binary
over HTTPS (TAP output), with the WAF in block mode.

Staff log in through the real flow: `storefort staff add` -> the one-time
enrollment link -> password -> TOTP set-up (codes computed here per RFC 6238
with hmac/hashlib); sensitive operations re-authenticate through
/admin/reauth.  Sections: every page renders for a role allowed to see it
and is 403 for one that is not; the order, customer, catalog, inventory,
image, coupon, shipping, tax, report and audit flows with the audit events
they must write; CSRF on every form (missing or wrong token -> 403 and
nothing changed); hostile input on every form and filter (malformed,
oversized, someone else's ids, bad dates) -> 4xx, never 500; CSV exports
neutralise formula cells; uploads of a non-image, an oversized file and a
polyglot are refused; a reveal without a reason is refused; no page carries
an inline style or script (CSP-clean).
"""
import argparse
import base64
import hashlib
import hmac
import os
import re
import shutil
import sqlite3
import struct
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from accounts_test import Browser  # noqa: E402  (a cookie jar with same-origin headers)
from app_test import CLI, Server, check  # noqa: E402
from shop_test import count as db_count, hidden  # noqa: E402  (one value of a query; a hidden form field)

PASSWORD = 'Correct-Horse-Battery-Staple-42'
UA = 'Mozilla/5.0 (X11; Linux x86_64) storefort-admin-test'
# Requests of the hostile-input cases the WAF may rightly block; every other
# back-office request must pass it untouched.
HOSTILE = ["' OR 1=1", '<html>', '<script>', '<?php', '<svg', 'x\' OR', "e'r"]


def totp(key_b32, step_offset=0, at=None):
    """RFC 6238 TOTP (SHA-1, 30 s, 6 digits) for a base32 key."""
    key = base64.b32decode(key_b32.replace(' ', '').upper() + '=' * (-len(key_b32.replace(' ', '')) % 8))
    counter = int((at if at is not None else time.time()) // 30) + step_offset
    mac = hmac.new(key, struct.pack('>Q', counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0f
    code = (struct.unpack('>I', mac[off:off + 4])[0] & 0x7fffffff) % 1000000
    return '%06d' % code


def rfc6238_selftest():
    key = base64.b32encode(b'12345678901234567890').decode()
    return totp(key, at=59) == '287082' and totp(key, at=1111111109) == '081804'


def unescape(s):
    return (s.replace('&amp;', '&').replace('&lt;', '<').replace('&gt;', '>').replace('&quot;', '"')
            .replace('&#39;', "'").replace('&#x27;', "'").replace('&#x3D;', '=').replace('&#61;', '='))


class Staff(Browser):
    """One staff member's browser."""

    def __init__(self, port, email):
        super().__init__(port)
        self.email = email
        self.key = None
        self.step = 0      # TOTP steps used so far (a code is accepted once)
        self.last = ''

    def call(self, method, path, body=None, ctype=None, headers=None):
        h = {'User-Agent': UA, 'Accept': 'text/html'}
        h.update(headers or {})
        return super().call(method, path, body, ctype, h)

    def get(self, path):
        st, hd, b = self.call('GET', path)
        self.last = b.decode('utf-8', 'replace')
        return st, hd, self.last

    def post(self, path, fields, token=True, raw=None, ctype='application/x-www-form-urlencoded', headers=None):
        f = dict(fields)
        if token and 'csrf_token' not in f:
            f['csrf_token'] = self.csrf()
        body = raw if raw is not None else urllib.parse.urlencode(f).encode()
        st, hd, b = self.call('POST', path, body, ctype, headers)
        self.last = b.decode('utf-8', 'replace')
        return st, hd, self.last

    def csrf(self):
        tok = hidden(self.last, 'csrf_token')
        if not tok:
            self.get('/admin')
            tok = hidden(self.last, 'csrf_token')
        return tok

    def code(self):
        self.step += 1
        return totp(self.key, self.step - 1)

    def enroll(self, link):
        path = link[link.index('/admin/'):]
        st, hd, html = self.get(path)
        if st != 200:
            return False, ('enroll form', st, html[:300])
        st, hd, html = self.post('/admin/enroll', {'token': hidden(html, 'token'), 'password': PASSWORD,
                                                   'password_again': PASSWORD})
        if st != 303:
            return False, ('enroll post', st, html[:500])
        st, hd, html = self.get('/admin/2fa/setup')
        m = re.search(r'<code class="adm-key">([^<]+)</code>', html)
        if not m:
            return False, ('no key', st, html[:500])
        self.key = unescape(m.group(1)).replace(' ', '')
        st, hd, html = self.post('/admin/2fa/setup', {'code': self.code()})
        if st not in (200, 303):
            return False, ('totp', st, html[:500])
        st, hd, html = self.get('/admin')
        return st == 200, ('dashboard', st, html[:500])

    def reauth(self, back):
        st, hd, html = self.get('/admin/reauth?next=' + urllib.parse.quote(back, safe=''))
        st, hd, html = self.post('/admin/reauth', {'next': back, 'password': PASSWORD, 'code': self.code()})
        return st == 303, (st, html[:300])


def add_staff(cli, conf, email, role):
    rc, out, err = cli.run('--config', conf, 'staff', 'add', '--role', role, '--name', role, email)
    m = re.search(r'https://\S+/admin/enroll\?token=\S+', out + err)
    return m.group(0) if m else None


def csp_clean(html):
    return ' style=' not in html and '<script' not in html and 'javascript:' not in html


# ==== arranging data ====

def place_order(port, sku, key):
    from shop_test import ADDRESS, Shopper
    a = Shopper(port)
    a.api('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 1})
    st, js, _ = a.api('POST', '/api/v1/checkout', {'email': 'buyer-%s@example.org' % key, 'address': ADDRESS,
                                                    'shipping_method': 'standard'},
                      headers={'Idempotency-Key': 'admin-test-key-%s' % key})
    return (js or {}).get('order', {}).get('id'), st


def register_customer(port, email):
    b = Browser(port)
    st, hd, body = b.call('GET', '/account/register')
    tok = hidden(body.decode(), 'csrf_token')
    b.call('POST', '/account/register', urllib.parse.urlencode(
        {'csrf_token': tok, 'email': email, 'password': 'Quite-Long-Password-99', 'name': 'Grace Hopper'}).encode(),
        'application/x-www-form-urlencoded')


# ==== every page, and who may see it ====

READ_PAGES = [
    ('/admin', None), ('/admin/reports', 'reports.read'), ('/admin/audit', 'audit.read'),
    ('/admin/logins', 'audit.read'), ('/admin/orders', 'orders.read'), ('/admin/customers', 'customers.read'),
    ('/admin/products', 'catalog.read'), ('/admin/products/new', 'catalog.create'),
    ('/admin/categories', 'catalog.read'), ('/admin/coupons', 'coupons.read'), ('/admin/shipping', 'shipping.read'),
    ('/admin/tax', 'tax.read'), ('/admin/inventory', 'inventory.read'), ('/admin/staff', 'staff.read'),
    ('/admin/security', 'security.read'),
]


def test_pages(owner, analyst, oid, pid, cid):
    pages = READ_PAGES + [('/admin/orders/%d' % oid, 'orders.read'), ('/admin/products/%d' % pid, 'catalog.read'),
                          ('/admin/customers/%d' % cid, 'customers.read')]
    bad = []
    for path, perm in pages:
        st, hd, html = owner.get(path)
        if st != 200 or not csp_clean(html) or 'no-store' not in hd.get('cache-control', ''):
            bad.append((path, st, html[:200]))
    check('every back-office page renders for the owner (200, no-store, no inline style/script)', not bad, bad)
    # the analyst: reports, orders and catalog reads only
    allowed = {'reports.read', 'orders.read', 'catalog.read', None}
    wrong = []
    for path, perm in pages:
        st, hd, html = analyst.get(path)
        want = 200 if perm in allowed else 403
        if st != want:
            wrong.append((path, st, want))
    check('the analyst sees what the role allows and gets 403 elsewhere', not wrong, wrong)
    # the buyer's contact and address are for those who ship or may reveal customers' data
    st, hd, html = owner.get('/admin/orders/%d' % oid)
    m = re.search(r'<p>([^<>@\s]+@[^<>\s]+)</p>', html)
    st2, hd2, html2 = analyst.get('/admin/orders/%d' % oid)
    check("the analyst's order page hides the buyer's e-mail and address; the owner's shows them",
          m and st2 == 200 and m.group(1) not in html2 and '<address>' in html and '<address>' not in html2 and
          'Contact and address not shown' in html2, (m and m.group(1), st2))
    if m:
        q = urllib.parse.urlencode({'email': m.group(1)})
        st, hd, html = analyst.get('/admin/orders?' + q)
        check('the analyst may not look customers up by e-mail through the orders list: 403', st == 403, st)
        st, hd, html = owner.get('/admin/orders?' + q)
        check('the owner may (an address with a hyphen, such as buyer-one@, passes the WAF)', st == 200, st)
        st, hd, html = owner.get('/admin/customers?' + q)
        check('so does the customers search by it', st == 200, st)
    st, hd, html = analyst.get('/admin')
    check('dashboard for the analyst: sales shown, no security panel',
          st == 200 and "Today's sales" in html and 'Security events' not in html, html[:300])
    anon = Browser(owner.port)
    st, hd, body = anon.call('GET', '/admin/orders', headers={'User-Agent': UA, 'Accept': 'text/html'})
    check('no staff session: not served', st in (302, 303, 401, 403), st)


# ==== orders ====

def test_orders(owner, db, oid, port):
    st, hd, html = owner.get('/admin/orders?status=pending_payment')
    check('order list filtered by status shows the order', st == 200 and '/admin/orders/%d"' % oid in html, st)
    st, hd, html = owner.get('/admin/orders?q=%d' % oid)
    check('order number search goes to the order', st == 302 and hd.get('location', '').endswith('/admin/orders/%d' % oid),
          (st, hd.get('location')))
    c = sqlite3.connect(db)  # a payment that came too late for the order, kept to be refunded (payment.h)
    c.execute("INSERT INTO unapplied_payments(order_id, provider, provider_ref, intent_ref, amount_minor, currency, "
              "reason, status, next_at, last_error, created_at, updated_at) VALUES (?, 'stripe', 'cs_test_late', "
              "'pi_test_late', 1234, 'EUR', 'order_expired', 'refund_failed', 0, 'stripe answered 402 <b>x</b>', "
              "1767225600, 1767225600)", (oid,))
    c.commit()
    c.close()
    reads = db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'order.read' AND object_id = ?", (str(oid),))
    st, hd, html = owner.get('/admin/orders/%d' % oid)
    reads_after = db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'order.read' AND object_id = ?",
                           (str(oid),))
    check('order page lists the payment not applied, its refund failure escaped',
          st == 200 and 'Payments not applied' in html and 'order_expired' in html and 'refund_failed' in html and
          '12.34' in html and '&lt;b&gt;x&lt;/b&gt;' in html and '<b>x</b>' not in html, html[-1500:])
    st, hd, dash = owner.get('/admin')
    card = re.search(r'id="refunds-card">.*?adm-big">(\d+)<', dash, re.S)
    check('the dashboard counts the failed refund and links its order, the error escaped',
          st == 200 and card and card.group(1) == '1' and 'adm-alert" id="refunds-card"' in dash and
          'id="refunds-open"' in dash and '/admin/orders/%d"' % oid in dash and 'payment not applied' in dash and
          '&lt;b&gt;x&lt;/b&gt;' in dash and '<b>x</b>' not in dash, dash[-2000:])
    c = sqlite3.connect(db)
    c.execute("DELETE FROM unapplied_payments WHERE provider_ref = 'cs_test_late'")
    c.commit()
    c.close()
    check('order page shows the unsealed address (audited as order.read, once for the one read)',
          'Rue de la Paix' in html and reads_after == reads + 1, (reads, reads_after, html[:300]))
    for q, name in [('?status=nope', 'unknown status'), ('?from=2026-02-30', 'impossible date'),
                    ('?from=yesterday', 'malformed date'), ('?before=-4', 'negative cursor'),
                    ('?before=' + '9' * 40, 'huge cursor'), ('?q=abc', 'non-numeric order number'),
                    ('?email=%27%20OR%201%3D1', 'SQL in the e-mail filter')]:
        st, hd, html = owner.get('/admin/orders' + q)
        check('order list, %s: 4xx' % name, 400 <= st < 500 or (name == 'SQL in the e-mail filter' and st == 200
                                                                 and 'No orders match' in html), st)
    for path in ['/admin/orders/999999', '/admin/orders/abc', '/admin/orders/-1', '/admin/orders/' + '9' * 30]:
        st, hd, html = owner.get(path)
        check('unknown or malformed order id %s: 404' % path[:30], st == 404, st)
    # cancel: a transition with a reason, audited, order event written
    ev = db_count(db, "SELECT count(*) FROM audit_events WHERE object_type = 'order' AND object_id = ?", (str(oid),))
    st, hd, html = owner.post('/admin/orders/%d/transition' % oid, {'to': 'delivered', 'reason': 'x'})
    check('transition the table does not allow: 409, nothing changed',
          st == 409 and db_count(db, 'SELECT status FROM orders WHERE id = ?', (oid,)) == 'pending_payment', st)
    st, hd, html = owner.post('/admin/orders/%d/transition' % oid, {'to': 'paid'})
    check('transition to a state that needs data: 400', st == 400, st)
    st, hd, html = owner.post('/admin/orders/%d/transition' % oid, {'to': 'cancelled', 'reason': 'customer asked'})
    check('cancel: 303, cancelled, audited in the same transaction',
          st == 303 and db_count(db, 'SELECT status FROM orders WHERE id = ?', (oid,)) == 'cancelled' and
          db_count(db, "SELECT count(*) FROM audit_events WHERE object_type = 'order' AND object_id = ?",
                   (str(oid),)) > ev, (st, html[:300]))


def test_refund_ship(owner, db, oid2):
    c = sqlite3.connect(db)
    c.execute("UPDATE orders SET status = 'paid', paid_minor = total_minor, payment_provider = 'test', "
              "payment_ref = 'p-%d' WHERE id = ?" % oid2, (oid2,))
    c.commit()
    c.close()
    total = db_count(db, 'SELECT total_minor FROM orders WHERE id = ?', (oid2,))
    # the browser's check of the refund amount follows the order's currency,
    # as the server's does (sf_money_parse): 1.505 KWD, 500 yen, 12.50 euros
    for cur, good, bad in (('KWD', ['1.505', '2', '0.5'], ['1.5055', 'x']), ('JPY', ['500'], ['5.00', '5.5']),
                           ('EUR', ['12.50', '12'], ['1.234'])):
        c = sqlite3.connect(db)
        c.execute('UPDATE orders SET currency = ? WHERE id = ?', (cur, oid2))
        c.commit()
        c.close()
        st, hd, html = owner.get('/admin/orders/%d' % oid2)
        m = re.search(r'<input name="amount"[^>]* pattern="([^"]*)"', html)
        check('the refund form of a %s order takes %s, not %s' % (cur, ' '.join(good), ' '.join(bad)),
              st == 200 and m and all(re.fullmatch(m.group(1), a) for a in good) and
              not any(re.fullmatch(m.group(1), a) for a in bad) and 'Amount (%s)' % cur in html,
              m and m.group(1))
    owner.get('/admin/orders/%d' % oid2)
    key = hidden(owner.last, 'refund_key')
    for amount, name in [('abc', 'text'), ('-1', 'negative'), ('0', 'zero'), ('1.234', 'three decimals'),
                         ('%d.00' % (total // 100 + 10), 'more than paid'), ('9' * 40, 'huge')]:
        st, hd, html = owner.post('/admin/orders/%d/refund' % oid2, {'amount': amount, 'refund_key': key})
        check('refund amount %s: 4xx, nothing refunded' % name,
              400 <= st < 500 and db_count(db, 'SELECT refunded_minor FROM orders WHERE id = ?', (oid2,)) == 0, st)
    st, hd, html = owner.post('/admin/orders/%d/refund' % oid2, {'amount': '1.00', 'refund_key': 'short'})
    check('refund with a forged form key: 400', st == 400, st)
    owner.get('/admin/orders/%d' % oid2)
    key = hidden(owner.last, 'refund_key')
    # a payment no provider of storefort's took cannot be refunded through one
    st, hd, html = owner.post('/admin/orders/%d/refund' % oid2, {'amount': '1.00', 'refund_key': key})
    check('refund of a payment no provider can refund: 409 with the reason, nothing written',
          st == 409 and 'refund_not_possible' in html and
          db_count(db, 'SELECT refunded_minor FROM orders WHERE id = ?', (oid2,)) == 0 and
          db_count(db, 'SELECT count(*) FROM order_refunds') == 0, (st, html[:300]))
    st, hd, html = owner.post('/admin/orders/%d/refund' % oid2, {'amount': '1.00', 'refund_key': key,
                                                                 'record_only': 'yes'})
    check('record_only other than 1: 400, nothing refunded', st == 400 and
          db_count(db, 'SELECT refunded_minor FROM orders WHERE id = ?', (oid2,)) == 0, st)
    st, hd, html = owner.post('/admin/orders/%d/refund' % oid2, {'amount': '1.00', 'refund_key': key,
                                                                 'reason': 'scratched', 'record_only': '1'})
    st2, hd2, html2 = owner.post('/admin/orders/%d/refund' % oid2, {'amount': '1.00', 'refund_key': key,
                                                                    'reason': 'scratched', 'record_only': '1'})
    check('a refund made elsewhere, recorded only; the same form sent twice records it once',
          st == 303 and st2 == 303 and db_count(db, 'SELECT refunded_minor FROM orders WHERE id = ?', (oid2,)) == 100
          and db_count(db, 'SELECT status FROM orders WHERE id = ?', (oid2,)) == 'partially_refunded' and
          db_count(db, "SELECT count(*) FROM order_payments WHERE order_id = ? AND kind = 'refund' AND "
                       "provider = 'manual'", (oid2,)) == 1, (st, st2))
    # paid through the sandbox: the refund goes to the provider, then to the order
    c = sqlite3.connect(db)
    c.execute("UPDATE orders SET payment_provider = 'sandbox' WHERE id = ?", (oid2,))
    c.commit()
    c.close()
    mails = db_count(db, 'SELECT count(*) FROM mail_outbox')
    owner.get('/admin/orders/%d' % oid2)
    key = hidden(owner.last, 'refund_key')
    st, hd, html = owner.post('/admin/orders/%d/refund' % oid2, {'amount': '%d.00' % (total // 100),
                                                                 'refund_key': key})
    check('refund of more than is left: 409, nothing asked of the provider',
          st == 409 and db_count(db, 'SELECT count(*) FROM order_refunds') == 0, st)
    for reason, name in [('x' * 501, 'an over-long reason'), ('card 4111 1111 1111 1111', 'a card number')]:
        st, hd, html = owner.post('/admin/orders/%d/refund' % oid2, {'amount': '1.50', 'refund_key': key,
                                                                     'reason': reason})
        check('refund with %s: 400, nothing asked of the provider' % name,
              st == 400 and db_count(db, 'SELECT count(*) FROM order_refunds') == 0 and
              db_count(db, 'SELECT refunded_minor FROM orders WHERE id = ?', (oid2,)) == 100, st)
    st, hd, html = owner.post('/admin/orders/%d/refund' % oid2, {'amount': '1.50', 'refund_key': key,
                                                                 'reason': 'R&D late'})
    st2, hd2, html2 = owner.post('/admin/orders/%d/refund' % oid2, {'amount': '1.50', 'refund_key': key,
                                                                    'reason': 'R&D late'})
    check('a refund through the sandbox: the provider asked once, the order refunded once, the shopper mailed',
          st == 303 and st2 == 303 and db_count(db, 'SELECT refunded_minor FROM orders WHERE id = ?', (oid2,)) == 250
          and db_count(db, "SELECT count(*) FROM order_refunds WHERE order_id = ? AND status = 'refunded' AND "
                           "amount_minor = 150 AND refund_ref LIKE 'sandbox-refund-staff-%'", (oid2,)) == 1
          and db_count(db, "SELECT count(*) FROM order_payments WHERE order_id = ? AND kind = 'refund' AND "
                           "provider = 'sandbox'", (oid2,)) == 1
          and db_count(db, 'SELECT count(*) FROM mail_outbox') == mails + 1
          and db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'order.refund_requested'") == 1,
          (st, st2))
    st, hd, html = owner.get('/admin/orders/%d' % oid2)
    check('the order page lists the refund, who gave it and its state, the reason escaped',
          st == 200 and 'id="refunds"' in html and 'sandbox-refund-staff-' in html and
          'R&amp;D late' in html and 'R&D late' not in html, html[:300])
    st, hd, html = owner.post('/admin/orders/%d/ship' % oid2, {'carrier': 'DHL', 'tracking': 'JD0001'})
    check('ship before fulfilled: 409', st == 409, st)
    refund_row = re.search(r'<table class="adm-table" id="refunds">.*?</table>', html, re.S)
    check('the page\'s own error is not shown as the error of a refund that had none',
          'class="adm-error"' in html and refund_row and 'sandbox-refund-staff-' in refund_row.group(0) and
          '</code>: ' not in refund_row.group(0), refund_row and refund_row.group(0))
    check('a partially refunded order is still delivered: its page offers fulfilled, not shipping yet',
          '<option value="fulfilled">' in html and 'cancelled</option>' not in html and
          'action="/admin/orders/%d/ship"' % oid2 not in html, html[:300])
    st, hd, html = owner.post('/admin/orders/%d/transition' % oid2, {'to': 'fulfilled', 'reason': 'rest packed'})
    check('partially refunded -> fulfilled', st == 303 and
          db_count(db, 'SELECT status FROM orders WHERE id = ?', (oid2,)) == 'fulfilled', st)
    st, hd, html = owner.post('/admin/orders/%d/ship' % oid2, {'carrier': 'DHL', 'tracking': ''})
    check('ship without a tracking number: 400', st == 400, st)
    st, hd, html = owner.post('/admin/orders/%d/ship' % oid2, {'carrier': 'DHL', 'tracking': 'x' * 300})
    check('ship with an over-long tracking number: 400', st == 400, st)
    st, hd, html = owner.post('/admin/orders/%d/ship' % oid2, {'carrier': 'DHL', 'tracking': 'JD014600006'})
    check('ship with carrier and tracking: shipped, shipment row, audited',
          st == 303 and db_count(db, 'SELECT status FROM orders WHERE id = ?', (oid2,)) == 'shipped' and
          db_count(db, "SELECT count(*) FROM shipments WHERE order_id = ? AND tracking = 'JD014600006'", (oid2,)) == 1,
          (st, html[:300]))
    st, hd, html = owner.post('/admin/orders/999999/ship', {'carrier': 'DHL', 'tracking': 'JD1'})
    check("ship someone else's / a missing order: 404", st == 404, st)


# ==== customers ====

def test_customers(owner, support, db, cid, email):
    st, hd, html = owner.get('/admin/customers?email=' + urllib.parse.quote(email.upper()))
    check('customer found by e-mail through the blind index (case-insensitive)',
          st == 200 and '/admin/customers/%d"' % cid in html, (st, html[:300]))
    st, hd, html = owner.get('/admin/customers?email=nobody%40example.org')
    check('unknown e-mail: no customer', st == 200 and 'No customer' in html, st)
    st, hd, html = owner.get('/admin/customers?email=' + urllib.parse.quote('not an address'))
    check('malformed e-mail: 400', st == 400, st)
    st, hd, html = owner.get('/admin/customers?email=' + 'a' * 300 + '%40x.org')
    check('oversized e-mail: 400', st == 400, st)
    st, hd, html = owner.get('/admin/customers/%d' % cid)
    check('customer page: protected fields masked', st == 200 and email not in html and 'Grace Hopper' not in html
          and '••••••' in html, html[:500])
    st, hd, html = support.post('/admin/customers/%d/reveal' % cid, {'reason': 'ticket 42'})
    check('reveal without customers.reveal: 403', st == 403, st)
    # a fresh sign-in counts as re-authenticated for [admin] reauth_minutes; re-authenticate
    # explicitly anyway (password + a new TOTP code), as a stale session would be asked to
    ok, diag = owner.reauth('/admin/customers/%d' % cid)
    check('re-authentication with password and a fresh TOTP code', ok, diag)
    reveals = db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'customer.reveal'")
    owner.get('/admin/customers/%d' % cid)
    for reason, name in [('', 'no reason'), ('  ', 'blank'), ('x' * 500, 'oversized'),
                         ('card 4111 1111 1111 1111', 'a card number')]:
        st, hd, html = owner.post('/admin/customers/%d/reveal' % cid, {'reason': reason})
        check('reveal with %s: refused (4xx), masked, not audited' % name,
              400 <= st < 500 and 'Grace Hopper' not in html and
              db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'customer.reveal'") == reveals, st)
    st, hd, html = owner.post('/admin/customers/%d/reveal' % cid, {'reason': 'support ticket 42'})
    check('reveal with a reason: fields shown, one customer.reveal event carrying the reason',
          st == 200 and 'Grace Hopper' in html and email in html and
          db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'customer.reveal' AND object_id = ? AND "
                       "detail LIKE '%support ticket 42%' AND actor_type = 'staff'", (str(cid),)) == 1, html[:300])
    st, hd, html = owner.post('/admin/customers/999999/reveal', {'reason': 'support ticket 42'})
    check('reveal of a missing customer: 404', st == 404, st)


# ==== catalog, inventory, images ====

PNG = bytes.fromhex('89504e470d0a1a0a0000000d4948445200000001000000010806000000'
                    '1f15c4890000000a49444154789c6300010000050001'
                    '0d0a2db40000000049454e44ae426082')


def multipart(fields, files):
    boundary = 'sfboundary%d' % int(time.time() * 1000)
    out = b''
    for k, v in fields.items():
        out += ('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, k, v)).encode()
    for k, (fname, ctype, data) in files.items():
        out += ('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: %s\r\n\r\n'
                % (boundary, k, fname, ctype)).encode() + data + b'\r\n'
    out += ('--%s--\r\n' % boundary).encode()
    return out, 'multipart/form-data; boundary=' + boundary


def test_catalog(owner, db, media):
    st, hd, html = owner.post('/admin/products', {'slug': 'admin-mug', 'name': 'Admin Mug & Co', 'description': 'Tea',
                                                  'category_id': '0', 'status': 'draft'})
    pid = db_count(db, "SELECT coalesce(max(id), 0) FROM products WHERE slug = 'admin-mug'")
    check('create a product: 303 to its page, audited product.create',
          st == 303 and pid and db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'product.create' AND "
                                             "object_id = ?", (str(pid),)) == 1, (st, html[:300]))
    st, hd, html = owner.get('/admin/products/%d' % pid)
    check('product name is escaped on its page', 'Admin Mug &amp; Co' in html, '')
    st, hd, html = owner.post('/admin/products', {'slug': 'pizza-12', 'name': 'Pizza 12"', 'description': 'Big',
                                                  'category_id': '0', 'status': 'draft'})
    check('a product name ending in a quote is accepted (CRS 942110 excluded for ARGS:name on product routes)',
          st == 303 and db_count(db, "SELECT count(*) FROM products WHERE name = 'Pizza 12\"'") == 1, (st, html[:200]))
    for fields, name in [({'slug': 'admin-mug', 'name': 'x', 'status': 'draft'}, 'taken slug'),
                         ({'slug': 'Bad Slug!', 'name': 'x', 'status': 'draft'}, 'bad slug'),
                         ({'slug': 'ok-slug', 'name': '', 'status': 'draft'}, 'empty name'),
                         ({'slug': 'ok-slug', 'name': 'x' * 300, 'status': 'draft'}, 'oversized name'),
                         ({'slug': 'ok-slug', 'name': 'x', 'status': 'gone'}, 'bad status'),
                         ({'slug': 'ok-slug', 'name': 'x', 'status': 'draft', 'category_id': '999999'},
                          'unknown category'),
                         ({'slug': 'ok-slug', 'name': 'x', 'status': 'draft', 'category_id': 'abc'}, 'bad category')]:
        st, hd, html = owner.post('/admin/products', fields)
        check('create product with %s: 4xx, nothing written' % name,
              400 <= st < 500 and db_count(db, "SELECT count(*) FROM products WHERE slug = 'ok-slug'") == 0, st)
    st, hd, html = owner.post('/admin/products/%d/variants' % pid, {'sku': 'ADM-MUG-1', 'name': 'Blue',
                                                                     'price': '12.50', 'currency': 'EUR'})
    vid = db_count(db, "SELECT coalesce(max(id), 0) FROM variants WHERE sku = 'ADM-MUG-1'")
    check('add a variant: price in minor units, stock 0',
          st == 303 and db_count(db, 'SELECT price_minor FROM variants WHERE id = ?', (vid,)) == 1250, st)
    # a currency without cents: "1000" yen is 1000 minor units, not 100000
    st, hd, html = owner.post('/admin/products/%d/variants' % pid, {'sku': 'ADM-MUG-JP', 'name': 'Tokyo',
                                                                     'price': '1000.50', 'currency': 'JPY'})
    check('a yen price with cents: 400, nothing written',
          st == 400 and db_count(db, "SELECT count(*) FROM variants WHERE sku = 'ADM-MUG-JP'") == 0, st)
    st, hd, html = owner.post('/admin/products/%d/variants' % pid, {'sku': 'ADM-MUG-JP', 'name': 'Tokyo',
                                                                     'price': '1000', 'currency': 'JPY'})
    check('a yen price: 1000 yen is 1000 minor units',
          st == 303 and db_count(db, "SELECT price_minor FROM variants WHERE sku = 'ADM-MUG-JP'") == 1000, st)
    st, hd, html = owner.get('/admin/products/%d' % pid)
    check('the product page shows it back as typed: 1000 for yen, 12.50 for euros',
          st == 200 and 'value="1000" size="8"' in html and 'value="12.50" size="8"' in html, html[-3000:])
    other = db_count(db, "SELECT min(id) FROM variants WHERE product_id <> ?", (pid,))
    st, hd, html = owner.post('/admin/products/%d/variants/%d' % (pid, other), {'name': 'x', 'price': '1.00',
                                                                                'currency': 'EUR'})
    check("edit another product's variant through this product: 404", st == 404, st)
    st, hd, html = owner.post('/admin/products/%d/variants' % pid, {'sku': 'BAD SKU', 'price': '1', 'currency': 'EUR'})
    check('variant with a bad SKU: 400', st == 400, st)
    ver = db_count(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalog_version'")
    st, hd, html = owner.post('/admin/products/%d/variants/%d/stock' % (pid, vid), {'delta': '25',
                                                                                    'reason': 'delivery 7781'})
    check('stock adjustment with a reason: stock 25, journal row, audited, catalog version bumped',
          st == 303 and db_count(db, 'SELECT stock FROM variants WHERE id = ?', (vid,)) == 25 and
          db_count(db, "SELECT count(*) FROM inventory_adjustments WHERE variant_id = ? AND reason = 'delivery 7781'",
                   (vid,)) == 1 and
          db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'inventory.adjust' AND object_id = ?",
                   (str(vid),)) == 1 and
          db_count(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'catalog_version'") > ver, st)
    for fields, name in [({'delta': '-26', 'reason': 'x'}, 'below zero'), ({'delta': '5', 'reason': ''}, 'no reason'),
                         ({'delta': '0', 'reason': 'x'}, 'zero'), ({'delta': '1.5', 'reason': 'x'}, 'fraction'),
                         ({'delta': '9' * 30, 'reason': 'x'}, 'huge'), ({'delta': '5', 'reason': 'r' * 300},
                                                                        'oversized reason')]:
        st, hd, html = owner.post('/admin/products/%d/variants/%d/stock' % (pid, vid), fields)
        check('stock adjustment %s: 4xx, stock unchanged' % name,
              400 <= st < 500 and db_count(db, 'SELECT stock FROM variants WHERE id = ?', (vid,)) == 25, st)
    st, hd, html = owner.post('/admin/products/%d/variants/%d/stock' % (pid + 1000, vid), {'delta': '1', 'reason': 'x'})
    check('stock adjustment through a product that does not hold the variant: 404', st == 404, st)
    # images
    owner.get('/admin/products/%d' % pid)
    tok = owner.csrf()
    body, ct = multipart({'csrf_token': tok}, {'image': ('../../etc/evil.png', 'image/png', PNG)})
    st, hd, html = owner.post('/admin/products/%d/image' % pid, {}, raw=body, ctype=ct)
    name = db_count(db, 'SELECT image FROM products WHERE id = ?', (pid,))
    check('image upload: stored under a random name in the media folder, never the uploaded name',
          st == 303 and name and re.fullmatch(r'[0-9a-f]{32}\.png', name) and
          os.path.exists(os.path.join(media, 'products', name)) and 'evil' not in name, (st, name, html[:300]))
    check('image upload audited (product.image)',
          db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'product.image' AND object_id = ?",
                   (str(pid),)) == 1, '')
    cases = [
        ({'image': ('x.png', 'text/html', b'<html><script>alert(1)</script></html>')}, 'HTML as text/html'),
        ({'image': ('x.png', 'image/png', b'<html><script>alert(1)</script></html>')}, 'HTML declared as PNG'),
        ({'image': ('x.svg', 'image/svg+xml', b'<svg xmlns="http://www.w3.org/2000/svg"/>')}, 'SVG'),
        ({'image': ('x.jpg', 'image/jpeg', PNG)}, 'PNG declared as JPEG'),
        ({'image': ('x.png', 'image/png', PNG + b'<?php echo 1; ?>')}, 'polyglot (PHP appended)'),
        ({'image': ('x.png', 'image/png', PNG[:40] + b'PK\x03\x04' + PNG[44:])}, 'polyglot (ZIP inside)'),
        ({'image': ('x.png', 'image/png', PNG[:-4])}, 'truncated PNG'),
        ({'image': ('x.png', 'image/png', PNG[:8] + b'\0' * (2 * 1024 * 1024 + 10))}, 'oversized'),
        ({}, 'no file'),
    ]
    for files, label in cases:
        body, ct = multipart({'csrf_token': tok}, files)
        st, hd, html = owner.post('/admin/products/%d/image' % pid, {}, raw=body, ctype=ct)
        check('upload of %s refused (4xx), image unchanged' % label,
              400 <= st < 500 and db_count(db, 'SELECT image FROM products WHERE id = ?', (pid,)) == name, st)
    body, ct = multipart({'csrf_token': 'A' * 43}, {'image': ('x.png', 'image/png', PNG)})
    st, hd, html = owner.post('/admin/products/%d/image' % pid, {}, raw=body, ctype=ct)
    check('upload with a wrong CSRF token: 403', st == 403, st)
    body, ct = multipart({}, {'image': ('x.png', 'image/png', PNG)})
    st, hd, html = owner.post('/admin/products/%d/image' % pid, {}, raw=body, ctype=ct)
    check('upload without a CSRF token: 403', st == 403, st)
    st, hd, html = owner.post('/admin/products/%d/image' % pid, {}, raw=b'garbage', ctype='multipart/form-data')
    check('upload with a malformed body: refused (4xx), nothing stored',
          400 <= st < 500 and db_count(db, 'SELECT image FROM products WHERE id = ?', (pid,)) == name, st)
    body, ct = multipart({'csrf_token': tok}, {'image': ('x.png', 'image/png', PNG)})
    st, hd, html = owner.post('/admin/products/%d/image' % pid, {}, raw=body, ctype=ct,
                              headers={'Origin': 'https://evil.example', 'Sec-Fetch-Site': 'cross-site'})
    check('cross-site upload: 403', st == 403, st)
    body, ct = multipart({'csrf_token': tok}, {'image': ('x.png', 'image/png', PNG)})
    st, hd, html = owner.post('/admin/products/999999/image', {}, raw=body, ctype=ct)
    check('upload to a missing product: 404', st == 404, st)
    # categories
    st, hd, html = owner.post('/admin/categories', {'name': 'Admin Test Cat', 'parent_id': '0'})
    check('create a category: 303, audited', st == 303 and db_count(
        db, "SELECT count(*) FROM audit_events WHERE action = 'category.create'") >= 1, st)
    st, hd, html = owner.post('/admin/categories', {'name': 'Sub', 'parent_id': '999999'})
    check('category under a missing parent: 400', st == 400, st)
    st, hd, html = owner.post('/admin/categories/999999', {'name': 'X'})
    check('rename a missing category: 404', st == 404, st)
    return pid


# ==== coupons, shipping, tax ====

def test_settings(owner, db):
    st, hd, html = owner.post('/admin/coupons', {'code': 'spring10', 'kind': 'percent', 'value': '10',
                                                 'ends': '2099-12-31', 'max_uses': '100'})
    check('create a coupon: 303, stored upper-case, 10 % = 1000 bp',
          st == 303 and db_count(db, "SELECT value FROM coupons WHERE code = 'SPRING10'") == 1000, (st, html[:300]))
    for fields, name in [({'code': 'spring10', 'kind': 'percent', 'value': '10'}, 'existing code'),
                         ({'code': 'x', 'kind': 'percent', 'value': '10'}, 'short code'),
                         ({'code': 'ok-code', 'kind': 'percent', 'value': '101'}, 'over 100 %'),
                         ({'code': 'ok-code', 'kind': 'bogus', 'value': '1'}, 'bad kind'),
                         ({'code': 'ok-code', 'kind': 'fixed', 'value': '5'}, 'fixed without currency'),
                         # "jpy" was read with two decimals (500 -> 50000) and never matched a JPY cart
                         ({'code': 'ok-code', 'kind': 'fixed', 'value': '500', 'currency': 'jpy'},
                          'a currency not in capitals'),
                         ({'code': 'ok-code', 'kind': 'fixed', 'value': '5', 'currency': 'E1R'}, 'a currency with a digit'),
                         ({'code': 'ok-code', 'kind': 'percent', 'value': '5', 'starts': '2026-02-31'}, 'bad date'),
                         ({'code': 'ok-code', 'kind': 'percent', 'value': '5', 'max_uses': '-3'}, 'negative limit')]:
        st, hd, html = owner.post('/admin/coupons', fields)
        check('coupon with %s: 4xx' % name, 400 <= st < 500 and
              db_count(db, "SELECT count(*) FROM coupons WHERE code = 'OK-CODE'") == 0, st)
    cpid = db_count(db, "SELECT id FROM coupons WHERE code = 'SPRING10'")
    st, hd, html = owner.post('/admin/coupons/%d/active' % cpid, {'active': '0'})
    check('switch a coupon off: audited coupon.update', st == 303 and
          db_count(db, 'SELECT active FROM coupons WHERE id = ?', (cpid,)) == 0 and
          db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'coupon.update'") == 1, st)
    st, hd, html = owner.post('/admin/coupons/999999/active', {'active': '1'})
    check('switch a missing coupon: 404', st == 404, st)
    st, hd, html = owner.post('/admin/coupons/%d/active' % cpid, {'active': 'maybe'})
    check('switch with a bad value: 400', st == 400, st)
    mid = db_count(db, "SELECT id FROM shipping_methods WHERE code = 'standard'")
    st, hd, html = owner.post('/admin/shipping/%d' % mid, {'name': 'Standard', 'base': '5.90', 'free_above': '',
                                                           'tax_class': 'standard', 'active': '1'})
    check('shipping rate change: stored, never free, audited', st == 303 and
          db_count(db, 'SELECT base_minor FROM shipping_methods WHERE id = ?', (mid,)) == 590 and
          db_count(db, 'SELECT free_above_minor IS NULL FROM shipping_methods WHERE id = ?', (mid,)) == 1 and
          db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'shipping.update'") == 1, (st, html[:300]))
    for fields, name in [({'name': 'S', 'base': '-1', 'tax_class': 'standard'}, 'negative rate'),
                         ({'name': 'S', 'base': '1', 'tax_class': 'nope'}, 'unknown tax class'),
                         ({'name': '', 'base': '1', 'tax_class': 'standard'}, 'empty name')]:
        st, hd, html = owner.post('/admin/shipping/%d' % mid, fields)
        check('shipping with %s: 400' % name, st == 400, st)
    st, hd, html = owner.post('/admin/shipping/999999', {'name': 'S', 'base': '1', 'tax_class': 'standard'})
    check('shipping, missing method: 404', st == 404, st)
    st, hd, html = owner.get('/admin/shipping')
    check('the shipping page names the shop\'s currency and shows the rate as typed',
          st == 200 and 'Base rate (EUR)' in html and 'value="5.90"' in html, html[-2000:])
    taxes = db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'tax.update'")
    st, hd, html = owner.post('/admin/tax', {'class': 'books', 'label': 'VAT 7%', 'rate': '7'})
    check('tax class saved (700 bp), audited', st == 303 and
          db_count(db, "SELECT rate_bp FROM tax_rates WHERE class = 'books'") == 700 and
          db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'tax.update'") == taxes + 1, st)
    for fields, name in [({'class': 'Bad Class', 'label': 'x', 'rate': '1'}, 'bad class'),
                         ({'class': 'x', 'label': 'x', 'rate': '101'}, 'rate over 100'),
                         ({'class': 'x', 'label': '', 'rate': '1'}, 'no label')]:
        st, hd, html = owner.post('/admin/tax', fields)
        check('tax with %s: 400' % name, st == 400, st)


# ==== reports and the audit viewer ====

def csv_rows(text):
    import csv
    import io
    return list(csv.reader(io.StringIO(text)))


def test_reports(owner, analyst, db, oid2):
    st, hd, html = owner.get('/admin/reports?period=week')
    check('reports page: figures and two SVG charts, classes only', st == 200 and html.count('<svg class="chart-svg"') == 2
          and 'Checkout conversion' in html and csp_clean(html), html[:300])
    for q, name in [('?period=year', 'bad period'), ('?from=2026-13-01', 'bad month'), ('?from=x', 'malformed'),
                    ('?from=2020-01-01&to=2019-01-01', 'reversed range'), ('?from=1990-01-01&to=2026-01-01',
                                                                            'range too long'),
                    ('?currency=EURO', 'bad currency'), ('?currency=e%27r', 'quote in currency')]:
        st, hd, html = owner.get('/admin/reports' + q)
        check('reports with %s: 400' % name, st == 400, st)
    # a formula in a product name must not reach the CSV as a formula
    c = sqlite3.connect(db)
    c.execute("UPDATE order_lines SET name = '=HYPERLINK(\"http://evil\")' WHERE order_id = ?", (oid2,))
    c.commit()
    c.close()
    exports = db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'reports.export'")
    st, hd, body = owner.post('/admin/reports/export', {'period': 'day'})
    rows = csv_rows(body) if st == 200 else []
    names = [r[1] for r in rows if len(r) == 4 and r[0] and not r[0][0].isdigit() and r[0] != 'sku']
    check('report CSV export: text/csv attachment, audited as reports.export',
          st == 200 and hd.get('content-type', '').startswith('text/csv') and 'attachment' in
          hd.get('content-disposition', '') and
          db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'reports.export'") == exports + 1,
          (st, hd, body[:300]))
    check('CSV injection neutralised: the cell starts with an apostrophe',
          any(n.startswith("'=HYPERLINK") for n in names) and not any(n.startswith('=') for n in names), names)
    st, hd, body = analyst.post('/admin/reports/export', {'period': 'day'})
    check('the analyst (reports.export) may export too', st == 200 and hd.get('content-type', '').startswith('text/csv'),
          st)
    st, hd, body = owner.post('/admin/reports/export', {'period': 'decade'})
    check('report export with a bad period: 400', st == 400, st)


def audit_rows(html):
    """The audit viewer's result rows: (id, event, outcome) from the #, Event and Outcome columns."""
    return [(int(i), a, o) for i, a, o in
            re.findall(r'<tr class="[^"]*"><td>(\d+)</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>'
                       r'<td>([^<]*)</td>', html)]


def sqlite_rows(db, sql, args=()):
    c = sqlite3.connect(db)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def test_audit(owner, support, db):
    st, hd, html = owner.get('/admin/audit')
    check('audit viewer: chain verified, PCI DSS 10.2.2 columns',
          st == 200 and 'Chain verified' in html and all(h in html for h in ['User', 'Event', 'Outcome', 'Origin',
                                                                               'Object', 'Time (UTC)']), html[:500])
    # The filter form echoes the filter, so the page's text proves nothing: read the result table.
    st, hd, html = owner.get('/admin/audit?action=customer.reveal')
    rows = audit_rows(html)
    want = db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'customer.reveal'")
    check('filter by event type: every row, and only rows, of that event',
          st == 200 and rows and {r[1] for r in rows} == {'customer.reveal'} and len(rows) == want,
          (st, rows, want))
    # order.* events all succeeded here; staff.* has both outcomes, so it shows the outcome filter at work
    for prefix, outcome in (('order.', 'success'), ('staff.', 'denied')):
        st, hd, html = owner.get('/admin/audit?action=%s&outcome=%s' % (prefix, outcome))
        rows = audit_rows(html)
        want = [r[0] for r in sqlite_rows(db, 'SELECT id FROM audit_events WHERE substr(action, 1, ?) = ? AND '
                                              'outcome = ? ORDER BY id DESC', (len(prefix), prefix, outcome))]
        more = 'href="/admin/audit?before=' in html
        check('filter by event prefix and outcome (%s*, %s): only those events, the newest first' % (prefix, outcome),
              st == 200 and rows and all(r[1].startswith(prefix) and r[2] == outcome for r in rows) and
              [r[0] for r in rows] == want[:len(rows)] and (more or len(rows) == len(want)),
              (st, rows[:10], want[:10], more))
    st, hd, html = owner.get('/admin/audit?actor=staff%3A999999')
    check('filter by an unknown actor: empty', st == 200 and 'No events match' in html, '')
    total = db_count(db, 'SELECT count(*) FROM audit_events')
    seen, before, pages = [], None, 0
    while pages < 200:
        q = '/admin/audit?before=%s' % before if before else '/admin/audit'
        st, hd, html = owner.get(q)
        seen += [r[0] for r in audit_rows(html)]
        m = re.search(r'href="/admin/audit\?before=(\d+)', html)
        pages += 1
        if not m:
            break
        before = m.group(1)
    check('paging walks every event once, newest first',
          pages > 1 and len(seen) == len(set(seen)) == total and
          all(a > b for a, b in zip(seen, seen[1:])), (len(seen), len(set(seen)), total, pages, seen[:5], seen[-5:]))
    for q, name in [('?from=2026-02-30', 'impossible date'), ('?to=tomorrow', 'malformed date'),
                    ('?outcome=maybe', 'bad outcome'), ('?actor=robot%3A1', 'unknown actor type'),
                    ('?before=abc', 'bad cursor'), ('?action=' + 'a' * 300, 'oversized filter'),
                    ('?from=2026-03-01&to=2026-02-01', 'reversed range')]:
        st, hd, html = owner.get('/admin/audit' + q)
        check('audit filter with %s: 400' % name, st == 400 and csp_clean(html), st)
    st, hd, html = support.get('/admin/audit')
    check('customer support may not read the audit trail: 403', st == 403, st)
    st, hd, html = owner.post('/admin/tax', {'class': '-evil', 'label': '=1+1', 'rate': '1'})
    exports = db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'audit.export'")
    owner.get('/admin/audit')
    st, hd, body = owner.post('/admin/audit/export', {'action': 'tax.update', 'actor': '', 'object': '', 'from': '',
                                                      'to': '', 'outcome': ''})
    rows = csv_rows(body) if st == 200 else []
    check('audit CSV export: every matching event, the export audited as audit.export',
          st == 200 and rows and rows[0][0] == 'id' and len(rows) - 1 ==
          db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'tax.update'") and
          db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'audit.export'") == exports + 1,
          (st, body[:300]))
    exports = db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'audit.export'")
    st, hd, body = owner.post('/admin/audit/export', {'action': '', 'actor': '4111-1111-1111-1111', 'object': '',
                                                      'from': '', 'to': '', 'outcome': ''})
    check('audit CSV export with a card number as a filter: 400, no export event to keep it in',
          st == 400 and db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'audit.export'") == exports
          and not db_count(db, "SELECT count(*) FROM audit_events WHERE detail LIKE '%4111-1111%'"), (st, body[:200]))
    st, hd, html = owner.get('/admin/audit?object=4111111111111111')
    check('audit filter with a card number: 400 with the form', st == 400 and 'name="object"' in html, st)
    check('CSV injection neutralised in the audit export (object id "-evil")',
          any(r[7] == "'-evil" for r in rows[1:]) and not any(c[:1] in ('=', '+', '-', '@') for r in rows[1:]
                                                               for c in r), rows[:4])
    st, hd, html = owner.get('/admin/logins')
    check('login history lists the staff sign-in events', st == 200 and re.search(r'<td>staff\.[a-z_0-9]+</td>', html)
          and 'customer.reveal' not in html, html[:300])


# ==== staff, roles, security ====

def test_staff(owner, analyst, db):
    st, hd, html = owner.post('/admin/staff', {'email': 'new.clerk@shop.example', 'name': 'New Clerk',
                                               'role_order_operator': '1'})
    check('create a staff member: 201 with a one-time enrollment link shown once',
          st == 201 and '/admin/enroll?token=' in unescape(html), (st, html[:400]))
    st, hd, html = owner.post('/admin/staff', {'email': 'new.clerk@shop.example', 'name': 'Again',
                                               'role_order_operator': '1'})
    check('the same e-mail again: 409', st == 409, st)
    for fields, name in [({'email': 'x@shop.example', 'name': 'X'}, 'no role'),
                         ({'email': 'not-an-address', 'name': 'X', 'role_analyst': '1'}, 'bad e-mail'),
                         ({'email': 'y@shop.example', 'name': 'Y', 'role_nosuchrole': '1'}, 'unknown role only')]:
        st, hd, html = owner.post('/admin/staff', fields)
        check('create staff with %s: 4xx' % name, 400 <= st < 500, st)
    st, hd, html = analyst.post('/admin/staff', {'email': 'z@shop.example', 'name': 'Z', 'role_owner': '1'})
    check('the analyst may not create staff: 403', st == 403, st)
    st, hd, html = owner.get('/admin/staff')
    m = re.search(r'<a href="/admin/staff/(\d+)">new\.clerk@shop\.example</a>', html)
    check('the new member is listed', m is not None, html[:300])
    if not m:
        return
    sid = int(m.group(1))
    st, hd, html = owner.get('/admin/staff/%d' % sid)
    check('member page renders (roles, where and when)', st == 200 and 'Where and when' in html and csp_clean(html), st)
    boxes = re.findall(r'<input type="checkbox" name="(role_[^"]*)" value="1"( checked)?>', html)
    check('member page: a checkbox per role, named role_<role>, the member\'s own ticked',
          ('role_order_operator', ' checked') in boxes and ('role_analyst', '') in boxes and
          ('role_owner', '') in boxes, boxes)
    st, hd, html = owner.post('/admin/staff/%d/roles' % sid, {'role_analyst': '1'})
    check('roles changed: 303, audited as staff.roles', st == 303 and db_count(
        db, "SELECT count(*) FROM audit_events WHERE action = 'staff.roles' AND object_id = ?", (str(sid),)) >= 1,
        (st, html[:300]))
    st, hd, html = owner.post('/admin/staff/%d/access' % sid, {'allow_ips': 'not-a-cidr'})
    check('a malformed address list: 400', st == 400, st)
    st, hd, html = owner.post('/admin/staff/%d/access' % sid, {'allow_ips': '192.0.2.0/24, 2001:db8::/32',
                                                               'access_windows': 'Mon-Fri 08:00-19:00 Asia/Tokyo'})
    check('address list and access window saved: 303', st == 303, (st, html[:300]))
    st, hd, html = owner.post('/admin/staff/%d/active' % sid, {'active': '0'})
    check('deactivate: 303, audited', st == 303 and db_count(
        db, "SELECT count(*) FROM audit_events WHERE action = 'staff.deactivate' AND object_id = ?", (str(sid),)) == 1,
        st)
    st, hd, html = owner.post('/admin/staff/999999/active', {'active': '0'})
    check('deactivate a missing member: 404', st == 404, st)
    st, hd, html = owner.post('/admin/roles', {'name': 'stock_clerk', 'description': 'Counts stock',
                                               'p_inventory.read': '1', 'p_inventory.update': '1'})
    check('custom role from permission checkboxes: 303, audited role.save', st == 303 and db_count(
        db, "SELECT count(*) FROM audit_events WHERE action = 'role.save'") >= 1, (st, html[:300]))
    st, hd, html = owner.post('/admin/roles', {'name': 'Bad Name!', 'p_inventory.read': '1'})
    check('custom role with a bad name: 400', st == 400, st)
    st, hd, html = owner.post('/admin/roles', {'name': 'empty_role'})
    check('custom role without permissions: 400', st == 400, st)
    st, hd, html = owner.get('/admin/security')
    check('security page: policy and per-account lists', st == 200 and '192.0.2.0/24' in html and csp_clean(html),
          html[:300])


# ==== CSRF on every form ====

# What the back-office forms write: every row of these tables, compared whole.
FORM_TABLES = ['staff', 'staff_roles', 'staff_tokens', 'roles', 'role_permissions', 'coupons', 'categories',
               'tax_rates', 'shipping_methods', 'products', 'variants', 'inventory_adjustments', 'orders',
               'order_payments', 'order_refunds', 'order_events', 'shipments', 'customers']
# Tables a background task of `serve` may update (mail sent, deliveries retried): their counts only.
COUNTED_TABLES = ['mail_outbox', 'webhook_deliveries']


def written_state(db):
    c = sqlite3.connect(db)
    try:
        out = {t: c.execute('SELECT * FROM %s ORDER BY rowid' % t).fetchall() for t in FORM_TABLES}
        out.update({t: c.execute('SELECT count(*) FROM %s' % t).fetchone()[0] for t in COUNTED_TABLES})
        return out
    finally:
        c.close()


def test_csrf(owner, db, pid, vid, oid2, cid):
    forms = [
        ('/admin/products', {'slug': 'csrf-x', 'name': 'x', 'status': 'draft'}),
        ('/admin/products/%d' % pid, {'name': 'CSRF', 'status': 'draft'}),
        ('/admin/products/%d/variants' % pid, {'sku': 'CSRF-1', 'price': '1', 'currency': 'EUR'}),
        ('/admin/products/%d/variants/%d' % (pid, vid), {'name': 'CSRF', 'price': '1', 'currency': 'EUR'}),
        ('/admin/products/%d/variants/%d/stock' % (pid, vid), {'delta': '1', 'reason': 'csrf'}),
        ('/admin/categories', {'name': 'CSRF cat'}),
        ('/admin/coupons', {'code': 'CSRF1', 'kind': 'percent', 'value': '5'}),
        ('/admin/tax', {'class': 'csrf', 'label': 'x', 'rate': '1'}),
        ('/admin/orders/%d/refund' % oid2, {'amount': '0.01'}),
        ('/admin/orders/%d/transition' % oid2, {'to': 'delivered'}),
        ('/admin/customers/%d/reveal' % cid, {'reason': 'csrf'}),
        ('/admin/reports/export', {'period': 'day'}),
        ('/admin/audit/export', {}),
        ('/admin/staff', {'email': 'csrf@shop.example', 'name': 'C', 'role_analyst': '1'}),
        ('/admin/roles', {'name': 'csrf_role', 'p_catalog.read': '1'}),
    ]
    before = db_count(db, 'SELECT max(id) FROM audit_events')
    rows_before = written_state(db)
    bad = []
    for path, fields in forms:
        for tok, label in [(None, 'missing'), ('A' * 43, 'wrong')]:
            f = dict(fields)
            if tok:
                f['csrf_token'] = tok
            st, hd, html = owner.post(path, f, token=False)
            if st != 403:
                bad.append((path, label, st))
        st, hd, html = owner.post(path, dict(fields), headers={'Origin': 'https://evil.example',
                                                               'Sec-Fetch-Site': 'cross-site'})
        if st != 403:
            bad.append((path, 'cross-site', st))
    check('every back-office form: missing, wrong or cross-site CSRF -> 403', not bad, bad)
    rows_after = written_state(db)
    changed = sorted(t for t in rows_before if rows_before[t] != rows_after[t])
    events = sqlite_rows(db, 'SELECT action, outcome FROM audit_events WHERE id > ?', (before,))
    check('... and nothing was written (no audit event, no row in any table the forms write)',
          not changed and not events, (changed, events[:10]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    a = ap.parse_args()
    cli = CLI(os.path.abspath(a.binary))
    tmp = tempfile.mkdtemp(prefix='sf-admin-')
    srv = None
    check('RFC 6238 test vectors (SHA-1) of the test helper', rfc6238_selftest())
    try:
        d = os.path.join(tmp, 'dev')
        rc, out, err = cli.run('init', '--dir', d, '--demo', timeout=600)
        if check('init --demo', rc == 0, (rc, err)):
            conf = os.path.join(d, 'storefort.ini')
            db = os.path.join(d, 'db', 'storefort.db')
            links = {r: add_staff(cli, conf, '%s@shop.example' % r, r)
                     for r in ['owner', 'analyst', 'customer_support']}
            check('staff add prints one-time enrollment links', all(links.values()), links)
            srv = Server(cli, conf, env={'STOREFORT_WAF_MODE': 'block', 'STOREFORT_WAF_PARANOIA': '2',
                                         'STOREFORT_RATELIMIT_ENABLED': 'off'})
            P = srv.https
            staff = {}
            for role, link in links.items():
                s = Staff(P, '%s@shop.example' % role)
                ok, diag = s.enroll(link)
                check('%s enrolls: password, then TOTP, then the dashboard' % role, ok, diag)
                staff[role] = s
            sku = db_count(db, "SELECT v.sku FROM variants v JOIN products p ON p.id = v.product_id "
                               "WHERE p.status = 'active' AND v.stock > 10 ORDER BY v.id LIMIT 1")
            oid, st = place_order(P, sku, 'one')
            oid2, st2 = place_order(P, sku, 'two')
            check('two storefront orders placed', oid and oid2, (st, st2))
            email = 'grace@example.org'
            register_customer(P, email)
            cid = db_count(db, 'SELECT coalesce(max(id), 0) FROM customers')
            check('a customer account exists', cid > 0, cid)
            pid = db_count(db, "SELECT min(id) FROM products")
            owner = staff['owner']
            test_pages(owner, staff['analyst'], oid, pid, cid)
            test_orders(owner, db, oid, P)
            test_refund_ship(owner, db, oid2)
            test_customers(owner, staff['customer_support'], db, cid, email)
            test_reports(owner, staff['analyst'], db, oid2)
            test_audit(owner, staff['customer_support'], db)
            mpid = test_catalog(owner, db, os.path.join(d, 'media'))
            test_settings(owner, db)
            test_staff(owner, staff['analyst'], db)
            vid = db_count(db, 'SELECT min(id) FROM variants WHERE product_id = ?', (mpid,))
            test_csrf(owner, db, mpid, vid, oid2, cid)
            c = sqlite3.connect(db)
            flagged = [r for r in c.execute("SELECT rule_id, path, data FROM waf_events WHERE path LIKE '/admin%'")
                       if not any(h in (r[2] or '') for h in HOSTILE)]
            c.close()
            check('the WAF (block mode, paranoia 2) flagged none of the legitimate back-office requests',
                  not flagged, flagged[:10])
            rc, out, err = cli.run('--config', conf, 'audit', 'verify')
            check('audit trail intact after the back-office suite', rc == 0, (rc, out, err))
    except Exception:  # a crash of the test itself is a failure, not a pass
        import traceback
        check('admin tests ran to the end', False, traceback.format_exc())
    finally:
        if srv:
            rc, out, err = srv.stop()
            check('serve stops cleanly', rc == 0, err[-2000:])
            check('no sanitizer report from the server', 'runtime error' not in err and 'AddressSanitizer' not in err,
                  err[-3000:])
        if os.environ.get('SF_KEEP_TMP'):
            print('# kept ' + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    from app_test import summary
    return summary()


if __name__ == '__main__':
    sys.exit(main())
