#!/usr/bin/env python3
"""housekeeping_test.py — what `serve` deletes by itself, with the real binary (TAP):

- sessions past their absolute expiry, verification/reset and enrollment links
  past theirs, guest carts whose cookie has expired (30 days untouched), mails
  sent or failed more than [mail] keep_days ago, webhook deliveries delivered
  or failed more than [webhooks] keep_days ago: gone after a start;
- what must stay stays: live sessions and links, young guest carts, customers'
  carts of any age, pending mails and deliveries of any age, young ones;
- thousands of old rows go in one start (bounded batches, one after another);
- a keep_days of 0 or above 3650 stops `serve` with an error naming it.
"""
import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import app_test  # noqa: E402
from app_test import CLI, Server, check, free_port  # noqa: E402
from mail_test import register, wait_for  # noqa: E402

DAY = 86400
MANY = 2500  # old deliveries: more than two batches of SF_DB_PRUNE_MAX (1000)


def seed(db, cid, now):
    """Old and young rows of every kind; returns the ids that must stay, per table."""
    c = sqlite3.connect(db, timeout=30)
    keep = {}
    try:
        def ins(sql, args):
            return c.execute(sql, args).lastrowid

        # sessions: one expired, one live
        ins('INSERT INTO sessions(token_hash, kind, principal_id, created_at, last_seen_at, expires_at) '
            'VALUES (?, \'customer\', ?, ?, ?, ?)', (os.urandom(32), cid, now - 9 * DAY, now - 9 * DAY, now - 10))
        keep['sessions'] = [ins('INSERT INTO sessions(token_hash, kind, principal_id, created_at, last_seen_at, '
                                'expires_at) VALUES (?, \'customer\', ?, ?, ?, ?)',
                                (os.urandom(32), cid, now, now, now + 3600))]
        # customer links: the registration's verification link expires; a live reset link stays
        c.execute('UPDATE customer_tokens SET expires_at = ? WHERE customer_id = ?', (now - 10, cid))
        keep['customer_tokens'] = [ins('INSERT INTO customer_tokens(token_hash, customer_id, purpose, expires_at) '
                                       'VALUES (?, ?, \'reset\', ?)', (os.urandom(32), cid, now + 3600))]
        # staff links: the enrollment link expires; a second live one stays
        sid = c.execute('SELECT staff_id FROM staff_tokens').fetchone()[0]
        c.execute('UPDATE staff_tokens SET expires_at = ?', (now - 10,))
        keep['staff_tokens'] = [ins('INSERT INTO staff_tokens(token_hash, staff_id, purpose, expires_at) '
                                    'VALUES (?, ?, \'enroll\', ?)', (os.urandom(32), sid, now + 3600))]
        # carts: a guest cart past its cookie's 30 days goes; a younger one and an old customer's cart stay
        ins('INSERT INTO carts(token_hash, updated_at) VALUES (?, ?)', (os.urandom(32), now - 31 * DAY))
        keep['carts'] = [ins('INSERT INTO carts(token_hash, updated_at) VALUES (?, ?)', (os.urandom(32), now - 29 * DAY)),
                         ins('INSERT INTO carts(customer_id, updated_at) VALUES (?, ?)', (cid, now - 90 * DAY))]
        # mails ([mail] keep_days = 7 here): sent and failed 8 days ago go; pending and 6 days stay
        mail = ('INSERT INTO mail_outbox(recipient, subject, status, attempts, next_attempt_at, created_at) '
                'VALUES (x\'00\', x\'00\', ?, 1, ?, ?)')
        ins(mail, ('sent', now - 8 * DAY, now - 8 * DAY))
        ins(mail, ('failed', now - 8 * DAY, now - 8 * DAY))
        keep['mail_outbox'] = [ins(mail, ('pending', now + 10 * DAY, now - 8 * DAY)),
                               ins(mail, ('sent', now - 6 * DAY, now - 6 * DAY))]
        # deliveries ([webhooks] keep_days = 30, the default)
        dl = ('INSERT INTO webhook_deliveries(subscription_id, url, event_id, event_type, body, status, next_at, '
              'created_at) VALUES (NULL, \'https://localhost:1/\', ?, \'order.paid\', \'{}\', ?, ?, ?)')
        for i in range(MANY):
            ins(dl, ('evt_old_%d' % i, 'delivered' if i % 2 else 'failed', now - 31 * DAY, now - 31 * DAY))
        keep['webhook_deliveries'] = [ins(dl, ('evt_pending', 'pending', now + 10 * DAY, now - 31 * DAY)),
                                      ins(dl, ('evt_young', 'delivered', now - 29 * DAY, now - 29 * DAY))]
        c.commit()
        keep['mail_outbox'] += [r[0] for r in c.execute('SELECT id FROM mail_outbox WHERE created_at > ?',
                                                        (now - DAY,))]
        return keep
    finally:
        c.close()


