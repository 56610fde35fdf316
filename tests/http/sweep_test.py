#!/usr/bin/env python3
"""sweep_test.py — every operation of the OpenAPI document attacked, against the
real storefort binary over HTTPS with the WAF blocking (TAP output).

The operations come from web/static/openapi.json: the sweep fails when the
document has an operation that ops_table() does not know how to reach (a new
route cannot go unswept), and when src/api/routes.c has an /api/v1 route that
the document lacks.  Each operation is called in its own authentication
context (a guest with a cart cookie and CSRF token, a signed-in customer, a
staff member's session, an API token, a provider's signature) with hostile
variants generated from its request schema and parameters:

  body     truncated, not an object, empty, NUL bytes, invalid UTF-8, a lone
           surrogate, NaN, 10,000 nested arrays, deep objects, duplicate keys,
           wrong Content-Type, oversized, required members missing, unknown
           members added
  fields   every member (nested ones too) as each wrong type, past its
           maxLength, holding a card number, a NUL, out of its enum or
           pattern; integers as -1, 0, 2^63, -2^63-1, 2^63-1, 1e308, 1.5, text
  params   path ids non-numeric, negative, zero, huge, traversal, very long,
           a card number, unknown, another customer's; query and header
           parameters out of their schema; credentials missing or wrong

Every answer must be 4xx (never 5xx, never a dropped connection) with the
documented Error body, unless the variant is valid by the document (then any
non-5xx answer), and a refusal for the credentials only where the variant is
about them.  The valid request itself must then succeed (so the refusals were
the variants', not a lost session's).  Around every refused request the
SQLite tables are compared: a refusal may only add WAF events, audit events of
refusals and a failed login count.  The server is then restarted with Stripe
as the provider and the WAF detecting only: the Stripe webhook is swept, and
every variant the WAF blocked is sent again for the handlers to refuse.  At
the end: no card number in any file of the data directory or in what the
server printed, no sanitizer report, every WAF event from a hostile request,
the audit chain intact, every /api/v1 answer valid by the document.
SF_KEEP_TMP=1 keeps the data directory.
"""
import argparse
import contextlib
import copy
import hashlib
import hmac
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import app_test  # noqa: E402
from accounts_test import link_token, mails, wait_mail  # noqa: E402
from app_test import CLI, Server, check, check_waf_clean, jbody  # noqa: E402
from pay_test import SANDBOX_SECRET, WHSEC, q, sign_sandbox, start_stripe_api  # noqa: E402
from shop_test import ADDRESS, sql  # noqa: E402
from staff_test import Staff, enroll  # noqa: E402  (a browser marking hostile requests; staff enrollment + TOTP)

OPENAPI = os.path.join(ROOT, 'web', 'static', 'openapi.json')
ROUTES_C = os.path.join(ROOT, 'src', 'api', 'routes.c')
PW = 'Tangerine-Orbit-7731'
CARD = '4111 1111 1111 1111'
OVERSIZE = 70000  # above every route's body cap (64 KiB at most)
REJECT, ANY = 'reject', 'any'


# ==== clients ====

def client(port, same_origin=True):
    """A client of the JSON API: cookie jar, CSRF token (.token), hostile
    requests marked for the WAF check (staff_test.Staff)."""
    c = Staff(port)
    c.same_origin = same_origin
    return c


def send(c, method, path, body=None, ctype='application/json', headers=None, csrf=True):
    """One request by client c, with its CSRF token on writes; never raises."""
    h = dict(headers or {})
    if csrf and c.token and method not in ('GET', 'HEAD'):
        h.setdefault('X-CSRF-Token', c.token)
    try:
        return c.call(method, path, body, ctype if body is not None else None, h)
    except OSError as e:
        return 0, {}, repr(e).encode()


def api(c, method, path, obj=None, headers=None):
    """A JSON call; keeps the CSRF token an answer hands out.  (status, JSON)"""
    if obj is not None:
        st, hd, body = send(c, method, path, json.dumps(obj).encode(), headers=headers)
    else:  # a write without a body still says so (Content-Length: 0), as the WAF wants
        st, hd, body = send(c, method, path, None if method == 'GET' else b'', None, headers=headers)
    return st, keep_token(c, body)


def keep_token(c, body):
    """The JSON of an answer to c; a CSRF token it hands out becomes c's."""
    js = jbody(body)
    if isinstance(js, dict) and isinstance(js.get('csrf_token'), str):
        c.token = js['csrf_token']
    return js


def err_code(js):
    e = js.get('error') if isinstance(js, dict) else None
    return e.get('code') if isinstance(e, dict) else None


def stripe_sign(payload, secret=WHSEC, ts=None):
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), ('%d.' % ts).encode() + payload, hashlib.sha256).hexdigest()
    return {'Stripe-Signature': 't=%d,v1=%s' % (ts, mac)}


def sandbox_sign(payload):
    """The sandbox's signature headers; the event id header names the body's
    "id" where a header can carry it."""
    try:
        ev = json.loads(payload.decode()).get('id')
    except (ValueError, AttributeError, RecursionError):  # not a JSON object: signed all the same
        ev = None
    ok = isinstance(ev, str) and ev.isascii() and ev.isprintable() and len(ev) <= 200
    return sign_sandbox(payload, event_id=ev if ok else 'evt_sweep_raw')


# ==== the database before and after ====

# Columns that a request may touch without changing anything the shop holds.
VOLATILE = {'sessions': {'last_seen_at'}, 'api_tokens': {'last_used_at'}, 'staff': {'last_seen_at'},
            # the outbox sends in its own time
            'mail_outbox': {'body', 'status', 'attempts', 'next_attempt_at', 'last_error', 'sent_at'}}


