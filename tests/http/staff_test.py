#!/usr/bin/env python3
"""staff_test.py — back-office access against the real storefort binary over
HTTPS with the WAF in block mode (TAP output): `staff add` enrollment link ->
password -> TOTP set-up (QR as SVG, key) -> recovery codes; sign-in in two
steps with the same message for every failure; TOTP replay refused; session
cookie attributes and rotation; logout; CSRF (missing, wrong, cross-site ->
403 and nothing changed); roles checked on every request (a role change or
deactivation takes effect at once); a live session refused outside its
access window, from a denied address or outside the account's allow list
(403 + audit event); re-authentication for sensitive operations; API tokens
(scope, expiry, revocation, every use audited); an owner resetting another
account's second factor; lock after 10 failures and `staff unlock`; the
[admin] path prefix and the [admin] allow list; hostile input -> 4xx never
5xx; secrets only hashed or sealed in the database and never in the logs;
and zero WAF events from the back office's own flows at paranoia 1 and 2.
"""
import argparse
import base64
import glob
import hashlib
import hmac
import json
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
import app_test  # noqa: E402
from accounts_test import Browser  # noqa: E402
from app_test import CLI, HOSTILE, Server, check, check_waf_clean, jbody  # noqa: E402

PW = 'Tangerine-Orbit-7731'
PW2 = 'Quartz-Lantern-Meadow-42'
UA = 'Mozilla/5.0 (X11; Linux x86_64) storefort-tests'


def totp(key, step):
    k = key.replace(' ', '')
    raw = base64.b32decode(k + '=' * (-len(k) % 8))
    mac = hmac.new(raw, struct.pack('>Q', step), hashlib.sha1).digest()
    o = mac[-1] & 15
    return '%06d' % ((struct.unpack('>I', mac[o:o + 4])[0] & 0x7fffffff) % 1000000)


class Codes:
    """Codes of one authenticator, each time step used once (like a person
    waiting for the next code)."""

    def __init__(self, key):
        self.key = key
        self.last = 0

    def next(self):
        while True:
            now = time.time()
            cur = int(now) // 30
            into = now - cur * 30
            cands = ([cur - 1] if into < 20 else []) + [cur] + ([cur + 1] if into > 3 else [])
            for s in cands:
                if s > self.last:
                    self.last = s
                    return totp(self.key, s)
            time.sleep(30 - into + 0.5)


class Staff(Browser):
    """A browser for the back office: same-origin headers, a User-Agent,
    hostile requests marked for the WAF check."""

    def __init__(self, port, admin='/admin'):
        super().__init__(port)
        self.admin = admin
        self.hostile = False
        self.codes = None
        self.token = None

    def req_raw(self, method, path, body=None, ctype=None, headers=None):
        h = {'User-Agent': UA, 'Accept': 'text/html,application/json;q=0.9,*/*;q=0.8'}
        if self.hostile:
            h['X-Test-Hostile'] = '1'
        h.update(headers or {})
        st, hd, b = super().req_raw(method, path, body, ctype, h)
        if self.hostile and hd.get('x-request-id'):
            HOSTILE['ids'].add(hd['x-request-id'])
        return st, hd, b

    def a(self, suffix):
        return self.admin + suffix

    def csrf(self):
        st, h, b = self.call('GET', '/api/v1/admin/csrf')
        j = jbody(b) or {}
        self.token = j.get('csrf_token', self.token)
        return st

    def bearer(self, tok, path):
        return self.call('GET', path, headers={'Authorization': 'Bearer ' + tok})


def strip_volatile(b):
    b = re.sub(rb'name="csrf_token" value="[^"]*"', b'', b)
    return re.sub(rb'[a-z2-7]{26}', b'', b)


def staff_cookie(h):
    return [c for c in h.get('_set_cookie', []) if c.startswith('__Host-sf_staff=')]


def db_exec(db, sql, args=()):
    con = sqlite3.connect(db, timeout=10)
    try:
        cur = con.execute(sql, args)
        con.commit()
        return cur.fetchall()
    finally:
        con.close()


def audit_count(db, action, like=None):
    sql = 'SELECT count(*) FROM audit_events WHERE action = ?'
    args = [action]
    if like:
        sql += ' AND detail LIKE ?'
        args.append('%' + like + '%')
    return db_exec(db, sql, args)[0][0]


def token_uses(db):
    """api_token.use events by outcome, and the refusals of a token outside its scope."""
    q = "SELECT count(*) FROM audit_events WHERE action = 'api_token.use' AND outcome = ?"
    return {'success': db_exec(db, q, ('success',))[0][0], 'denied': db_exec(db, q, ('denied',))[0][0],
            'scope': audit_count(db, 'staff.access_denied', '"token_scope"')}


