#!/usr/bin/env python3
"""form_sweep_test.py — every HTML form route attacked, against the real
storefort binary over HTTPS with the WAF blocking (TAP output).

The routes come from src/api/routes.c: every POST row outside /api/ (the
storefront's cart and checkout, the customer account pages, the back office
and its way in).  The sweep fails when one of them has no entry in
forms_table() (a new form route cannot go unswept).  Each route is reached
in its own authentication context (a guest with a cart cookie, an anonymous
visitor with a pre-session, a signed-in customer, a staff member with the
owner role enrolled with TOTP and re-authenticated, staff part-way through
signing in), and its fields are read from the page that holds the form
(<form method=post action=...>: inputs, selects, textareas), so the field
list follows the templates.  The hostile variants:

  fields   each one missing, empty, duplicated (the second a card number
           too), 10,000 characters (and 100,000 where the body cap lets
           them through: the back office), a Luhn-valid card number (plain,
           spaced, dashed), a NUL; numeric ones as -1, 0, 2^63, 1e308, 1.5
           and text; a select outside its options; ids of another owner.
           The first field of each form also receives control characters,
           invalid UTF-8 (%C3%28, %FF), a lone surrogate as UTF-8 (%ED%A0%80),
           malformed percent-encoding (%ZZ, a trailing %): the form decoder
           refuses those before any handler runs, whichever field holds
           them, so one field per route shows that the route's body goes
           through it (and keeps the sweep's run time down)
  body     unknown fields, truncated, JSON, multipart (urlencoded for the
           upload), text/plain, no Content-Type, oversized
  path     ids non-numeric, negative, zero, huge, unknown, another owner's
  creds    the CSRF token missing, wrong or a card number; no session

A refused variant must get a 4xx and never a 5xx or a dropped connection:
the HTML forms answer a refusal by showing the form again with the error and
the error's own status (400 bad input, 401 a wrong password or code, 404 an
unknown object, 409 a state conflict, 413 too large, 415 not a form), or the
layer's error page with the same statuses; none of them redirects on a
refusal.  Around every refused request the SQLite tables are compared: a
refusal may only add WAF events and audit events of refusals, count a failed
login, and (the authenticator set-up) draw a new pending TOTP seed for the
page it shows again.  The valid request is then sent and must succeed.  The
server is restarted with the WAF detecting only, and every variant that the
WAF blocked is sent again for the handlers to refuse.  At the end: no card
number in any file of the data directory or in what the server printed, no
sanitizer report, every WAF event from a hostile request, the audit chain
intact.  SF_KEEP_TMP=1 keeps the data directory.
"""
import html as htmlmod
import json
import os
import re
import secrets
import sys
import time
import urllib.parse
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import app_test  # noqa: E402
from admin_test import PNG, multipart  # noqa: E402
from app_test import Server, check  # noqa: E402
from shop_test import ADDRESS  # noqa: E402
from staff_test import Codes, add_staff, totp  # noqa: E402
from sweep_test import (ACCOUNT_ADDRESS, ANY, ID_VARIANTS, PW, REJECT, SLUG_VARIANTS, Tables, World, api,  # noqa: E402
                        cli_of_args, client, closing_checks, data_dir, demo, route_rows, send, stop, unexplained)

LUHN = '4111111111111111'  # Luhn-valid, in every spelling app_test.card_spots looks for
CARDS = [('a card number', LUHN), ('a card number with spaces', '4111 1111 1111 1111'),
         ('a card number with dashes', '4111-1111-1111-1111')]
# Raw (already percent-encoded) values: the form decoder must refuse each.
RAW = [('a NUL', b'a%00b'), ('control characters', b'a%01%1Bb'), ('invalid UTF-8 %C3%28', b'a%C3%28'),
       ('invalid UTF-8 %FF', b'a%FF'), ('a lone surrogate as UTF-8', b'a%ED%A0%80'),
       ('malformed percent-encoding', b'a%ZZ'), ('a trailing %', b'a%')]
NUMBERS = [('-1', '-1'), ('0', '0'), ('2^63', '9223372036854775808'), ('1e308', '1e308'), ('1.5', '1.5'),
           ('text', 'abc')]
MONEY = {'price', 'value', 'rate', 'base', 'per_kg', 'free_above', 'min_order'}  # 0 and 1.5 are amounts too
NUMERIC = {'quantity', 'item_id', 'delta', 'price', 'amount', 'value', 'rate', 'base', 'per_kg', 'free_above',
           'min_order', 'max_uses', 'max_per_customer', 'pw_min_length', 'pw_max_age_days', 'category_id',
           'parent_id'}
# the path ids' variants of sweep_test that reach a form handler's own id parsing (the others are the router's)
ID_LABELS = {'non-numeric', 'negative', 'zero', 'huge', '2^63', 'NUL', 'a card number', 'unknown'}
OVERSIZE = 300000  # above every form route's body cap (256 KiB for the back office)
WAF_TEXT = (b'request_blocked', b'blocked by the web application firewall')
CSRF_TEXT = b'missing a valid CSRF token'


# ==== forms read from the pages ====

