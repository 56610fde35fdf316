#!/usr/bin/env python3
"""bench/catalog — catalog read throughput with wrk over HTTPS.

Starts storefort (the release build given by --binary) on a fresh data
directory with the demo catalog, then runs wrk (64 connections, 2 threads,
keep-alive) against GET /api/v1/products (a page of 20) and against a product
page, RUNS times each, and reports the median requests/s and the median p99.
Targets on 2 cores: >= 50,000 req/s for the JSON list, >= 20,000 req/s for the
product page, p99 < 10 ms.  The WAF is off here (its cost is bench/waf's
subject); the access log is written, as in production.  The last stdout line is a JSON object.
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
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import clean_env, free_port, wrk as run_wrk  # noqa: E402


def wrk(url, seconds, conns, threads):
    r = run_wrk(url, seconds, conns, threads)
    return r['rps'], r['p99_ms']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--seconds', type=int, default=8)
    ap.add_argument('--connections', type=int, default=64)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='sf-bench-')
    d = os.path.join(tmp, 'data')
    env = clean_env()
    subprocess.run([a.binary, 'init', '--dir', d, '--demo'], check=True, env=env, stdout=subprocess.DEVNULL)
    port = free_port()
    env.update({'STOREFORT_SERVER_HTTPS_PORT': str(port), 'STOREFORT_SERVER_HTTP_PORT': str(free_port()),
                'STOREFORT_LOG_LEVEL': 'info',  # access log on, as in production
                # The catalog path itself; the WAF's cost is measured on its own by bench/waf.
                'STOREFORT_WAF_MODE': 'off'})
    srv = subprocess.Popen([a.binary, '--config', os.path.join(d, 'storefort.ini'), 'serve'], env=env,
                           stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        base = 'https://localhost:%d' % port
        import ssl
        import urllib.request
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(base + '/api/v1/products?per_page=1', context=ctx) as r:
            slug = json.loads(r.read())['items'][0]['slug']
        results = {}
        for key, path in [('catalog_json', '/api/v1/products'), ('product_page', '/p/' + slug)]:
            wrk(base + path, 2, a.connections, 2)  # warm-up
            rps, p99 = [], []
            for i in range(a.runs):
                r, p = wrk(base + path, a.seconds, a.connections, 2)
                print('%s run %d: %.0f req/s, p99 %.2f ms' % (key, i + 1, r, p), file=sys.stderr)
                rps.append(r)
                p99.append(p)
            results[key + '_rps'] = round(statistics.median(rps))
            results[key + '_p99_ms'] = round(statistics.median(p99), 2)
    finally:
        srv.terminate()
        srv.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results))


if __name__ == '__main__':
    sys.exit(main())