def staff_id(db, email):
    r = db_exec(db, 'SELECT id FROM staff WHERE email = ?', (email,))
    return r[0][0] if r else 0


def add_staff(cli, ini, email, role):
    rc, out, err = cli.run('--config', ini, 'staff', 'add', '--role', role, '--name', 'Test Person', email)
    m = re.search(r'https://\S+?(/\S*/enroll\?token=[A-Za-z0-9_-]+)', out)
    return rc, (m.group(1) if m else None), out + err


def enroll(P, cli, ini, email, role, admin='/admin', checks=False):
    """Create an account and go through enrollment; returns the signed-in browser."""
    rc, link, out = add_staff(cli, ini, email, role)
    if checks:
        check('staff add --role %s prints a one-time enrollment link' % role, rc == 0 and link, out)
    b = Staff(P, admin)
    st, h, body = b.page(link or '/admin/enroll')
    if checks:
        check('enrollment page: 200 with the password form, CSP-clean',
              st == 200 and b'name="password_again"' in body and b'style=' not in body and b'<script' not in body,
              (st, body[:300]))
    tok = urllib.parse.parse_qs(urllib.parse.urlparse(link or '').query).get('token', [''])[0]
    if checks:
        st, h, body = b.form(b.a('/enroll'), {'token': tok, 'password': PW, 'password_again': PW + 'x'})
        check('enrollment: passwords that differ -> 400', st == 400 and b'do not match' in body, st)
        st, h, body = b.form(b.a('/enroll'), {'token': tok, 'password': 'password1234', 'password_again': 'password1234'})
        check('enrollment: a dictionary password -> 400 with the reason', st == 400 and b'adm-alert' in body, st)
    st, h, body = b.form(b.a('/enroll'), {'token': tok, 'password': PW, 'password_again': PW})
    ck = staff_cookie(h)
    if checks:
        check('enrollment: password set -> 303 to TOTP set-up with a staff session',
              st == 303 and h.get('location', '').endswith('/2fa/setup') and ck, (st, h))
        check('staff cookie: __Host- prefix, Secure, HttpOnly, SameSite=Strict, Path=/, no Domain',
              ck and all(x in ck[0] for x in ['Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/'])
              and 'Domain' not in ck[0], ck)
        st2, _, _ = Staff(P, admin).page(link)
        check('enrollment link is single-use (second visit -> 400)', st2 == 400, st2)
        st2, _, _ = b.page(b.a('/sessions'))
        check('before TOTP set-up the back office is closed (401)', st2 == 401, st2)
    st, h, body = b.page(b.a('/2fa/setup'))
    m = re.search(rb'<code class="adm-key">([A-Z2-7 ]+)</code>', body)
    key = m.group(1).decode() if m else ''
    if checks:
        check('TOTP set-up: QR code drawn as SVG rects, key shown, CSP-clean',
              st == 200 and key and body.count(b'<rect ') > 50 and b'<svg' in body and b'style=' not in body
              and b'<script' not in body, (st, body[:200]))
    b.codes = Codes(key)
    if checks:
        cur = int(time.time()) // 30
        wrong = next(c for c in ('000000', '111111', '222222') if all(c != totp(key, s) for s in range(cur - 2, cur + 3)))
        st, h, body = b.form(b.a('/2fa/setup'), {'code': wrong})
        check('TOTP set-up: a wrong code -> 400', st == 400,
              (st, re.sub(rb'\s+', b' ', re.sub(rb'<[^>]+>', b' ', body.split(b'<main', 1)[-1]))[:400]))
        m = re.search(rb'<code class="adm-key">([A-Z2-7 ]+)</code>', body)
        key = m.group(1).decode() if m else key
        b.codes = Codes(key)
    before = b.cookies.get('__Host-sf_staff')
    st, h, body = b.form(b.a('/2fa/setup'), {'code': b.codes.next()})
    codes = re.findall(rb'<li><code>([a-z2-7-]{19})</code></li>', body)
    b.recovery = [c.decode() for c in codes]
    if checks:
        check('TOTP confirmed: 10 recovery codes shown once', st == 200 and len(codes) == 10, (st, body[:300]))
        check('a new session token at the privilege change', b.cookies.get('__Host-sf_staff') not in (None, before))
    return b


