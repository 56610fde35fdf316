#!/usr/bin/env python3
"""browser_test.py — the shopper journey in a real browser: Playwright
(playwright-core from tests/npm, installed here with `npm ci`) driving
Debian's chromium headless against the real storefort binary over HTTPS with
the WAF blocking, sandbox payment included (tests/e2e/browser_pay.js).
Prints TAP."""
import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'http'))
from app_test import CLI, Server, check, npm_ci  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    a = ap.parse_args()
    cli = CLI(os.path.abspath(a.binary))
    tmp = tempfile.mkdtemp(prefix='sf-browser-')
    srv = None
    ok = True
    try:
        ok, log = npm_ci()
        ok = check('npm ci (playwright-core from the lock file)', ok, log)
        ok = check('chromium is installed', os.path.exists('/usr/bin/chromium')) and ok
        d = os.path.join(tmp, 'dev')
        rc, out, err = cli.run('init', '--dir', d, '--demo', timeout=600)
        ok = check('init --demo', rc == 0, err) and ok
        if ok:
            db = os.path.join(d, 'db', 'storefort.db')
            c = sqlite3.connect(db)
            sku = c.execute("SELECT v.sku FROM variants v JOIN products p ON p.id = v.product_id "
                            "WHERE p.status = 'active' ORDER BY v.id LIMIT 1").fetchone()[0]
            c.execute('UPDATE variants SET stock = 100 WHERE sku = ?', (sku,))
            c.commit()
            c.close()
            srv = Server(cli, os.path.join(d, 'storefort.ini'),
                         env={'STOREFORT_WAF_MODE': 'block', 'STOREFORT_RATELIMIT_ENABLED': 'off'})
            r = subprocess.run(['node', os.path.join(HERE, 'browser_pay.js'), 'https://localhost:%d' % srv.https, sku],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
            out = r.stdout.decode('utf-8', 'replace')
            # re-number the browser's TAP lines into this suite's results
            for line in out.splitlines():
                if line.startswith('ok ') or line.startswith('not ok '):
                    name = line.split(' - ', 1)[-1]
                    check('browser: ' + name, line.startswith('ok '), out[-2000:])
            check('the browser script exited cleanly', r.returncode == 0, out[-2000:])
    except Exception:
        import traceback
        check('browser tests ran to the end', False, traceback.format_exc())
    finally:
        if srv:
            rc, out, err = srv.stop()
            check('serve stops cleanly', rc == 0, err[-2000:])
        shutil.rmtree(tmp, ignore_errors=True)
    from app_test import summary
    return summary()


if __name__ == '__main__':
    sys.exit(main())
