#!/usr/bin/env python3
"""harness.py — HTTP test cases as data, run against a real server on loopback.

Usage:
    harness.py --host 127.0.0.1 --port P [--http-port Q] [--tls] [--timeout S] CASEFILE...

Prints TAP ("ok 1 - name" / "not ok 2 - name" followed by "# ..." diagnostic
lines) and ends with exactly one line "N passed, N failed".  Exit status 0
when nothing failed, 1 otherwise, 2 on a usage or case-file error.

Python standard library only (socket, ssl, subprocess, re), so that the lead
can reuse it for app-level cases: see the Python API at the bottom of this
docstring.

CASE FILE FORMAT
================
A case file holds one or more cases separated by a line "===".  Lines that
start with "#" (outside request blocks) are comments.  A case is a list of
"key: value" lines and request blocks:

    name: oversized URL is refused with 414
    >>>
    GET /hello?{{repeat:a:9000}} HTTP/1.1
    Host: localhost
    Connection: close

    <<<
    status: 414
    header: X-Request-Id: ^[a-z2-7]{26}$
    body: uri_too_long

Case options (before the first ">>>"):
    name: TEXT          the TAP description (default: file name and index)
    mode: tls|plain     how to connect (default: --tls given or not)
    port: main|http     which port: --port (main) or --http-port (http)
    timeout: SECONDS    per-case timeout for every read and the whole case (default --timeout)
    kind: KIND          request (default), tls-version, slowloris; see below
    hold: N             before the requests, open N extra connections (TLS
                        handshake completed in tls mode) and keep them open
                        until the case ends: per-IP connection caps
    tls-version: V      kind tls-version: TLSv1, TLSv1_1, TLSv1_2 or TLSv1_3
    expect: ok|fail     kind tls-version: must the handshake succeed?
    slow-interval: S    kind slowloris: seconds between bytes (default 1)
    close-within: S     kind slowloris: the server must close the slow
                        connection within S seconds of its first byte

Request blocks: the lines between ">>>" and "<<<" are the request bytes.
Every line break becomes CRLF (write requests with plain newlines).  Inside a
block:
    \\r \\n \\t \\0 \\xHH \\\\   escapes: \\n is a bare LF, \\xHH any byte
    a trailing "\\"        at the end of a line: no line break after it
                          (a body without a final CRLF, a request cut short)
    {{repeat:TEXT:N}}     TEXT (escapes allowed, no ':' or '}') N times
    {{crlf}}              an explicit CRLF
Several blocks in one case are sent one after another on the same
connection (keep-alive); the expectation lines that follow a block apply to
that block's response.  For kind slowloris, the first block is the request
sent slowly and the second one is sent normally on a fresh connection while
the slow one is still open; its expectations must hold.

Expectations (after a block; each may repeat):
    status: CODE[|CODE...]    the status code
    header: NAME: REGEX       a header NAME (any case) whose value matches
                              REGEX (re.search)
    no-header: NAME           no such header
    body: TEXT                the (de-chunked) body contains TEXT (escapes)
    body-re: REGEX            the body matches REGEX (re.search, DOTALL)
    no-body: TEXT             the body does not contain TEXT
    closed: yes               the server closes the connection after it
    no-response: yes          no response at all: the connection is closed
                              (or the TLS handshake fails) without a byte

PYTHON API
==========
    import harness
    srv = harness.Server(['./storefort', 'serve', '-c', 'x.ini'],
                         ports={'main': 8443, 'http': 8080})  # or port_regex=
    srv.start()            # waits until every port accepts connections
    cfg = harness.Config(host='127.0.0.1', port=srv.ports['main'],
                         http_port=srv.ports.get('http'), tls=True)
    passed, failed = harness.run_files(['cases/a.http'], cfg)
    srv.stop()
Server(..., port_regex=r'https_port=(?P<main>\\d+) http_port=(?P<http>\\d+)')
instead reads the ports from the first matching line of the server's stdout
(for servers started on port 0).
"""
import argparse
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings


class CaseError(Exception):
    """A malformed case file."""


# ==== Case files ====

_ESC = re.compile(r'\\(x[0-9A-Fa-f]{2}|[rnt0\\])')


