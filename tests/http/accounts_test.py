#!/usr/bin/env python3
"""accounts_test.py — customer accounts against the real storefort binary over
HTTPS (TAP output): register -> verify (link read from the .eml outbox) ->
login -> profile -> addresses -> logout, in the browser pages and the JSON
API; CSRF (missing, wrong, cross-site -> 403 and nothing changed); no account
enumeration (unknown e-mail, wrong password and locked account answer alike);
lock after 10 failures; reset tokens single-use; hostile input (oversized,
bad UTF-8, card numbers, malformed JSON) -> 4xx never 5xx; sealed columns
hold no plaintext (the SQLite file is opened and searched).
"""
import argparse
import glob
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import app_test  # noqa: E402  (shared helpers: CLI, Server, raw requests, check)
from app_test import CLI, Server, check, jbody, raw  # noqa: E402

PW = 'Tangerine-Orbit-7731'


class Browser:
    """A cookie jar and same-origin request headers, like a browser."""

    def __init__(self, port, same_origin=True):
        self.port = port
        self.cookies = {}
        self.same_origin = same_origin

    def absorb(self, raw_headers):
        for v in raw_headers:
            k, _, rest = v.partition('=')
            val = rest.split(';', 1)[0]
            if 'Max-Age=0' in v:
                self.cookies.pop(k, None)
            else:
                self.cookies[k] = val

    def call(self, method, path, body=None, ctype=None, headers=None):
        st, hd, b = self.req_raw(method, path, body, ctype, headers)
        return st, hd, b

    def req_raw(self, method, path, body=None, ctype=None, headers=None):
        # raw() folds repeated headers; read Set-Cookie lines ourselves.
        import socket
        import ssl
        h = {'Host': 'localhost', 'Connection': 'close'}
        if self.same_origin and method != 'GET':
            h['Origin'] = 'https://localhost'
            h['Sec-Fetch-Site'] = 'same-origin'
        if self.cookies:
            h['Cookie'] = '; '.join('%s=%s' % kv for kv in self.cookies.items())
        if ctype:
            h['Content-Type'] = ctype
        h.update(headers or {})
        data = ('%s %s HTTP/1.1\r\n' % (method, path)).encode() + \
            ''.join('%s: %s\r\n' % kv for kv in h.items()).encode('latin-1')
        if body is not None:
            data += ('Content-Length: %d\r\n' % len(body)).encode()
        data += b'\r\n' + (body or b'')
        s = app_test.connect(self.port, timeout=20)
        s = app_test.tls_ctx().wrap_socket(s, server_hostname='localhost')
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the server may answer (413) and close before reading everything
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except (socket.timeout, ConnectionResetError, ssl.SSLError):
                break
            if not c:
                break
            chunks.append(c)
        s.close()
        resp = b''.join(chunks)
        head, _, b = resp.partition(b'\r\n\r\n')
        lines = head.decode('latin-1').split('\r\n')
        m = re.match(r'HTTP/1\.[01] (\d{3})', lines[0]) if lines else None
        st = int(m.group(1)) if m else 0
        hd = {}
        setc = []
        for l in lines[1:]:
            k, _, v = l.partition(':')
            k = k.strip().lower()
            v = v.strip()
            if k == 'set-cookie':
                setc.append(v)
            hd[k] = v
        hd['_set_cookie'] = setc
        self.absorb(setc)
        app_test.contract.record(method, path, st, hd, b)
        return st, hd, b

    def form(self, path, fields, token=True):
        f = dict(fields)
        if token is True:
            f['csrf_token'] = self.token
        elif token:
            f['csrf_token'] = token
        return self.call('POST', path, urllib.parse.urlencode(f).encode(), 'application/x-www-form-urlencoded')

    def page(self, path):
        st, hd, b = self.call('GET', path)
        m = re.search(rb'name="csrf_token" value="([^"]+)"', b)
        if m:
            self.token = m.group(1).decode()
        return st, hd, b

    def api(self, method, path, obj=None, token=True, raw_body=None, ctype='application/json'):
        headers = {}
        if token is True:
            headers['X-CSRF-Token'] = self.token
        elif token:
            headers['X-CSRF-Token'] = token
        body = raw_body if raw_body is not None else (json.dumps(obj).encode() if obj is not None else None)
        return self.call(method, path, body, ctype if body is not None else None, headers)


