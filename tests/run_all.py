#!/usr/bin/env python3
"""run_all.py — run every storefort test and end with "N passed, N failed".

Suites, in order:
  unit   every test registered with meson: the cmocka suites (one result per
         test case), the fuzz targets' regression runs, and the HTTP layer's
         own cases against tests/http/http_demo over TLS (a crash or
         sanitizer report counts as a failure of that executable)
  app    the real storefort binary: CLI, configuration, HTTPS cases and
         log redaction (tests/http/app_test.py), with the WAF in block mode
  edge   the WAF, rate limits, bans, connection defences and trusted proxies
         against the real binary (tests/http/edge_test.py)
  shop   cart, checkout and orders over HTTPS with the WAF blocking, 64
         concurrent buyers (tests/http/shop_test.py)
  accounts customer accounts over HTTPS: pages, API, CSRF, enumeration,
         lockout, reset, hostile input, sealed storage (tests/http/accounts_test.py)
  housekeeping what `serve` deletes by itself: expired sessions and links,
         dead guest carts, old mails and webhook deliveries, in bounded
         batches (tests/http/housekeeping_test.py)
  staff  the back office's way in over HTTPS with the WAF blocking (PL1, PL2):
         enrollment, TOTP, roles per request, where-and-when policy, CSRF,
         re-authentication, API tokens, lockout, CLI (tests/http/staff_test.py)
  pay    payments (sandbox; Stripe against a local server speaking Stripe's
         documented API; webhook signatures from the official stripe npm
         package), outgoing webhooks, the OpenAPI
         document linted by @redocly/cli (tests/http/pay_test.py)
  admin  the back office over HTTPS with the WAF blocking at paranoia 2: staff
         log in through enrollment + TOTP; pages x roles, orders, customers
         (reveal), catalog, inventory, uploads, reports, audit viewer, CSV
         exports, CSRF and hostile input (tests/http/admin_test.py)
  sweep  every operation of the OpenAPI document in its own authentication
         context with hostile variants generated from its request schema
         and parameters: 4xx with an Error body, never 5xx, nothing
         half-written, no card number kept anywhere (tests/http/sweep_test.py)
  cli_sweep every command and subcommand the binary's help lists, attacked:
         missing, unknown, value-less and repeated options, 100 KB, invalid
         UTF-8, control characters and card numbers in every value, hostile
         files, CSV, configuration, a broken database and master key, init
         over existing files; refused with one clear line, nothing changed,
         no card number kept or printed (tests/http/cli_sweep_test.py)
  forms  every HTML form route of src/api/routes.c (storefront, customer
         account, back office and its way in) in its own authentication
         context, its fields read from the page that holds the form, with
         hostile variants: 4xx, never 5xx, nothing half-written, the valid
         form taken, no card number kept anywhere; again with the WAF only
         detecting (tests/http/form_sweep_test.py)
  browser the shopper journey in Debian's chromium driven by Playwright
         (tests/e2e/browser_test.py)
  a11y   WCAG 2.1 AA as axe-core checks it on every page of the route table
         (shopper, customer, back office, refused forms, 404/403), and a
         keyboard walk through the checkout and the back-office sign-in
         (tests/e2e/a11y_test.py)
The suites that send requests themselves end with one more check: every
/api/v1 answer they received matches the OpenAPI document
(tests/http/contract.py; its own test, http_contract, is in the unit suite).
Exit status 1 when anything failed.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_tap(cmd, env, cwd, timeout, label):
    """Run a command that prints TAP; return (passed, failed)."""
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        out = p.stdout.decode('utf-8', 'replace')
        rc = p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode('utf-8', 'replace') + '\n[timed out after %ds]' % timeout
        rc = -1
    passed = failed = 0
    for line in out.splitlines():
        if re.match(r'^ok \d+', line):
            passed += 1
        elif re.match(r'^not ok \d+', line):
            failed += 1
            print('  FAIL %s: %s' % (label, line))
    sanitizer = 'ERROR: AddressSanitizer' in out or 'runtime error:' in out or 'ERROR: LeakSanitizer' in out
    if rc != 0 and failed == 0 or sanitizer:
        failed += 1
        print('  FAIL %s: exit %s%s' % (label, rc, ' (sanitizer report)' if sanitizer else ''))
    if failed:
        print('\n'.join('    | ' + l for l in out.splitlines()[-60:]))
    return passed, failed


def unit_tests(build):
    intro = subprocess.run(['meson', 'introspect', build, '--tests'], stdout=subprocess.PIPE, check=True)
    tests = json.loads(intro.stdout)
    total_p = total_f = 0
    for t in sorted(tests, key=lambda t: t['name']):
        env = dict(os.environ)
        env.update(t.get('env') or {})
        env['CMOCKA_MESSAGE_OUTPUT'] = 'TAP'
        env.setdefault('ASAN_OPTIONS', 'detect_leaks=1:abort_on_error=0')
        env.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1:halt_on_error=1')
        p, f = run_tap(t['cmd'], env, t.get('workdir') or build, t.get('timeout') or 300, t['name'])
        print('unit %-28s %4d passed, %d failed' % (t['name'], p, f))
        total_p += p
        total_f += f
    return total_p, total_f


def script_suite(name, cmd, timeout):
    env = dict(os.environ)
    env.setdefault('ASAN_OPTIONS', 'detect_leaks=1:abort_on_error=0')
    env.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1:halt_on_error=1')
    p, f = run_tap(cmd, env, ROOT, timeout, name)
    print('%-33s %4d passed, %d failed' % (name, p, f))
    return p, f


# The suites that drive the real binary: (name, script, timeout in s, --only groups).
SUITES = [
    ('app', 'http/app_test.py', 1200, ('app',)),
    ('accounts', 'http/accounts_test.py', 900, ('app',)),
    ('mail', 'http/mail_test.py', 600, ('app',)),
    ('housekeeping', 'http/housekeeping_test.py', 300, ('app',)),
    ('staff', 'http/staff_test.py', 1200, ('app',)),
    ('shop', 'http/shop_test.py', 1200, ('app',)),
    ('admin', 'http/admin_test.py', 1200, ('app',)),
    ('sweep', 'http/sweep_test.py', 900, ('app',)),
    ('cli_sweep', 'http/cli_sweep_test.py', 600, ('app',)),
    ('forms', 'http/form_sweep_test.py', 900, ('app',)),
    ('pay', 'http/pay_test.py', 1500, ('app',)),
    ('browser', 'e2e/browser_test.py', 900, ('app', 'browser')),
    ('a11y', 'e2e/a11y_test.py', 600, ('app', 'browser')),
    ('edge', 'http/edge_test.py', 900, ('edge',)),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build-test')
    ap.add_argument('--only', choices=['unit', 'app', 'edge', 'browser'])
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    passed = failed = 0
    if a.only in (None, 'unit'):
        p, f = unit_tests(build)
        passed += p
        failed += f
    binary = os.path.join(build, 'src', 'cli', 'storefort')
    for name, script, timeout, groups in SUITES:
        if a.only in (None,) + groups:
            p, f = script_suite(name, [sys.executable, os.path.join(HERE, script), '--binary', binary], timeout)
            passed += p
            failed += f
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