def unescape(text):
    """Turn a case-file string with escapes into bytes (latin-1 for raw bytes)."""
    def rep(m):
        e = m.group(1)
        if e[0] == 'x':
            return chr(int(e[1:], 16))
        return {'r': '\r', 'n': '\n', 't': '\t', '0': '\0', '\\': '\\'}[e]
    return _ESC.sub(rep, text)


def _to_bytes(text):
    # Characters above 0xff (UTF-8 written in the file) become UTF-8 bytes;
    # \xHH escapes are single bytes.
    out = bytearray()
    for ch in text:
        o = ord(ch)
        out += bytes([o]) if o < 256 else ch.encode('utf-8')
    return bytes(out)


_EXP = re.compile(r'\{\{(repeat):([^:}]*):(\d+)\}\}|\{\{(crlf)\}\}')


def expand(line):
    """Apply {{...}} expansions and escapes to one request-block line."""
    out = []
    pos = 0
    for m in _EXP.finditer(line):
        out.append(unescape(line[pos:m.start()]))
        if m.group(1):
            out.append(unescape(m.group(2)) * int(m.group(3)))
        else:
            out.append('\r\n')
        pos = m.end()
    out.append(unescape(line[pos:]))
    return ''.join(out)


class Request:
    def __init__(self, raw):
        self.raw = raw
        self.expect = []  # (key, value)
        m = re.match(rb'([A-Z]+) ', raw)
        self.method = m.group(1).decode() if m else ''


class Case:
    def __init__(self, source):
        self.source = source
        self.opts = {}
        self.requests = []

    @property
    def name(self):
        return self.opts.get('name', self.source)


_KEYS_CASE = {'name', 'mode', 'port', 'timeout', 'kind', 'hold', 'tls-version', 'expect', 'slow-interval',
              'close-within'}
_KEYS_EXPECT = {'status', 'header', 'no-header', 'body', 'body-re', 'no-body', 'closed', 'no-response'}


