#!/usr/bin/env python3
"""app_test.py — tests against the real storefort binary (TAP output).

Everything is real: `storefort init` makes a data directory in a temporary
folder (SQLite file, master key, self-signed certificate, demo catalog),
`storefort serve` runs on free loopback ports, and requests go over real TLS.

Sections: the command line (exit codes, one-line errors, help), configuration
and production guardrails, catalog import/export and the audit trail
(including tampering), the HTTPS storefront and API (happy paths and hostile
input), the HTTP redirect listener, and log redaction.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contract  # noqa: E402  (every /api/v1 answer is checked against the OpenAPI document)
import harness  # noqa: E402  (TLS version cases)

RESULTS = []
# The WAF runs in block mode in these tests (the default).  Deliberately hostile
# requests are sent while HOSTILE['on'] is set: they carry X-Test-Hostile and their
# request ids are collected, and check_waf_clean() asserts that every WAF event in
# the log belongs to one of them — the shop's own requests raise none.
HOSTILE = {'on': False, 'ids': set()}


# tests/npm: the test-only tools from npm (stripe, @redocly/cli, playwright-core, axe-core)
NPM_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'npm')


def npm_ci():
    """Install tests/npm from its lock file: (ok, the tail of npm's output)."""
    p = subprocess.run(['npm', 'ci', '--no-audit', '--no-fund'], cwd=NPM_DIR, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=600)
    return p.returncode == 0, p.stdout.decode('utf-8', 'replace')[-2000:]


def check(name, cond, diag=''):
    RESULTS.append(bool(cond))
    n = len(RESULTS)
    if cond:
        print('ok %d - %s' % (n, name))
    else:
        print('not ok %d - %s' % (n, name))
        if diag:
            for line in str(diag).splitlines()[:20]:
                print('#   ' + line)
    sys.stdout.flush()
    return cond


class CLI:
    def __init__(self, binary, env=None):
        self.binary = binary
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith('STOREFORT_'):
                del self.env[k]
        if env:
            self.env.update(env)

    def run(self, *args, env=None, stdin=None, timeout=120):
        e = dict(self.env)
        if env:
            e.update(env)
        p = subprocess.run([self.binary] + list(args), env=e, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


_PORTS_GIVEN = set()


def free_port():
    """A port free now, and never one this process was given before: the
    kernel may hand out the same ephemeral port to two binds in a row once
    the first socket is closed (a server then got https_port == http_port)."""
    while True:
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _PORTS_GIVEN:
            _PORTS_GIVEN.add(port)
            return port


class Server:
    def __init__(self, cli, config, env=None):
        self.https = free_port()
        self.http = free_port()
        e = dict(cli.env)
        e.update({'STOREFORT_SERVER_HTTPS_PORT': str(self.https), 'STOREFORT_SERVER_HTTP_PORT': str(self.http)})
        if env:
            e.update(env)
        self.proc = subprocess.Popen([cli.binary, '--config', config, 'serve'], env=e, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('server exited: ' + self.proc.stderr.read().decode())
            try:
                socket.create_connection(('127.0.0.1', self.https), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError('server did not start')

    def stop(self):
        self.proc.terminate()
        try:
            out, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')


def summary():
    """Check the /api/v1 answers received against the OpenAPI document, then
    print the suite's "N passed, N failed" line; the exit status for main()."""
    contract.check_recorded(check)
    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


_TLS_CTX = []


def tls_ctx(fresh=False):
    """A client context that trusts the self-signed test servers.  One is
    shared by every connection (building one loads the system's CA store,
    ~30 ms); fresh=True gives a new one for a caller that changes it."""
    if fresh or not _TLS_CTX:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if fresh:
            return ctx
        _TLS_CTX.append(ctx)
    return _TLS_CTX[0]


def connect(port, timeout=10):
    """A TCP connection to a test server on loopback.  TCP_NODELAY, as browsers
    set it: else the request, written right after the TLS handshake's last
    message, waits for that one's delayed ACK (~40 ms per connection)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def raw(port, data, tls=True, timeout=10):
    """Send exact bytes; return (status, headers dict lower-case, body bytes)."""
    if HOSTILE['on'] and b'\r\n' in data:
        line, _, rest = data.partition(b'\r\n')
        data = line + b'\r\nX-Test-Hostile: 1\r\n' + rest
    s = connect(port, timeout)
    if tls:
        s = tls_ctx().wrap_socket(s, server_hostname='localhost')
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass  # the server may answer (413) and close before reading everything
    chunks = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    except (socket.timeout, ConnectionResetError, ssl.SSLError):
        pass
    s.close()
    resp = b''.join(chunks)
    head, _, body = resp.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    m = re.match(r'HTTP/1\.[01] (\d{3})', lines[0]) if lines else None
    status = int(m.group(1)) if m else 0
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(':')
        headers[k.strip().lower()] = v.strip()
    if HOSTILE['on'] and headers.get('x-request-id'):
        HOSTILE['ids'].add(headers['x-request-id'])
    contract.record_raw(data, status, headers, body)
    return status, headers, body


def check_waf_clean(d, label):
    """Every WAF event in the log came from a marked hostile request."""
    path = os.path.join(d, 'log', 'waf.log')
    events = []
    if os.path.exists(path):
        with open(path, encoding='utf-8', errors='replace') as f:
            events = [json.loads(l) for l in f if l.strip()]
    stray = [(e['request_id'], e['rule_id'], e['method'], e['path']) for e in events
             if e['request_id'] not in HOSTILE['ids']]
    check('WAF (%s): the shop\'s own requests raise zero events (%d events, all from hostile tests)'
          % (label, len(events)), not stray, stray[:20])
    check('WAF (%s): hostile requests were logged with request id, rule id and phase' % label,
          all((e.get('rule_id') or e.get('action') == 'blocked') and e.get('phase') and e.get('request_id')
              for e in events) and events,
          events[:3])


def get(port, path, headers=None, tls=True, method='GET', body=None):
    h = {'Host': 'localhost', 'Connection': 'close', 'User-Agent': 'Mozilla/5.0 (storefort tests)', 'Accept': '*/*'}
    h.update(headers or {})
    req = '%s %s HTTP/1.1\r\n' % (method, path) + ''.join('%s: %s\r\n' % kv for kv in h.items())
    data = req.encode('latin-1')
    if body is not None:
        data += ('Content-Length: %d\r\n' % len(body)).encode()
    data += b'\r\n' + (body or b'')
    return raw(port, data, tls)


# The test card number as people write it.
CARD_FORMS = (b'4111111111111111', b'4111 1111 1111 1111', b'4111-1111-1111-1111', b'4111.1111.1111.1111')


def card_spots(d):
    """Where the test card number, however written, is in a file under d
    (the data directory: database, its write-ahead log, logs, mails; sealed
    columns show no plaintext to find): [] when nowhere."""
    found = []
    for root, _, files in os.walk(d):
        for f in files:
            path = os.path.join(root, f)
            try:
                with open(path, 'rb') as fh:
                    data = fh.read()
            except FileNotFoundError:  # a temporary file renamed meanwhile
                continue
            found += ['%s holds %r' % (os.path.relpath(path, d), c) for c in CARD_FORMS if c in data]
    return found


def jbody(body):
    try:
        return json.loads(body.decode())
    except Exception:
        return None


SECURITY_HEADERS = ['strict-transport-security', 'content-security-policy', 'x-content-type-options',
                    'referrer-policy', 'permissions-policy', 'x-request-id']


def has_security_headers(h):
    missing = [x for x in SECURITY_HEADERS if x not in h]
    csp = h.get('content-security-policy', '')
    if "'unsafe-inline'" in csp or "frame-ancestors 'none'" not in csp:
        missing.append('csp-policy')
    return missing


# ==== command line ====

def test_cli(cli, tmp):
    rc, out, err = cli.run()
    check('no command: usage error (2)', rc == 2 and 'usage' in err, (rc, err))
    rc, out, err = cli.run('frobnicate')
    check('unknown command: exit 2, one line naming it', rc == 2 and err.count('\n') == 1 and 'frobnicate' in err,
          (rc, err))
    rc, out, err = cli.run('--bogus')
    check('unknown option: exit 2', rc == 2 and '--bogus' in err, (rc, err))
    rc, out, err = cli.run('version')
    check('version prints the version', rc == 0 and re.match(r'storefort \d+\.\d+\.\d+', out), (rc, out))
    rc, out, err = cli.run('help')
    check('help lists every command', rc == 0 and all(c in out for c in
                                                        ['init', 'serve', 'migrate', 'catalog', 'audit', 'version']),
          out)
    for cmd in [['init'], ['serve'], ['migrate'], ['catalog'], ['audit'], ['version'], ['help']]:
        rc, out, err = cli.run(*(cmd + ['--help']))
        check('%s --help: exit 0 with usage' % cmd[0], rc == 0 and 'usage: storefort' in out, (rc, out, err))
    rc, out, err = cli.run('help', 'nosuch')
    check('help for an unknown command: exit 2', rc == 2, (rc, err))
    rc, out, err = cli.run('--config', os.path.join(tmp, 'missing.ini'), 'migrate')
    check('missing config: exit 1 naming the file', rc == 1 and 'missing.ini' in err and err.count('\n') == 1,
          (rc, err))
    rc, out, err = cli.run('init', '--profile', 'prod')
    check('init with a bad profile: exit 2', rc == 2 and 'profile' in err, (rc, err))
    rc, out, err = cli.run('init', '--dir', os.path.join(tmp, 'p'), '--profile', 'production', '--demo')
    check('init refuses demo data in production', rc == 2 and 'demo' in err, (rc, err))
    rc, out, err = cli.run('catalog', 'import')
    check('catalog import without a file: exit 2', rc == 2, (rc, err))
    rc, out, err = cli.run('catalog', 'frob')
    check('catalog unknown subcommand: exit 2', rc == 2, (rc, err))
    rc, out, err = cli.run('audit', 'check')
    check('audit unknown subcommand: exit 2', rc == 2, (rc, err))


def count(dbfile, sql):
    con = sqlite3.connect(dbfile)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_init_and_catalog(cli, tmp):
    d = os.path.join(tmp, 'dev')
    rc, out, err = cli.run('init', '--dir', d, '--demo', timeout=600)
    if not check('init --demo succeeds', rc == 0, (rc, out, err)):
        return None
    ini = os.path.join(d, 'storefort.ini')
    key = os.path.join(d, 'keys', 'master.key')
    check('master key is mode 0600', oct(os.stat(key).st_mode & 0o777) == '0o600', oct(os.stat(key).st_mode))
    check('keys folder is 0700', oct(os.stat(os.path.dirname(key)).st_mode & 0o777) == '0o700')
    check('certificate made', os.path.exists(os.path.join(d, 'tls', 'cert.pem')))
    rc, out, err = cli.run('init', '--dir', d)
    check('init twice refuses', rc == 1 and 'already' in err, (rc, err))
    db = os.path.join(d, 'db', 'storefort.db')
    nprod = count(db, 'SELECT count(*) FROM products')
    ncat = count(db, 'SELECT count(*) FROM categories')
    nvar = count(db, 'SELECT count(*) FROM variants')
    check('demo: at least 200 products', nprod >= 200, nprod)
    check('demo: at least 10 categories', ncat >= 10, ncat)
    check('demo: variants', nvar > nprod, nvar)
    check('demo: images written', len(os.listdir(os.path.join(d, 'media', 'products'))) >= 200)
    con = sqlite3.connect(db)
    try:
        cols = {r[1] for r in con.execute('PRAGMA table_info(data_keys)')}
        wrapped = con.execute('SELECT typeof(wrapped), length(wrapped) FROM data_keys').fetchall()
    finally:
        con.close()
    # a wrapped key is the 32-byte key plus the sealing's nonce and tag: never 32 bytes or fewer
    check('sealed data keys stored, no plaintext key column',
          cols == {'id', 'version', 'purpose', 'wrapped', 'active', 'created_at'} and len(wrapped) >= 3 and
          all(t == 'blob' and n > 32 for t, n in wrapped), (sorted(cols), wrapped))
    rc, out, err = cli.run('--config', ini, 'migrate', '--status')
    check('migrate --status: current', rc == 0 and 'current' in out, (rc, out, err))
    rc, out, err = cli.run('--config', ini, 'migrate')
    check('migrate again applies nothing', rc == 0 and 'applied 0' in out, (rc, out, err))
    rc, out, err = cli.run('--config', ini, 'audit', 'verify')
    m = re.search(r'(\d+) events verified', out)
    check('audit verify: intact', rc == 0 and m and int(m.group(1)) > 200, (rc, out, err))

    rc, out, err = cli.run('--config', ini, 'catalog', 'export')
    lines = out.splitlines()
    check('export: header and one row per variant', rc == 0 and lines[0].startswith('product_slug,product_name,')
          and len(lines) == nvar + 1, (rc, len(lines), nvar, err))
    export = os.path.join(tmp, 'export.csv')
    with open(export, 'w') as f:
        f.write(out)
    rc, out2, err = cli.run('--config', ini, 'catalog', 'import', export)
    check('re-importing the export succeeds', rc == 0 and 'imported' in out2, (rc, out2, err))
    rc, out3, err = cli.run('--config', ini, 'catalog', 'export')
    check('export -> import -> export is stable', out3 == out, 'differs')

    header = lines[0]
    # What a refused import must leave exactly as it was: the catalog's rows, every
    # exported byte, and the audit trail.
    tables = ('products', 'variants', 'categories', 'audit_events')
    rows_before = {t: count(db, 'SELECT count(*) FROM %s' % t) for t in tables}
    bad = os.path.join(tmp, 'bad.csv')
    with open(bad, 'w') as f:
        f.write(header + '\n')
        f.write('new-thing,New Thing,Gadgets,A new thing,NEW-1,Default,1999,EUR,5,\n')
        f.write('other-thing,Other Thing,Gadgets,Another,NEW-2,Default,-5,EUR,5,\n')
    rc, out, err = cli.run('--config', ini, 'catalog', 'import', bad)
    check('bad row: exit 1 naming line 3', rc == 1 and 'line 3' in err and err.count('\n') == 1, (rc, err))
    rows_after = {t: count(db, 'SELECT count(*) FROM %s' % t) for t in tables}
    rc, out4, err = cli.run('--config', ini, 'catalog', 'export')
    check('bad import wrote nothing (products, variants, categories; the export byte for byte)',
          all(rows_after[t] == rows_before[t] for t in ('products', 'variants', 'categories')) and
          rc == 0 and out4 == out3, (rows_before, rows_after, rc, err))
    check('bad import left the audit trail alone',
          rows_after['audit_events'] == rows_before['audit_events'], (rows_before, rows_after))
    card = os.path.join(tmp, 'card.csv')
    with open(card, 'w') as f:
        f.write(header + '\n')
        f.write('card-thing,Card Thing,Gadgets,pay 4111 1111 1111 1111,CARD-1,Default,100,EUR,1,\n')
    rc, out, err = cli.run('--config', ini, 'catalog', 'import', card)
    check('a card number in a CSV cell is refused', rc == 1 and 'line 2' in err and '4111' not in err, (rc, err))
    good = os.path.join(tmp, 'good.csv')
    with open(good, 'w') as f:
        f.write(header + '\n')
        f.write('zz-new-lamp,"Lamp, ""Nova""",Home/Lighting,"Two\nlines",LAMP-1,Small,2500,EUR,3,\n')
        f.write('zz-new-lamp,"Lamp, ""Nova""",Home/Lighting,"Two\nlines",LAMP-2,Large,3500,EUR,0,\n')
    before = count(db, 'SELECT count(*) FROM audit_events')
    rc, out, err = cli.run('--config', ini, 'catalog', 'import', good)
    check('good import: exit 0', rc == 0, (rc, out, err))
    check('good import: product and variants written',
          count(db, "SELECT count(*) FROM variants WHERE sku IN ('LAMP-1','LAMP-2')") == 2)
    check('good import: audited', count(db, "SELECT count(*) FROM audit_events WHERE action='catalog.import'") >= 1
          and count(db, 'SELECT count(*) FROM audit_events') > before)
    rc, out, err = cli.run('--config', ini, 'catalog', 'import', os.path.join(tmp, 'nope.csv'))
    check('import of a missing file: exit 1 naming it', rc == 1 and 'nope.csv' in err, (rc, err))
    return d


def test_audit_tamper(cli, tmp, d):
    t = os.path.join(tmp, 'tamper')
    shutil.copytree(d, t)
    ini = os.path.join(t, 'storefort.ini')
    db = os.path.join(t, 'db', 'storefort.db')
    con = sqlite3.connect(db)
    trig = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_events'")]
    try:
        con.execute("UPDATE audit_events SET outcome='failure' WHERE id=5")
        con.commit()
        refused = False
    except sqlite3.DatabaseError:
        refused = True
    check('audit_events refuses UPDATE (append-only)', refused)
    for name in trig:
        con.execute('DROP TRIGGER "%s"' % name)
    con.execute("UPDATE audit_events SET actor_id='mallory' WHERE id=7")
    con.commit()
    con.close()
    rc, out, err = cli.run('--config', ini, 'audit', 'verify')
    check('audit verify names the edited event', rc == 1 and 'event 7' in err, (rc, out, err))


def test_guardrails(cli, tmp, d):
    ini = os.path.join(d, 'storefort.ini')
    rc, out, err = cli.run('--config', ini, 'serve', env={'STOREFORT_APP_ENVIRONMENT': 'production'}, timeout=60)
    check('production refuses the development key, naming the setting',
          rc == 1 and 'master_key_file' in err and 'development key' in err, (rc, err))
    p = os.path.join(tmp, 'prod')
    keydir = os.path.join(tmp, 'prodkeys')
    os.makedirs(keydir, mode=0o700)
    key = os.path.join(keydir, 'master.key')
    rc, out, err = cli.run('init', '--dir', p, '--profile', 'production', '--master-key', key)
    check('production init without demo', rc == 0, (rc, out, err))
    pini = os.path.join(p, 'storefort.ini')
    srv = Server(cli, pini)
    st, h, body = get(srv.https, '/healthz')
    rc, out, err = srv.stop()
    check('a safe production configuration serves', st == 200, (st, err))
    os.chmod(key, 0o644)
    rc, out, err = cli.run('--config', pini, 'serve', timeout=60)
    check('production refuses a group/world-readable key, naming the setting',
          rc == 1 and 'master_key_file' in err and 'group or others' in err, (rc, err))
    os.chmod(key, 0o600)
    rc, out, err = cli.run('--config', pini, 'serve', env={'STOREFORT_SERVER_TLS': 'off'}, timeout=60)
    check('production refuses TLS off', rc == 1 and '[server] tls' in err, (rc, err))
    rc, out, err = cli.run('--config', pini, 'serve', env={'STOREFORT_SERVER_HTTPS_PROT': '1'}, timeout=60)
    check('unknown environment override is an error', rc == 1 and 'STOREFORT_SERVER_HTTPS_PROT' in err, (rc, err))
    with open(pini, 'a') as f:
        f.write('\n[server]\nmax_body = lots\n')
    rc, out, err = cli.run('--config', pini, 'serve', timeout=60)
    check('invalid value is an error naming the key', rc == 1 and 'max_body' in err, (rc, err))


# ==== HTTPS ====

def test_http(cli, d):
    ini = os.path.join(d, 'storefort.ini')
    srv = Server(cli, ini)
    try:
        run_http_cases(srv)
        test_catalog_cache(srv, cli, d)
        test_log_redaction(srv, d)
        check_waf_clean(d, 'paranoia 1, block')
    finally:
        rc, out, err = srv.stop()
        check('serve stops cleanly on SIGTERM', rc == 0, (rc, err[-2000:]))
    # The same flows at paranoia level 2.
    waf_log = os.path.join(d, 'log', 'waf.log')
    if os.path.exists(waf_log):
        os.unlink(waf_log)
    srv = Server(cli, ini, env={'STOREFORT_WAF_PARANOIA': '2'})
    try:
        run_http_cases(srv)
        check_waf_clean(d, 'paranoia 2, block')
    finally:
        rc, out, err = srv.stop()
        check('serve (paranoia 2) stops cleanly', rc == 0, (rc, err[-2000:]))
    # The merchant's name and tax setting on every storefront page; ways to
    # the cart and the account from every page.
    srv = Server(cli, ini, env={'STOREFORT_APP_SHOP_NAME': 'Acme Goods', 'STOREFORT_SHOP_PRICES_INCLUDE_TAX': 'off',
                                'STOREFORT_ADMIN_PATH': '/bo-test'})
    try:
        P = srv.https
        for path, want in (('/', 200), ('/c/no-such-category', 404), ('/cart', 200)):
            st, h, body = get(P, path)
            check('%s: [app] shop_name, the tax footer of [shop] prices_include_tax, cart and account links' % path,
                  st == want and b'Acme Goods' in body and b'storefort demo shop' not in body and
                  b'Prices exclude tax' in body and b'href="/cart"' in body and b'href="/account"' in body,
                  (st, body[:300], body[-500:]))
        st, h, body = get(P, '/account')
        check('an account page without a session (401) offers to log in', st == 401 and
              b'href="/account/login"' in body, (st, body[-600:]))
        # the back office under [admin] path asks for a staff sign-in (401); its old path is nothing (404)
        for path, want in (('/bo-test/orders', 401), ('/bo-test', 401), ('/admin/orders', 404)):
            st, h, body = get(P, path)
            check('%s without a session: %d, never links to the shoppers\' login' % (path, want),
                  st == want and b'href="/account/login"' not in body, (st, body[-600:]))
    finally:
        srv.stop()


def run_http_cases(srv):
    P = srv.https
    st, h, body = get(P, '/')
    check('home page: 200 HTML', st == 200 and h.get('content-type', '').startswith('text/html'), (st, h))
    check('home page: security headers', not has_security_headers(h), has_security_headers(h))
    check('request id is 26 base32 chars', re.fullmatch(r'[a-z2-7]{26}', h.get('x-request-id', '')), h)
    check('home page lists products', b'/p/' in body)
    st, h, body = get(P, '/api/v1/products')
    j = jbody(body)
    check('products: 20 items, total >= 200', st == 200 and j and len(j['items']) == 20 and j['total'] >= 200,
          (st, body[:300]))
    if j:
        item = j['items'][0]
        check('product summary shape', all(k in item for k in ['slug', 'name', 'price', 'category', 'in_stock'])
              and isinstance(item['price']['amount'], int), item)
        slug = item['slug']
    else:
        slug = 'x'
    st, h, body = get(P, '/api/v1/products?per_page=5&page=3&sort=price_desc')
    j = jbody(body)
    prices = [i['price']['amount'] for i in j['items']] if j else []
    check('paging and sort', st == 200 and len(prices) == 5 and prices == sorted(prices, reverse=True)
          and j['page'] == 3, (st, body[:300]))
    st, h, body = get(P, '/api/v1/categories')
    j = jbody(body)
    check('categories tree', st == 200 and j and len(j['items']) >= 1, body[:300])
    cat = j['items'][0]['slug'] if j and j['items'] else 'x'
    child = j['items'][0]['children'][0]['slug'] if j and j['items'] and j['items'][0]['children'] else 'x'
    st, h, body = get(P, '/api/v1/categories/' + child)
    j = jbody(body)
    check('one category: its subtree and breadcrumbs, root first', st == 200 and j and j['slug'] == child
          and [b['slug'] for b in j['breadcrumbs']] == [cat, child] and j['parent'] == cat, body[:300])
    st, h, body = get(P, '/api/v1/products?category=no-such-category')
    check('an unknown category filter: 404', st == 404 and jbody(body)['error']['code'] == 'not_found', body[:200])
    st, h, body = get(P, '/api/v1/products?category=' + cat)
    j = jbody(body)
    check('filter by category', st == 200 and j and j['total'] > 0, body[:200])
    st, h, body = get(P, '/api/v1/products/' + slug)
    j = jbody(body)
    check('product detail with variants', st == 200 and j and len(j['variants']) >= 1 and j['slug'] == slug,
          body[:300])
    st, h, body = get(P, '/p/' + slug)
    check('product page', st == 200 and slug.encode() in body and not has_security_headers(h), st)
    st, h, body = get(P, '/c/' + cat)
    check('category page', st == 200, st)
    word = slug.split('-')[0]
    st, h, body = get(P, '/api/v1/products?q=' + word)
    j = jbody(body)
    check('full-text search finds the product', st == 200 and j and j['total'] >= 1, body[:200])
    st, h, body = get(P, '/search?q=' + word)
    check('search page', st == 200 and b'/p/' in body, st)
    st, h, body = get(P, '/healthz')
    check('healthz', st == 200 and jbody(body) == {'status': 'alive'}, body)
    st, h, body = get(P, '/readyz')
    j = jbody(body)
    check('readyz: ready with checks', st == 200 and j and j['status'] == 'ready'
          and set(j['checks']) >= {'database', 'migrations', 'disk'}, body)

    # static assets
    st, h, body = get(P, '/static/app.css')
    etag = h.get('etag')
    check('static asset: immutable caching and ETag', st == 200 and etag and 'immutable' in h.get('cache-control', ''),
          h)
    st, h, body = get(P, '/static/app.css', {'If-None-Match': etag or 'x'})
    check('static asset: 304 on If-None-Match', st == 304 and body == b'', st)

    # errors (hostile: marked for the WAF's zero-event check)
    HOSTILE['on'] = True
    st, h, body = get(P, '/api/v1/products/no-such-product')
    j = jbody(body)
    check('unknown product: JSON 404 with code and request id', st == 404 and j and j['error']['code'] == 'not_found'
          and j['error']['request_id'] == h.get('x-request-id'), body)
    st, h, body = get(P, '/no/such/page')
    check('unknown page: HTML 404', st == 404 and h.get('content-type', '').startswith('text/html')
          and not has_security_headers(h), (st, h))
    st, h, body = get(P, '/api/v1/products', method='DELETE')
    check('wrong method: 405 with Allow', st == 405 and 'GET' in h.get('allow', ''), (st, h))
    for q, param in [('page=0', 'page'), ('page=-1', 'page'), ('page=abc', 'page'), ('page=99999999999999999999', 'page'),
                     ('per_page=0', 'per_page'), ('per_page=101', 'per_page'), ('per_page=1e2', 'per_page'),
                     ('sort=evil', 'sort'), ('category=..%2f..', 'category'), ('q=' + 'a' * 300, 'q'),
                     ('page=%2B1', 'page'), ('page=1%00', 'page')]:
        st, h, body = get(P, '/api/v1/products?' + q)
        j = jbody(body)
        check('invalid %s -> 400 bad_parameter (or 403 by the WAF)' % q[:30], st in (400, 403) and j and
              j['error']['code'] in ('bad_parameter', 'bad_encoding', 'request_blocked'), (st, body[:200]))
    for q in ['%22', 'AND%20OR%20NOT', 'NEAR(a%20b', '*', 'col%3Ax', "'%20OR%201%3D1--", '%E2%82%AC', '%5E']:
        st, h, body = get(P, '/api/v1/products?q=' + q)
        check('hostile search %s: 200 (or 403 by the WAF), never 500' % q, st in (200, 403), (st, body[:200]))
    st, h, body = get(P, '/api/v1/products?q=%ZZ')
    check('malformed percent-encoding: 400', st == 400, st)
    st, h, body = get(P, '/api/v1/products?q=%C3%28')
    check('malformed UTF-8: 400', st == 400, st)
    st, h, body = get(P, '/p/%C0%AF')
    check('overlong UTF-8 in the path: 400', st == 400, st)
    st, h, body = get(P, '/' + 'a' * 20000)
    check('oversized URL: 414', st == 414, st)
    st, h, body = get(P, '/', {'X-Big': 'b' * 40000})
    check('oversized headers: 431 (or connection refused with 4xx)', st in (400, 413, 431), st)
    st, h, body = get(P, '/api/v1/products', method='POST', body=b'x' * (2 * 1024 * 1024))
    check('oversized body: 413 or 405 (or 403 by the WAF), never 5xx', st in (403, 405, 413), st)
    for path in ['/static/../storefort.ini', '/static/%2e%2e/%2e%2e/etc/passwd', '/media/..%2F..%2Fstorefort.ini',
                 '/media/products/..%2f..%2fkeys%2fmaster.key', '/static/..%5c..%5cstorefort.ini',
                 '/media/%2e%2e/keys/master.key']:
        st, h, body = get(P, path)
        check('traversal %s refused' % path, st in (400, 403, 404) and b'master-key' not in body
              and b'[keys]' not in body, (st, body[:100]))
    st, h, body = get(P, '/media/products/' + slug + '.svg')
    check('product image served from media', st == 200 and h.get('content-type', '').startswith('image/svg'), st)
    st, h, body = raw(P, b'GARBAGE\r\n\r\n')
    check('garbage request line: 400 or closed unanswered, never 5xx', st in (0, 400), st)
    st, h, body = raw(P, b'GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n')
    check('bad Content-Length: 400', st == 400, st)

    HOSTILE['on'] = False

    # the HTTP listener redirects to HTTPS
    st, h, body = get(srv.http, '/p/x?y=1', tls=False)
    check('HTTP -> 308 to https', st in (301, 308) and h.get('location', '').startswith('https://localhost:%d/p/x?y=1'
                                                                                    % P), (st, h))
    st, h, body = get(srv.http, '/', {'Host': 'evil.example"><script>'}, tls=False)
    check('HTTP redirect ignores a hostile Host', st in (301, 308) and '<' not in h.get('location', '') and
          'evil.example"' not in h.get('location', ''), h)

    # only TLS 1.2+: the harness's tls-version case fails when the client itself cannot
    # offer the old version (any SSLError would otherwise pass as the server's refusal)
    cfg = harness.Config(host='127.0.0.1', port=P, tls=True, timeout=5)
    for version, label in (('TLSv1_1', 'TLS 1.1'), ('TLSv1', 'TLS 1.0')):
        case = harness.Case('app')
        case.opts.update({'kind': 'tls-version', 'tls-version': version, 'expect': 'fail'})
        problems = harness.run_case(case, cfg)
        check('%s refused by the server (offered by the client)' % label, not problems, problems)
    s = tls_ctx().wrap_socket(socket.create_connection(('127.0.0.1', P), timeout=5), server_hostname='localhost')
    check('TLS 1.2+ negotiated', s.version() in ('TLSv1.2', 'TLSv1.3'), s.version())
    s.close()


def test_catalog_cache(srv, cli, d):
    """The catalog response cache: strong ETags and 304, and a `catalog
    import` run by another process is visible within the version recheck
    (250 ms) on every cached shape."""
    P = srv.https
    ini = os.path.join(d, 'storefort.ini')
    st, h, body = get(P, '/api/v1/products?per_page=3')
    etag = h.get('etag', '')
    check('catalog JSON: strong ETag', st == 200 and re.fullmatch(r'"[0-9a-f]{24}"', etag), h)
    st, h2, body2 = get(P, '/api/v1/products?per_page=3')
    check('catalog JSON: same bytes and ETag from the cache', body2 == body and h2.get('etag') == etag)
    st, h3, body3 = get(P, '/api/v1/products?per_page=3', {'If-None-Match': etag})
    check('catalog JSON: 304 on If-None-Match, with security headers',
          st == 304 and body3 == b'' and h3.get('etag') == etag and not has_security_headers(h3),
          (st, h3, has_security_headers(h3)))
    st, h3, _ = get(P, '/api/v1/products?per_page=3', {'If-None-Match': 'W/' + etag + ', "other"'})
    check('catalog JSON: 304 for a list holding the weak form', st == 304, st)
    st, h3, _ = get(P, '/api/v1/products?per_page=3', {'If-None-Match': '"0000"'})
    check('catalog JSON: 200 for another ETag', st == 200, st)
    st, h3, _ = get(P, '/api/v1/products?per_page=3&page=2')
    check('catalog JSON: another query, another ETag', st == 200 and h3.get('etag') not in (None, etag), h3)

    # Warm every cached shape for a product that is about to change.
    st, _, body = get(P, '/api/v1/products?q=zebracache')
    j = jbody(body)
    check('cache probe: not there yet (and now cached)', st == 200 and j and j['total'] == 0, body[:200])
    st, _, _ = get(P, '/p/zz-zebra-cache')
    check('cache probe page: 404 before the import', st == 404, st)
    hp = get(P, '/')[2]
    header = ('product_slug,product_name,category_path,description,sku,variant_name,price_minor,currency,'
              'stock,image')
    csvfile = os.path.join(d, 'cache-probe.csv')
    for name in ('Zebracache Mug', 'Zebracache Cup'):
        with open(csvfile, 'w') as f:
            f.write(header + '\n')
            f.write('zz-zebra-cache,%s,Home,Striped,ZEBRA-1,,999,EUR,4,\n' % name)
        rc, out, err = cli.run('--config', ini, 'catalog', 'import', csvfile)
        check('cache probe: import "%s" from the CLI (another process)' % name, rc == 0, (rc, out, err))
        # Another process's commit is seen within the version recheck (250 ms), every shape at once.
        t0 = time.time()
        while True:
            st, _, body = get(P, '/api/v1/products?q=zebracache')
            j = jbody(body)
            if (st == 200 and j and j['total'] == 1 and j['items'][0]['name'] == name) or time.time() - t0 > 1.0:
                break
            time.sleep(0.02)
        check('within 250 ms: the list shows "%s"' % name,
              st == 200 and j and j['total'] == 1 and j['items'][0]['name'] == name and time.time() - t0 < 0.6,
              (time.time() - t0, body[:300]))
        st, _, body = get(P, '/api/v1/products/zz-zebra-cache')
        j = jbody(body)
        check('then: the product JSON shows "%s"' % name, st == 200 and j and j['name'] == name,
              body[:300])
        st, _, body = get(P, '/p/zz-zebra-cache')
        check('then: the product page shows "%s"' % name, st == 200 and name.encode() in body, st)
        st, _, body = get(P, '/search?q=zebracache')
        check('then: the search page shows "%s"' % name, st == 200 and name.encode() in body, st)
    st, h, _ = get(P, '/api/v1/products?per_page=3', {'If-None-Match': etag})
    check('after a catalog change the old ETag no longer answers 304', st == 200, st)
    st, _, home = get(P, '/')
    check('home page rebuilt after the change (the new product among the new arrivals)',
          st == 200 and home != hp and b'Zebracache Cup' in home and b'Zebracache' not in hp, (st, home[:300]))


def test_log_redaction(srv, d):
    P = srv.https
    HOSTILE['on'] = True  # odd on purpose (secrets in every place, a body without a type)
    secrets = ['SeCrEtToKeN-9f8e7d', 'sessioncookie-77aa', 'hunter2-pass-XYZ', '4111111111111111',
               '5500 0055 5555 5559', 'resettoken-abc123']
    get(P, '/api/v1/products?token=resettoken-abc123&q=4111111111111111',
        {'Authorization': 'Bearer SeCrEtToKeN-9f8e7d', 'Cookie': 'sid=sessioncookie-77aa'})
    get(P, '/search?q=5500%200055%205555%205559&password=hunter2-pass-XYZ')
    get(P, '/api/v1/products', method='POST', body=b'password=hunter2-pass-XYZ&card=4111111111111111')
    get(P, '/nope', {'User-Agent': 'agent 4111111111111111', 'X-Api-Key': 'SeCrEtToKeN-9f8e7d'})
    logdir = os.path.join(d, 'log')
    end = time.monotonic() + 5  # access lines are buffered up to [log] access_flush_ms (1 s)
    while True:
        blob = ''
        for name in os.listdir(logdir):
            with open(os.path.join(logdir, name), encoding='utf-8', errors='replace') as f:
                blob += f.read()
        if '"/nope"' in blob or time.monotonic() > end:
            break
        time.sleep(0.05)
    check('access log written', '"status"' in blob and '/api/v1/products' in blob, blob[-500:])
    leaked = [s for s in secrets if s in blob or s.replace(' ', '') in blob]
    check('no secret, token, password or card number in any log', not leaked, leaked)
    HOSTILE['on'] = False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    a = ap.parse_args()
    cli = CLI(os.path.abspath(a.binary))
    tmp = tempfile.mkdtemp(prefix='sf-app-')
    try:
        test_cli(cli, tmp)
        d = test_init_and_catalog(cli, tmp)
        if d:
            test_audit_tamper(cli, tmp, d)
            test_guardrails(cli, tmp, d)
            test_http(cli, d)
    except Exception as e:  # a crash of the test itself is a failure, not a pass
        import traceback
        check('app tests ran to the end', False, traceback.format_exc())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == '__main__':
    sys.exit(main())
