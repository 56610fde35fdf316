#!/usr/bin/env python3
"""bench/admin — back-office page latency with 100,000 orders and 50,000
customers.

Starts from a fresh data directory (demo catalog), seeds 50,000 customers and
100,000 orders with sf_bench_seed (next to the storefort binary: the same
prepared statements, sealing and blind indexes as the domain; see seed.c),
creates an owner with `storefort staff add`, signs in through the real flow
(enrollment link -> password -> TOTP, RFC 6238 computed here), then runs wrk
with that staff session (8 connections, 2 threads, keep-alive) against:
  admin_orders       GET /admin/orders                 (newest first, 50 per page)
  admin_orders_paid  GET /admin/orders?status=paid     (the status index)
  admin_customer_search GET /admin/customers?email=... (blind-index lookup)
RUNS times each and reports the median p99 and requests/s.  The WAF runs in
its configured mode (block, paranoia 1: as deployed); per-IP rate limits are
off so that one load generator is not throttled.  Target: p99 < 50 ms.
The last stdout line is a JSON object.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests', 'http'))
from admin_test import Staff  # noqa: E402  (real sign-in flow, TOTP per RFC 6238)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import clean_env, free_port, wrk as run_wrk  # noqa: E402


def wrk(url, seconds, conns, threads, cookie):
    r = run_wrk(url, seconds, conns, threads,
                headers=('Cookie: ' + cookie, 'User-Agent: storefort-bench', 'Accept: text/html'))
    return r['rps'], r['p99_ms']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    ap.add_argument('--orders', type=int, default=100000)
    ap.add_argument('--customers', type=int, default=50000)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--seconds', type=int, default=8)
    ap.add_argument('--connections', type=int, default=8)
    a = ap.parse_args()
    seeder = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(a.binary))), 'bench', 'admin',
                          'sf_bench_seed')
    tmp = tempfile.mkdtemp(prefix='sf-bench-admin-')
    d = os.path.join(tmp, 'data')
    conf = os.path.join(d, 'storefort.ini')
    env = clean_env()
    srv = None
    try:
        subprocess.run([a.binary, 'init', '--dir', d, '--demo'], check=True, env=env, stdout=subprocess.DEVNULL)
        t0 = time.time()
        subprocess.run([seeder, conf, str(a.customers), str(a.orders)], check=True, env=env)
        seed_s = time.time() - t0
        print('seeded %d customers and %d orders in %.1f s' % (a.customers, a.orders, seed_s), file=sys.stderr)
        out = subprocess.run([a.binary, '--config', conf, 'staff', 'add', '--role', 'owner', 'bench@shop.example'],
                             check=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
        link = re.search(r'https://\S+/admin/enroll\?token=\S+', out).group(0)
        port = free_port()
        env.update({'STOREFORT_SERVER_HTTPS_PORT': str(port), 'STOREFORT_SERVER_HTTP_PORT': str(free_port()),
                    'STOREFORT_LOG_LEVEL': 'warn', 'STOREFORT_RATELIMIT_ENABLED': 'off'})
        srv = subprocess.Popen([a.binary, '--config', conf, 'serve'], env=env, stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        staff = Staff(port, 'bench@shop.example')
        ok, diag = staff.enroll(link)
        if not ok:
            raise RuntimeError('sign-in failed: %r' % (diag,))
        cookie = '; '.join('%s=%s' % kv for kv in staff.cookies.items())
        base = 'https://localhost:%d' % port
        email = urllib.parse.quote('customer%d@bench.example' % (a.customers // 2))
        st, hd, html = staff.get('/admin/customers?email=' + email)
        if st != 200 or '/admin/customers/' not in html:
            raise RuntimeError('customer search did not find the customer (%d)' % st)
        st, hd, html = staff.get('/admin/orders')
        if st != 200 or html.count('/admin/orders/') < 50:
            raise RuntimeError('order list incomplete (%d)' % st)
        results = {'admin_seed_s': round(seed_s, 1)}
        for key, path in [('admin_orders', '/admin/orders'), ('admin_orders_paid', '/admin/orders?status=paid'),
                          ('admin_customer_search', '/admin/customers?email=' + email)]:
            wrk(base + path, 2, a.connections, 2, cookie)  # warm-up
            rps, p99 = [], []
            for _ in range(a.runs):
                r, p = wrk(base + path, a.seconds, a.connections, 2, cookie)
                rps.append(r)
                p99.append(p)
                print('%s: %.0f req/s, p99 %.2f ms' % (key, r, p), file=sys.stderr)
            results[key + '_p99_ms'] = round(statistics.median(p99), 2)
            results[key + '_rps'] = round(statistics.median(rps))
        print(json.dumps(results))
        return 0
    finally:
        if srv:
            srv.terminate()
            srv.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
