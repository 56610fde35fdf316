#!/usr/bin/env python3
"""bench/waf — what the WAF costs, and storefort against nginx + ModSecurity-nginx.

In one run, with wrk over HTTPS (keep-alive, Host: localhost so that CRS's numeric-Host
rule stays quiet, rate limits off):
  * storefort with the WAF on (block, paranoia 1) and off, for the catalog JSON
    (GET /api/v1/products) and a product page (GET /p/<slug>);
  * nginx 1.22 + ModSecurity-nginx + libmodsecurity 3 with the same CRS (paranoia 1, same
    engine settings) serving static copies of the same two bodies, one worker per core;
  * the same nginx with ModSecurity off (nginx_static_rps, nginx_static_page_rps): static
    files over the same TLS, the ceiling this machine gives any HTTPS server at this load.
The WAF's CPU per request is the difference of storefort's CPU time per request (from
/proc/PID/stat) with the WAF on and off; its share is that over the CPU per request with
the WAF on.  Target on 2 cores: waf_on_rps >= nginx_modsec_rps.
The last stdout line is one JSON object; progress goes to stderr.
"""
import argparse
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import clean_env, free_port, wrk as run_wrk  # noqa: E402

TICK = os.sysconf('SC_CLK_TCK')
# A real browser's User-Agent: CRS's phrase-match rules (913100...) scan it, and the
# cost of that depends on its text (see docs/PERFORMANCE.md).
UA = ('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) '
      'Chrome/120.0.0.0 Safari/537.36')


