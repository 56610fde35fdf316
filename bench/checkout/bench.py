#!/usr/bin/env python3
"""bench/checkout — complete guest checkouts per second on SQLite.

Starts storefort (the build given by --binary; WAF off, rate limits off) on a
fresh demo data directory with VARIANTS variants holding STOCK units each,
then runs SHOPPERS concurrent guest shoppers for SECONDS with the C load
generator sf_checkout_loadgen (bench/checkout/loadgen.c, built next to the
binary: PROCS processes of one libcurl-multi thread each; every shopper has
its own keep-alive HTTPS connection and cookie jar).  One
checkout = add to cart (POST /api/v1/cart/items) -> create the order and
start its payment (POST /api/v1/checkout with "pay": true, Idempotency-Key)
-> approve on the sandbox page (POST /sandbox-pay/{session}); the sandbox's
signed webhook then marks the order paid.  A checkout counts when its order
is paid.  (Until the eighth session the payment started in a request of its
own, POST /api/v1/orders/{id}/pay: sf_checkout_loadgen --pay-step.)

Reports orders_per_s (paid orders / time until the last one was paid),
oversold_units (must be 0: for every variant, stock left + units in
non-cancelled orders == initial stock), and catalog_reads_loaded_ratio: the
product JSON read rate (wrk, 4 connections) during the load divided by the
same measurement unloaded.  Target on 2 cores: >= 2,000 orders/s, 0 oversold,
ratio >= 0.8.  Progress on stderr; the last stdout line is a JSON object.
"""
import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import clean_env, free_port, wrk as run_wrk  # noqa: E402


def wrk(url, seconds, conns=4):
    return run_wrk(url, seconds, conns, threads=1, check_errors=False)['rps']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    ap.add_argument('--seconds', type=int, default=15)
    ap.add_argument('--shoppers', type=int, default=32)
    ap.add_argument('--procs', type=int, default=1, help='load generator processes (one thread each)')
    ap.add_argument('--variants', type=int, default=20)
    ap.add_argument('--stock', type=int, default=200000)
    a = ap.parse_args()
    loadgen = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(a.binary)))),
                           'bench', 'checkout', 'sf_checkout_loadgen')
    if not os.access(loadgen, os.X_OK):
        print('bench/checkout: %s is missing (build the tree with meson: it sits next to the binary)' % loadgen,
              file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix='sf-bench-checkout-')
    d = os.path.join(tmp, 'data')
    env = clean_env()
    subprocess.run([a.binary, 'init', '--dir', d, '--demo'], check=True, env=env, stdout=subprocess.DEVNULL)
    db = os.path.join(d, 'db', 'storefort.db')
    c = sqlite3.connect(db)
    rows = c.execute("SELECT v.id, v.sku FROM variants v JOIN products p ON p.id = v.product_id "
                     "WHERE p.status = 'active' ORDER BY v.id LIMIT ?", (a.variants,)).fetchall()
    c.executemany('UPDATE variants SET stock = ? WHERE id = ?', [(a.stock, r[0]) for r in rows])
    slug = c.execute('SELECT p.slug FROM products p JOIN variants v ON v.product_id = p.id WHERE v.id = ?',
                     (rows[0][0],)).fetchone()[0]
    c.commit()
    c.close()
    skus = [r[1] for r in rows]
    port = free_port()
    env.update({'STOREFORT_SERVER_HTTPS_PORT': str(port), 'STOREFORT_SERVER_HTTP_PORT': str(free_port()),
                'STOREFORT_LOG_LEVEL': 'warn', 'STOREFORT_WAF_MODE': 'off', 'STOREFORT_RATELIMIT_ENABLED': 'off',
                'STOREFORT_SHOP_RESERVATION_MINUTES': '60'})
    srv = subprocess.Popen([a.binary, '--config', os.path.join(d, 'storefort.ini'), 'serve'], env=env,
                           stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        url = 'https://localhost:%d/api/v1/products/%s' % (port, slug)
        wrk(url, 2)
        unloaded = wrk(url, 5)
        print('catalog reads unloaded: %.0f req/s' % unloaded, file=sys.stderr)
        per = [a.shoppers // a.procs + (1 if i < a.shoppers % a.procs else 0) for i in range(a.procs)]
        t0 = time.time()
        procs = [subprocess.Popen([loadgen, '--port', str(port), '--skus', ','.join(skus), '--shoppers', str(n),
                                   '--seconds', str(a.seconds), '--tag', 'p%d' % i],
                                  stdout=subprocess.PIPE, env=env)
                 for i, n in enumerate(per) if n > 0]
        time.sleep(min(4, a.seconds / 3))
        loaded = wrk(url, min(5, max(1, a.seconds - 6)))
        print('catalog reads during the load: %.0f req/s' % loaded, file=sys.stderr)
        counts = {'ok': 0}
        requests = 0
        lg_cpu = 0.0
        for p in procs:
            out, _ = p.communicate()
            if p.returncode != 0:
                raise RuntimeError('the load generator failed (exit %d)' % p.returncode)
            r = json.loads(out.decode().strip().splitlines()[-1])
            counts['ok'] += r['approved']
            requests += r['requests']
            lg_cpu += r['cpu_s']
            for k, v in r['errors'].items():
                counts[k] = counts.get(k, 0) + v
        print('load generator: %d requests, %.0f approvals/s, %.1f s of CPU (%.0f us per request)'
              % (requests, counts['ok'] / a.seconds, lg_cpu, 1e6 * lg_cpu / max(1, requests)), file=sys.stderr)
        approved = counts.get('ok', 0)
        if not approved:
            raise RuntimeError('no checkout completed: %s' % counts)
        c = sqlite3.connect(db, timeout=30)
        deadline = time.time() + 60
        paid = 0
        while time.time() < deadline:
            paid = c.execute("SELECT count(*) FROM orders WHERE status = 'paid'").fetchone()[0]
            if paid >= approved:
                break
            time.sleep(0.2)
        last = c.execute("SELECT max(updated_at) FROM orders WHERE status = 'paid'").fetchone()[0] or t0
        elapsed = max(time.time() if paid < approved else min(time.time(), last + 1), t0 + a.seconds) - t0
        ids = [r[0] for r in rows]
        marks = ','.join('?' * len(ids))
        left = c.execute('SELECT sum(stock) FROM variants WHERE id IN (%s)' % marks, ids).fetchone()[0]
        sold = c.execute("SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id "
                         "WHERE o.status <> 'cancelled' AND l.variant_id IN (%s)" % marks, ids).fetchone()[0]
        c.close()
        oversold = max(0, sold + left - a.stock * len(ids)) + max(0, a.stock * len(ids) - sold - left)
        print('checkouts: %s; paid %d in %.1f s' % (counts, paid, elapsed), file=sys.stderr)
        res = {'orders_per_s': round(paid / elapsed, 1), 'oversold_units': oversold,
               'checkout_shoppers': a.shoppers, 'checkout_paid_orders': paid,
               'catalog_reads_unloaded_rps': round(unloaded), 'catalog_reads_loaded_rps': round(loaded),
               'catalog_reads_loaded_ratio': round(loaded / unloaded, 3) if unloaded else 0.0}
    finally:
        srv.terminate()
        srv.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(res))
    return 0


if __name__ == '__main__':
    sys.exit(main())
