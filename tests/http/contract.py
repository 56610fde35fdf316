#!/usr/bin/env python3
"""contract.py — the JSON API's real answers checked against its OpenAPI document.

The HTTP test programs send their requests through app_test.raw() and
accounts_test.Browser.req_raw(); both hand every answer to record(), which
keeps those under /api/v1.  app_test.summary() then calls check_recorded(),
one TAP check that validates them all against web/static/openapi.json (the
document the binary embeds and serves at GET /api/v1/openapi.json):

  - the concrete path must match one of the document's path templates
    (literal templates before templated ones, as OpenAPI says); an answer for
    a path the document does not have may only be 404, for a method it does
    not declare on a path only 405 (the server saying so), or one of the
    refusals that come before routing (EDGE), always with an Error body;
  - the operation must document the status code (exactly, else "4XX"/"5XX",
    else "default");
  - when that response declares content, the Content-Type must be one of its
    media types and the body must validate against the schema (Draft 2020-12,
    the dialect of OpenAPI 3.1; "$ref"s resolve into the document's
    components); when it declares none, the body must be empty.

The validator is python3-jsonschema (scripts/install-deps installs it); the
unit test of this file is contract_test.py.
"""
import json
import os
import re
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OPENAPI = os.path.join(ROOT, 'web', 'static', 'openapi.json')

try:
    import jsonschema
except ImportError:  # a python3 of its own (pyenv, venv) beside Debian's package
    sys.path.append('/usr/lib/python3/dist-packages')
    import jsonschema  # noqa: E402

# Refusals that come before the router knows the operation: the WAF or a ban
# (403), the body, URI and header caps (413, 414, 431), the rate limits (429),
# the connection caps (503).
EDGE = (403, 413, 414, 429, 431, 503)
# How many distinct mismatches one check prints (app_test.check shows 20 lines).
MAX_SHOWN = 19