class Tables:
    """Every table's rows, compared around each refused request.  PRAGMA
    data_version tells cheaply whether anything was committed meanwhile."""

    def __init__(self, db):
        self.con = sqlite3.connect(db, timeout=10, isolation_level=None)
        self.cols = {}
        self.keys = {}  # the primary key's columns (WITHOUT ROWID tables have no rowid)
        for (t,) in self.con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                                     "'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE '%fts%'"):
            info = list(self.con.execute('PRAGMA table_info("%s")' % t))
            self.cols[t] = [r[1] for r in info if r[1] not in VOLATILE.get(t, ())]
            pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
            self.keys[t] = ', '.join('"%s"' % c for c in pk) if pk else 'rowid'
        self.last = None
        self.tops = {}  # the APPEND_ONLY tables' highest rowid read

    def version(self):
        return self.con.execute('PRAGMA data_version').fetchone()[0]

    # Tables that only grow (their rows are never changed: the audit chain,
    # which `audit verify` checks, and the WAF's log): read from the last
    # row on, unless a row went away.
    APPEND_ONLY = ('audit_events', 'waf_events')

    def take(self):
        v = self.version()
        if self.last and self.last[0] == v:
            return self.last[1]
        prev = self.last[1] if self.last else {}
        snap = {}
        for t, cols in self.cols.items():
            sel = 'SELECT %s, %s FROM "%s"' % (self.keys[t], ', '.join('"%s"' % c for c in cols), t)
            old = prev.get(t)
            if t in self.APPEND_ONLY and old is not None:
                top = self.tops[t]
                new = {r[:-len(cols)]: r[-len(cols):] for r in self.con.execute(sel + ' WHERE rowid > ?', (top,))}
                if self.con.execute('SELECT count(*) FROM "%s"' % t).fetchone()[0] == len(old) + len(new):
                    snap[t] = {**old, **new} if new else old
                    self.tops[t] = max([top] + [k[0] for k in new])
                    continue
            rows = {r[:-len(cols)]: r[-len(cols):] for r in self.con.execute(sel)}
            snap[t] = old if rows == old else rows  # the same object: diff() passes it by
            if t in self.APPEND_ONLY:
                self.tops[t] = max([0] + [k[0] for k in rows])
        self.last = (v, snap)
        return snap

    def diff(self, a, b):
        """{table: (added rows, removed rowids, changed {rowid: {column: (old, new)}})}."""
        out = {}
        for t, rows in b.items():
            old = a.get(t, {})
            if old is rows:
                continue
            added = [dict(zip(self.cols[t], rows[k])) for k in rows.keys() - old.keys()]
            removed = sorted(old.keys() - rows.keys())
            changed = {}
            for k in rows.keys() & old.keys():
                if rows[k] != old[k]:
                    changed[k] = {c: (x, y) for c, x, y in zip(self.cols[t], old[k], rows[k]) if x != y}
            if added or removed or changed:
                out[t] = (added, removed, changed)
        return out


def unexplained(diff, op):
    """The parts of a diff that a refused request of op may not have written:
    anything but the WAF's record of a block, audit events of refused
    attempts (outcome failure or denied, with the audit chain's head),
    for a login, the failed login count, the columns op['may'] names
    ({table: columns} that a refusal of op may change; '+rows' among them:
    it may add rows too), and audit events of
    the reads op['reads'] names (a page shown again reads what it shows)."""
    bad = {}
    for t, (added, removed, changed) in diff.items():
        if t == 'waf_events' and not removed and not changed:
            continue
        if t == 'audit_head':
            continue
        if t == 'audit_events' and not removed and not changed and \
                all(r.get('outcome') in ('failure', 'denied') or r.get('action') in op.get('reads', ())
                    for r in added):
            continue
        if t == 'customers' and op.get('login') and not added and not removed and \
                all(set(c) <= {'failed_logins', 'locked_until', 'updated_at'} for c in changed.values()):
            continue
        may = op.get('may', {}).get(t)
        if may and (not added or '+rows' in may) and not removed and all(set(c) <= may for c in changed.values()):
            continue
        bad[t] = (added[:3], removed[:3], dict(list(changed.items())[:3]))
    return bad


# ==== variants from the document ====

class Doc:
    def __init__(self, path=OPENAPI):
        with open(path, encoding='utf-8') as f:
            self.doc = json.load(f)

    def deref(self, obj):
        while isinstance(obj, dict) and '$ref' in obj:
            node = self.doc
            for part in obj['$ref'][2:].split('/'):
                node = node[part]
            obj = node
        return obj

    def operations(self):
        for path, ops in self.doc['paths'].items():
            for method, op in ops.items():
                if method in ('get', 'put', 'post', 'patch', 'delete'):
                    yield method.upper(), path, op

    def body_schema(self, op):
        rb = self.deref(op.get('requestBody') or {})
        media = rb.get('content', {}).get('application/json')
        return self.deref(media['schema']) if media else None

    def parameters(self, op, where):
        return [p for p in (self.deref(x) for x in op.get('parameters', [])) if p.get('in') == where]

    def members(self, schema):
        """(properties, required) of an object schema, those of the schemas
        it extends with allOf (a closed schema over shared *Fields) included."""
        schema = self.deref(schema)
        props, req = dict(schema.get('properties', {})), list(schema.get('required', []))
        for part in schema.get('allOf', []):
            p, r = self.members(part)
            props.update(p)
            req += [n for n in r if n not in req]
        return props, req

    def fields(self, schema, prefix=()):
        """(path, schema) of every member, nested objects' members too."""
        for name, sub in self.members(schema)[0].items():
            sub = self.deref(sub)
            yield prefix + (name,), sub
            if self.members(sub)[0]:
                yield from self.fields(sub, prefix + (name,))

    def required(self, schema, prefix=()):
        props, req = self.members(schema)
        for name in req:
            yield prefix + (name,)
        for name, sub in props.items():
            if self.members(sub)[1]:
                yield from self.required(sub, prefix + (name,))


def types(schema):
    t = schema.get('type')
    return set(t if isinstance(t, list) else [t])


def put(body, path, value):
    b = copy.deepcopy(body)
    node = b
    for k in path[:-1]:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[path[-1]] = value
    return b


def drop(body, path):
    b = copy.deepcopy(body)
    node = b
    for k in path[:-1]:
        node = node.get(k, {})
    node.pop(path[-1], None)
    return b


def below_min(schema, v):
    return 'minimum' in schema and v < schema['minimum']