def flows(srv, cli, d, db, ini, tag):
    P = srv.https
    owner_email = 'owner-%s@example.com' % tag
    ob = enroll(P, cli, ini, owner_email, 'owner', checks=True)
    st, h, body = ob.page(ob.a('/sessions'))
    check('my sessions: 200, this browser listed, the navigation shown',
          st == 200 and b'this browser' in body and b'adm-nav' in body and b'Staff &amp; roles' in body
          and b'Audit' in body, (st, body[:300]))

    # logout, and the old cookie is dead
    old = dict(ob.cookies)
    st, h, body = ob.form(ob.a('/logout'), {})
    check('logout: 303 to the sign-in page', st == 303 and h.get('location', '').endswith('/login'), (st, h))
    zombie = Staff(P)
    zombie.cookies = old
    st, _, _ = zombie.page('/admin/sessions')
    check('after logout the old session cookie is refused (401)', st == 401, st)

    # sign-in: two steps, one message for every failure
    lb = Staff(P)
    st, h, body = lb.page('/admin/login')
    check('sign-in page: 200, CSP-clean, no navigation', st == 200 and b'style=' not in body and b'<script' not in body
          and b'adm-nav' not in body, st)
    st1, h1, b1 = lb.form('/admin/login', {'email': owner_email, 'password': 'Wrong-Password-123'})
    st2, h2, b2 = lb.form('/admin/login', {'email': 'nobody-%s@example.com' % tag, 'password': PW})
    msg = b'The e-mail address or password is not correct'
    check('wrong password and unknown account: same status and message', st1 == st2 == 401 and msg in b1 and msg in b2,
          (st1, st2))
    st, h, body = lb.form('/admin/login', {'email': owner_email, 'password': PW})
    check('right password: 303 to the code step', st == 303 and h.get('location', '').endswith('/admin/login/code'),
          (st, h))
    st, _, _ = lb.page('/admin/sessions')
    check('part-way through sign-in the back office stays closed (401)', st == 401, st)
    st, _, _ = lb.call('GET', '/api/v1/admin/me')
    check('part-way through sign-in the admin API stays closed (401)', st == 401, st)
    lb.page('/admin/login/code')
    code = ob.codes.next()
    st, h, body = lb.form('/admin/login/code', {'code': code})
    check('code accepted: 303 to the dashboard', st == 303 and re.search(r'/admin/?$', h.get('location', '')), (st, h))
    st, _, _ = lb.page('/admin/sessions')
    check('signed in: my sessions 200', st == 200, st)
    st, _, body = lb.call('GET', '/api/v1/admin/me')
    j = jbody(body) or {}
    check('signed in: the admin API says who I am (owner, every permission)',
          st == 200 and j.get('email') == owner_email and j.get('owner') is True and 'staff.update' in
          j.get('permissions', []), (st, body[:200]))
    rb = Staff(P)
    rb.page('/admin/login')
    rb.form('/admin/login', {'email': owner_email, 'password': PW})
    rb.page('/admin/login/code')
    st, h, body = rb.form('/admin/login/code', {'code': code})
    check('the same TOTP code a second time (replay) is refused', st == 401, st)
    st, h, body = rb.form('/admin/login/code', {'code': ob.recovery[0]})
    check('a recovery code signs in', st == 303, st)
    xb = Staff(P)
    xb.page('/admin/login')
    xb.form('/admin/login', {'email': owner_email, 'password': PW})
    xb.page('/admin/login/code')
    st, h, body = xb.form('/admin/login/code', {'code': ob.recovery[0]})
    check('a used recovery code is refused', st == 401, st)
    lb.codes, lb.recovery = ob.codes, ob.recovery
    ob = lb

    # CSRF: nothing changes without a valid token, or from another site
    sid = staff_id(db, owner_email)
    n0 = db_exec(db, "SELECT count(*) FROM sessions WHERE kind = 'staff' AND principal_id = ?", (sid,))[0][0]
    ob.page('/admin/sessions')
    for label, tok, extra in [('missing token', None, {}), ('wrong token', 'A' * 43, {}),
                              ('cross-site Sec-Fetch-Site', True, {'Sec-Fetch-Site': 'cross-site'}),
                              ('foreign Origin', True, {'Origin': 'https://evil.example'})]:
        f = {'csrf_token': ob.token} if tok is True else ({'csrf_token': tok} if tok else {})
        st, h, body = ob.call('POST', '/admin/sessions/revoke-others', urllib.parse.urlencode(f).encode(),
                              'application/x-www-form-urlencoded', extra)
        n = db_exec(db, "SELECT count(*) FROM sessions WHERE kind = 'staff' AND principal_id = ?", (sid,))[0][0]
        check('CSRF %s: 403 and no session revoked' % label, st == 403 and n == n0 and n0 >= 2, (st, n, n0))
    st, h, body = ob.call('GET', '/api/v1/admin/sessions')
    mine = (jbody(body) or {}).get('sessions', [])
    others = [x['id'] for x in mine if not x.get('current')]
    check('my sessions over the API: the current one marked', st == 200 and len(mine) == n0 and others, (st, mine))
    other = others[0] if others else 0
    st, h, body = ob.call('DELETE', '/api/v1/admin/sessions/%d' % other)
    check('cookie-session API call without X-CSRF-Token: 403', st == 403, st)
    ob.csrf()
    st, h, body = ob.api('DELETE', '/api/v1/admin/sessions/%d' % other)
    check('with the token: one of my other sessions revoked', st == 200 and db_exec(
        db, 'SELECT count(*) FROM sessions WHERE id = ?', (other,))[0][0] == 0, (st, body[:200]))
    this = [x['id'] for x in mine if x.get('current')]
    st, h, body = ob.api('DELETE', '/api/v1/admin/sessions/%d' % (this[0] if this else 0))
    check('this very session: 400 (sign out instead), still signed in', st == 400 and
          ob.call('GET', '/api/v1/admin/sessions')[0] == 200, (st, body[:200]))
    ob.page('/admin/sessions')
    st, h, body = ob.form('/admin/sessions/revoke-others', {})
    n = db_exec(db, "SELECT count(*) FROM sessions WHERE kind = 'staff' AND principal_id = ?", (sid,))[0][0]
    check('sign out all other sessions: only this one is left', st == 303 and n == 1, (st, n))

    # roles on every request
    cm_email = 'catalog-%s@example.com' % tag
    cb = enroll(P, cli, ini, cm_email, 'catalog_manager')
    refusals = audit_count(db, 'staff.access_denied', '"permission"')
    st, _, _ = cb.call('GET', '/api/v1/admin/tokens')
    check('catalog manager: security.read route -> 403', st == 403, st)
    check('the refusal is audited (staff.access_denied, permission), once',
          audit_count(db, 'staff.access_denied', '"permission"') == refusals + 1,
          (refusals, audit_count(db, 'staff.access_denied', '"permission"')))
    st, _, _ = ob.call('GET', '/api/v1/admin/tokens')
    check('owner: the same route -> 200', st == 200, st)
    cid = staff_id(db, cm_email)
    db_exec(db, "UPDATE staff_roles SET role_id = (SELECT id FROM roles WHERE name = 'administrator') "
                'WHERE staff_id = ?', (cid,))
    st, _, _ = cb.call('GET', '/api/v1/admin/tokens')
    check('role change takes effect on the very next request (now 200)', st == 200, st)
    db_exec(db, "UPDATE staff_roles SET role_id = (SELECT id FROM roles WHERE name = 'catalog_manager') "
                'WHERE staff_id = ?', (cid,))
    st, _, _ = cb.call('GET', '/api/v1/admin/tokens')
    check('and back: 403 on the next request', st == 403, st)

    # where and when, on a live session
    today = time.gmtime().tm_wday
    other_day = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][(today + 3) % 7]
    for label, col, val, reason in [('outside its access window', 'access_windows', other_day + ' 00:00-00:01 UTC',
                                     'outside_access_window'),
                                    ('from a denied address', 'deny_ips', '127.0.0.0/8', 'address_denied'),
                                    ('from outside its allow list', 'allow_ips', '10.0.0.0/8, 2001:db8::/32',
                                     'address_not_allowed')]:
        before = audit_count(db, 'staff.access_denied', reason)
        db_exec(db, 'UPDATE staff SET %s = ? WHERE id = ?' % col, (val, cid))
        st, h, body = cb.page('/admin/sessions')
        db_exec(db, "UPDATE staff SET %s = '' WHERE id = ?" % col, (cid,))
        check('a live session used %s: 403 and an audit event' % label,
              st == 403 and audit_count(db, 'staff.access_denied', reason) == before + 1, (st, body[:200]))
    db_exec(db, 'UPDATE staff SET access_windows = ? WHERE id = ?', ('Daily 00:00-24:00 Asia/Tokyo', cid))
    st, _, _ = cb.page('/admin/sessions')
    check('inside its window again: 200', st == 200, st)
    db_exec(db, "UPDATE staff SET access_windows = '' WHERE id = ?", (cid,))

    # API tokens (the owner signed in moments ago: fresh)
    uses = token_uses(db)
    ob.csrf()
    st, h, body = ob.api('POST', '/api/v1/admin/tokens', {'name': 'hr-sync', 'scopes': ['staff.read'], 'days': 30})
    j = jbody(body) or {}
    tok1, tid1 = j.get('token', ''), j.get('id')
    check('API token created (201), shown once, prefixed', st == 201 and tok1.startswith('sfat_') and len(tok1) == 69,
          (st, body[:200]))
    st, h, body = ob.bearer(tok1, '/api/v1/admin/token/staff')
    check('bearer token within its scope: 200 with the staff list', st == 200 and owner_email.encode() in body,
          (st, body[:200]))
    st, h, body = ob.bearer(tok1, '/api/v1/admin/token')
    check('token introspection: its scopes', st == 200 and (jbody(body) or {}).get('scopes') == ['staff.read'],
          body[:200])
    nb = Staff(P)
    st, _, _ = nb.bearer(tok1, '/api/v1/admin/me')
    check('a bearer token does not open cookie-session routes (401)', st == 401, st)
    st, h, body = ob.api('POST', '/api/v1/admin/tokens', {'name': 'orders', 'scopes': ['orders.read'], 'days': 1})
    tok2 = (jbody(body) or {}).get('token', '')
    st, _, _ = nb.bearer(tok2, '/api/v1/admin/token/staff')
    check('bearer token outside its scope: 403', st == 403, st)
    db_exec(db, 'UPDATE api_tokens SET expires_at = 1 WHERE id = ?', ((jbody(body) or {}).get('id'),))
    st, _, _ = nb.bearer(tok2, '/api/v1/admin/token')
    check('expired token: 401', st == 401, st)
    st, _, _ = nb.bearer('sfat_' + 'A' * 43, '/api/v1/admin/token')
    check('unknown token: 401', st == 401, st)
    st, _, body = ob.api('DELETE', '/api/v1/admin/tokens/%s' % tid1)
    st2, _, _ = nb.bearer(tok1, '/api/v1/admin/token/staff')
    check('revoked token: 401 on its next use', st == 200 and st2 == 401, (st, st2))
    # Seven bearer calls: two served, two refused for an expired or revoked token (api_token.use,
    # denied), one out of scope (staff.access_denied, token_scope), and two that name no token of
    # ours on a token route (unknown) or come to a cookie-session route (/admin/me): nothing to record.
    got = token_uses(db)
    check('every token use audited (api_token.use: 2 served, 2 denied; the scope refusal as access_denied)',
          got == {'success': uses['success'] + 2, 'denied': uses['denied'] + 2, 'scope': uses['scope'] + 1},
          (uses, got))
    st, _, body = ob.call('GET', '/api/v1/admin/tokens')
    check('token list never holds a secret', st == 200 and tok1[5:].encode() not in body and b'"revoked"' in body)
    cb.csrf()
    st, h, body = cb.api('POST', '/api/v1/admin/tokens', {'name': 'x', 'scopes': ['staff.read'], 'days': 1})
    check('catalog manager cannot create tokens (403)', st == 403, st)

    # re-authentication for sensitive operations
    db_exec(db, 'UPDATE staff_sessions SET fresh_until = 0 WHERE staff_id = ?', (sid,))
    st, h, body = ob.api('POST', '/api/v1/admin/tokens', {'name': 'late', 'scopes': ['staff.read'], 'days': 1})
    check('stale session: a sensitive operation asks to re-authenticate (403 reauth_required)',
          st == 403 and (jbody(body) or {}).get('error', {}).get('code') == 'reauth_required', (st, body[:200]))
    st, h, body = ob.page('/admin/reauth?next=/admin/sessions')
    check('re-auth page: 200', st == 200 and b'name="next" value="/admin/sessions"' in body, st)
    st, h, body = ob.form('/admin/reauth', {'password': 'Wrong-Password-123', 'code': ob.codes.next(),
                                            'next': '/admin/sessions'})
    check('re-auth with a wrong password: 401', st == 401, st)
    st, h, body = ob.form('/admin/reauth', {'password': PW, 'code': ob.codes.next(), 'next': '//evil.example/x'})
    check('re-auth: 303 to a safe next (never off-site)', st == 303 and h.get('location') == '/admin', (st, h))
    ob.csrf()
    st, h, body = ob.api('POST', '/api/v1/admin/tokens', {'name': 'later', 'scopes': ['staff.read'], 'days': 1})
    check('after re-authentication: 201', st == 201, (st, body[:200]))

    # an owner resets another account's second factor
    resets = audit_count(db, 'staff.2fa_reset')
    st, h, body = ob.api('POST', '/api/v1/admin/staff/%d/reset-2fa' % cid, {})
    check('owner resets a second factor (200, audited once)',
          st == 200 and audit_count(db, 'staff.2fa_reset') == resets + 1, (st, body[:200], resets))
    st, _, _ = cb.page('/admin/sessions')
    check("the account's sessions ended (401)", st == 401, st)
    xb = Staff(P)
    xb.page('/admin/login')
    st, h, body = xb.form('/admin/login', {'email': cm_email, 'password': PW})
    check('its next sign-in goes to TOTP set-up', st == 303 and h.get('location', '').endswith('/admin/2fa/setup'),
          (st, h))
    st, h, body = ob.api('POST', '/api/v1/admin/staff/%d/reset-2fa' % 999999, {})
    check('reset of an unknown account: 404', st == 404, st)

    # deactivation ends access at once
    db_exec(db, 'UPDATE staff SET active = 0 WHERE id = ?', (cid,))
    st, _, _ = xb.page('/admin/2fa/setup')
    check('deactivated: the next request is refused (401)', st == 401, st)
    st, h, body = ob.api('POST', '/api/v1/admin/staff/%d/sessions/revoke' % cid, {})
    n = db_exec(db, "SELECT count(*) FROM sessions WHERE kind = 'staff' AND principal_id = ?", (cid,))[0][0]
    check("owner ends another account's sessions: 200, none left", st == 200 and n == 0, (st, n, body[:200]))
    return ob