class FormParser(HTMLParser):
    """The <form method=post> elements of a page: action, enctype and
    fields ({name, tag, type, value, options, attrs})."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.form = self.select = self.textarea = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else '') for k, v in attrs}
        if tag == 'form' and a.get('method', '').lower() == 'post':
            self.form = {'action': a.get('action', ''), 'enctype': a.get('enctype', ''), 'fields': []}
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag in ('input', 'select', 'textarea') and a.get('name'):
            f = {'name': a['name'], 'tag': tag, 'type': a.get('type', 'text').lower(), 'attrs': a,
                 'value': a.get('value', ''), 'options': [], 'checked': 'checked' in a}
            self.form['fields'].append(f)
            if tag == 'select':
                self.select = f
                f['value'] = None
            if tag == 'textarea':
                self.textarea = f
                f['value'] = ''
        elif tag == 'option' and self.select is not None:
            self.select['options'].append(a.get('value', ''))
            if 'selected' in a or self.select['value'] is None:
                self.select['value'] = a.get('value', '')

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea['value'] += data

    def handle_endtag(self, tag):
        if tag == 'form':
            self.form = None
        elif tag == 'select':
            self.select = None
        elif tag == 'textarea':
            self.textarea = None


def forms_of(page):
    p = FormParser()
    p.feed(page.decode('utf-8', 'replace') if isinstance(page, bytes) else page)
    return p.forms


def pattern_re(pattern):
    return re.compile('^' + re.sub(r'\\\{(\w+)\\\}', r'(?P<\1>[^/?]+)', re.escape(pattern)) + '$')


def fill(pattern, params):
    return re.sub(r'\{(\w+)\}', lambda m: str(params[m.group(1)]), pattern)


def pairs_of(form):
    """The (name, value) pairs a browser would send for form as it stands."""
    out = []
    for f in form['fields']:
        if f['type'] in ('checkbox', 'radio') and not f['checked']:
            if f['type'] == 'radio' and not any(g['name'] == f['name'] for g in form['fields'] if g['checked']) \
                    and f['name'] not in [n for n, _ in out]:
                out.append((f['name'], f['value']))  # no radio checked: the first
            continue
        if f['type'] in ('file', 'submit', 'button'):
            continue
        out.append((f['name'], f['value'] or ''))
    return out


def encode(pairs):
    """A urlencoded body; a value given as bytes goes in as it is."""
    return b'&'.join(urllib.parse.quote_plus(k).encode() + b'=' +
                     (v if isinstance(v, bytes) else urllib.parse.quote_plus(v).encode()) for k, v in pairs)


def replace(pairs, name, value):
    """pairs with name's value changed; a field the form leaves out (a box
    not ticked) is added."""
    if name not in [k for k, _ in pairs]:
        return pairs + [(name, value)]
    return [(k, value if k == name else v) for k, v in pairs]


def said(page):
    """What a page says to the visitor, in short (for diagnostics)."""
    m = re.search(rb'role="alert"[^>]*>(.*?)</div>', page, re.S) or re.search(rb'<main[^>]*>(.*?)</main>', page, re.S)
    text = re.sub(rb'\s+', b' ', re.sub(rb'<[^>]+>', b' ', m.group(1) if m else page[:300]))
    return text.strip()[:240]


# ==== one route ====

class Route:
    """A form route in its context: spec is its forms_table() entry."""

    def __init__(self, key, spec):
        self.key, self.spec = key, spec
        self.pattern = key.split(' ', 1)[1]
        self.agent = self.page = self.form = None

    def open(self):
        """Set up the context and find the form; False when it is not there."""
        self.agent, self.page = self.spec['ctx']()
        cands = [f for f in forms_of(self.page) if pattern_re(self.pattern).match(f['action'].split('?')[0])]
        pick = self.spec.get('pick')
        if pick:
            cands = [f for f in cands if pick(f)]
        self.form = cands[0] if cands else None
        return self.form is not None

    @property
    def params(self):
        return pattern_re(self.pattern).match(self.form['action'].split('?')[0]).groupdict()

    def base(self, final=False):
        """The valid pairs: the form's, with the spec's values (a value
        None drops the field; callables are asked each time)."""
        pairs = pairs_of(self.form)
        vals = dict(self.spec.get('values', {}))
        if final:
            vals.update(self.spec.get('final', {}))
        names = [n for n, _ in pairs]
        for k, v in vals.items():
            v = v(self.page) if callable(v) else v
            if v is None:
                pairs = [(n, x) for n, x in pairs if n != k]
            elif k in names:
                pairs = replace(pairs, k, v)
            else:
                pairs.append((k, v))
        return pairs

    def fields(self):
        seen = []
        for f in self.form['fields']:
            if f['name'] not in [g['name'] for g in seen] and f['type'] not in ('submit', 'button') \
                    and f['name'] != 'csrf_token':
                seen.append(f)
        return seen

    def required(self, f):
        if f['name'] in self.spec.get('optional', ()):
            return False
        return 'required' in f['attrs'] or f['type'] == 'hidden'

    def expect(self, f, label, value=None):
        """REJECT, or ANY for a value the field takes by design: the spec's
        ok, an option of a select, an amount (0, 1.5) of a money field, text
        up to the field's maxlength, any value of a checkbox (a box is
        ticked by "1"; anything else is a box left unticked)."""
        n = f['name']
        if label in self.spec.get('ok', {}).get(n, ()) or f['type'] == 'checkbox':
            return ANY
        if value is not None and value in f['options']:
            return ANY
        if n in MONEY and label in ('0', '1.5') and n not in self.spec.get('strict', ()):
            return ANY
        mx = f['attrs'].get('maxlength')
        if label.endswith(' characters') and mx and int(mx) >= int(label.split()[0]):
            return ANY
        return REJECT

    def variants(self):
        """(label, builder, expectation, creds): a builder makes (url,
        body, Content-Type, agent) from the route's current form, so that
        the variants after a context that had to be set up again use it."""
        out = []
        upload = self.form['enctype'] == 'multipart/form-data'

        def form_body(change, ctype='application/x-www-form-urlencoded'):
            def build():
                return self.url(), encode(change(self.base())), ctype, None
            return build

        for i, f in enumerate(self.fields()):
            n = f['name']
            if f['type'] == 'file':
                continue
            miss = REJECT if self.required(f) and f['type'] != 'checkbox' else ANY
            if f['type'] == 'checkbox' and [g for g in self.fields() if g['type'] == 'checkbox'].index(f) >= 2:
                continue  # a form of many boxes: two of them stand for the rest
            out.append(('%s missing' % n, form_body(lambda p, n=n: [(k, v) for k, v in p if k != n]), miss, False))
            out.append(('%s empty' % n, form_body(lambda p, n=n: replace(p, n, '')), miss, False))
            out.append(('%s duplicated' % n, form_body(lambda p, n=n: p + [(k, v) for k, v in p if k == n]), ANY,
                        False))
            out.append(('%s duplicated, the second a card number' % n,
                        form_body(lambda p, n=n: p + [(n, LUHN)]), ANY, False))
            for size in (10000, 100000) if self.spec.get('big') else (10000,):
                label = '%d characters' % size
                out.append(('%s %s' % (n, label), form_body(lambda p, n=n, s=size: replace(p, n, 'x' * s)),
                            self.expect(f, label), False))
            for label, v in CARDS:
                out.append(('%s %s' % (n, label), form_body(lambda p, n=n, v=v: replace(p, n, v)),
                            self.expect(f, 'a card number'), False))
            for label, raw in RAW if i == 0 else RAW[:1]:
                out.append(('%s %s' % (n, label), form_body(lambda p, n=n, r=raw: replace(p, n, r)), REJECT, False))
            if n in NUMERIC or f['attrs'].get('inputmode') in ('numeric', 'decimal') or f['type'] == 'number':
                for label, v in NUMBERS:
                    out.append(('%s as %s' % (n, label), form_body(lambda p, n=n, v=v: replace(p, n, v)),
                                self.expect(f, label, v), False))
            if (f['tag'] == 'select' or f['type'] == 'radio') and n not in self.spec.get('loose', ()):
                out.append(('%s outside its options' % n, form_body(lambda p, n=n: replace(p, n, 'zz-no-option')),
                            REJECT, False))
        for n, other in self.spec.get('other_fields', {}).items():
            out.append(("%s another owner's" % n, form_body(lambda p, n=n, o=other: replace(p, n, str(o()))),
                        REJECT, False))
        # the body as a whole
        if upload:
            out += self.upload_variants()
        else:
            def whole(change, ctype):
                def build():
                    url, body, _, _ = form_body(lambda p: p)()
                    return url, change(body), ctype, None
                return build
            out.append(('unknown fields', form_body(lambda p: p + [('zz_unknown', '1'), ('is_admin', '1'),
                                                                  ('role', 'owner'), ('price', '0')]), ANY, False))
            # the CSRF token is in the body: a body cut short or not a form loses it too
            out.append(('the body truncated', whole(lambda b: b[:len(b) // 2], 'application/x-www-form-urlencoded'),
                        REJECT, True))
            out.append(('the body as JSON', lambda: (self.url(), json.dumps(dict(self.base())).encode(),
                                                     'application/json', None), REJECT, True))
            out.append(('the body as multipart', lambda: (self.url(),) + multipart(dict(self.base()), {}) + (None,),
                        ANY, False))
            out.append(('text/plain', whole(lambda b: b, 'text/plain'), REJECT, True))
            out.append(('no Content-Type', whole(lambda b: b, ''), REJECT, True))
            out.append(('an oversized body', whole(lambda b: b + b'&pad=' + b'x' * OVERSIZE,
                                                   'application/x-www-form-urlencoded'), REJECT, False))
        # path parameters
        for name in pattern_re(self.pattern).groupindex:
            vs = SLUG_VARIANTS if name == 'session' else [v for v in ID_VARIANTS if v[0] in ID_LABELS]
            for label, v, exp in vs:
                out.append(('path %s %s' % (name, label), self.with_path(name, lambda v=v: v), exp, False))
            other = self.spec.get('others', {}).get(name)
            if other:
                out.append(("path %s another owner's" % name, self.with_path(name, other), REJECT, False))
        # credentials
        out.append(('no csrf_token', form_body(lambda p: [(k, v) for k, v in p if k != 'csrf_token']), REJECT, True))
        out.append(('a wrong csrf_token', form_body(lambda p: replace(p, 'csrf_token', 'A' * 43)), REJECT, True))
        out.append(('a card number as csrf_token', form_body(lambda p: replace(p, 'csrf_token', LUHN)), REJECT,
                    True))
        if self.spec.get('session'):
            def nobody():
                url, body, ct, _ = form_body(lambda p: p)()
                return url, body, ct, client(self.agent.port)
            out.append(('no session', nobody, REJECT, True))
        if upload:
            # the upload's own checks see the body as multipart: rebuild those credentials variants
            out = [v for v in out if not v[0].endswith('csrf_token') and v[0] != 'no session'] + \
                self.upload_creds()
        return out

    def url(self):
        return self.form['action']

    def with_path(self, name, value):
        def build():
            p = dict(self.params)
            p[name] = value()
            url = fill(self.pattern, p)
            if self.form['enctype'] == 'multipart/form-data':
                return (url,) + self.upload_body() + (None,)
            return url, encode(self.base()), 'application/x-www-form-urlencoded', None
        return build

    # ---- the product image upload (multipart) ----

    def upload_body(self, fields=None, files=None):
        f = dict(self.base()) if fields is None else fields
        return multipart(f, {'image': ('sweep.png', 'image/png', PNG)} if files is None else files)

    def upload_variants(self):
        def up(fields=None, files=None, ctype=None, mangle=None):
            def build():
                body, ct = self.upload_body(fields() if callable(fields) else fields, files)
                return self.url(), mangle(body) if mangle else body, ctype if ctype is not None else ct, None
            return build
        tok = lambda: dict(self.base())  # noqa: E731
        return [
            ('no file', up(files={}), REJECT, False),
            ('an empty file', up(files={'image': ('x.png', 'image/png', b'')}), REJECT, False),
            ('HTML declared as PNG', up(files={'image': ('x.png', 'image/png', b'<html><script>1</script>')}),
             REJECT, False),
            ('a card number as the file', up(files={'image': ('x.png', 'image/png', LUHN.encode())}), REJECT, False),
            ('a card number as the file name', up(files={'image': (LUHN + '.png', 'image/png', PNG)}), ANY, False),
            ('a truncated PNG', up(files={'image': ('x.png', 'image/png', PNG[:20])}), REJECT, False),
            ('a file over the cap', up(files={'image': ('x.png', 'image/png', PNG + b'\0' * (3 * 1024 * 1024))}),
             REJECT, False),
            ('the file twice', up(mangle=twice), ANY, False),
            ('unknown fields', up(fields=lambda: dict(tok(), zz_unknown='1', is_admin='1')), ANY, False),
            ('urlencoded instead of multipart', lambda: (self.url(), encode(self.base()),
                                                         'application/x-www-form-urlencoded', None), REJECT, False),
            ('multipart without a boundary', up(ctype='multipart/form-data'), REJECT, True),
            ('the body truncated', up(mangle=lambda b: b[:len(b) // 2]), REJECT, True),
            ('the closing boundary missing', up(mangle=lambda b: b[:b.rindex(b'--sfboundary')]), REJECT, True),
            ('text/plain', up(ctype='text/plain'), REJECT, True),
        ]

    def upload_creds(self):
        def up(fields, agent=None):
            def build():
                body, ct = self.upload_body(fields())
                return self.url(), body, ct, agent() if agent else None
            return build
        base = lambda: dict(self.base())  # noqa: E731
        return [('no csrf_token', up(lambda: {k: v for k, v in base().items() if k != 'csrf_token'}), REJECT, True),
                ('a wrong csrf_token', up(lambda: dict(base(), csrf_token='A' * 43)), REJECT, True),
                ('a card number as csrf_token', up(lambda: dict(base(), csrf_token=LUHN)), REJECT, True),
                ('no session', up(base, lambda: client(self.agent.port)), REJECT, True)]

    def final(self):
        """The valid request: (url, body, Content-Type)."""
        if self.form['enctype'] == 'multipart/form-data':
            return (self.url(),) + self.upload_body(dict(self.base(final=True)))
        return self.url(), encode(self.base(final=True)), 'application/x-www-form-urlencoded'


def twice(body):
    """A multipart body with its image part sent a second time."""
    start = body.index(b'Content-Disposition: form-data; name="image"')
    start = body.rindex(b'--', 0, start)
    end = body.rindex(b'--', 0, len(body) - 4)  # the closing boundary
    return body[:end] + body[start:end] + body[end:]


# ==== the sweep ====

class FormSweep:
    def __init__(self, tables):
        self.tables = tables
        self.requests = 0
        self.t_send = self.t_tables = 0.0
        self.accepted = {}  # route key -> the variants taken (valid by design)
        self.refused = {}  # route key -> {status: how many refusals}
        self.blocked = {}  # route key -> labels the WAF refused

    def one(self, route, label, build, exp, creds):
        """Send one variant: (problems, accepted, blocked by the WAF)."""
        url, body, ctype, who = build()
        agent = who or route.agent
        t0 = time.time()
        before = self.tables.take()
        t1 = time.time()
        agent.hostile = True
        try:
            st, hd, raw = send(agent, 'POST', url, body, ctype, csrf=False)
        finally:
            agent.hostile = False
        self.t_tables += t1 - t0
        self.t_send += time.time() - t1
        self.requests += 1
        what = '%s [%s]' % (label, route.key)
        if st == 0:
            return ['%s: no answer (%s)' % (what, raw[:100])], False, False
        if st >= 500:
            return ['%s: %d %s' % (what, st, raw[:300])], False, False
        if st < 400:
            if exp == REJECT:
                return ['%s: %d %s, expected a 4xx refusal' % (what, st, hd.get('location') or said(raw))], True, False
            self.accepted.setdefault(route.key, []).append(label)
            return [], True, False
        self.refused.setdefault(route.key, {}).setdefault(st, 0)
        self.refused[route.key][st] += 1
        problems = []
        if not creds and CSRF_TEXT in raw:
            problems.append('%s: %d, a refusal of the CSRF token, not of the variant' % (what, st))
        t0 = time.time()
        bad = unexplained(self.tables.diff(before, self.tables.take()), route.spec)
        self.t_tables += time.time() - t0
        if bad:
            problems.append('%s: %d, yet wrote %r' % (what, st, bad))
        return problems, False, st == 403 and any(t in raw for t in WAF_TEXT)

    def run(self, key, spec, only=None):
        route = Route(key, spec)
        if not route.open():
            return ['[%s] no form for it on the page: %r' % (key, said(route.page))]
        problems = []
        for label, build, exp, creds in route.variants():
            if only is not None and label not in only:
                continue
            p, accepted, blocked = self.one(route, label, build, exp, creds)
            problems += p
            if blocked:
                self.blocked.setdefault(key, set()).add(label)
            if accepted and (spec.get('taken') or spec.get('reset')):
                (spec.get('taken') or spec['reset'])()
            if accepted and not route.open():  # the variant was taken: the context afresh
                problems.append('[%s] no form after %s' % (key, label))
                break
        if only is not None or route.form is None:
            return problems
        # the valid request succeeds: the refusals were the variants', not a lost context's
        if spec.get('reset'):
            spec['reset']()
        if spec.get('fresh_final'):
            route.open()
        url, body, ctype = route.final()
        st, hd, raw = send(route.agent, 'POST', url, body, ctype, csrf=False)
        lo, hi = spec.get('baseline', (303, 303))
        if not lo <= st <= hi:
            problems.append('the valid request [%s]: %d %s' % (key, st, hd.get('location') or said(raw)))
        if spec.get('after'):
            spec['after']()
        return problems


def sweep_all(fs, table, only=None):
    for key, spec in table.items():
        if only is not None and key not in only:
            continue
        t0, n0 = time.time(), fs.requests
        problems = fs.run(key, spec, None if only is None else only[key])
        check('%s: %d hostile requests -> 4xx, nothing half-written%s (%.1fs)'
              % (key, fs.requests - n0, '' if only is not None else ', the valid one taken', time.time() - t0),
              not problems, '\n'.join(problems[:25]))


# ==== the contexts ====

def get(agent, path):
    st, hd, body = send(agent, 'GET', path)
    return body


def post_form(agent, path, fields):
    """Submit a form of page (fields without the token): the body answered."""
    return send(agent, 'POST', path, encode(list(fields.items())), 'application/x-www-form-urlencoded',
                csrf=False)


def token_of(page):
    m = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    return htmlmod.unescape(m.group(1).decode()) if m else ''


def submit(agent, page_path, action, fields):
    page = get(agent, page_path)
    return post_form(agent, action, dict(fields, csrf_token=token_of(page)))


class Forms:
    """The actors and objects of the form sweep, beyond World's."""

    def __init__(self, w):
        self.w = w
        self.n = 0

    def uniq(self, what):
        return self.w.uniq(what)

    def staff_login(self, email, password=PW):
        """A browser signed in with the password only (stage totp)."""
        b = client(self.w.P)
        st, hd, body = submit(b, '/admin/login', '/admin/login', {'email': email, 'password': password})
        return b if st == 303 else None

    def enrolled(self, role, email=None):
        """A staff member through enrollment and TOTP set-up: (email, browser with .codes)."""
        email = email or self.uniq('form-sweep-staff') + '@example.com'
        b = self.enroll_password(role, email)
        page = get(b, '/admin/2fa/setup')  # each showing draws a new key: its own token goes with it
        b.codes = Codes(key_of(page))
        post_form(b, '/admin/2fa/setup', {'code': b.codes.next(), 'csrf_token': token_of(page)})
        b.email = email
        return email, b

    def enroll_password(self, role, email):
        """A browser through the password step of enrollment (stage enroll)."""
        rc, link, out = add_staff(self.w.cli, self.w.ini, email, role)
        b = client(self.w.P)
        page = get(b, link)
        tok = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)['token'][0]
        post_form(b, '/admin/enroll', {'token': tok, 'password': PW, 'password_again': PW,
                                       'csrf_token': token_of(page)})
        return b

    def prune_addresses(self):
        """The swept customer back to the address it had (variants taken
        may have added some, up to the account's limit)."""
        st, js = api(self.w.c, 'GET', '/api/v1/account/addresses')
        for a in (js or {}).get('items', js if isinstance(js, list) else []):
            if a.get('id') != self.w.c_addr:
                api(self.w.c, 'DELETE', '/api/v1/account/addresses/%d' % a['id'])

    def enroll_link(self):
        rc, link, out = add_staff(self.w.cli, self.w.ini, self.uniq('form-sweep-new') + '@example.com', 'analyst')
        return link

    def paid_order(self):
        """An order of the second guest, paid through the sandbox's page."""
        w = self.w
        oid = w.order(w.h)
        st, hd, body = submit(w.h, '/orders/%d' % oid, '/orders/%d/pay' % oid, {})
        sess = hd.get('location', '').rsplit('/', 1)[-1]
        submit(w.h, '/sandbox-pay/' + sess, '/sandbox-pay/' + sess, {'decision': 'approve'})
        self.settle(oid)
        return oid

    def settle(self, oid):
        """Wait until the provider's word on order oid has come in (its
        notification is handled in the background, and writes)."""
        for _ in range(200):
            if self.w.q('SELECT status FROM orders WHERE id = ?', (oid,))[0][0] != 'pending_payment':
                return
            time.sleep(0.05)