def wait_port(port, proc=None, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('server exited early')
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('port %d did not open' % port)


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def wrk(url, seconds, conns):
    r = run_wrk(url, seconds, conns, 2, headers=('Host: localhost', 'User-Agent: ' + UA, 'Accept: */*'))
    return r['rps'], r['requests']


def measure(url, pids, runs, seconds, conns):
    """Median requests/s and CPU seconds per request over runs."""
    rps, cpu = [], []
    for _ in range(runs):
        c0 = cpu_seconds(pids)
        r, n = wrk(url, seconds, conns)
        c1 = cpu_seconds(pids)
        rps.append(r)
        cpu.append((c1 - c0) / max(n, 1))
    return statistics.median(rps), statistics.median(cpu)


def fetch(url):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return urllib.request.urlopen(urllib.request.Request(url, headers={'Host': 'localhost'}), context=ctx).read()


def storefort(binary, d, waf_mode):
    port = free_port()
    env = clean_env()
    env.update({'STOREFORT_SERVER_HTTPS_PORT': str(port), 'STOREFORT_SERVER_HTTP_PORT': str(free_port()),
                'STOREFORT_LOG_LEVEL': 'warn', 'STOREFORT_WAF_MODE': waf_mode, 'STOREFORT_WAF_PARANOIA': '1',
                'STOREFORT_RATELIMIT_ENABLED': 'off'})
    p = subprocess.Popen([binary, '--config', os.path.join(d, 'storefort.ini'), 'serve'], env=env,
                         stdout=subprocess.DEVNULL)
    wait_port(port, p)
    return p, port


NGINX_CONF = '''load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;
worker_processes %(workers)d;
pid %(P)s/nginx.pid;
error_log %(P)s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(P)s/tmp;  proxy_temp_path %(P)s/tmp;
    fastcgi_temp_path %(P)s/tmp;  uwsgi_temp_path %(P)s/tmp;  scgi_temp_path %(P)s/tmp;
    server {
        listen 127.0.0.1:%(port)d ssl;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        ssl_protocols TLSv1.2 TLSv1.3;
        server_name localhost;
        modsecurity %(modsec)s;
        modsecurity_rules_file %(P)s/modsec.conf;
        location = /api/v1/products { default_type application/json; alias %(P)s/products.json; }
        location = %(page)s { default_type text/html; alias %(P)s/page.html; }
    }
}
'''

# The same engine settings storefort uses (src/edge/waf.c), then the CRS.
MODSEC_CONF = '''SecRuleEngine On
SecRequestBodyAccess On
SecResponseBodyAccess Off
SecRequestBodyLimit 1048576
SecRequestBodyNoFilesLimit 1048576
SecRequestBodyLimitAction ProcessPartial
SecPcreMatchLimit 1000
SecPcreMatchLimitRecursion 1000
SecArgumentSeparator &
SecCookieFormat 0
SecAuditEngine Off
SecRule REQUEST_HEADERS:Content-Type "@rx ^application/json" "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQBODY_ERROR "!@eq 0" "id:200002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.'"
Include /etc/modsecurity/crs/crs-setup.conf
SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=1"
Include /etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf
Include /usr/share/modsecurity-crs/rules/*.conf
Include /etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf
'''


def nginx_pids(P):
    with open(os.path.join(P, 'nginx.pid')) as f:
        master = int(f.read().strip())
    out = subprocess.run(['pgrep', '-P', str(master)], stdout=subprocess.PIPE).stdout.decode().split()
    return master, [master] + [int(x) for x in out]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--seconds', type=int, default=6)
    ap.add_argument('--connections', type=int, default=32)
    a = ap.parse_args()
    if not shutil.which('nginx') or not os.path.exists('/usr/lib/nginx/modules/ngx_http_modsecurity_module.so'):
        print('bench/waf: nginx and libnginx-mod-http-modsecurity are needed (scripts/install-deps)',
              file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix='sf-bench-waf-')
    d = os.path.join(tmp, 'data')
    env = clean_env()
    subprocess.run([a.binary, 'init', '--dir', d, '--demo'], check=True, env=env, stdout=subprocess.DEVNULL)
    res = {}
    procs = []
    try:
        cpu = {}
        for mode in ('block', 'off'):
            p, port = storefort(a.binary, d, mode)
            procs.append(p)
            base = 'https://localhost:%d' % port
            items = json.loads(fetch(base + '/api/v1/products'))['items']
            page = '/p/' + items[0]['slug']
            if mode == 'block':
                bodies = (fetch(base + '/api/v1/products'), fetch(base + page))
            for name, path in (('', '/api/v1/products'), ('_page', page)):
                print('storefort waf=%s %s' % (mode, path), file=sys.stderr)
                rps, c = measure(base + path, [p.pid], a.runs, a.seconds, a.connections)
                key = 'waf_on' if mode == 'block' else 'waf_off'
                res['%s%s_rps' % (key, name)] = round(rps)
                cpu['%s%s' % (key, name)] = c
            p.terminate()
            p.wait(timeout=30)
            procs.remove(p)
        P = os.path.join(tmp, 'nginx')
        os.makedirs(os.path.join(P, 'tmp'))
        with open(os.path.join(P, 'products.json'), 'wb') as f:
            f.write(bodies[0])
        with open(os.path.join(P, 'page.html'), 'wb') as f:
            f.write(bodies[1])
        with open(os.path.join(P, 'modsec.conf'), 'w') as f:
            f.write(MODSEC_CONF)
        for path in (tmp, P, os.path.join(P, 'tmp')):
            os.chmod(path, 0o755)  # nginx workers run as an unprivileged user
        for name in ('products.json', 'page.html'):
            os.chmod(os.path.join(P, name), 0o644)
        # nginx + ModSecurity (the comparison), then nginx alone: the same bytes as static files
        # over the same TLS, a reference for what this machine allows any server (catalog target).
        for modsec, label, key in (('on', 'nginx+modsecurity', 'nginx_modsec'), ('off', 'nginx static', 'nginx_static')):
            nport = free_port()
            with open(os.path.join(P, 'nginx.conf'), 'w') as f:
                f.write(NGINX_CONF % {'P': P, 'port': nport, 'workers': os.cpu_count() or 2, 'page': page,
                                      'cert': os.path.join(d, 'tls', 'cert.pem'), 'modsec': modsec,
                                      'key': os.path.join(d, 'tls', 'key.pem')})
            subprocess.run(['nginx', '-p', P, '-c', os.path.join(P, 'nginx.conf'), '-e',
                            os.path.join(P, 'error.log')], check=True)
            wait_port(nport)
            master, pids = nginx_pids(P)
            try:
                for name, path in (('', '/api/v1/products'), ('_page', page)):
                    print('%s %s' % (label, path), file=sys.stderr)
                    rps, c = measure('https://localhost:%d%s' % (nport, path), pids, a.runs, a.seconds,
                                     a.connections)
                    res['%s%s_rps' % (key, name)] = round(rps)
                    if modsec == 'on':
                        cpu['nginx%s' % name] = c
            finally:
                os.kill(master, 15)
                for _ in range(100):  # the pid file goes when the master has exited
                    if not os.path.exists(os.path.join(P, 'nginx.pid')):
                        break
                    time.sleep(0.05)
        res['ratio'] = round(res['waf_on_rps'] / res['nginx_modsec_rps'], 2)
        res['ratio_page'] = round(res['waf_on_page_rps'] / res['nginx_modsec_page_rps'], 2)
        waf_cpu = cpu['waf_on'] - cpu['waf_off']
        res['waf_cpu_us_per_req'] = round(waf_cpu * 1e6)
        res['waf_cpu_share'] = round(waf_cpu / cpu['waf_on'], 2) if cpu['waf_on'] else 0
        res['waf_cpu_share_page'] = round((cpu['waf_on_page'] - cpu['waf_off_page']) / cpu['waf_on_page'], 2) \
            if cpu['waf_on_page'] else 0
        res['nginx_cpu_us_per_req'] = round(cpu['nginx'] * 1e6)
    finally:
        for p in procs:
            p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(res))
    return 0


if __name__ == '__main__':
    sys.exit(main())