def lockout(srv, cli, d, db, ini):
    P = srv.https
    email = 'lock@example.com'
    b = enroll(P, cli, ini, email, 'analyst')
    locks = audit_count(db, 'staff.lock')
    wrong = []  # the answer to a wrong password, before the account was locked
    for i in range(10):
        x = Staff(P)
        x.page('/admin/login')
        wrong.append(x.form('/admin/login', {'email': email, 'password': 'Wrong-Password-%d' % i}))
    st_w, h_w, body_w = wrong[0]
    x = Staff(P)
    x.page('/admin/login')
    st, h, body = x.form('/admin/login', {'email': email, 'password': PW})
    check('after 10 failures the account is locked: the right password is refused alike '
          '(401, the same page as a wrong password)',
          st == st_w == 401 and b'The e-mail address or password is not correct' in body and
          strip_volatile(body) == strip_volatile(body_w), (st, st_w, body[-800:], body_w[-800:]))
    check('lock audited, once', audit_count(db, 'staff.lock') == locks + 1, (locks, audit_count(db, 'staff.lock')))
    rc, out, err = cli.run('--config', ini, 'staff', 'unlock', email)
    check('staff unlock: exit 0', rc == 0, (rc, out, err))
    st, h, body = x.form('/admin/login', {'email': email, 'password': PW})
    check('unlocked: the password is accepted again', st == 303, st)
    rc, out, err = cli.run('--config', ini, 'staff', 'lock', email)
    check('staff lock: exit 0', rc == 0, err)
    st, _, _ = b.page('/admin/sessions')
    check('a locked account\'s live session ends (401)', st == 401, st)
    rc, out, err = cli.run('--config', ini, 'staff', 'list')
    check('staff list shows the lock', rc == 0 and re.search(r'lock@example\.com\s+analyst\s+locked', out), out)
    resets = audit_count(db, 'staff.2fa_reset')
    rc, out, err = cli.run('--config', ini, 'staff', 'reset-2fa', email)
    check('staff reset-2fa: exit 0 and audited once', rc == 0 and audit_count(db, 'staff.2fa_reset') == resets + 1,
          (rc, err, resets))
    for args, want in [(['staff'], 2), (['staff', 'fly'], 2), (['staff', 'lock'], 2),
                       (['staff', 'add', 'x@example.com'], 2), (['staff', 'add', '--role', 'nope', 'y@example.com'], 2),
                       (['staff', 'unlock', 'ghost@example.com'], 1), (['staff', 'add', '--role', 'owner', email], 1)]:
        rc, out, err = cli.run('--config', ini, *args)
        check('storefort %s: exit %d with a cause' % (' '.join(args), want), rc == want and err.strip(), (rc, err))
    rc, out, err = cli.run('staff', '--help')
    check('staff --help: exit 0', rc == 0 and 'reset-2fa' in out)