def new_password():
    """A strong password that shares nothing with the account's address."""
    return 'Qz7-' + secrets.token_urlsafe(15)


def key_of(page):
    m = re.search(rb'<code class="adm-key">([A-Z2-7 ]+)</code>', page)
    return m.group(1).decode().replace(' ', '') if m else ''


def forms_table(w, f):
    """How to reach each form route, as {"POST path": spec}; spec's keys:
      ctx          () -> (agent, page holding the form), called afresh after
                   a variant that was taken
      pick         which of the page's forms (a predicate), else the first
      values       valid values over the page's ({name: value, callable of
                   the page, or None to leave out}); final: for the valid
                   request only (a TOTP code), fresh_final: its page anew
      baseline     the valid request's status range (default 303)
      optional     fields whose absence or emptiness is valid
      ok           {field: variant labels valid by design}; loose: selects
                   that take any value; strict: money fields where 0 and
                   1.5 are not amounts to take
      others       {path parameter: another owner's id}; other_fields: the
                   same for form fields
      session      a signed-in context (the "no session" variant)
      big          the back office's body cap: 100,000 characters too
      may, reads,  what a refusal may write (sweep_test.unexplained)
      login
      taken        run after a variant was taken; reset: that, and before
                   the valid request; after: after the valid request"""
    sku = w.sku

    def guest(path):
        def ctx():
            w.g_item_now()
            return w.g, get(w.g, path() if callable(path) else path)
        return ctx

    def checkout_page(step):
        def ctx():
            w.g_item_now()
            page = get(w.g, '/checkout')
            addr = dict(ADDRESS, email='sweep@example.org', csrf_token=token_of(page))
            st, hd, page = post_form(w.g, '/checkout/shipping', addr)
            if step == 'place':
                st, hd, page = post_form(w.g, '/checkout/review', dict(addr, shipping_method='standard',
                                                                       csrf_token=token_of(page)))
            return w.g, page
        return ctx

    def anon(path):
        def ctx():
            a = client(w.P)
            return a, get(a, path)
        return ctx

    def customer(c, path, relogin=False):
        def ctx():
            if relogin:
                st, js = api(c, 'GET', '/api/v1/account/me')
                if st == 401:
                    api(c, 'GET', '/api/v1/account/csrf')
                    api(c, 'POST', '/api/v1/account/login', {'email': c.email, 'password': PW})
            return c, get(c, path() if callable(path) else path)
        return ctx

    def owner(path):
        def ctx():
            return w.owner, get(w.owner, path() if callable(path) else path)
        return ctx

    def sandbox():
        oid = w.sandbox_order = w.order(w.g)
        w.fill_cart(w.g)
        st, hd, body = submit(w.g, '/orders/%d' % oid, '/orders/%d/pay' % oid, {})
        return w.g, get(w.g, urllib.parse.urlparse(hd.get('location', '/')).path)

    def enroll_ctx():
        a = client(w.P)
        return a, get(a, f.enroll_link())

    def code_ctx():
        b = f.staff_login(w.code_staff.email)
        return b, get(b, '/admin/login/code')

    def totp_ctx():
        b = f.enroll_password('analyst', f.uniq('form-sweep-totp') + '@example.com')
        return b, get(b, '/admin/2fa/setup')

    def logout_ctx():
        b = f.staff_login(w.logout_email)
        return b, get(b, '/admin/login/code')

    def second_session():
        f.staff_login(w.owner_email)
        return w.owner, get(w.owner, '/admin/sessions')

    def password_ctx():
        return w.pw_staff, get(w.pw_staff, '/admin/password')

    def password_done():
        w.pw_current, w.pw_next = w.pw_next, new_password()

    def new_order():
        oid = w.order(w.h)
        w.fill_cart(w.h)
        return w.owner, get(w.owner, '/admin/orders/%d' % oid)

    def fulfilled():
        oid = f.paid_order()
        submit(w.owner, '/admin/orders/%d' % oid, '/admin/orders/%d/transition' % oid, {'to': 'fulfilled'})
        return w.owner, get(w.owner, '/admin/orders/%d' % oid)

    def paid(path):
        def ctx():
            return w.owner, get(w.owner, path % f.paid_order())
        return ctx

    shop = dict(baseline=(303, 303))
    staff = dict(session=True, big=True)  # the back office's body cap (256 KiB) lets 100,000 characters through
    login_may = {'staff': {'failed_logins', 'locked_until', 'updated_at'},
                 'staff_login_ip': {'failures', 'window_start', '+rows'}}
    uniq_name = lambda what, at='': lambda page: f.uniq(what) + at  # noqa: E731
    return {
        # ---- cart, checkout, payment (a guest with a cart cookie) ----
        'POST /cart/add': dict(shop, ctx=guest('/cart/add?sku=%s&quantity=1' % sku)),
        'POST /cart/update': dict(shop, ctx=guest('/cart'), other_fields={'item_id': lambda: w.h_item},
                                  ok={'quantity': {'0'}}, values={'quantity': '1'}),
        'POST /cart/remove': dict(shop, ctx=guest('/cart'), other_fields={'item_id': lambda: w.h_item}),
        'POST /cart/coupon': dict(shop, ctx=guest('/cart')),
        'POST /checkout/shipping': dict(ctx=guest('/checkout'), baseline=(200, 200), values=dict(
            ADDRESS, email='sweep@example.org'), optional={'phone'}),
        'POST /checkout/review': dict(ctx=checkout_page('review'), baseline=(200, 200), optional={'phone'}),
        # the idempotency key is kept only as a BLAKE2b hash (orders.idem_key_hash) and never shown: any
        # visible ASCII is a key, and refusing card-like ones would refuse numeric keys (timestamps) by chance
        'POST /checkout/place': dict(shop, ctx=checkout_page('place'), optional={'phone'},
                                     ok={'idempotency_key': {'a card number'}}),
        'POST /orders/{id}/pay': dict(shop, ctx=guest(lambda: '/orders/%d' % w.g_order),
                                      others={'id': lambda: w.h_order}),
        'POST /sandbox-pay/{session}': dict(shop, ctx=sandbox, after=lambda: f.settle(w.sandbox_order),
                                            taken=lambda: f.settle(w.sandbox_order), pick=lambda fm: ('decision', 'approve') in
                                            pairs_of(fm)),
        # ---- customer accounts: anonymous forms ----
        'POST /account/register': dict(ctx=anon('/account/register'), baseline=(200, 200), optional={'name'},
                                       values={'email': uniq_name('form-sweep-reg', '@example.org'), 'password': PW,
                                               'name': 'Form Sweep'}),
        'POST /account/verify': dict(ctx=anon('/account/verify?token=' + 'A' * 43), baseline=(400, 400)),
        'POST /account/login': dict(ctx=anon('/account/login'), login=True,
                                    values={'email': lambda p: w.lc.email, 'password': PW}),
        'POST /account/forgot': dict(ctx=anon('/account/forgot'), baseline=(200, 200),
                                     values={'email': 'nobody-form-sweep@example.org'}),
        'POST /account/reset': dict(ctx=anon('/account/reset?token=' + 'A' * 43), baseline=(400, 400),
                                    values={'password': PW}),
        # ---- customer accounts: signed in ----
        'POST /account/logout': dict(shop, session=True, ctx=customer(w.lo, '/account', relogin=True)),
        'POST /account/profile': dict(shop, session=True, ctx=customer(w.c, '/account'), reads={'customer.read'},
                                      optional={'name', 'phone', 'birth_date'},
                                      values={'name': 'Ada Sweep', 'phone': '+33 1 23 45 67 89',
                                              'birth_date': '1990-12-10'}),
        'POST /account/addresses': dict(shop, session=True, ctx=customer(w.c, '/account/addresses/new'),
                                        reset=f.prune_addresses,
                                        values=dict(ACCOUNT_ADDRESS), optional={'line2', 'phone'}),
        'POST /account/addresses/{id}': dict(shop, session=True, optional={'line2', 'phone'},
                                             ctx=customer(w.c, lambda: '/account/addresses/%d/edit' % w.c_addr),
                                             others={'id': lambda: w.b_addr}),
        'POST /account/addresses/{id}/delete': dict(shop, session=True, ctx=customer(w.c, '/account'),
                                                    others={'id': lambda: w.b_addr}, reset=w.new_address),
        # ---- the way into the back office ----
        'POST /admin/login': dict(ctx=anon('/admin/login'), may=login_may,
                                  values={'email': lambda p: w.login_email, 'password': PW}),
        'POST /admin/enroll': dict(ctx=enroll_ctx, values={'password': PW, 'password_again': PW}),
        'POST /admin/login/code': dict(ctx=code_ctx, may=login_may, values={'code': '000000'},
                                       final={'code': lambda p: w.code_staff.codes.next()}),
        'POST /admin/2fa/setup': dict(ctx=totp_ctx, baseline=(200, 200), values={'code': '000000'},
                                      may=dict(login_may, staff=login_may['staff'] | {'totp_pending'}),
                                      fresh_final=True,
                                      final={'code': lambda p: totp(key_of(p), int(time.time()) // 30)}),
        'POST /admin/password': dict(staff, ctx=password_ctx, may=login_may, taken=password_done, after=password_done,
                                     values={
            'current_password': lambda p: w.pw_current, 'new_password': lambda p: w.pw_next,
            'new_password_again': lambda p: w.pw_next}),
        'POST /admin/logout': dict(ctx=logout_ctx, session=True),
        'POST /admin/reauth': dict(staff, ctx=owner('/admin/reauth?next=/admin'), may=login_may,
                                   values={'password': PW, 'code': '000000'},
                                   final={'code': lambda p: w.owner.codes.next()}),
        'POST /admin/sessions/revoke-others': dict(staff, ctx=second_session),
        'POST /admin/sessions/{id}/revoke': dict(staff, ctx=second_session,
                                                 others={'id': lambda: w.other_session}),
        'POST /admin/staff/{id}/reset-2fa': dict(staff, ctx=owner(lambda: '/admin/staff/%d' % w.other_id)),
        'POST /admin/staff/{id}/sessions/revoke': dict(staff, ctx=owner(lambda: '/admin/staff/%d' % w.other_id)),
        # ---- back office ----
        # the filters of a report or of the audit trail: each may be left out
        'POST /admin/reports/export': dict(staff, ctx=owner('/admin/reports'), baseline=(200, 200),
                                           optional={'from', 'to', 'period', 'currency'}),
        'POST /admin/audit/export': dict(staff, ctx=owner('/admin/audit'), baseline=(200, 200),
                                         optional={'actor', 'action', 'object', 'from', 'to', 'outcome'}),
        'POST /admin/orders/{id}/transition': dict(staff, ctx=new_order, reads={'order.read'}),
        'POST /admin/orders/{id}/refund': dict(staff, ctx=paid('/admin/orders/%d'),
                                               values={'amount': '0.01', 'reason': 'form sweep'}, ok={'amount': {'1.5'}},
                                               strict={'amount'},
                                               reads={'order.read'}),
        'POST /admin/orders/{id}/ship': dict(staff, ctx=fulfilled,
                                             values={'carrier': 'DHL', 'tracking': 'SWEEP123'}, reads={'order.read'}),
        'POST /admin/customers/{id}/reveal': dict(staff, ctx=owner(lambda: '/admin/customers/%d' % w.c_id),
                                                  baseline=(200, 200), values={'reason': 'form sweep ticket'}),
        'POST /admin/products': dict(staff, ctx=owner('/admin/products/new'), values={
            'slug': uniq_name('form-sweep-product'), 'name': 'Form Sweep Product', 'description': 'Sweep',
            'status': 'draft'}),
        'POST /admin/products/{id}': dict(staff, ctx=owner(lambda: '/admin/products/%d' % w.pid)),
        'POST /admin/products/{id}/image': dict(staff, ctx=owner(lambda: '/admin/products/%d' % w.pid)),
        'POST /admin/products/{id}/variants': dict(staff, ctx=owner(lambda: '/admin/products/%d' % w.pid), values={
            'sku': uniq_name('FS-SKU'), 'name': 'Sweep variant', 'price': '9.99', 'currency': 'EUR'}),
        'POST /admin/products/{id}/variants/{vid}': dict(staff, ctx=owner(lambda: '/admin/products/%d' % w.pid)),
        'POST /admin/products/{id}/variants/{vid}/stock': dict(staff, ctx=owner(lambda: '/admin/products/%d' % w.pid),
                                                               values={'delta': '1', 'reason': 'form sweep'},
                                                               ok={'delta': {'-1'}}),
        'POST /admin/categories': dict(staff, ctx=owner('/admin/categories'), values={
            'name': uniq_name('Sweep category')}),
        'POST /admin/categories/{id}': dict(staff, ctx=owner('/admin/categories')),
        'POST /admin/coupons': dict(staff, ctx=owner('/admin/coupons'), values={
            'code': uniq_name('SWEEP'), 'value': '5'},
            # a percent coupon has no currency: the field is not read
            # limits of 0 are no limits
            ok={'currency': {'10000 characters', '100000 characters', 'a card number'}, 'max_uses': {'0'},
                'max_per_customer': {'0'}}),
        'POST /admin/coupons/{id}/active': dict(staff, ctx=owner('/admin/coupons')),
        # active: "1" switches the method on, any other value (or none) off, like a checkbox
        'POST /admin/shipping/{id}': dict(staff, ctx=owner('/admin/shipping'), values={'active': '1'}, ok={'active': {
            '10000 characters', '100000 characters', 'a card number', '-1', '0', '2^63', '1e308', '1.5', 'text'}},
            optional={'active'}, loose={'active'}),
        'POST /admin/tax': dict(staff, ctx=owner('/admin/tax'), values={'class': 'sweep', 'label': 'Sweep',
                                                                         'rate': '20'}),
        # the name may be left out (an account's name defaults to ""); a new account's page answers 201
        'POST /admin/staff': dict(staff, ctx=owner('/admin/staff'), pick=lambda fm: fm['action'] == '/admin/staff',
                                  optional={'name'}, baseline=(201, 201),
                                  values={'email': lambda p: f.uniq('form-sweep-add') + '@example.com',
                                          'name': 'Sweep Person', 'role_analyst': '1'}),
        'POST /admin/staff/{id}/roles': dict(staff, ctx=owner(lambda: '/admin/staff/%d' % w.other_id)),
        'POST /admin/staff/{id}/active': dict(staff, ctx=owner(lambda: '/admin/staff/%d' % w.other_id)),
        'POST /admin/staff/{id}/access': dict(staff, ctx=owner(lambda: '/admin/staff/%d' % w.other_id)),
        'POST /admin/roles': dict(staff, ctx=owner('/admin/staff'), pick=lambda fm: fm['action'] == '/admin/roles',
                                  values={'name': lambda p: 'sweep_%d' % (int(time.time() * 1000) % 10 ** 9),
                                          'p_orders.read': '1'},
                                  ok={'pw_min_length': {'0'}, 'pw_max_age_days': {'0'}}),  # 0: the default
    }


def setup(w, f):
    """World's actors, and the form sweep's own: customers, staff part-way
    signed in, a product of the sweep's, the owner re-authenticated."""
    ok, diag = w.setup()
    w.owner_email = 'owner-sweep@example.com'
    w.owner.email = w.owner_email
    w.lo = w.customer('sweep-logout@example.org')
    st, js = api(w.c, 'GET', '/api/v1/account/me')
    w.c_id = (js or {}).get('id')
    w.login_email, _ = f.enrolled('analyst')
    email, w.code_staff = f.enrolled('analyst')
    w.code_staff.email = email
    w.logout_email, _ = f.enrolled('analyst')
    _, w.pw_staff = f.enrolled('analyst')
    w.pw_current, w.pw_next = PW, new_password()
    st, hd, body = submit(w.owner, '/admin/reauth?next=/admin', '/admin/reauth',
                          {'password': PW, 'code': w.owner.codes.next(), 'next': '/admin'})
    fresh = st == 303
    st, hd, body = submit(w.owner, '/admin/products/new', '/admin/products', {
        'slug': 'form-sweep-mug', 'name': 'Form Sweep Mug', 'description': 'Tea', 'status': 'draft'})
    w.pid = w.q("SELECT id FROM products WHERE slug = 'form-sweep-mug'")[0][0]
    submit(w.owner, '/admin/products/%d' % w.pid, '/admin/products/%d/variants' % w.pid,
           {'sku': 'FS-MUG-1', 'name': 'Mug', 'price': '9.99', 'currency': 'EUR'})
    submit(w.owner, '/admin/coupons', '/admin/coupons', {'code': 'FORMSWEEP', 'value': '5', 'kind': 'percent'})
    diag.update(owner_fresh=fresh, lo=w.lo, pid=w.pid)
    return ok and fresh and w.lo and w.pw_staff and w.code_staff, diag


def main():
    cli = cli_of_args()
    t_start = time.time()
    source = {p for m, p in route_rows() if m == 'POST' and not p.startswith('/api/')}
    with data_dir('sf-form-sweep-', 'form sweep') as tmp:
        d, ini, db = demo(cli, tmp)
        if not d:
            return app_test.summary()
        env = {'STOREFORT_WAF_MODE': 'block', 'STOREFORT_RATELIMIT_ENABLED': 'off',
               'STOREFORT_BANS_FAILED_LOGINS': '100000', 'STOREFORT_BANS_WAF_BLOCKS': '0',
               'STOREFORT_AUTH_MAX_FAILURES': '100', 'STOREFORT_ADMIN_IP_MAX_FAILURES': '100000',
               'STOREFORT_ADMIN_REAUTH_MINUTES': '60'}
        srv = Server(cli, ini, env=env)
        try:
            w = World(srv.https, cli, ini, d, db)
            f = Forms(w)
            ok, diag = setup(w, f)
            if not check('setup: guests with carts and orders, customers, staff enrolled with TOTP, the owner '
                         're-authenticated', ok, {k: v for k, v in diag.items() if not k.startswith('_')}):
                return app_test.summary()
            table = forms_table(w, f)
            swept = {k.split(' ', 1)[1] for k in table}
            check('every POST form route of src/api/routes.c is swept (%d)' % len(source),
                  len(source) >= 50 and not source - swept, sorted(source - swept))
            fs = FormSweep(Tables(db))
            sweep_all(fs, table)
        finally:
            stop(srv, 'WAF blocking')
        srv = Server(cli, ini, env=dict(env, STOREFORT_WAF_MODE='detect'))
        try:
            w.P = srv.https
            for c in list(vars(w).values()):
                if hasattr(c, 'port') and hasattr(c, 'cookies'):
                    c.port = srv.https
            again, fs.blocked = fs.blocked, {}
            n0 = fs.requests
            sweep_all(fs, table, only=again)
            check('the WAF blocked some variants, now sent again with it only detecting (%d)'
                  % (fs.requests - n0), fs.requests > n0)
        finally:
            stop(srv, 'WAF detecting')
        print('# %d form routes, %d hostile requests in %.1fs (sending %.1fs, comparing tables %.1fs)'
              % (len(table), fs.requests, time.time() - t_start, fs.t_send, fs.t_tables))
        for key, labels in fs.accepted.items():
            print('# taken by design: %s: %s' % (key, ', '.join(sorted(set(labels)))))
        for key, counts in fs.refused.items():
            print('# refused with: %s: %s' % (key, ', '.join('%d x%d' % kv for kv in sorted(counts.items()))))
        closing_checks(cli, d, ini, 'form sweep')
    return app_test.summary()


if __name__ == '__main__':
    sys.exit(main())