def parse_case_file(path):
    """Parse a case file into a list of Case objects (raises CaseError)."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    cases = []
    cur = Case('%s#1' % os.path.basename(path))
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.strip() == '===':
            cases.append(cur)
            cur = Case('%s#%d' % (os.path.basename(path), len(cases) + 1))
            continue
        if line.startswith('>>>'):
            parts = []
            closed = False
            while i < len(lines):
                bl = lines[i]
                i += 1
                if bl.startswith('<<<'):
                    closed = True
                    break
                if bl.endswith('\\') and not bl.endswith('\\\\'):
                    parts.append(expand(bl[:-1]))
                else:
                    parts.append(expand(bl) + '\r\n')
            if not closed:
                raise CaseError('%s: request block without "<<<"' % path)
            cur.requests.append(Request(_to_bytes(''.join(parts))))
            continue
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        if ':' not in line:
            raise CaseError('%s:%d: expected "key: value", got %r' % (path, i, line))
        key, value = line.split(':', 1)
        key = key.strip().lower()
        value = value.strip()
        if key in _KEYS_EXPECT:
            if not cur.requests:
                raise CaseError('%s:%d: expectation %r before any request block' % (path, i, key))
            cur.requests[-1].expect.append((key, value))
        elif key in _KEYS_CASE:
            cur.opts[key] = value
        else:
            raise CaseError('%s:%d: unknown key %r' % (path, i, key))
    cases.append(cur)
    cases = [c for c in cases if c.requests or c.opts]
    for c in cases:
        kind = c.opts.get('kind', 'request')
        if kind not in ('request', 'tls-version', 'slowloris'):
            raise CaseError('%s: %s: unknown kind %r' % (path, c.name, kind))
        if kind != 'tls-version' and not c.requests:
            raise CaseError('%s: %s: no request block' % (path, c.name))
    return cases


# ==== Connections and responses ====

class Config:
    def __init__(self, host='127.0.0.1', port=0, http_port=None, tls=False, timeout=10.0):
        self.host = host
        self.port = port
        self.http_port = http_port
        self.tls = tls
        self.timeout = timeout


class Failure(Exception):
    pass


def _client_context(version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test servers use self-signed certificates
    if version is not None:
        # Let the client offer old versions, so that a refusal is the server's.
        ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            v = getattr(ssl.TLSVersion, version)
            ctx.minimum_version = v
            ctx.maximum_version = v
    return ctx


def connect(cfg, case, timeout):
    port = cfg.port
    if case.opts.get('port', 'main') == 'http':
        if not cfg.http_port:
            raise Failure('case needs --http-port')
        port = cfg.http_port
    mode = case.opts.get('mode')
    tls = cfg.tls if mode is None else (mode == 'tls')
    sock = socket.create_connection((cfg.host, port), timeout=timeout)
    if tls:
        sock = _client_context().wrap_socket(sock, server_hostname='localhost')
    sock.settimeout(timeout)
    return sock


class Reader:
    """Buffered reads from a socket with a deadline."""

    def __init__(self, sock, deadline):
        self.sock = sock
        self.buf = b''
        self.deadline = deadline
        self.eof = False

    def _fill(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Failure('timed out waiting for the server')
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Failure('timed out waiting for the server')
        except (ConnectionResetError, ssl.SSLError, OSError):
            data = b''
        if not data:
            self.eof = True
        self.buf += data
        return bool(data)

    def until(self, marker, limit=1 << 20):
        while marker not in self.buf:
            if len(self.buf) > limit:
                raise Failure('response headers too long')
            if not self._fill():
                return None
        idx = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:idx], self.buf[idx:]
        return out

    def exactly(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise Failure('connection closed inside the body (%d of %d bytes)' % (len(self.buf), n))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self):
        while self._fill():
            pass
        out, self.buf = self.buf, b''
        return out

    def closed_soon(self):
        """True if the server closes the connection before the deadline."""
        if self.buf:
            return False
        try:
            return not self._fill() and not self.buf
        except Failure:
            return False


class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body
        self.raw_head = raw_head

    def header_values(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


def read_response(reader, method):
    head = reader.until(b'\r\n\r\n')
    if head is None:
        if reader.buf:
            raise Failure('incomplete response head: %r' % reader.buf[:200])
        return None
    lines = head.decode('latin-1').split('\r\n')
    m = re.match(r'HTTP/1\.[01] (\d{3}) ?(.*)', lines[0])
    if not m:
        raise Failure('bad status line %r' % lines[0])
    status = int(m.group(1))
    headers = []
    for ln in lines[1:]:
        if not ln:
            continue
        if ':' not in ln:
            raise Failure('bad header line %r' % ln)
        k, v = ln.split(':', 1)
        headers.append((k.strip(), v.strip()))
    hmap = {k.lower(): v for k, v in headers}
    if method == 'HEAD' or status in (204, 304) or 100 <= status < 200:
        body = b''
    elif 'chunked' in hmap.get('transfer-encoding', '').lower():
        body = b''
        while True:
            size_line = reader.until(b'\r\n')
            if size_line is None:
                raise Failure('connection closed inside a chunked body')
            size = int(size_line.split(b';')[0].strip() or b'0', 16)
            if size == 0:
                while True:
                    trailer = reader.until(b'\r\n')
                    if trailer in (None, b'\r\n'):
                        break
                break
            body += reader.exactly(size)
            reader.exactly(2)
    elif 'content-length' in hmap:
        body = reader.exactly(int(hmap['content-length']))
    else:
        body = reader.rest()
    return Response(status, m.group(2), headers, body, head)


# ==== Checking ====

def check(resp, req, reader):
    """Return a list of problems (empty when the response is as expected)."""
    problems = []
    for key, value in req.expect:
        if key == 'no-response':
            if resp is not None:
                problems.append('expected no response, got status %d' % resp.status)
            continue
        if resp is None:
            problems.append('no response (connection closed) but expected %s: %s' % (key, value))
            break
        body = resp.body.decode('utf-8', 'replace')
        if key == 'status':
            allowed = [int(x) for x in value.split('|')]
            if resp.status not in allowed:
                problems.append('status %d, expected %s' % (resp.status, value))
        elif key == 'header':
            name, _, rx = value.partition(':')
            vals = resp.header_values(name.strip())
            rx = rx.strip()
            if not vals:
                problems.append('header %s missing' % name.strip())
            elif not any(re.search(rx, v) for v in vals):
                problems.append('header %s: %r does not match /%s/' % (name.strip(), vals, rx))
        elif key == 'no-header':
            if resp.header_values(value):
                problems.append('header %s present: %r' % (value, resp.header_values(value)))
        elif key == 'body':
            if unescape(value) not in body:
                problems.append('body lacks %r' % value)
        elif key == 'body-re':
            if not re.search(value, body, re.S):
                problems.append('body does not match /%s/' % value)
        elif key == 'no-body':
            if unescape(value) in body:
                problems.append('body contains %r' % value)
        elif key == 'closed':
            if not reader.closed_soon():
                problems.append('the server kept the connection open')
    if problems and resp is not None:
        problems.append('got: %r' % (resp.raw_head[:400] + resp.body[:300]))
    return problems


def _exchange(sock, req, deadline):
    """Send one request on sock and read its answer; (response|None, reader)."""
    try:
        sock.sendall(req.raw)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
        pass  # the server may refuse early; read what it said
    reader = Reader(sock, deadline)
    return read_response(reader, req.method), reader


def run_request_case(case, cfg):
    timeout = float(case.opts.get('timeout', cfg.timeout))
    deadline = time.monotonic() + timeout
    held = []
    try:
        for _ in range(int(case.opts.get('hold', '0'))):
            held.append(connect(cfg, case, timeout))
        time.sleep(0.05 if held else 0)
        try:
            sock = connect(cfg, case, timeout)
        except (ssl.SSLError, ConnectionResetError, OSError) as e:
            # Refused during the handshake: only a "no-response" case passes.
            if [k for k, _ in case.requests[0].expect if k == 'no-response']:
                return []
            return ['cannot connect: %r' % e]
        problems = []
        reader = None
        try:
            for n, req in enumerate(case.requests, 1):
                resp, reader = _exchange(sock, req, deadline)
                # keep bytes already read for the next response on this connection
                p = check(resp, req, reader)
                if p:
                    problems += ['response %d: %s' % (n, x) for x in p]
                    break
                if reader.buf and n < len(case.requests):
                    raise Failure('unexpected extra bytes after response %d' % n)
        finally:
            sock.close()
        return problems
    finally:
        for h in held:
            h.close()


def run_tls_version_case(case, cfg):
    version = case.opts.get('tls-version', 'TLSv1_1')
    want = case.opts.get('expect', 'fail')
    timeout = float(case.opts.get('timeout', cfg.timeout))
    port = cfg.http_port if case.opts.get('port') == 'http' else cfg.port
    raw = socket.create_connection((cfg.host, port), timeout=timeout)
    try:
        s = _client_context(version).wrap_socket(raw, server_hostname='localhost')
        got = s.version()
        s.close()
        if want == 'fail':
            return ['handshake with %s succeeded (%s)' % (version, got)]
        return []
    except ssl.SSLError as e:
        msg = str(e)
        if 'NO_PROTOCOLS_AVAILABLE' in msg.upper() or 'no protocols available' in msg:
            return ['the client itself cannot offer %s; the check proves nothing' % version]
        if want == 'ok':
            return ['handshake with %s failed: %s' % (version, msg)]
        return []
    except (ConnectionResetError, OSError) as e:
        if want == 'ok':
            return ['handshake with %s failed: %r' % (version, e)]
        return []
    finally:
        raw.close()


def run_slowloris_case(case, cfg):
    interval = float(case.opts.get('slow-interval', '1'))
    within = float(case.opts.get('close-within', case.opts.get('timeout', cfg.timeout)))
    if len(case.requests) < 2:
        raise CaseError('%s: slowloris needs a slow request and a normal one' % case.name)
    slow, normal = case.requests[0], case.requests[1]
    result = {'closed_after': None, 'sent': 0}
    sock = connect(cfg, case, within + 5)

    def dribble():
        start = time.monotonic()
        try:
            for i in range(len(slow.raw)):
                sock.sendall(slow.raw[i:i + 1])
                result['sent'] = i + 1
                t_next = time.monotonic() + interval
                while time.monotonic() < t_next:
                    sock.settimeout(max(0.01, t_next - time.monotonic()))
                    try:
                        data = sock.recv(4096)
                        if not data:
                            result['closed_after'] = time.monotonic() - start
                            return
                    except socket.timeout:
                        pass
                if time.monotonic() - start > within + 5:
                    return
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            result['closed_after'] = time.monotonic() - start

    t = threading.Thread(target=dribble, daemon=True)
    t.start()
    time.sleep(min(2.0, within / 2))
    problems = []
    # While the slow connection is open, a normal request is served.
    if t.is_alive():
        ok_sock = connect(cfg, case, cfg.timeout)
        try:
            resp, reader = _exchange(ok_sock, normal, time.monotonic() + cfg.timeout)
            problems += ['concurrent request: %s' % p for p in check(resp, normal, reader)]
        finally:
            ok_sock.close()
    else:
        problems.append('the slow connection ended before the concurrent request was sent')
    t.join(within + 10)
    sock.close()
    if result['closed_after'] is None:
        problems.append('server did not close the slow connection (%d bytes sent)' % result['sent'])
    elif result['closed_after'] > within:
        problems.append('server closed the slow connection after %.1fs (> %.1fs)' % (result['closed_after'], within))
    return problems


def run_case(case, cfg):
    """Run one case; returns a list of problems (empty: passed)."""
    kind = case.opts.get('kind', 'request')
    try:
        if kind == 'tls-version':
            return run_tls_version_case(case, cfg)
        if kind == 'slowloris':
            return run_slowloris_case(case, cfg)
        return run_request_case(case, cfg)
    except Failure as e:
        return [str(e)]
    except (OSError, ssl.SSLError) as e:
        return ['connection error: %r' % e]


def run_files(files, cfg, out=None):
    """Run every case of every file, printing TAP to out; (passed, failed)."""
    out = out or sys.stdout
    cases = []
    for f in files:
        cases += parse_case_file(f)
    out.write('1..%d\n' % len(cases))
    passed = failed = 0
    for n, case in enumerate(cases, 1):
        t0 = time.monotonic()
        problems = run_case(case, cfg)
        if problems:
            failed += 1
            out.write('not ok %d - %s\n' % (n, case.name))
            for p in problems:
                out.write('# %s\n' % p.replace('\n', '\n# '))
        else:
            passed += 1
            out.write('ok %d - %s (%.2fs)\n' % (n, case.name, time.monotonic() - t0))
        out.flush()
    return passed, failed


# ==== Server processes ====

def wait_for_port(host, port, timeout=30.0):
    """Wait until host:port accepts TCP connections; True when it does."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