def wait_mail(d, before, timeout=30, want=None):
    """The newest .eml in d/mail that is not in before (and, with want,
    whose text contains want: another mail may be written in between, the
    outbox sends in its own time): (name, text)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in sorted(mails(d) - before, key=lambda n: int(n.split('.')[0]), reverse=True):
            with open(os.path.join(d, 'mail', name), encoding='utf-8') as f:
                text = f.read()
            if want is None or want in text:
                return name, text
        time.sleep(0.1)
    return None, ''


def session_count(db):
    c = sqlite3.connect(db, timeout=10)
    try:
        return c.execute("SELECT count(*) FROM sessions WHERE kind = 'customer'").fetchone()[0]
    finally:
        c.close()


def mails(d):
    """The mails written to d/mail: N.eml files.  The outbox writes each
    to N.eml.tmp.PID first and renames it (an atomic write), so a listing
    may show the temporary name, under which the mail is also found a
    moment later as N.eml; it does not count."""
    p = os.path.join(d, 'mail')
    return {n for n in os.listdir(p) if n.endswith('.eml')} if os.path.isdir(p) else set()


def link_token(text, path):
    m = re.search(re.escape(path) + r'\?token=([A-Za-z0-9_-]+)', text)
    return m.group(1) if m else None


def err_code(body):
    j = jbody(body)
    return j and j.get('error', {}).get('code')


def strip_rid(body):
    return re.sub(rb'"request_id":"[a-z0-9]+"', b'', body)


def test_pages(P, d):
    b = Browser(P)
    st, h, body = b.page('/account/register')
    check('register page: 200 with a CSRF token and a pre-session cookie',
          st == 200 and b.token and '__Host-sf_pre' in b.cookies, (st, h.get('_set_cookie')))
    pre = [c for c in h['_set_cookie'] if c.startswith('__Host-sf_pre=')]
    check('pre-session cookie: Secure, HttpOnly, SameSite=Lax, Path=/',
          pre and all(x in pre[0] for x in ['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/']), pre)
    check('register page: CSP-clean (no inline style or script)',
          b'style=' not in body and b'<script' not in body, body[:200])
    before = mails(d)
    st, h, body = b.form('/account/register', {'email': 'Page.User@Example.org', 'name': 'Page User',
                                                'password': PW})
    check('register: 200 "check your e-mail"', st == 200 and b'Check your e-mail' in body, (st, body[:300]))
    name, text = wait_mail(d, before, want='To: page.user@example.org')
    tok = link_token(text, '/account/verify')
    check('verification mail in the outbox folder with a link', name and tok and 'To: page.user@example.org' in text,
          text[:400])
    # Before verification the right password fails like an unknown address
    # (else registering an address and logging in tells whether it had an
    # account), and mails a new link that voids the first -- at most one
    # link mail every 3 minutes (the link is made 200 s older here).
    db = os.path.join(d, 'db', 'storefort.db')
    con = sqlite3.connect(db)
    con.execute('UPDATE customer_tokens SET created_at = created_at - 200')
    con.commit()
    con.close()
    before = mails(d)
    st, h, body = b.form('/account/login', {'email': 'page.user@example.org', 'password': PW})
    st_u, h_u, body_u = b.form('/account/login', {'email': 'nobody@example.org', 'password': PW})
    check('login before verification: 401, the same page as for an unknown address',
          st == st_u == 401 and body.replace(b'page.user@', b'nobody@') == body_u and b'new link' in body,
          (st, st_u, body[:300]))
    check('a refused login keeps the typed e-mail in the form',
          b'value="page.user@example.org"' in body and b'value="nobody@example.org"' in body_u, body[:600])
    name, text = wait_mail(d, before, want='To: page.user@example.org')
    tok2 = link_token(text, '/account/verify')
    check('login before verification mails a new link', tok2 and tok2 != tok, text[:300])
    before = mails(d)
    st, h, body = b.form('/account/login', {'email': 'page.user@example.org', 'password': PW})
    name3, _ = wait_mail(d, before, timeout=2, want='To: page.user@example.org')
    check('logging in again at once mails nothing (one link mail per 3 minutes)', st == 401 and name3 is None,
          (st, name3))
    st, h, body = b.form('/account/verify', {'token': tok or ''})
    check('the first link died with the new one', st == 400, st)
    tok = tok2
    st, h, body = b.page('/account/verify?token=' + (tok or 'x'))
    check('verify page shows a confirm button', st == 200 and (tok or 'x').encode() in body, st)
    st, h, body = b.form('/account/verify', {'token': tok or ''})
    check('verify: address confirmed', st == 200 and b'Address confirmed' in body, (st, body[:200]))
    st, h, body = b.form('/account/verify', {'token': tok or ''})
    check('verify link is single-use', st == 400, st)
    b.page('/account/login')
    st, h, body = b.form('/account/login', {'email': 'page.user@example.org', 'password': PW})
    sess = [c for c in h['_set_cookie'] if c.startswith('__Host-sf_session=')]
    check('login: 303 to /account with the session cookie', st == 303 and h.get('location', '').endswith('/account')
          and sess, (st, h))
    check('session cookie: __Host-, Secure, HttpOnly, SameSite=Lax, Path=/',
          sess and all(x in sess[0] for x in ['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/']), sess)
    st, h, body = b.page('/account')
    check('account page shows the profile', st == 200 and b'page.user@example.org' in body, (st, body[:200]))
    st, h, body = b.form('/account/profile', {'name': 'Paula User', 'phone': '+49 30 1234567',
                                              'birth_date': '1990-05-17'})
    check('profile saved: 303', st == 303, (st, body[:200]))
    st, h, body = b.page('/account')
    check('profile shows the new name', b'Paula User' in body and b'1990-05-17' in body, body[:100])

    # CSRF: nothing changes without a valid token or from another site
    for label, tok, extra in [('missing token', None, {}), ('wrong token', 'A' * 43, {}),
                              ('cross-site Sec-Fetch-Site', True, {'Sec-Fetch-Site': 'cross-site'}),
                              ('foreign Origin', True, {'Origin': 'https://evil.example'})]:
        f = {'name': 'Mallory'}
        if tok is True:
            f['csrf_token'] = b.token
        elif tok:
            f['csrf_token'] = tok
        st, h, body = b.call('POST', '/account/profile', urllib.parse.urlencode(f).encode(),
                             'application/x-www-form-urlencoded', extra)
        check('CSRF %s -> 403' % label, st == 403, (st, body[:200]))
    st, h, body = b.page('/account')
    check('after the refused requests the name is unchanged', b'Paula User' in body and b'Mallory' not in body)
    other = Browser(P)
    other.page('/account/login')
    st, h, body = b.form('/account/profile', {'name': 'Mallory'}, token=other.token)
    check('a token of another visitor is refused', st == 403, st)

    # addresses
    st, h, body = b.page('/account/addresses/new')
    addr = {'name': 'Paula User', 'line1': 'Hauptstrasse 5', 'city': 'Leipzig', 'postal_code': '04109',
            'country': 'DE'}
    st, h, body = b.form('/account/addresses', addr)
    check('address added: 303', st == 303, (st, body[:300]))
    st, h, body = b.page('/account')
    m = re.search(rb'/account/addresses/(\d+)/edit', body)
    check('address listed', b'Leipzig' in body and m, body[:100])
    aid = m.group(1).decode() if m else '0'
    st, h, body = b.page('/account/addresses/%s/edit' % aid)
    check('address edit form', st == 200 and b'Hauptstrasse 5' in body, st)
    addr['city'] = 'Dresden'
    st, h, body = b.form('/account/addresses/%s' % aid, addr)
    st2, h2, body2 = b.page('/account')
    check('address edited: 303, and the account lists the new city', st == 303 and b'Dresden' in body2
          and b'Leipzig' not in body2, (st, body2[:300]))
    addr['line2'] = '4111 1111 1111 1111'
    st, h, body = b.form('/account/addresses/%s' % aid, addr)
    check('card number in an address field: 400 card_data_refused', st == 400 and b'Card numbers' in body, st)
    # A card number in one field while another fails first: refused, and
    # the card number not put back into the form.
    bad = dict(addr, country='Germany', phone='4111.1111.1111.1111')
    del bad['line2']
    st, h, body = b.form('/account/addresses/%s' % aid, bad)
    check('address with a bad country and a card number as phone: 400, the card number not echoed',
          st == 400 and b'1111' not in body and b'Hauptstrasse' in body, (st, body[:300]))
    st, h, body = b.form('/account/profile', {'name': 'Paula Typed', 'phone': 'call me maybe'})
    check('a refused profile shows what was typed, not what is stored',
          st == 400 and b'value="Paula Typed"' in body and b'value="call me maybe"' in body
          and b'value="1990-05-17"' in body and b'value="Paula User"' not in body, (st, body[:600]))
    st, h, body = b.form('/account/profile', {'name': 'Paula Typed', 'phone': '4111.1111.1111.1111'})
    check('a refused profile does not echo a card number', st == 400 and b'1111' not in body
          and b'value="Paula Typed"' in body, (st, body[:600]))
    st, h, body = b.form('/account/profile', {'phone': '+86 138 1234 5603'})
    check('a phone number that passes Luhn: 400, saying to bracket the country code, not echoed',
          st == 400 and b'write its country code in brackets' in body and b'5603' not in body, (st, body[:600]))
    st, h, body = b.form('/account/profile', {'phone': '(+86) 138 1234 5603'})
    check('... written so, it is saved', st == 303, (st, body[:300]))
    st, h, body = b.form('/account/profile', {'phone': '4111.1111.1111.1111'})
    check('card number with dots as phone: 400 card error, not the phone-format message',
          st == 400 and b'Card numbers' in body and b'may hold only' not in body, (st, body[:300]))
    for v in ['4111  1111  1111  1111', 'card 4111/1111/1111/1111', '4111111111111111-deadbeef']:
        st, h, body = b.form('/account/profile', {'name': v})
        check('card number %r as name: 400 card error' % v, st == 400 and b'Card numbers' in body, (st, body[:300]))
    st, h, body = b.page('/account')
    check('no card number stored in the profile', b'4111' not in body and b'Paula User' in body, body[:200])
    st, h, body = b.form('/account/addresses/999999/delete', {})
    check('someone else\'s / unknown address: 404', st == 404, st)
    st, h, body = b.page('/account/addresses/abc/edit')
    check('non-numeric address id: 404', st == 404, st)
    st, h, body = b.form('/account/addresses/%s/delete' % aid, {})
    check('address deleted', st == 303, st)
    st, h, body = b.page('/account')
    check('address gone', st == 200 and b'Dresden' not in body
          and ('/account/addresses/%s/edit' % aid).encode() not in body, (st, body[:300]))

    # hostile form input
    b2 = Browser(P)
    b2.page('/account/register')
    st, h, body = b2.form('/account/register', {'email': 'x' * 5000 + '@example.org', 'password': PW})
    check('oversized e-mail: 400', st == 400, st)
    st, h, body = b2.form('/account/forgot', {'email': 'not-an-address'})
    check('reset request with a malformed address: 400, the address kept in the form',
          st == 400 and b'value="not-an-address"' in body, (st, body[:400]))
    st, h, body = b2.call('POST', '/account/register',
                          ('csrf_token=%s&email=a%%C3%%28@example.org&password=x' % b2.token).encode(),
                          'application/x-www-form-urlencoded')
    check('bad UTF-8 in a form: 400', st == 400, st)
    st, h, body = b2.form('/account/register', {'email': 'card@example.org', 'password': PW,
                                                'name': '5500-0055-5555-5559'})
    check('card number in the name: 400, not echoed', st == 400 and b'5559' not in body, (st, body[:300]))
    for label, f in [('a malformed e-mail', {'email': 'not-an-address', 'name': '4111 1111 1111 1111'}),
                     ('a name over its limit', {'email': 'long@example.org', 'name': 'N' * 101 + ' 4111.1111.1111.1111'})]:
        st, h, body = b2.form('/account/register', dict(f, password=PW))
        check('register refused for %s: the card number in the name is not echoed' % label,
              st == 400 and b'1111' not in body, (st, body[:300]))
    st, h, body = b2.form('/account/register', {'email': 'weak@example.org', 'password': 'password12345'})
    check('weak password: 400 with the reason', st == 400 and b'dictionary' in body, (st, body[:300]))
    st, h, body = b2.call('POST', '/account/register', b'x' * (200 * 1024), 'application/x-www-form-urlencoded')
    check('oversized form body: 413', st == 413, st)

    # logout: the cookie cleared, and the session ended on the server too
    # (a copy of the cookie kept from before must no longer work)
    kept_jar = dict(b.cookies)
    db = os.path.join(d, 'db', 'storefort.db')
    sessions = session_count(db)
    st, h, body = b.form('/account/logout', {})
    check('logout: 303 and the cookie cleared', st == 303 and '__Host-sf_session' not in b.cookies, (st, h))
    st, h, body = b.call('GET', '/account')
    check('after logout /account needs a login (401)', st == 401, st)
    replay = Browser(P)
    replay.cookies = dict(kept_jar)
    st, h, body = replay.call('GET', '/account')
    st2, h2, body2 = replay.call('GET', '/api/v1/account/me')
    check('logout ends the session on the server: its old cookie gets 401, page and API',
          '__Host-sf_session' in kept_jar and st == 401 and st2 == 401 and session_count(db) == sessions - 1,
          (st, st2, sessions, session_count(db), sorted(kept_jar)))
    return b


def test_api(P, d, db):
    a = Browser(P, same_origin=False)  # a headless client: no Origin headers
    st, h, body = a.call('GET', '/api/v1/account/csrf')
    j = jbody(body)
    a.token = j and j.get('csrf_token')
    check('API: csrf token handed out with its cookie', st == 200 and a.token and '__Host-sf_pre' in a.cookies, body)
    before = mails(d)
    st, h, body = a.api('POST', '/api/v1/account/register', {'email': 'api.user@example.org', 'password': PW})
    check('API register: 202 check_email', st == 202 and jbody(body) == {'status': 'check_email'}, (st, body))
    name, text = wait_mail(d, before, want='/account/verify')
    tok = link_token(text, '/account/verify')
    check('API register mails a confirmation link', name and tok and 'To: api.user@example.org' in text,
          (name, sorted(mails(d) - before), text[:300]))
    st1, _, b1 = a.api('POST', '/api/v1/account/login', {'email': 'api.user@example.org', 'password': PW})
    st2, _, b2 = a.api('POST', '/api/v1/account/login', {'email': 'nobody@example.org', 'password': PW})
    check('API login before verification: 401 login_failed, the same body as for an unknown address',
          st1 == st2 == 401 and err_code(b1) == 'login_failed' and strip_rid(b1) == strip_rid(b2), (st1, b1, st2, b2))
    ev = con_row(db, "SELECT outcome, detail, object_id IS NOT NULL FROM audit_events "
                     "WHERE action = 'customer.login' ORDER BY id DESC LIMIT 1 OFFSET 1")
    check('audited as a failure, the reason in the detail only', ev == ('failure', '{"reason":"unverified"}', 1), ev)
    name2, text2 = wait_mail(d, before | {name}, timeout=2, want='/account/verify')
    check('no second confirmation mail within 3 minutes of the first', name2 is None,
          (name, name2, sorted(mails(d) - before), text2[:600]))
    before = mails(d)
    st, h, body = a.api('POST', '/api/v1/account/register', {'email': 'api.user@example.org', 'password': PW})
    check('API register again: the same answer (no enumeration)', st == 202 and
          jbody(body) == {'status': 'check_email'}, (st, body))
    name, text = wait_mail(d, before, want='/account/reset')
    tok3 = link_token(text, '/account/reset')
    check('registering an unconfirmed address again mails a link to choose the password (it may be squatted)',
          tok3 and 'Finish creating your account' in text, text[:600])
    st, h, body = a.api('POST', '/api/v1/account/verify', {'token': tok})
    check('the earlier confirmation link died', st == 400 and err_code(body) == 'token_invalid', (st, body))
    st, h, body = a.api('POST', '/api/v1/account/password/reset/confirm', {'token': tok3, 'password': PW})
    check('choosing the password confirms the address: 200', st == 200, (st, body))
    st, h, body = a.api('POST', '/api/v1/account/verify', {'token': tok3})
    check('the link works once, and is no confirmation link', st == 400, (st, body))
    st, h, body = a.api('POST', '/api/v1/account/login', {'email': 'api.user@example.org', 'password': PW},
                        token=None)
    check('API login without X-CSRF-Token: 403 csrf_failed', st == 403 and err_code(body) == 'csrf_failed', body)
    st, h, body = a.api('POST', '/api/v1/account/login', {'email': 'api.user@example.org', 'password': PW})
    j = jbody(body)
    check('API login: 200 with a new CSRF token and the session cookie',
          st == 200 and j and j.get('csrf_token') and '__Host-sf_session' in a.cookies, (st, body))
    a.token = j and j.get('csrf_token')
    st, h, body = a.api('POST', '/api/v1/account/profile', {'name': 'Ada Api', 'phone': '+1 555 0100'})
    check('API profile update', st == 200 and jbody(body).get('name') == 'Ada Api', (st, body))
    st, h, body = a.api('POST', '/api/v1/account/addresses', {'name': 'Ada', 'line1': '1 Main St', 'city': 'Springfield',
                                                               'postal_code': '12345', 'country': 'US'})
    j = jbody(body)
    check('API address create: 201', st == 201 and j and j.get('city') == 'Springfield', (st, body))
    aid = j.get('id') if j else 0
    st, h, body = a.call('GET', '/api/v1/account/me')
    j = jbody(body)
    check('API me: profile and addresses', st == 200 and j and j['email'] == 'api.user@example.org'
          and len(j['addresses']) == 1, body)
    st, h, body = a.call('GET', '/api/v1/account/addresses')
    j = jbody(body)
    check('API address book: the one entry, line2 and phone ""', st == 200 and j and len(j['items']) == 1
          and j['items'][0]['id'] == aid and j['items'][0]['line2'] == '' and j['items'][0]['phone'] == '', body)
    st, h, body = a.api('PUT', '/api/v1/account/addresses/%s' % aid, {'name': 'Ada', 'line1': '2 Main St',
                                                                      'city': 'Springfield', 'postal_code': '12345',
                                                                      'country': 'US'})
    check('API address update', st == 200 and jbody(body).get('line1') == '2 Main St', (st, body))
    # hostile JSON
    for label, raw_body, ctype, want in [
            ('malformed JSON', b'{"name":', 'application/json', 'bad_json'),
            ('not an object', b'[1,2]', 'application/json', 'bad_json'),
            ('duplicate keys', b'{"name":"a","name":"b"}', 'application/json', 'bad_json'),
            ('deep nesting', b'{"a":' * 40 + b'1' + b'}' * 40, 'application/json', 'bad_json'),
            ('wrong type', b'{"name":12}', 'application/json', 'bad_parameter'),
            ('NUL escape', b'{"name":"a\\u0000b"}', 'application/json', ('bad_json', 'request_blocked')),
            ('invalid UTF-8', b'{"name":"\xc3\x28"}', 'application/json', 'bad_json'),
            ('card number', b'{"name":"4111111111111111"}', 'application/json', 'card_data_refused'),
            ('card number with dots as phone', b'{"phone":"4111.1111.1111.1111"}', 'application/json',
             'card_data_refused'),
            ('card number beside a hex word', b'{"name":"4111111111111111-deadbeef"}', 'application/json',
             'card_data_refused'),
            ('oversized field', json.dumps({'name': 'n' * 5000}).encode(), 'application/json', 'bad_parameter'),
            ('form instead of JSON', b'name=x', 'application/x-www-form-urlencoded', 'unsupported_media_type')]:
        st, h, body = a.api('POST', '/api/v1/account/profile', raw_body=raw_body, ctype=ctype)
        want = want if isinstance(want, tuple) else (want,)
        check('API hostile %s -> 4xx %s' % (label, '/'.join(want)), 400 <= st < 500 and err_code(body) in want,
              (st, body[:200]))
    st, h, body = a.api('PUT', '/api/v1/account/addresses/99999999', {'name': 'Ada', 'line1': '2 Main St',
                                                                    'city': 'Springfield', 'postal_code': '12345',
                                                                    'country': 'US'})
    check('API someone else\'s address: 404', st == 404, st)
    st, h, body = a.api('DELETE', '/api/v1/account/addresses/-1')
    check('API negative address id: 404', st == 404, st)
    st, h, body = a.api('DELETE', '/api/v1/account/addresses/%s' % aid)
    check('API address delete: 204', st == 204, st)
    kept_jar = dict(a.cookies)
    sessions = session_count(db)
    st, h, body = a.api('POST', '/api/v1/account/logout', {})
    check('API logout', st == 200 and '__Host-sf_session' not in a.cookies, (st, body))
    st, h, body = a.call('GET', '/api/v1/account/me')
    check('API me after logout: 401 JSON', st == 401 and err_code(body) == 'unauthorized', (st, body))
    replay = Browser(P, same_origin=False)
    replay.cookies = dict(kept_jar)
    st, h, body = replay.call('GET', '/api/v1/account/me')
    check('API logout ends the session on the server: its old cookie gets 401',
          '__Host-sf_session' in kept_jar and st == 401 and session_count(db) == sessions - 1,
          (st, body[:200], sessions, session_count(db), sorted(kept_jar)))

    # enumeration and lockout
    e = Browser(P, same_origin=False)
    st, h, body = e.call('GET', '/api/v1/account/csrf')
    e.token = jbody(body)['csrf_token']
    st1, _, b1 = e.api('POST', '/api/v1/account/login', {'email': 'nobody@example.org', 'password': PW})
    st2, _, b2 = e.api('POST', '/api/v1/account/login', {'email': 'api.user@example.org', 'password': 'Wrong-Pass-123'})
    check('unknown e-mail and wrong password: same status and body', st1 == st2 == 401 and
          strip_rid(b1) == strip_rid(b2), (st1, b1, st2, b2))
    # Refused before any password check, still audited (a reason, never the input)
    for label, obj, reason, subject in [
            ('without a password', {'email': 'api.user@example.org'}, 'no_password', 1),
            ('with a password over 1024 bytes', {'email': 'api.user@example.org', 'password': 'p' * 2000},
             'password_too_long', 1),
            ('with a malformed e-mail', {'email': 'not-an-address', 'password': PW}, 'malformed_email', 0)]:
        st, _, b4 = e.api('POST', '/api/v1/account/login', obj)
        ev = con_row(db, "SELECT outcome, detail, object_id IS NOT NULL FROM audit_events "
                         "WHERE action = 'customer.login' ORDER BY id DESC LIMIT 1")
        check('login %s: 401 like the others, audited as a failure (%s)' % (label, reason),
              st == 401 and strip_rid(b4) == strip_rid(b1) and ev == ('failure', '{"reason":"%s"}' % reason, subject),
              (st, b4, ev))
    for _ in range(9):
        e.api('POST', '/api/v1/account/login', {'email': 'api.user@example.org', 'password': 'Wrong-Pass-123'})
    st3, _, b3 = e.api('POST', '/api/v1/account/login', {'email': 'api.user@example.org', 'password': PW})
    check('after 10 failures the right password fails the same way (locked)', st3 == 401 and
          strip_rid(b3) == strip_rid(b1), (st3, b3))
    locked = con_one(db, "SELECT locked_until > strftime('%s','now') FROM customers WHERE id = "
                         "(SELECT max(id) FROM customers WHERE verified = 1 AND locked_until > 0)")
    check('the account is locked in the database', locked == 1, locked)

    # reset: single use; resets the lock
    before = mails(d)
    st, h, body = e.api('POST', '/api/v1/account/password/reset', {'email': 'api.user@example.org'})
    st_u, h, body_u = e.api('POST', '/api/v1/account/password/reset', {'email': 'nobody@example.org'})
    check('reset request: same answer for known and unknown', st == st_u == 202 and body == body_u, (st, st_u))
    name, text = wait_mail(d, before, want='/account/reset')
    rt = link_token(text, '/account/reset')
    check('reset mail with a link', rt, text[:300])
    st, h, body = e.api('POST', '/api/v1/account/password/reset/confirm', {'token': rt, 'password': 'short'})
    check('reset with a weak password: 400 weak_password', st == 400 and err_code(body) == 'weak_password', body)
    st, h, body = e.api('POST', '/api/v1/account/password/reset/confirm', {'token': rt, 'password': 'Fresh-Passphrase-2024'})
    check('reset confirm: 200', st == 200, (st, body))
    st, h, body = e.api('POST', '/api/v1/account/password/reset/confirm', {'token': rt, 'password': 'Other-Passphrase-2024'})
    check('reset token single-use: 400 token_invalid', st == 400 and err_code(body) == 'token_invalid', body)
    st, h, body = e.api('POST', '/api/v1/account/login', {'email': 'api.user@example.org',
                                                           'password': 'Fresh-Passphrase-2024'})
    check('login with the new password (lock cleared by the reset)', st == 200, (st, body))

    # An account never confirmed (its link expired, or someone else made it):
    # a reset link proves the mailbox, so using it confirms the address too.
    s = Browser(P, same_origin=False)
    st, h, body = s.call('GET', '/api/v1/account/csrf')
    s.token = jbody(body)['csrf_token']
    st, h, body = s.api('POST', '/api/v1/account/register', {'email': 'hold@example.org',
                                                              'password': 'Squatter-Passphrase-42'})
    check('someone registers an address that is not his: 202', st == 202, (st, body))
    before = mails(d)
    st, h, body = s.api('POST', '/api/v1/account/password/reset', {'email': 'hold@example.org'})
    name, text = wait_mail(d, before, want='/account/reset')
    rt = link_token(text, '/account/reset')
    st, h, body = s.api('POST', '/api/v1/account/login', {'email': 'hold@example.org',
                                                           'password': 'Squatter-Passphrase-42'})
    check('asking for a reset link confirms nothing', st == 401, (st, body))
    st, h, body = s.api('POST', '/api/v1/account/password/reset/confirm', {'token': rt, 'password': 'Owner-Passphrase-2024'})
    check('reset of an unconfirmed account: 200', st == 200, (st, body))
    st, h, body = s.api('POST', '/api/v1/account/login', {'email': 'hold@example.org',
                                                           'password': 'Squatter-Passphrase-42'})
    check('the first password is gone', st == 401, (st, body))
    st, h, body = s.api('POST', '/api/v1/account/login', {'email': 'hold@example.org',
                                                           'password': 'Owner-Passphrase-2024'})
    check('after the reset the address is confirmed: login 200', st == 200, (st, body))
    ev = con_row(db, "SELECT outcome, detail FROM audit_events WHERE action = 'customer.verify' ORDER BY id DESC LIMIT 1")
    check('the confirmation by reset is audited', ev == ('success', '{"via":"reset"}'), ev)


def con_row(db, sql):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()


def con_one(db, sql):
    r = con_row(db, sql)
    return r[0] if r else None


def test_storage(d, db):
    con = sqlite3.connect(db)
    try:
        con.execute('PRAGMA wal_checkpoint(TRUNCATE)')
        n = con.execute('SELECT count(*) FROM customers').fetchone()[0]
        check('customers stored', n >= 2, n)
        rows = con.execute('SELECT email, name, phone, birth_date FROM customers').fetchall()
        check('sealed customer columns are sealed blobs (sf1)', all(v is None or (isinstance(v, bytes) and v[:3] == b'sf1')
                                                                  for r in rows for v in r), rows[:1])
        hashed = [con.execute("SELECT count(*), count(*) FILTER (WHERE typeof(token_hash) = 'blob' AND "
                              "length(token_hash) = 32) FROM %s" % t).fetchone() for t in ('customer_tokens', 'sessions')]
        check('tokens and sessions stored only as 32-byte hashes (blobs, and there are some)',
              all(n > 0 and n == ok for n, ok in hashed), hashed)
        check('sent mails have their bodies cleared',
              con.execute("SELECT count(*) FROM mail_outbox WHERE status = 'sent' AND body IS NOT NULL").fetchone()[0] == 0)
        detail = ' '.join(str(r) for r in con.execute("SELECT actor_id, object_id, detail FROM audit_events "
                                                       "WHERE action LIKE 'customer.%'").fetchall())
        acts = {r[0] for r in con.execute("SELECT DISTINCT action FROM audit_events WHERE action LIKE 'customer.%'")}
        check('audit: register, verify, login, lock, update, read, reset, addresses',
              acts >= {'customer.register', 'customer.verify', 'customer.login', 'customer.lock', 'customer.update',
                       'customer.read', 'customer.password_reset', 'customer.address_create',
                       'customer.address_delete'}, acts)
        check('audit events hold ids only, no personal data', 'example.org' not in detail and 'Paula' not in detail,
              detail[:300])
    finally:
        con.close()
    blob = b''
    for f in [db, db + '-wal']:
        if os.path.exists(f):
            with open(f, 'rb') as fh:
                blob += fh.read()
    leaked = [s for s in [b'page.user@example.org', b'api.user@example.org', b'Paula User', b'Hauptstrasse',
                          b'Leipzig', b'+49 30 1234567', b'1990-05-17', b'Springfield', PW.encode()] if s in blob]
    check('no plaintext personal data or password anywhere in the database file', not leaked, leaked)
    logs = ''
    for f in glob.glob(os.path.join(d, 'log', '*')):
        with open(f, encoding='utf-8', errors='replace') as fh:
            logs += fh.read()
    leaked = [s for s in ['page.user@example.org', 'api.user@example.org', PW, 'Fresh-Passphrase-2024']
              if s in logs]
    check('no e-mail address or password in the logs', not leaked, leaked)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    a = ap.parse_args()
    cli = CLI(os.path.abspath(a.binary))
    tmp = tempfile.mkdtemp(prefix='sf-acct-')
    try:
        d = os.path.join(tmp, 'dev')
        rc, out, err = cli.run('init', '--dir', d, timeout=600)
        if check('init', rc == 0, (rc, out, err)):
            ini = os.path.join(d, 'storefort.ini')
            db = os.path.join(d, 'db', 'storefort.db')
            # Functional flows: rate limits off and failed-login bans far away
            # (the edge's own suites test those); the WAF stays as configured.
            srv = Server(cli, ini, env={'STOREFORT_RATELIMIT_ENABLED': 'off', 'STOREFORT_BANS_FAILED_LOGINS': '1000'})
            try:
                test_pages(srv.https, d)
                test_api(srv.https, d, db)
            finally:
                rc, out, err = srv.stop()
                check('serve stops cleanly (mail sender joined)', rc == 0, (rc, err[-2000:]))
            test_storage(d, db)
    except Exception:
        import traceback
        check('accounts tests ran to the end', False, traceback.format_exc())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return app_test.summary()


if __name__ == '__main__':
    sys.exit(main())