def value_variants(schema, required):
    """(label, value, expectation) for one member of the given schema; a
    value is a Python object or bytes (raw JSON text)."""
    ts = types(schema)
    nullable = 'null' in ts
    out = []
    # a value of each type that the member does not take
    wrong = {'string': ('text', '5'), 'integer': ('number', 12345), 'object': ('object', {'a': 1}),
             'array': ('array', ['x']), 'boolean': ('boolean', True)}
    for t, (label, v) in wrong.items():
        if t not in ts and not (t == 'integer' and 'number' in ts):
            out.append((label, v, REJECT))
    if not nullable:
        # the handlers read a null optional member as an absent one
        out.append(('null', None, REJECT if required else ANY))
    if 'string' in ts:
        mx = schema.get('maxLength')
        if mx:
            out.append(('maxLength+1', 'x' * (mx + 1), REJECT))
        out.append(('10000 characters', 'x' * 10000, REJECT if mx else ANY))
        out.append(('a card number', CARD, REJECT))
        out.append(('a NUL', 'a\x00b', REJECT))
        if 'enum' in schema:
            out.append(('outside the enum', 'zz-not-in-enum', REJECT))
        if 'pattern' in schema:
            out.append(('against the pattern', '1!', REJECT))
        if schema.get('format') in ('email', 'date'):
            out.append(('not a %s' % schema['format'], 'x@@y' if schema['format'] == 'email' else '2024-13-45',
                        REJECT))
    if 'integer' in ts:
        for label, v in [('-1', -1), ('0', 0)]:
            out.append((label, v, REJECT if below_min(schema, v) else ANY))
        out += [('2^63', b'9223372036854775808', REJECT), ('-2^63-1', b'-9223372036854775809', REJECT),
                ('1e308', b'1e308', REJECT), ('1.5', 1.5, REJECT), ('NaN', b'NaN', REJECT),
                ('2^63-1', 2 ** 63 - 1, REJECT if 'maximum' in schema else ANY)]
    if 'boolean' in ts:
        out += [('"true"', 'true', REJECT), ('1', 1, REJECT)]
    if 'array' in ts:
        items = schema.get('items', {})
        if 'string' in types(items):
            out += [('an item not text', [1], REJECT), ('a card number item', [CARD], REJECT)]
        out.append(('1000 items', ['x'] * 1000, ANY))
    if 'object' in ts and schema.get('required'):
        out.append(('empty object', {}, REJECT))
    return out


MARK = '\u2603sweep-raw\u2603'


def encode(body, raw=None):
    """JSON text of body; raw (bytes) replaces the member whose value is MARK."""
    text = json.dumps(body).encode()
    return text.replace(json.dumps(MARK).encode(), raw) if raw is not None else text