def hostile(srv, ob, db):
    P = srv.https
    h = Staff(P)
    h.hostile = True
    ob.hostile = True
    h.page('/admin/login')
    cases = []
    cases.append(('login: 5,000-character e-mail', h.form('/admin/login', {'email': 'a' * 5000 + '@x.org',
                                                                          'password': PW})[0], (401, 400, 413)))
    cases.append(('login: invalid UTF-8', h.call('POST', '/admin/login', b'csrf_token=' + h.token.encode() +
                                                 b'&email=%ff%fe&password=x',
                                                 'application/x-www-form-urlencoded')[0], (400,)))
    cases.append(('login: JSON body', h.call('POST', '/admin/login', b'{"email":"x"}', 'application/json')[0], (403, 415)))
    cases.append(('enroll: garbage token', h.page('/admin/enroll?token=%3Cscript%3E')[0], (400, 403)))
    cases.append(('enroll: missing token', h.page('/admin/enroll')[0], (400,)))
    ob.page('/admin/sessions')
    cases.append(('revoke: non-numeric id', ob.form('/admin/sessions/abc/revoke', {})[0], (404,)))
    cases.append(('revoke: someone else\'s session id', ob.form('/admin/sessions/1/revoke', {})[0], (404, 400)))
    ob.csrf()
    cases.append(('tokens: malformed JSON', ob.api('POST', '/api/v1/admin/tokens', raw_body=b'{"name":')[0], (400, 403)))
    cases.append(('tokens: wrong types', ob.api('POST', '/api/v1/admin/tokens', {'name': 5, 'scopes': 'all'})[0],
                  (400, 403)))
    cases.append(('tokens: oversized body', ob.api('POST', '/api/v1/admin/tokens', raw_body=b'{"n":"' + b'x' * 20000 + b'"}')[0],
                  (413, 403)))
    cases.append(('bearer: malformed', h.bearer('not a token', '/api/v1/admin/token')[0], (401,)))
    cases.append(('code step without a session', h.form('/admin/login/code', {'code': '123456'})[0], (401,)))
    cases.append(('unknown staff id', ob.api('POST', '/api/v1/admin/staff/abc/reset-2fa', {})[0], (404, 403)))
    for name, st, ok in cases:
        check('hostile %s -> %s (got %s, never 5xx)' % (name, '/'.join(map(str, ok)), st), st in ok, st)
    h.hostile = False
    ob.hostile = False