class Contract:
    """An OpenAPI 3.1 document, ready to judge answers."""

    def __init__(self, doc):
        self.doc = doc
        self.routes = []  # (literal segments first, regex, template)
        for tpl in doc.get('paths', {}):
            rx = '^' + re.sub(r'\\\{[^/]+?\\\}', '[^/]+', re.escape(tpl)) + '$'
            self.routes.append((tpl.count('{'), re.compile(rx), tpl))
        self.routes.sort(key=lambda r: (r[0], r[2]))
        self.validators = {}

    @classmethod
    def load(cls, path=OPENAPI):
        with open(path, encoding='utf-8') as f:
            return cls(json.load(f))

    def template(self, path):
        """The path template a concrete path (query string allowed) matches, or None."""
        path = path.split('?', 1)[0].split('#', 1)[0]
        for _, rx, tpl in self.routes:
            if rx.match(path):
                return tpl
        return None

    def _deref(self, obj):
        """Follow a "$ref" to a component (a response object, say)."""
        seen = 0
        while isinstance(obj, dict) and '$ref' in obj:
            ref = obj['$ref']
            if not ref.startswith('#/') or seen > 32:
                raise ValueError('unsupported $ref %r' % ref)
            obj = self.doc
            for part in ref[2:].split('/'):
                obj = obj[part.replace('~1', '/').replace('~0', '~')]
            seen += 1
        return obj

    def _validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        v = self.validators.get(key)
        if v is None:
            # The schema under a root that carries the document's components,
            # so that "#/components/..." resolves as it does in the document.
            root = {'$schema': 'https://json-schema.org/draft/2020-12/schema',
                    'components': self.doc.get('components', {}), 'allOf': [schema]}
            v = jsonschema.Draft202012Validator(root)
            self.validators[key] = v
        return v

    def response(self, method, path, status):
        """(template, response object) for an answer; raises Mismatch when the
        document has no place for it."""
        tpl = self.template(path)
        method = method.lower()
        error = {'content': {'application/json': {'schema': {'$ref': '#/components/schemas/Error'}}}}
        if tpl is None:
            if status == 404 or status in EDGE:
                return None, error
            raise Mismatch('the path is not in the document')
        item = self._deref(self.doc['paths'][tpl])
        op = item.get(method)
        if op is None and method == 'head':
            op = item.get('get')
        if op is None:
            if status == 405 or status in EDGE:
                return tpl, error
            raise Mismatch('%s is not an operation of %s' % (method.upper(), tpl))
        responses = op.get('responses', {})
        for key in (str(status), '%dXX' % (status // 100), 'default'):
            if key in responses:
                return tpl, self._deref(responses[key])
        raise Mismatch('status %d is not documented for %s %s (documented: %s)'
                       % (status, method.upper(), tpl, ', '.join(sorted(responses))))

    def validate(self, method, path, status, content_type, body):
        """Judge one answer: None when it matches the document, else a
        one-line message.  body is bytes (or str); content_type may be None."""
        try:
            tpl, resp = self.response(method, path, status)
        except Mismatch as e:
            return str(e)
        if isinstance(body, str):
            body = body.encode('utf-8')
        content = resp.get('content') or {}
        if method.upper() == 'HEAD' or status == 304:
            return None
        if not content:
            return None if not body else 'the document declares no body, got %d bytes' % len(body)
        mtype = (content_type or '').split(';', 1)[0].strip().lower()
        media = content.get(mtype)
        if media is None:
            wild = [k for k in content if k.endswith('/*') and mtype.startswith(k[:-1])] or \
                [k for k in content if k == '*/*']
            if not wild:
                return 'Content-Type %r is not one of %s' % (content_type, ', '.join(sorted(content)))
            media = content[wild[0]]
        schema = media.get('schema')
        if schema is None:
            return None
        if not (mtype == 'application/json' or mtype.endswith('+json')):
            return None  # only JSON bodies have a schema to check here
        try:
            value = json.loads(body.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as e:
            return 'the body is not JSON (%s): %r' % (e, body[:80])
        errors = list(self._validator(schema).iter_errors(value))
        if not errors:
            return None
        # A closed schema built with allOf ("unevaluatedProperties": false)
        # also calls every property unexpected when one of its parts fails:
        # name the part's own error instead, and the unexpected ones only
        # when nothing else is wrong.
        err = jsonschema.exceptions.best_match(
            [e for e in errors if e.validator != 'unevaluatedProperties'] or errors)
        where = '/'.join(str(p) for p in err.absolute_path) or '(root)'
        msg = err.message if len(err.message) <= 200 else err.message[:200] + '...'
        return 'body at %s: %s' % (where, msg)


class Mismatch(Exception):
    pass


# ==== Recording what the tests receive ====

RECORDED = []
_LOCK = threading.Lock()


def dechunk(body):
    """A chunked body's content (what is there of it)."""
    out = b''
    while body:
        line, sep, rest = body.partition(b'\r\n')
        if not sep:
            break
        try:
            size = int(line.split(b';')[0].strip() or b'0', 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def record(method, target, status, headers, body):
    """Keep one answer to a request for /api/v1 (headers: a dict with
    lower-case names).  No answer at all (status 0) is nobody's contract."""
    path = (target or '').split('?', 1)[0]
    if not status or not (path == '/api/v1' or path.startswith('/api/v1/')):
        return
    if 'chunked' in headers.get('transfer-encoding', '').lower():
        body = dechunk(body)
    with _LOCK:
        RECORDED.append((method, target, status, headers.get('content-type'), body))


def record_raw(data, status, headers, body):
    """record() for a request given as its bytes on the wire."""
    m = re.match(rb'([A-Z]+) (\S+) HTTP/', data)
    if m:
        record(m.group(1).decode(), m.group(2).decode('latin-1'), status, headers, body)


def mismatches(contract, answers):
    """The distinct mismatches among answers: a list of one-line messages."""
    seen = {}
    for method, target, status, ctype, body in answers:
        msg = contract.validate(method, target, status, ctype, body)
        if msg is None:
            continue
        key = (method, contract.template(target) or target.split('?', 1)[0], status, msg)
        if key in seen:
            seen[key][1] += 1
        else:
            seen[key] = [target, 1]
    return ['%s %s -> %d: %s%s' % (k[0], t, k[2], k[3], ' (x%d)' % n if n > 1 else '')
            for k, (t, n) in seen.items()]


def check_recorded(check, path=OPENAPI):
    """One TAP check (through the test program's check()) that every answer
    recorded so far matches the document; nothing when none was recorded."""
    with _LOCK:
        answers = list(RECORDED)
    if not answers:
        return True
    found = mismatches(Contract.load(path), answers)
    diag = found[:MAX_SHOWN]
    if len(found) > MAX_SHOWN:
        diag.append('... and %d more distinct mismatches' % (len(found) - MAX_SHOWN))
    return check('OpenAPI contract: the %d /api/v1 answers received match %s'
                 % (len(answers), os.path.relpath(path, ROOT)), not found, '\n'.join(diag))