def body_variants(doc, schema, base):
    """Hostile bodies for an operation with a JSON request body:
    (label, bytes, Content-Type, expectation, member path or None)."""
    good = encode(base)
    first = next((p for p, s in doc.fields(schema) if 'string' in types(s)), None)
    some = first or next(iter(p for p, _ in doc.fields(schema)))
    v = [('truncated', good[:len(good) // 2], None, REJECT), ('an array', b'[1,2]', None, REJECT),
         ('null', b'null', None, REJECT), ('a string', b'"x"', None, REJECT), ('empty', b'', None, REJECT),
         ('a raw NUL', good[:-1] + b',"a\x00":1}', None, REJECT),
         ('invalid UTF-8', encode(put(base, some, MARK), b'"\xff\xfe\xc0\xaf"'), None, REJECT),
         ('a lone surrogate', encode(put(base, some, MARK), b'"\\ud800"'), None, REJECT),
         ('10,000 nested arrays', b'[' * 10000 + b']' * 10000, None, REJECT),
         ('10,000 nested arrays in a member', encode(put(base, some, MARK), b'[' * 10000 + b']' * 10000), None,
          REJECT),
         ('5,000 nested objects', b'{"a":' * 5000 + b'1' + b'}' * 5000, None, REJECT),
         ('17 nested arrays in a member', encode(put(base, some, MARK), b'[' * 17 + b']' * 17), None, REJECT),
         ('duplicate keys', good[:-1] + b',' + good[1:], None, REJECT),
         ('text/plain', good, 'text/plain', REJECT),
         ('form-encoded', good, 'application/x-www-form-urlencoded', REJECT),
         ('no Content-Type', good, '', REJECT),
         ('oversized', good[:-1] + b',"pad":"' + b'x' * OVERSIZE + b'"}', None, REJECT),
         ('unknown members', encode(dict(base, zz_unknown=1, is_admin=True, price=1, role='owner')), None, ANY)]
    out = [(label, b, ct, exp, None) for label, b, ct, exp in v]
    for path in doc.required(schema):
        out.append(('without required %s' % '.'.join(path), encode(drop(base, path)), None, REJECT, path))
    needed = set(doc.required(schema))
    for path, sub in doc.fields(schema):
        for label, value, exp in value_variants(sub, path in needed):
            if isinstance(value, bytes):
                b = encode(put(base, path, MARK), value)
            else:
                b = encode(put(base, path, value))
            out.append(('%s: %s' % ('.'.join(path), label), b, None, exp, path))
    return out


ID_VARIANTS = [('non-numeric', 'abc', REJECT), ('negative', '-1', REJECT), ('zero', '0', REJECT),
               ('huge', '99999999999999999999', REJECT), ('2^63', '9223372036854775808', REJECT),
               ('traversal', '..%2f..%2fadmin', REJECT), ('dot-dot', '..', REJECT), ('NUL', '1%00', REJECT),
               ('very long', '9' * 1000, REJECT), ('a card number', '4111111111111111', REJECT),
               ('float', '1.5', REJECT), ('unknown', '987654321', REJECT), ('encoded slash', '1%2f2', REJECT)]
SLUG_VARIANTS = [('unknown', 'no-such-thing', REJECT), ('traversal', '..%2f..%2fetc%2fpasswd', REJECT),
                 ('NUL', 'a%00b', REJECT), ('very long', 'a' * 1000, REJECT), ('invalid UTF-8', '%ff%fe', REJECT),
                 ('a card number', '4111%201111%201111%201111', REJECT), ('markup', '%3Cscript%3E', REJECT)]


def param_variants(doc, op):
    """(label, {path param: value} | {query: value} | {header: value}, expectation)."""
    out = []
    for p in doc.parameters(op, 'path'):
        vs = ID_VARIANTS if 'integer' in types(p['schema']) else SLUG_VARIANTS
        out += [('path %s %s' % (p['name'], label), {'path': {p['name']: v}}, exp) for label, v, exp in vs]
    for p in doc.parameters(op, 'query'):
        s = p['schema']
        if 'integer' in types(s):
            vs = [('-1', '-1'), ('0', '0'), ('2^63', '9223372036854775808'), ('1e308', '1e308'), ('text', 'abc'),
                  ('1.5', '1.5'), ('empty', '')]
            vs = [(label, v, REJECT if label not in ('empty',) and (
                not v.lstrip('-').isdigit() or below_min(s, int(v)) or int(v) > s.get('maximum', 2 ** 63 - 1))
                else ANY) for label, v in vs]
        else:
            vs = [('a card number', '4111111111111111', ANY), ('1000 characters', 'x' * 1000,
                                                                REJECT if s.get('maxLength') else ANY),
                  ('NUL', 'a%00b', ANY), ('invalid UTF-8', '%ff%fe', ANY)]
            if s.get('maxLength'):
                vs.append(('maxLength+1', 'x' * (s['maxLength'] + 1), REJECT))
            if 'enum' in s:
                vs.append(('outside the enum', 'zz', REJECT))
        out += [('query %s %s' % (p['name'], label), {'query': '%s=%s' % (p['name'], v)}, exp)
                for label, v, exp in vs]
    for p in doc.parameters(op, 'header'):
        if p['name'] == 'X-CSRF-Token':
            continue  # the credentials' variants
        s = p['schema']
        vs = [('a card number', CARD), ('2000 characters', 'k' * 2000), ('Latin-1 bytes', '\xe9\xe8\xff' * 4),
              ('blanks', 'a b c d e f g h')]
        if p.get('required'):
            vs.append(('missing', None))
        if s.get('minLength'):
            vs.append(('below minLength', 'k' * (s['minLength'] - 1)))
        exp = REJECT if p.get('required') else ANY
        out += [('header %s %s' % (p['name'], label), {'header': {p['name']: v}}, exp) for label, v in vs]
    return out


# ==== the operations: how each is reached ====

class World:
    """The actors and objects the sweep needs, made through the real API."""

    def __init__(self, P, cli, ini, d, db):
        self.P, self.cli, self.ini, self.d, self.db = P, cli, ini, d, db
        self.n = 0

    def uniq(self, what):
        self.n += 1
        return '%s-%d-%d' % (what, os.getpid(), self.n)

    def q(self, statement, args=()):
        return q(self.db, statement, args)

    def guest(self):
        g = client(self.P)
        api(g, 'GET', '/api/v1/cart')
        return g

    def fill_cart(self, g):
        st, js = api(g, 'POST', '/api/v1/cart/items', {'sku': self.sku, 'quantity': 1})
        items = (js or {}).get('items') or [{}]
        return items[0].get('id')

    def order(self, g):
        self.fill_cart(g)
        st, js = api(g, 'POST', '/api/v1/checkout', {'email': 'sweep@example.org', 'address': ADDRESS,
                                                    'shipping_method': 'standard'},
                       headers={'Idempotency-Key': self.uniq('sweep-key')})
        return (js or {}).get('order', {}).get('id')

    def customer(self, email):
        c = client(self.P)
        st, js = api(c, 'GET', '/api/v1/account/csrf')
        before = mails(self.d)
        api(c, 'POST', '/api/v1/account/register', {'email': email, 'password': PW, 'name': 'Sweep Person'})
        name, text = wait_mail(self.d, before, want='/account/verify')
        api(c, 'POST', '/api/v1/account/verify', {'token': link_token(text, '/account/verify')})
        st, js = api(c, 'POST', '/api/v1/account/login', {'email': email, 'password': PW})
        c.email = email
        return c if st == 200 else None

    def address(self, c):
        st, js = api(c, 'POST', '/api/v1/account/addresses', ACCOUNT_ADDRESS)
        return (js or {}).get('id')

    def setup(self):
        self.sku = self.q("SELECT v.sku FROM variants v JOIN products p ON p.id = v.product_id "
                          "WHERE p.status = 'active' AND v.currency = 'EUR' ORDER BY v.id LIMIT 1")[0][0]
        sql(self.db, 'UPDATE variants SET stock = 100000 WHERE sku = ?', (self.sku,))
        r = self.q("SELECT p.slug, (SELECT slug FROM categories ORDER BY id LIMIT 1) FROM products p "
                   "WHERE p.status = 'active' ORDER BY p.id LIMIT 1")[0]
        self.product_slug, self.category_slug = r
        # guests: the swept one (a cart line and an order), and another one
        self.g = self.guest()
        self.g_item = self.fill_cart(self.g)
        self.g_order = self.order(self.g)
        self.fill_cart(self.g)
        self.h = self.guest()
        self.h_item = self.fill_cart(self.h)
        self.h_order = self.order(self.h)
        # customers: the swept one, another one, one for login and logout
        self.c = self.customer('sweep-a@example.org')
        self.c_addr = self.address(self.c)
        self.b = self.customer('sweep-b@example.org')
        self.b_addr = self.address(self.b)
        self.lc = self.customer('sweep-login@example.org')
        # staff: the owner (session, fresh), another member (sessions, 2FA), an API token
        self.owner = enroll(self.P, self.cli, self.ini, 'owner-sweep@example.com', 'owner')
        self.owner.csrf()
        self.other = enroll(self.P, self.cli, self.ini, 'analyst-sweep@example.com', 'analyst')
        self.other_id = self.q("SELECT id FROM staff WHERE email = 'analyst-sweep@example.com'")[0][0]
        self.other_session = self.q("SELECT max(id) FROM sessions WHERE kind = 'staff' AND principal_id = ?",
                                    (self.other_id,))[0][0]
        st, js = api(self.owner, 'POST', '/api/v1/admin/tokens', {'name': 'sweep', 'scopes': ['staff.read'],
                                                                  'days': 1})
        self.bearer = (js or {}).get('token')
        self.new_spare_token()
        self.webhook = client(self.P, same_origin=False)
        self.pay_order = None
        return all([self.g_item, self.g_order, self.h_item, self.h_order, self.c, self.c_addr, self.b, self.b_addr,
                    self.lc, self.owner.codes, self.other_session, self.bearer, self.spare_token]), vars(self)

    def g_item_now(self):
        """The swept guest's cart line (put back if a variant removed it)."""
        st, js = api(self.g, 'GET', '/api/v1/cart')
        items = (js or {}).get('items') or []
        return items[0]['id'] if items else self.fill_cart(self.g)

    def new_spare_token(self):
        st, js = api(self.owner, 'POST', '/api/v1/admin/tokens', {'name': 'spare', 'scopes': ['staff.read'],
                                                                  'days': 1})
        self.spare_token = (js or {}).get('id')

    def new_address(self):
        self.c_addr = self.address(self.c)

    def new_payment(self):
        self.pay_order = None

    def sandbox_event(self):
        """A signed-ready payment.succeeded event for a pending order with a
        payment session: only the variant's damage stands between it and
        the order being paid."""
        if not self.pay_order:
            oid = self.order(self.g)
            st, js = api(self.g, 'POST', '/api/v1/orders/%d/pay' % oid)
            sess = (js or {}).get('redirect_url', '').rsplit('/', 1)[-1]
            amount, cur = self.q('SELECT total_minor, currency FROM orders WHERE id = ?', (oid,))[0]
            self.pay_order = (oid, sess, amount, cur)
            self.fill_cart(self.g)
        oid, sess, amount, cur = self.pay_order
        return {'id': self.uniq('evt_sweep'), 'type': 'payment.succeeded', 'created': int(time.time()),
                'data': {'session': sess, 'order_id': oid, 'amount': amount, 'currency': cur}}


ACCOUNT_ADDRESS = {'name': 'Ada Sweep', 'line1': '12 Rue de la Paix', 'line2': '', 'city': 'Paris',
                   'postal_code': '75002', 'country': 'FR', 'phone': '+33 1 23 45 67 89'}


def ops_table(w):
    """How to reach each operation of the document: who calls it (agent), a
    valid body (a function, called afresh for each request), valid path
    parameters, headers, another owner's ids, and what restores the state
    that a variant valid by the document may have used up (prepare)."""
    def g():
        return w.g

    def staff():
        return w.owner

    def idem(_body):
        return {'Idempotency-Key': w.uniq('sweep-idem')}

    def checkout_body():
        return {'email': 'sweep@example.org', 'address': dict(ADDRESS), 'shipping_method': 'standard',
                'coupon': None, 'pay': False, 'expected_total': None}

    def refill():
        w.g_item_now()

    def relogin():
        st, js = api(w.lc, 'GET', '/api/v1/account/me')
        if st == 401:
            api(w.lc, 'GET', '/api/v1/account/csrf')
            api(w.lc, 'POST', '/api/v1/account/login', {'email': w.lc.email, 'password': PW})

    def bearer(_body):
        return {'Authorization': 'Bearer ' + w.bearer}

    pub = {'agent': g}
    return {
        'GET /api/v1/products': dict(pub),
        'GET /api/v1/products/{slug}': dict(pub, params=lambda: {'slug': w.product_slug}),
        'GET /api/v1/categories': dict(pub),
        'GET /api/v1/categories/{slug}': dict(pub, params=lambda: {'slug': w.category_slug}),
        'GET /api/v1/cart': dict(pub),
        'PATCH /api/v1/cart': dict(pub, body=lambda: {'coupon': None}),
        'DELETE /api/v1/cart': dict(pub, prepare=refill),
        'POST /api/v1/cart/items': dict(pub, body=lambda: {'sku': w.sku, 'quantity': 1}),
        'PATCH /api/v1/cart/items/{id}': dict(pub, body=lambda: {'quantity': 1},
                                              params=lambda: {'id': w.g_item_now()},
                                              others={'id': lambda: w.h_item}, prepare=refill),
        'DELETE /api/v1/cart/items/{id}': dict(pub, params=lambda: {'id': w.g_item_now()},
                                               others={'id': lambda: w.h_item}, prepare=refill),
        'POST /api/v1/checkout': dict(pub, body=checkout_body, headers=idem, prepare=refill),
        'GET /api/v1/orders': dict(agent=lambda: w.c),
        'GET /api/v1/orders/{id}': dict(pub, params=lambda: {'id': w.g_order}, others={'id': lambda: w.h_order}),
        'POST /api/v1/orders/{id}/pay': dict(pub, params=lambda: {'id': w.g_order},
                                             others={'id': lambda: w.h_order}),
        'POST /api/v1/payments/sandbox/webhook': dict(agent=lambda: w.webhook, body=w.sandbox_event,
                                                      headers=sandbox_sign, signed=True, prepare=w.new_payment),
        'POST /api/v1/payments/stripe/webhook': dict(agent=lambda: w.webhook, body=lambda: w.stripe_event(),
                                                     headers=stripe_sign, signed=True,
                                                     phase='stripe'),
        'GET /api/v1/openapi.json': dict(pub),
        'GET /api/v1/account/csrf': dict(agent=lambda: w.lc),
        'POST /api/v1/account/register': dict(agent=lambda: w.lc, body=lambda: {
            'email': w.uniq('sweep-new') + '@example.org', 'password': PW, 'name': 'New Person'}),
        'POST /api/v1/account/verify': dict(agent=lambda: w.lc, body=lambda: {'token': 'A' * 43},
                                            baseline=(400, 400)),  # a made-up link: token_invalid
        'POST /api/v1/account/login': dict(agent=lambda: w.lc, body=lambda: {'email': w.lc.email, 'password': PW},
                                           login=True, prepare=relogin),
        'POST /api/v1/account/logout': dict(agent=lambda: w.lc, prepare=relogin),
        'GET /api/v1/account/me': dict(agent=lambda: w.c),
        'POST /api/v1/account/profile': dict(agent=lambda: w.c, body=lambda: {
            'name': 'Ada Sweep', 'phone': '+33 1 23 45 67 89', 'birth_date': '1990-12-10'}),
        'GET /api/v1/account/addresses': dict(agent=lambda: w.c),
        'POST /api/v1/account/addresses': dict(agent=lambda: w.c, body=lambda: dict(ACCOUNT_ADDRESS)),
        'PUT /api/v1/account/addresses/{id}': dict(agent=lambda: w.c, body=lambda: dict(ACCOUNT_ADDRESS),
                                                   params=lambda: {'id': w.c_addr}, others={'id': lambda: w.b_addr}),
        'DELETE /api/v1/account/addresses/{id}': dict(agent=lambda: w.c, params=lambda: {'id': w.c_addr},
                                                      others={'id': lambda: w.b_addr}, prepare=w.new_address),
        'POST /api/v1/account/password/reset': dict(agent=lambda: w.lc, body=lambda: {
            'email': 'nobody-sweep@example.org'}),
        'POST /api/v1/account/password/reset/confirm': dict(agent=lambda: w.lc, body=lambda: {
            'token': 'A' * 43, 'password': PW}, baseline=(400, 400)),
        'GET /api/v1/admin/me': dict(agent=staff),
        'GET /api/v1/admin/csrf': dict(agent=staff),
        'GET /api/v1/admin/sessions': dict(agent=staff),
        # another member's session: the only one at hand (signing in again needs the next TOTP step)
        'DELETE /api/v1/admin/sessions/{id}': dict(agent=staff, params=lambda: {'id': w.other_session},
                                                   baseline=(404, 404)),
        'GET /api/v1/admin/tokens': dict(agent=staff),
        'POST /api/v1/admin/tokens': dict(agent=staff, body=lambda: {'name': 'sweep-token',
                                                                     'scopes': ['staff.read'], 'days': 1}),
        'DELETE /api/v1/admin/tokens/{id}': dict(agent=staff, params=lambda: {'id': w.spare_token},
                                                 prepare=w.new_spare_token),
        'POST /api/v1/admin/staff/{id}/reset-2fa': dict(agent=staff, params=lambda: {'id': w.other_id}),
        'POST /api/v1/admin/staff/{id}/sessions/revoke': dict(agent=staff, params=lambda: {'id': w.other_id}),
        'GET /api/v1/admin/token': dict(agent=lambda: w.webhook, headers=bearer, bearer=True),
        'GET /api/v1/admin/token/staff': dict(agent=lambda: w.webhook, headers=bearer, bearer=True),
    }


# ==== the sweep ====

class Sweep:
    def __init__(self, doc, tables, w):
        self.doc, self.tables, self.w = doc, tables, w
        self.requests = 0
        self.blocked = []  # the variants the WAF refused: sent again with it detecting only
        self.hit = {}  # op -> member paths attacked

    def fill(self, path, params):
        return re.sub(r'\{([^}]+)\}', lambda m: str(params.get(m.group(1), '')), path)

    def one(self, *args):
        """one_send(), the variant kept for later when the WAF refused it."""
        problems, blocked = self.one_send(*args)
        if blocked:
            self.blocked.append(args)
        return problems

    def one_send(self, key, spec, label, method, url, body, ctype, headers, exp, agent, csrf=True, creds=False):
        """Send one variant: (problems, blocked by the WAF).  Unless the
        variant is about the credentials (creds), a refusal for them means
        the sweep lost its context, and so proves nothing."""
        before = self.tables.take()
        agent.hostile = True
        try:
            st, hd, raw = send(agent, method, url, body, ctype if ctype is not None else 'application/json',
                                     headers, csrf=csrf)
        finally:
            agent.hostile = False
        self.requests += 1
        js = keep_token(agent, raw)  # a login variant taken: the new session's token
        code = err_code(js)
        what = '%s [%s]' % (label, key)
        if st == 0:
            return ['%s: no answer (%s)' % (what, raw[:100])], False
        if st >= 500:
            return ['%s: %d %s' % (what, st, raw[:200])], False
        if st < 400:  # taken: put back what the operation used up
            if spec.get('prepare'):
                spec['prepare']()
            if exp == REJECT:
                return ['%s: %d, expected a 4xx refusal: %s' % (what, st, raw[:200])], False
            return [], False
        problems = []
        if not creds and code in ('csrf_failed', 'unauthorized'):
            problems.append('%s: %d %s, a refusal of the credentials, not of the variant' % (what, st, code))
        if st >= 400:
            e = js.get('error') if isinstance(js, dict) else None
            if not (isinstance(e, dict) and isinstance(e.get('code'), str) and e['code'] and
                    isinstance(e.get('message'), str) and isinstance(e.get('request_id'), str) and
                    hd.get('content-type', '').startswith('application/json')):
                problems.append('%s: %d without the Error body: %r' % (what, st, raw[:200]))
            after = self.tables.take()
            bad = unexplained(self.tables.diff(before, after), spec)
            if bad:
                problems.append('%s: %d %s, yet wrote %r' % (what, st, code, bad))
        return problems, st == 403 and code == 'request_blocked'

    def run(self, key, spec):
        method, path = key.split(' ', 1)
        op = self.ops[key]
        agent = spec['agent']()
        schema = self.doc.body_schema(op)
        problems = []
        hit = self.hit.setdefault(key, set())
        if spec.get('prepare'):
            spec['prepare']()

        def params():
            return spec['params']() if spec.get('params') else {}

        def headers_for(body):
            return spec['headers'](body) if spec.get('headers') else {}

        def base_body():
            if schema is not None:
                return encode(spec['body']())
            return None if method == 'GET' else b''  # a write without a body: Content-Length: 0

        def attack(label, body, ctype, exp, p=None, query='', extra=None, csrf=True, who=None, creds=False):
            url = self.fill(path, p if p is not None else params()) + ('?' + query if query else '')
            if body == b'' and ctype is None:
                ctype = ''
            h = headers_for(body if body is not None else b'')
            h.update(extra or {})
            h = {k: v for k, v in h.items() if v is not None}
            problems.extend(self.one(key, spec, label, method, url, body, ctype, h, exp, who or agent, csrf, creds))

        # the body
        if schema is not None:
            variants = body_variants(self.doc, schema, spec['body']())
            for i in range(len(variants)):
                if spec.get('signed') and i:  # a new event id each time: no variant is a replay of another
                    variants = body_variants(self.doc, schema, spec['body']())
                label, b, ct, exp, member = variants[i]
                if member:
                    hit.add(member)
                if ct is not None and spec.get('signed'):
                    exp = ANY  # the signature vouches for the bytes, whatever the header says they are
                attack(label, b, ct, exp)  # ct '': no Content-Type at all
        else:
            # a read ignores a body up to the server's cap (1 MiB); a write that takes none refuses it
            attack('an oversized body', b'{"pad":"' + b'x' * OVERSIZE + b'"}', None, ANY if method == 'GET' else REJECT)
            attack('a card number in a body', json.dumps({'card': CARD, 'number': CARD}).encode(), None, ANY)
        # path, query and header parameters
        for label, change, exp in param_variants(self.doc, op):
            body = base_body()
            if 'path' in change:
                attack(label, body, None, exp, p=dict(params(), **change['path']))
            elif 'query' in change:
                attack(label, body, None, exp, query=change['query'])
            else:
                attack(label, body, None, exp, extra=change['header'])
        for name, other in (spec.get('others') or {}).items():
            body = base_body()
            attack('path %s of another owner' % name, body, None, REJECT, p=dict(params(), **{name: other()}))
        # credentials
        body = base_body()
        sec = [k for s in op.get('security', []) for k in s]
        if 'csrfCookie' in sec or ('customerSession' in sec and method != 'GET') or \
                ('staffSession' in sec and method != 'GET'):
            attack('no X-CSRF-Token', body, None, REJECT, csrf=False, creds=True)
            attack('a wrong X-CSRF-Token', body, None, REJECT, extra={'X-CSRF-Token': 'A' * 43}, creds=True)
            attack('a card number as X-CSRF-Token', body, None, REJECT, extra={'X-CSRF-Token': CARD}, creds=True)
        if 'customerSession' in sec or 'staffSession' in sec:
            attack('no session', body, None, REJECT, who=client(self.w.P), creds=True)
        if 'staffSession' in sec:
            attack("a customer's session", body, None, REJECT, who=self.w.c, creds=True)
        if 'customerSession' in sec:
            attack("a staff member's session", body, None, REJECT, who=self.w.owner, creds=True)
        if spec.get('bearer'):
            for label, v in [('no token', None), ('an unknown token', 'Bearer sfat_' + 'A' * 64),
                             ('a card number', 'Bearer ' + CARD), ('Basic', 'Basic YTpi'),
                             ('a long token', 'Bearer ' + 'A' * 5000), ('an empty token', 'Bearer ')]:
                attack('Authorization: %s' % label, body, None, REJECT, extra={'Authorization': v}, creds=True)
        if spec.get('signed'):
            for label, h in [('no signature', {'Storefort-Signature': None, 'Stripe-Signature': None}),
                             ('a forged signature', {'Storefort-Signature': 'v1=' + '0' * 64,
                                                     'Stripe-Signature': 't=%d,v1=%s' % (time.time(), '0' * 64)}),
                             ('a card number as signature', {'Storefort-Signature': CARD, 'Stripe-Signature': CARD})]:
                attack(label, body, None, REJECT, extra={k: v for k, v in h.items() if k in headers_for(body)
                                                       or v is None}, creds=True)
        # the valid request itself succeeds: the context was right, the refusals were the variants'
        body = base_body()
        st, hd, raw = send(agent, method, self.fill(path, params()), body, '' if body == b'' else 'application/json',
                           headers_for(body or b''))
        keep_token(agent, raw)
        lo, hi = spec.get('baseline', (200, 299))
        if not lo <= st <= hi:
            problems.append('the valid request [%s]: %d %s' % (key, st, raw[:200]))
        elif st < 300 and spec.get('prepare'):
            spec['prepare']()
        return problems


def route_rows():
    """(METHOD, pattern) of every row of src/api/routes.c (form_sweep_test
    takes its form routes from here too)."""
    with open(ROUTES_C, encoding='utf-8') as f:
        src = f.read()
    macro_method = {}
    for m in re.finditer(r'#define (\w+)\(([^)]*)\)\s*\\?\s*\{\s*("?\w+"?)\s*,', src):
        first = m.group(3)
        macro_method[m.group(1)] = first.strip('"') if first.startswith('"') else None
    out = set()
    for m in re.finditer(r'(?:(\w+)\(|\{)\s*(?:"([A-Z]+)"\s*,\s*)?"(/[^"]*)"', src):
        method = m.group(2) or macro_method.get(m.group(1) or '')
        out.add((method, m.group(3)))
    return out


def routes_in_source():
    """(METHOD, pattern) of every /api/v1 row of src/api/routes.c."""
    return {(m, p) for m, p in route_rows() if p.startswith('/api/v1')}


def sweep_all(sw, ops, phase):
    for key, spec in ops.items():
        if spec.get('phase', 'main') != phase:
            continue
        t0 = time.time()
        n0 = sw.requests
        problems = sw.run(key, spec)
        check('%s: %d hostile requests -> 4xx with an Error body, nothing half-written (%.1fs)'
              % (key, sw.requests - n0, time.time() - t0), not problems, '\n'.join(problems[:20]))


@contextlib.contextmanager
def data_dir(prefix, label):
    """A new temporary directory for one sweep, removed at the end
    (SF_KEEP_TMP=1 keeps it); a crash of the test itself is a failure, not
    a pass."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        yield tmp
    except Exception:
        import traceback
        check('%s ran to the end' % label, False, '\n'.join(traceback.format_exc().splitlines()[-20:]))
    finally:
        if os.environ.get('SF_KEEP_TMP'):
            print('# kept ' + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def demo(cli, tmp):
    """A data directory with the demo shop under tmp: (dir, config, database),
    or Nones when init failed."""
    d = os.path.join(tmp, 'dev')
    rc, out, err = cli.run('init', '--dir', d, '--demo', timeout=600)
    if not check('init --demo', rc == 0, (rc, err)):
        return None, None, None
    return d, os.path.join(d, 'storefort.ini'), os.path.join(d, 'db', 'storefort.db')


def closing_checks(cli, d, ini, label):
    """What a sweep ends with: no card number in any file of the data
    directory, every WAF event from a hostile request, the audit chain
    intact."""
    found = app_test.card_spots(d)
    check('no card number in any file of the data directory (logs, database, mail, media)', not found, found)
    check_waf_clean(d, label)
    rc, out, err = cli.run('--config', ini, 'audit', 'verify')
    check('audit trail intact after the %s' % label, rc == 0, (rc, out, err))


def stop(srv, label):
    """Stop the server: a clean exit, no sanitizer report, no card number in
    what it printed."""
    rc, out, err = srv.stop()
    check('serve (%s) stops cleanly' % label, rc == 0, err[-2000:])
    check('no sanitizer report from the server (%s)' % label,
          'runtime error' not in err and 'Sanitizer' not in err, err[-3000:])
    said = (out + err).encode()
    check('no card number in what the server printed (%s)' % label, not any(c in said for c in app_test.CARD_FORMS))


def stripe_phase(w, sw, ops, cli, ini, env, tmp):
    """The server again, with Stripe as the provider (a local stand-in for its
    API) and the WAF detecting only: the Stripe webhook's sweep, and every
    variant the WAF blocked before, now for the handlers to refuse."""
    state = {'calls': [], 'key': 'sk_test_' + 'k' * 24}
    stripe_api = start_stripe_api(state)
    keys = os.path.join(tmp, 'stripe')
    os.makedirs(keys, mode=0o700)
    for name, val in (('key', state['key']), ('whsec', WHSEC)):
        with open(os.path.join(keys, name), 'w') as f:
            f.write(val + '\n')
    srv = Server(cli, ini, env=dict(
        env, STOREFORT_WAF_MODE='detect', STOREFORT_PAYMENTS_PROVIDER='stripe',
        STOREFORT_PAYMENTS_STRIPE_SECRET_KEY_FILE=os.path.join(keys, 'key'),
        STOREFORT_PAYMENTS_STRIPE_WEBHOOK_SECRET_FILE=os.path.join(keys, 'whsec'),
        STOREFORT_PAYMENTS_STRIPE_API_BASE='http://127.0.0.1:%d' % stripe_api.server_address[1],
        STOREFORT_PAYMENTS_PUBLIC_BASE='https://shop.example'))
    try:
        w.P = srv.https
        for c in vars(w).values():
            if isinstance(c, Staff):
                c.port = srv.https
        oid = w.order(w.g)
        st, js = api(w.g, 'POST', '/api/v1/orders/%d/pay' % oid)
        sid = (js or {}).get('redirect_url', '').rsplit('/', 1)[-1]
        total, cur = w.q('SELECT total_minor, currency FROM orders WHERE id = ?', (oid,))[0]
        check('stripe: a pending order with a Checkout Session', st == 201 and sid.startswith('cs_test_'), (st, js))

        def stripe_event():
            return {'id': w.uniq('evt_sweep'), 'type': 'checkout.session.completed', 'data': {'object': {
                'id': sid, 'object': 'checkout.session', 'client_reference_id': str(oid), 'amount_total': total,
                'currency': cur.lower(), 'payment_status': 'paid', 'payment_intent': 'pi_sweep_0001'}}}
        w.stripe_event = stripe_event
        sweep_all(sw, ops, 'stripe')
        again, sw.blocked = sw.blocked, []
        problems = [p for args in again for p in sw.one_send(*args)[0]]
        check('the %d variants the WAF blocked, again with it only detecting: 4xx from the handlers, nothing '
              'half-written' % len(again), again and not problems, '\n'.join(problems[:20]))
    finally:
        stripe_api.shutdown()
        stop(srv, 'stripe, WAF detecting')


def cli_of_args():
    """The CLI of the binary named by --binary."""
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    return CLI(os.path.abspath(ap.parse_args().binary))


def main():
    cli = cli_of_args()
    t_start = time.time()
    doc = Doc()
    documented = {(m, p) for m, p, _ in doc.operations()}
    source = routes_in_source()
    check('src/api/routes.c: every /api/v1 route is in the OpenAPI document',
          len(source) >= 30 and not source - documented, sorted(source - documented) or len(source))
    with data_dir('sf-sweep-', 'sweep') as tmp:
        d, ini, db = demo(cli, tmp)
        if not d:
            return app_test.summary()
        secret = os.path.join(tmp, 'sandbox-secret')
        with open(secret, 'w') as f:
            f.write(SANDBOX_SECRET + '\n')
        env = {'STOREFORT_WAF_MODE': 'block', 'STOREFORT_RATELIMIT_ENABLED': 'off',
               'STOREFORT_BANS_FAILED_LOGINS': '1000', 'STOREFORT_PAYMENTS_SANDBOX_SECRET_FILE': secret}
        srv = Server(cli, ini, env=env)
        try:
            w = World(srv.https, cli, ini, d, db)
            ok, diag = w.setup()
            if not check('setup: guests with carts and orders, customers with addresses, staff, an API token', ok,
                         {k: v for k, v in diag.items() if not k.startswith('_')}):
                return app_test.summary()
            table = ops_table(w)
            swept = {tuple(k.split(' ', 1)) for k in table}
            check('every operation of the OpenAPI document is swept', not documented - swept,
                  sorted(documented - swept))
            sw = Sweep(doc, Tables(db), w)
            sw.ops = {'%s %s' % (m, p): op for m, p, op in doc.operations()}
            ops = {k: v for k, v in table.items() if k in sw.ops}
            sweep_all(sw, ops, 'main')
        finally:
            stop(srv, 'WAF blocking')
        stripe_phase(w, sw, ops, cli, ini, env, tmp)
        missing = []
        for m, p, op in doc.operations():
            schema = doc.body_schema(op)
            if schema is not None:
                want = {path for path, _ in doc.fields(schema)}
                missing += ['%s %s %s' % (m, p, '.'.join(x)) for x in want - sw.hit.get('%s %s' % (m, p), set())]
        check('every member of every request body was attacked (wrong types, oversize, card number)', not missing,
              missing)
        print('# %d operations, %d hostile requests in %.1fs' % (len(sw.ops), sw.requests, time.time() - t_start))
        closing_checks(cli, d, ini, 'sweep')
    return app_test.summary()


if __name__ == '__main__':
    sys.exit(main())
