#!/usr/bin/env python3
"""a11y_test.py — WCAG 2.1 AA as axe-core checks it, in a real browser: every
page a shopper, a customer and a staff member reaches (tests/e2e/a11y.js, run
by playwright-core on Debian's chromium against the real binary over HTTPS
with the WAF blocking), each in its plain state and, for forms, with a
refused input showing its errors; plus a keyboard walk through the checkout
and the back-office sign-in.  The GET page routes of src/api/routes.c (all
but /api, /static, /media, /healthz, /readyz) must each have been audited,
so a new page cannot be added without being audited.  Prints TAP."""
import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'http'))
from app_test import CLI, Server, check, npm_ci  # noqa: E402
from sweep_test import route_rows  # noqa: E402  (the rows of src/api/routes.c)
from admin_test import add_staff  # noqa: E402  (its one-time enrollment link)

NOT_PAGES = ('/api/', '/static/', '/media/', '/healthz', '/readyz')


def page_routes():
    """The GET routes of the route table that answer with an HTML page."""
    return sorted({p for m, p in route_rows() if m == 'GET' and not p.startswith(NOT_PAGES)})


def route_regex(pattern):
    return re.compile('^' + re.sub(r'\\\{[^}]*\\\}', '[^/]+', re.escape(pattern)) + '$')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    a = ap.parse_args()
    cli = CLI(os.path.abspath(a.binary))
    tmp = tempfile.mkdtemp(prefix='sf-a11y-')
    srv = None
    try:
        routes = page_routes()
        check('the route table lists the GET pages', len(routes) > 30, routes)
        ok, log = npm_ci()
        ok = check('npm ci (playwright-core and axe-core from the lock file)', ok, log)
        d = os.path.join(tmp, 'dev')
        rc, out, err = cli.run('init', '--dir', d, '--demo', timeout=600)
        ok = check('init --demo', rc == 0, err) and ok
        if not ok:
            raise RuntimeError('set-up failed (see above)')
        conf = os.path.join(d, 'storefort.ini')
        c = sqlite3.connect(os.path.join(d, 'db', 'storefort.db'))
        sku = c.execute("SELECT v.sku FROM variants v JOIN products p ON p.id = v.product_id "
                        "WHERE p.status = 'active' ORDER BY v.id LIMIT 1").fetchone()[0]
        c.execute('UPDATE variants SET stock = 100 WHERE sku = ?', (sku,))
        c.commit()
        c.close()
        owner = 'a11y.owner@shop.example'
        links = {'owner_link': add_staff(cli, conf, owner, 'owner'),
                 'spare_link': add_staff(cli, conf, 'a11y.spare@shop.example', 'analyst')}
        if not check('staff add prints enrollment links', all(links.values()), links):
            raise RuntimeError('set-up failed (see above)')
        srv = Server(cli, conf, env={'STOREFORT_WAF_MODE': 'block', 'STOREFORT_RATELIMIT_ENABLED': 'off',
                                     'STOREFORT_BANS_FAILED_LOGINS': '1000'})
        cfg = dict(links, base='https://localhost:%d' % srv.https, sku=sku, maildir=os.path.join(d, 'mail'),
                   owner_email=owner)
        cfg_path = os.path.join(tmp, 'a11y.json')
        with open(cfg_path, 'w') as f:
            json.dump(cfg, f)
        r = subprocess.run(['node', os.path.join(HERE, 'a11y.js'), cfg_path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=600)
        out = r.stdout.decode('utf-8', 'replace')
        audited = set()
        lines = out.splitlines()
        for i, line in enumerate(lines):
            if line.startswith('# audited '):
                audited.add(line[len('# audited '):])
            elif line.startswith('ok ') or line.startswith('not ok '):
                diag = []
                for nxt in lines[i + 1:]:
                    if not nxt.startswith('#   '):
                        break
                    diag.append(nxt[4:])
                check(line.split(' - ', 1)[-1], line.startswith('ok '), '\n'.join(diag))
            elif line.startswith('# ') and ' s in the browser' in line:
                print(line)
        check('the browser script exited cleanly', r.returncode == 0, out[-2000:])
        missing = [rt for rt in routes if not any(route_regex(rt).match(u) for u in audited)]
        check('every GET page route of the route table was audited', not missing, missing)
    except Exception:
        import traceback
        check('a11y tests ran to the end', False, traceback.format_exc())
    finally:
        if srv:
            rc, out, err = srv.stop()
            clean = rc == 0 and 'runtime error' not in err and 'AddressSanitizer' not in err
            check('serve stops cleanly, with no sanitizer report', clean, err[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    from app_test import summary
    return summary()


if __name__ == '__main__':
    sys.exit(main())