def prefix_and_allow(cli, d, db, ini):
    srv = Server(cli, ini, env={'STOREFORT_ADMIN_PATH': '/bo-7f3a', 'STOREFORT_RATELIMIT_ENABLED': 'off'})
    try:
        b = Staff(srv.https, '/bo-7f3a')
        st, h, body = b.page('/bo-7f3a/login')
        check('[admin] path: the sign-in page answers under the configured prefix',
              st == 200 and b'action="/bo-7f3a/login"' in body, (st, body[:200]))
        st, _, _ = b.page('/admin/login')
        check('[admin] path: /admin/login answers 404', st == 404, st)
        st, _, _ = b.page('/admin')
        check('[admin] path: /admin answers 404', st == 404, st)
        st, h, body = b.form('/bo-7f3a/login', {'email': 'lock@example.com', 'password': 'nope-nope-nope'})
        check('[admin] path: the form posts under the prefix', st == 401, st)
    finally:
        srv.stop()
    srv = Server(cli, ini, env={'STOREFORT_ADMIN_ALLOW': '10.0.0.0/8, 2001:db8::/32',
                                'STOREFORT_RATELIMIT_ENABLED': 'off'})
    try:
        before = audit_count(db, 'staff.access_denied', 'address_not_in_admin_allow')
        b = Staff(srv.https)
        st, _, body = b.page('/admin/login')
        st2, _, body2 = b.page('/admin/sessions')
        st3, _, _ = b.page('/')
        st4, _, body4 = b.call('GET', '/api/v1/admin/me')
        # The pages say why in words; the admin API names the refusal (access_policy), so a 403
        # for another reason (CSRF, a permission) does not pass for this one.
        why = b'The back office cannot be used from this address or at this time.'
        check('[admin] allow: an address outside the list is answered 403 for the whole back office (access_policy)',
              st == st2 == st4 == 403 and why in body and why in body2 and
              (jbody(body4) or {}).get('error', {}).get('code') == 'access_policy', (st, st2, st4, body4[:300]))
        check('[admin] allow: the storefront is not affected', st3 == 200, st3)
        check('[admin] allow: each of the three refusals audited once',
              audit_count(db, 'staff.access_denied', 'address_not_in_admin_allow') == before + 3,
              (before, audit_count(db, 'staff.access_denied', 'address_not_in_admin_allow')))
    finally:
        srv.stop()
    srv = Server(cli, ini, env={'STOREFORT_ADMIN_PATH': '/api/x'})
    # The server refuses to start; Server() raises in that case.