class Server:
    """A server subprocess: start, wait until its ports answer, stop."""

    def __init__(self, argv, ports=None, port_regex=None, host='127.0.0.1', env=None, cwd=None,
                 startup_timeout=30.0, stderr=None):
        self.argv = argv
        self.ports = dict(ports or {})
        self.port_regex = port_regex
        self.host = host
        self.env = env
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.stderr = stderr
        self.proc = None
        self.output = []

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=self.stderr, env=self.env,
                                     cwd=self.cwd, text=True)
        end = time.monotonic() + self.startup_timeout
        if self.port_regex:
            rx = re.compile(self.port_regex)
            while True:
                line = self.proc.stdout.readline()
                if not line:
                    raise RuntimeError('server exited before printing its ports (exit %s)' % self.proc.poll())
                self.output.append(line)
                m = rx.search(line)
                if m:
                    self.ports.update({k: int(v) for k, v in m.groupdict().items() if v})
                    break
                if time.monotonic() > end:
                    raise RuntimeError('server did not print its ports in time')
            # keep draining stdout so that the server never blocks on a full pipe
            threading.Thread(target=self._drain, daemon=True).start()
        else:
            threading.Thread(target=self._drain, daemon=True).start()
        for name, port in self.ports.items():
            if not wait_for_port(self.host, port, max(0.5, end - time.monotonic())):
                self.stop()
                raise RuntimeError('port %s (%d) does not answer' % (name, port))
        return self

    def _drain(self):
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL after timeout; returns the exit status."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def main(argv=None):
    ap = argparse.ArgumentParser(description='Run HTTP test cases (see the docstring for the format).')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--http-port', type=int)
    ap.add_argument('--tls', action='store_true')
    ap.add_argument('--timeout', type=float, default=10.0)
    ap.add_argument('files', nargs='+')
    a = ap.parse_args(argv)
    cfg = Config(a.host, a.port, a.http_port, a.tls, a.timeout)
    try:
        passed, failed = run_files(a.files, cfg)
    except (CaseError, OSError) as e:
        print('# case file error: %s' % e)
        print('0 passed, 1 failed')
        return 2
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
