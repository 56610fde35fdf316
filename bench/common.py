"""bench/common.py — what every benchmark shares: a free loopback port, an
environment without inherited STOREFORT_* settings, and one wrk runner that
parses requests/s, p99 latency and the request count (and refuses a run with
error answers, so a benchmark never measures error pages)."""
import os
import re
import socket
import subprocess


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def clean_env():
    """os.environ without STOREFORT_* (a benchmark sets its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith('STOREFORT_')}


def wrk(url, seconds, conns, threads=2, headers=(), check_errors=True):
    """Run wrk with --latency; return dict(rps, p99_ms, requests)."""
    cmd = ['wrk', '-t%d' % threads, '-c%d' % conns, '-d%ds' % seconds, '--latency']
    for h in headers:
        cmd += ['-H', h]
    out = subprocess.run(cmd + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         check=True).stdout.decode()
    m = re.search(r'Requests/sec:\s+([\d.]+)', out)
    rps = float(m.group(1)) if m else 0.0
    m = re.search(r'^\s+99%\s+([\d.]+)(us|ms|s)\s*$', out, re.M)
    p99 = float(m.group(1)) * {'us': 0.001, 'ms': 1.0, 's': 1000.0}[m.group(2)] if m else 0.0
    m = re.search(r'(\d+) requests in', out)
    total = int(m.group(1)) if m else 0
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    if errors and check_errors:
        raise RuntimeError('wrk saw %s error responses for %s' % (errors.group(1), url))
    return {'rps': rps, 'p99_ms': p99, 'requests': total}
