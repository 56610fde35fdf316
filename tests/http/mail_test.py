#!/usr/bin/env python3
"""mail_test.py — the outbox's SMTP sender against a real SMTP server (aiosmtpd,
Debian's python3-aiosmtpd) over STARTTLS, with the real storefort binary (TAP):

- mails queued by account registration reach the relay over STARTTLS, after
  a login (AUTH PLAIN, only offered under TLS), with the right envelope and
  headers, the relay's certificate checked against [mail] ca_file;
- the mails of a batch share one SMTP session (one connection, one handshake,
  one login) instead of one each;
- a recipient the relay refuses fails alone: the other mails of the batch
  still go out, and the refusal is visible in the outbox row;
- a relay that offers no STARTTLS gets nothing (no mail in clear text) and the
  outbox row says why; so does a relay whose certificate is not trusted;
- an unreadable [mail] ca_file stops `serve` with a clear error.
"""
import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import ssl
import sys
import tempfile
import threading
import time
import warnings

warnings.filterwarnings('ignore', message='Session.login_data')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import app_test  # noqa: E402
from app_test import CLI, Server, check, free_port, jbody  # noqa: E402
from accounts_test import PW, Browser  # noqa: E402

try:
    import aiosmtpd  # noqa: F401
except ImportError:  # Debian's package, when python3 is not Debian's own
    sys.path.append('/usr/lib/python3/dist-packages')
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402

USER, SECRET = 'shop-relay', 'Relay-Secret-4411'


