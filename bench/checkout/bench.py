#!/usr/bin/env python3
"""bench/checkout — complete guest checkouts per second on SQLite.

Starts storefort (the build given by --binary; WAF off, rate limits off) on a
fresh demo data directory with VARIANTS variants holding STOCK units each,
then runs SHOPPERS concurrent guest shoppers (PROCS processes x threads, each
with its own keep-alive HTTPS connection and cookie jar) for SECONDS.  One
checkout = add to cart (POST /api/v1/cart/items) -> create the order
(POST /api/v1/checkout, Idempotency-Key) -> start the payment
(POST /api/v1/orders/{id}/pay) -> approve on the sandbox page
(POST /sandbox-pay/{session}); the sandbox's signed webhook then marks the
order paid.  A checkout counts when its order is paid.

Reports orders_per_s (paid orders / time until the last one was paid),
oversold_units (must be 0: for every variant, stock left + units in
non-cancelled orders == initial stock), and catalog_reads_loaded_ratio: the
product JSON read rate (wrk, 4 connections) during the load divided by the
same measurement unloaded.  Target on 2 cores: >= 2,000 orders/s, 0 oversold,
ratio >= 0.8.  Progress on stderr; the last stdout line is a JSON object.
"""
import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import clean_env, free_port, wrk as run_wrk  # noqa: E402


class Shopper:
    def __init__(self, port):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.conn = http.client.HTTPSConnection('localhost', port, context=ctx, timeout=30)
        self.cookies = {}
        self.token = None

    def call(self, method, path, body=None, ctype=None, headers=None):
        h = {'Host': 'localhost', 'Origin': 'https://localhost', 'Sec-Fetch-Site': 'same-origin'}
        if self.cookies:
            h['Cookie'] = '; '.join('%s=%s' % kv for kv in self.cookies.items())
        if ctype:
            h['Content-Type'] = ctype
        h.update(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == 'set-cookie':
                name, _, rest = v.partition('=')
                self.cookies[name] = rest.split(';', 1)[0]
        return r.status, r, data

    def api(self, method, path, obj=None, headers=None):
        h = dict(headers or {})
        if self.token:
            h['X-CSRF-Token'] = self.token
        st, r, data = self.call(method, path, json.dumps(obj).encode() if obj is not None else None,
                                'application/json' if obj is not None else None, h)
        js = json.loads(data) if data and r.getheader('Content-Type', '').startswith('application/json') else None
        if isinstance(js, dict) and js.get('csrf_token'):
            self.token = js['csrf_token']
        return st, js

    def checkout(self, sku, n):
        st, js = self.api('POST', '/api/v1/cart/items', {'sku': sku, 'quantity': 1})
        if st != 201:
            return 'cart_%d' % st
        st, js = self.api('POST', '/api/v1/checkout', {'email': 'bench@example.org', 'address': {
            'name': 'Bench Buyer', 'street': '1 Load Street', 'city': 'Paris', 'postcode': '75001', 'country': 'FR'},
            'shipping_method': 'standard'}, headers={'Idempotency-Key': 'bench-%d-%d-%d' % (os.getpid(), id(self), n)})
        if st != 201:
            return 'order_%d' % st
        st, js = self.api('POST', '/api/v1/orders/%d/pay' % js['order']['id'], {})
        if st != 201:
            return 'pay_%d' % st
        body = urllib.parse.urlencode({'csrf_token': self.token, 'decision': 'approve'}).encode()
        st, r, data = self.call('POST', js['redirect_url'], body, 'application/x-www-form-urlencoded',
                                {'X-CSRF-Token': self.token})
        return 'ok' if st == 303 else 'approve_%d' % st


def worker(port, skus, threads, seconds, out):
    counts = {}
    lock = threading.Lock()
    stop = time.time() + seconds

    def run(k):
        s = Shopper(port)
        s.api('GET', '/api/v1/cart')
        n = 0
        while time.time() < stop:
            n += 1
            try:
                res = s.checkout(skus[(k + n) % len(skus)], n)
            except (OSError, http.client.HTTPException) as e:
                res = 'error_' + type(e).__name__
                s = Shopper(port)
                s.api('GET', '/api/v1/cart')
            with lock:
                counts[res] = counts.get(res, 0) + 1

    ts = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put(counts)


def wrk(url, seconds, conns=4):
    return run_wrk(url, seconds, conns, threads=1, check_errors=False)['rps']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    ap.add_argument('--seconds', type=int, default=15)
    ap.add_argument('--shoppers', type=int, default=32)
    ap.add_argument('--procs', type=int, default=4)
    ap.add_argument('--variants', type=int, default=20)
    ap.add_argument('--stock', type=int, default=200000)
    a = ap.parse_args()
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
        q = multiprocessing.Queue()
        per = max(1, a.shoppers // a.procs)
        t0 = time.time()
        procs = [multiprocessing.Process(target=worker, args=(port, skus, per, a.seconds, q))
                 for _ in range(a.procs)]
        for p in procs:
            p.start()
        time.sleep(min(4, a.seconds / 3))
        loaded = wrk(url, min(5, max(1, a.seconds - 6)))
        print('catalog reads during the load: %.0f req/s' % loaded, file=sys.stderr)
        counts = {}
        for _ in procs:
            for k, v in q.get().items():
                counts[k] = counts.get(k, 0) + v
        for p in procs:
            p.join()
        approved = counts.get('ok', 0)
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