def storage(d, db):
    con = sqlite3.connect(db)
    try:
        con.execute('PRAGMA wal_checkpoint(TRUNCATE)')
        seeds = con.execute('SELECT totp_seed FROM staff WHERE totp_seed IS NOT NULL').fetchall()
        check('TOTP seeds stored sealed (sf1)', seeds and all(s[0][:3] == b'sf1' for s in seeds))
        check('session, recovery code, link and API token hashes only (32 bytes)', all(
            con.execute(q).fetchone()[0] == 0 for q in [
                'SELECT count(*) FROM sessions WHERE length(token_hash) != 32',
                'SELECT count(*) FROM staff_recovery_codes WHERE length(code_hash) != 32',
                'SELECT count(*) FROM staff_tokens WHERE length(token_hash) != 32',
                'SELECT count(*) FROM api_tokens WHERE length(token_hash) != 32']))
        check('passwords stored as argon2id hashes with history',
              con.execute("SELECT count(*) FROM staff WHERE password_hash NOT LIKE '$argon2id$%'").fetchone()[0] == 0
              and con.execute('SELECT count(*) FROM staff_password_history').fetchone()[0] >= 3)
        acts = {r[0] for r in con.execute("SELECT DISTINCT action FROM audit_events WHERE action LIKE 'staff.%' "
                                          "OR action LIKE 'api_token.%'")}
        want = {'staff.create', 'staff.enroll', 'staff.login', 'staff.2fa', 'staff.logout', 'staff.access_denied',
                'staff.lock', 'staff.unlock', 'staff.2fa_reset', 'staff.reauth', 'staff.sessions_revoke',
                'staff.session_revoke', 'api_token.create', 'api_token.use', 'api_token.revoke'}
        check('audit: every staff action recorded', acts >= want, sorted(want - acts))
    finally:
        con.close()
    logs = ''
    for f in glob.glob(os.path.join(d, 'log', '*')):
        with open(f, encoding='utf-8', errors='replace') as fh:
            logs += fh.read()
    check('no password, enrollment token or API token in the logs',
          PW not in logs and 'sfat_' not in logs and 'token=' not in logs.replace('token=[redacted]', ''),
          [s for s in [PW, 'sfat_'] if s in logs])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    a = ap.parse_args()
    cli = CLI(os.path.abspath(a.binary))
    tmp = tempfile.mkdtemp(prefix='sf-staff-')
    try:
        d = os.path.join(tmp, 'dev')
        rc, out, err = cli.run('init', '--dir', d, timeout=600)
        if check('init', rc == 0, (rc, out, err)):
            ini = os.path.join(d, 'storefort.ini')
            db = os.path.join(d, 'db', 'storefort.db')
            env = {'STOREFORT_RATELIMIT_ENABLED': 'off', 'STOREFORT_BANS_FAILED_LOGINS': '1000'}
            srv = Server(cli, ini, env=env)
            try:
                ob = flows(srv, cli, d, db, ini, 'pl1')
                lockout(srv, cli, d, db, ini)
                hostile(srv, ob, db)
                check_waf_clean(d, 'back office, paranoia 1, block')
            finally:
                rc, out, err = srv.stop()
                check('serve stops cleanly', rc == 0, (rc, err[-2000:]))
            waf_log = os.path.join(d, 'log', 'waf.log')
            if os.path.exists(waf_log):
                os.unlink(waf_log)
            HOSTILE['ids'].clear()
            env['STOREFORT_WAF_PARANOIA'] = '2'
            srv = Server(cli, ini, env=env)
            try:
                flows(srv, cli, d, db, ini, 'pl2')
                path = os.path.join(d, 'log', 'waf.log')
                events = []
                if os.path.exists(path):
                    with open(path, encoding='utf-8', errors='replace') as f:
                        events = [json.loads(line) for line in f if line.strip()]
                check('WAF (back office, paranoia 2, block): zero events from the back office\'s own flows',
                      not events, [(e.get('rule_id'), e.get('method'), e.get('path')) for e in events][:20])
            finally:
                rc, out, err = srv.stop()
                check('serve (paranoia 2) stops cleanly', rc == 0, (rc, err[-2000:]))
            try:
                prefix_and_allow(cli, d, db, ini)
                check('[admin] path /api/x refused at start-up', False, 'the server started')
            except RuntimeError as e:
                check('[admin] path /api/x refused at start-up, naming the setting', '[admin] path' in str(e), str(e))
            storage(d, db)
    except Exception:
        import traceback
        check('staff tests ran to the end', False, traceback.format_exc())
    finally:
        shutil.rmtree(tmp, ignore_errors=True) if not os.environ.get("SF_KEEP_TMP") else print("# kept " + tmp)
    return app_test.summary()


if __name__ == '__main__':
    sys.exit(main())