class Relay:
    """What the relay saw: sessions (connections), logins, mails."""

    def __init__(self, hold_first=False, refuse=()):
        self.lock = threading.Lock()
        self.sessions = set()
        self.logins = []
        self.mails = []
        self.hold_first = hold_first
        self.release = threading.Event()
        self.refuse = set(refuse)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.sessions.add(session.peer)  # (address, port): one per connection
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return '550 5.1.1 mailbox unavailable'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        if self.hold_first:
            # Hold the first mail until the test has queued the others, so
            # that they wait behind it and go out as one batch.
            self.hold_first = False
            deadline = time.monotonic() + 60
            while not self.release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        with self.lock:
            self.mails.append({'session': session.peer, 't': time.time(), 'tls': session.ssl is not None,
                               'auth': session.authenticated, 'from': envelope.mail_from,
                               'to': list(envelope.rcpt_tos),
                               'data': envelope.content.decode('utf-8', 'replace')})
        return '250 Message accepted'

    def auth(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == USER.encode() and auth_data.password == SECRET.encode()
        with self.lock:
            self.logins.append((mechanism, ok, session.ssl is not None))
        return AuthResult(success=ok)


def start_relay(relay, cert, key, tls=True):
    port = free_port()
    kw = {}
    if tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        kw = {'tls_context': ctx, 'require_starttls': True, 'authenticator': relay.auth,
              'auth_required': True, 'auth_require_tls': True}
    c = Controller(relay, hostname='127.0.0.1', port=port, server_hostname='localhost', **kw)
    c.start()
    return c, port


def register(port, emails):
    b = Browser(port, same_origin=False)
    st, _, body = b.call('GET', '/api/v1/account/csrf')
    b.token = (jbody(body) or {}).get('csrf_token')
    codes = []
    for e in emails:
        st, _, body = b.api('POST', '/api/v1/account/register', {'email': e, 'password': PW})
        codes.append(st)
    return codes


def outbox(db):
    c = sqlite3.connect(db, timeout=30)
    try:
        return c.execute('SELECT id, status, attempts, last_error FROM mail_outbox ORDER BY id').fetchall()
    finally:
        c.close()


def wait_for(cond, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def serve(cli, ini, port, extra=None):
    env = {'STOREFORT_RATELIMIT_ENABLED': 'off', 'STOREFORT_MAIL_SMTP_URL': 'smtp://localhost:%d' % port,
           'STOREFORT_MAIL_FROM': 'Shop <shop@example.org>'}
    env.update(extra or {})
    return Server(cli, ini, env=env)


def test_delivery(cli, d, ini, db, cert, key):
    pwfile = os.path.join(d, 'smtp.password')
    with open(pwfile, 'w') as f:
        f.write(SECRET + '\n')
    relay = Relay(hold_first=True, refuse=('refused@example.org',))
    ctl, port = start_relay(relay, cert, key)
    srv = serve(cli, ini, port, {'STOREFORT_MAIL_CA_FILE': cert, 'STOREFORT_MAIL_USERNAME': USER,
                                 'STOREFORT_MAIL_PASSWORD_FILE': 'smtp.password'})
    try:
        emails = ['first@example.org', 'm1@example.org', 'm2@example.org', 'refused@example.org',
                  'm3@example.org', 'm4@example.org']
        t0 = time.time()
        codes = register(srv.https, emails)
        relay.release.set()
        print('# registrations took %.2f s' % (time.time() - t0))
        check('six registrations queued their mails', codes == [202] * 6, codes)
        wait_for(lambda: len(relay.mails) >= 5 and
                 all(r[1] != 'pending' or r[2] > 0 for r in outbox(db)))
        got = sorted(t for m in relay.mails for t in m['to'])
        want = sorted(e for e in emails if e != 'refused@example.org')
        check('every mail but the refused one reached the relay, once', got == want, (got, want))
        check('every mail went over STARTTLS, logged in', relay.mails and
              all(m['tls'] and m['auth'] for m in relay.mails), relay.mails)
        check('the login was AUTH over TLS with the password from password_file',
              relay.logins and all(ok and tls for _, ok, tls in relay.logins), relay.logins)
        check('the envelope sender is [mail] from',
              relay.mails and all(m['from'] == 'shop@example.org' for m in relay.mails), relay.mails)
        m = [x for x in relay.mails if x['to'] == ['m2@example.org']]
        text = m[0]['data'] if m else ''
        check('the message: To, From, a subject and the verification link',
              'To: m2@example.org' in text and 'From: Shop <shop@example.org>' in text and
              'Subject:' in text and '/account/verify?token=' in text, text[:600])
        # The first mail is held by the relay until the next five are
        # queued: they go out as one batch over one session, except that
        # libcurl closes a session after a refused transfer and opens the
        # next. So three sessions: the first batch, the second until the
        # refusal, the rest; one session per mail would make six.
        per = {}
        for x in relay.mails:
            per.setdefault(x['session'], []).append(x['to'][0])
        check('the mails of a batch share one SMTP session (%d sessions for %d mails)'
              % (len(relay.sessions), len(relay.mails) + 1), len(relay.sessions) <= 3 and
              max(len(v) for v in per.values()) >= 2, per)
        check('one login per session', len(relay.logins) == len(relay.sessions), (relay.logins, relay.sessions))
        rows = outbox(db)
        sent = [r for r in rows if r[1] == 'sent']
        failed = [r for r in rows if r[1] != 'sent']
        check('the outbox: five sent, the refused one waiting for a retry with the reason',
              len(sent) == 5 and len(failed) == 1 and failed[0][2] == 1 and failed[0][3] and
              '550' in failed[0][3], rows)
        check('the reason names no recipient (last_error is not sealed)',
              failed and 'example.org' not in (failed[0][3] or ''), failed)
    finally:
        rc, out, err = srv.stop()
        ctl.stop()
    check('serve stops cleanly', rc == 0, err[-1500:])


def test_no_starttls(cli, d, ini, db, cert, key):
    before = len(outbox(db))
    relay = Relay()
    ctl, port = start_relay(relay, cert, key, tls=False)
    srv = serve(cli, ini, port, {'STOREFORT_MAIL_CA_FILE': cert})
    try:
        codes = register(srv.https, ['plain@example.org'])
        check('registration answered while the relay is unfit', codes == [202], codes)
        wait_for(lambda: any(r[2] > 0 for r in outbox(db)[before:]))
        rows = outbox(db)[before:]
        check('a relay without STARTTLS gets no mail at all', relay.mails == [], relay.mails)
        check('the outbox row waits for a retry and says why',
              len(rows) == 1 and rows[0][1] == 'pending' and rows[0][2] == 1 and rows[0][3], rows)
    finally:
        srv.stop()
        ctl.stop()
    # A relay whose certificate is not the trusted one: the system store
    # (no ca_file) does not know the self-signed certificate.
    before = len(outbox(db))
    relay = Relay()
    ctl, port = start_relay(relay, cert, key)
    srv = serve(cli, ini, port)
    try:
        register(srv.https, ['untrusted@example.org'])
        wait_for(lambda: any(r[2] > 0 for r in outbox(db)[before:]))
        rows = outbox(db)[before:]
        check('a relay with an untrusted certificate gets no mail and no password', relay.mails == [] and
              relay.logins == [] and len(rows) == 1 and rows[0][2] == 1 and rows[0][3], (relay.mails, rows))
    finally:
        srv.stop()
        ctl.stop()


def test_bad_ca_file(cli, ini):
    env = dict(cli.env)
    env.update({'STOREFORT_MAIL_SMTP_URL': 'smtp://localhost:1', 'STOREFORT_MAIL_CA_FILE': '/nonexistent/ca.pem',
                'STOREFORT_SERVER_HTTPS_PORT': str(free_port()), 'STOREFORT_SERVER_HTTP_PORT': str(free_port())})
    rc, out, err = cli.run('--config', ini, 'serve', env=env, timeout=60)
    check('an unreadable [mail] ca_file stops serve with a clear error',
          rc != 0 and '[mail] ca_file /nonexistent/ca.pem' in err, (rc, err[-600:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    a = ap.parse_args()
    cli = CLI(os.path.abspath(a.binary))
    tmp = tempfile.mkdtemp(prefix='sf-mail-')
    try:
        d = os.path.join(tmp, 'dev')
        rc, out, err = cli.run('init', '--dir', d, '--no-demo', timeout=600)
        if check('init', rc == 0, (rc, out, err)):
            ini = os.path.join(d, 'storefort.ini')
            db = os.path.join(d, 'db', 'storefort.db')
            cert, key = os.path.join(d, 'tls', 'cert.pem'), os.path.join(d, 'tls', 'key.pem')
            test_delivery(cli, d, ini, db, cert, key)
            test_no_starttls(cli, d, ini, db, cert, key)
            test_bad_ca_file(cli, ini)
            logs = ''
            for name in ('app.log', 'access.log'):
                path = os.path.join(d, 'log', name)
                if os.path.exists(path):
                    logs += open(path, encoding='utf-8', errors='replace').read()
            check('no recipient address and no relay password in the logs', logs and
                  'example.org' not in logs.replace('shop@example.org', '') and SECRET not in logs,
                  [l for l in logs.splitlines() if 'example.org' in l or SECRET in l][:5])
            check('no .eml files were written while an SMTP relay was set',
                  not os.path.isdir(os.path.join(d, 'mail')) or not os.listdir(os.path.join(d, 'mail')))
    except Exception:
        import traceback
        check('mail tests ran to the end', False, traceback.format_exc())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return app_test.summary()


if __name__ == '__main__':
    sys.exit(main())