def ids(db, table):
    c = sqlite3.connect(db, timeout=30)
    try:
        return sorted(r[0] for r in c.execute('SELECT id FROM %s' % table))
    finally:
        c.close()


def test_housekeeping(cli, d, ini, db):
    srv = Server(cli, ini, env={'STOREFORT_RATELIMIT_ENABLED': 'off'})
    try:
        codes = register(srv.https, ['keep-me@example.org'])
    finally:
        srv.stop()
    check('a customer registers (a verification link to expire)', codes == [202], codes)
    rc, out, err = cli.run('--config', ini, 'staff', 'add', '--role', 'owner', '--name', 'Old Link',
                           'old-link@example.org')
    check('staff add (an enrollment link to expire)', rc == 0, (rc, err))
    cid = sqlite3.connect(db).execute('SELECT id FROM customers').fetchone()[0]
    now = int(time.time())
    keep = seed(db, cid, now)

    srv = Server(cli, ini, env={'STOREFORT_RATELIMIT_ENABLED': 'off', 'STOREFORT_MAIL_KEEP_DAYS': '7'})
    try:
        gone = wait_for(lambda: ids(db, 'webhook_deliveries') == keep['webhook_deliveries'], timeout=30)
        check('%d old deliveries (more than two batches) are gone after one start' % MANY, gone,
              len(ids(db, 'webhook_deliveries')))
        time.sleep(0.5)
    finally:
        rc, out, err = srv.stop()
    for table in ('sessions', 'customer_tokens', 'staff_tokens', 'carts', 'mail_outbox', 'webhook_deliveries'):
        have = ids(db, table)
        check('%s: the expired or old rows went, the others stayed' % table, have == sorted(keep[table]),
              (have, sorted(keep[table])))
    log = open(os.path.join(d, 'log', 'app.log'), encoding='utf-8', errors='replace').read()
    line = [l for l in log.splitlines() if 'housekeeping.deleted' in l]
    check('the log says what went, per kind', line and 'sessions=1 customer_links=1 staff_links=1 carts=1 '
          'mails=2 deliveries=%d' % MANY in line[0], line)


def test_bad_keep_days(cli, ini):
    for key, value in (('STOREFORT_MAIL_KEEP_DAYS', '0'), ('STOREFORT_WEBHOOKS_KEEP_DAYS', '3651'),
                       ('STOREFORT_WEBHOOKS_KEEP_DAYS', '30x')):
        env = dict(cli.env)
        env.update({key: value, 'STOREFORT_SERVER_HTTPS_PORT': str(free_port()),
                    'STOREFORT_SERVER_HTTP_PORT': str(free_port())})
        rc, out, err = cli.run('--config', ini, 'serve', env=env, timeout=60)
        check('%s=%s stops serve with an error naming it' % (key, value), rc != 0 and 'keep_days' in err.lower(),
              (rc, err[-400:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    a = ap.parse_args()
    cli = CLI(os.path.abspath(a.binary))
    tmp = tempfile.mkdtemp(prefix='sf-hk-')
    try:
        d = os.path.join(tmp, 'dev')
        rc, out, err = cli.run('init', '--dir', d, '--no-demo', timeout=600)
        if check('init', rc == 0, (rc, out, err)):
            ini = os.path.join(d, 'storefort.ini')
            db = os.path.join(d, 'db', 'storefort.db')
            test_housekeeping(cli, d, ini, db)
            test_bad_keep_days(cli, ini)
    except Exception:
        import traceback
        check('housekeeping tests ran to the end', False, traceback.format_exc())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return app_test.summary()


if __name__ == '__main__':
    sys.exit(main())
