// a11y.js — every page a shopper, a customer and a staff member reaches,
// audited by axe-core (WCAG 2.0/2.1 A and AA) in Debian's chromium driven by
// playwright-core, plus a keyboard walk through the checkout and the
// back-office sign-in.  Prints TAP: one line per audited page (its
// violations as diagnostics: rule id, page, target), one per flow step and
// keyboard check, and "# audited URL" lines that a11y_test.py matches
// against the route table.  argv: CONFIG.json
// {base, sku, maildir, owner_link, spare_link, owner_email}
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { NPM, CHROMIUM, CHROMIUM_ARGS, check, done, fillFields } = require('./common');
const { chromium } = require(path.join(NPM, 'playwright-core'));

const AXE = fs.readFileSync(path.join(NPM, 'axe-core', 'axe.min.js'), 'utf8');
// A11Y_ONLY=shopper|customer|staff|keyboard runs one part (while fixing pages)
const only = process.env.A11Y_ONLY;
// WCAG 2.0 and 2.1, levels A and AA; and axe's best practices (heading
// order, landmarks, empty table headers...), which these pages meet too.
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const base = cfg.base;
const PW = 'Correct-Horse-Battery-Staple-42';
const CUSTOMER_PW = 'Quite-Long-Password-99';

// ==== axe ====

// Audit what the page shows now; label names the state (a refused input...).
async function audit(page, label) {
  const url = new URL(page.url());
  const where = url.pathname + url.search;
  console.log(`# audited ${url.pathname}`);
  await page.addScriptTag({ content: AXE });
  const res = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
    TAGS);
  const lines = [];
  for (const v of res.violations) {
    for (const node of v.nodes) lines.push(`${v.id} on ${where}: ${node.target.join(' ')} — ${v.help}`);
  }
  // Text on a gradient, which axe leaves for a person to judge: every
  // colour of the gradient inside the box against the text's colour.
  const onGradient = res.incomplete.filter((v) => v.id === 'color-contrast').flatMap((v) => v.nodes)
    .filter((node) => node.any.some((c) => c.data && c.data.messageKey === 'bgGradient'))
    .map((node) => node.target.join(' '));
  const low = await page.evaluate(gradientContrast, onGradient);
  for (const [target, ratio, need] of low) {
    lines.push(`color-contrast (text on a gradient) on ${where}: ${target} — ${ratio.toFixed(2)}:1, needs ${need}:1`);
  }
  check(`axe: ${label} (${where})`, lines.length === 0, lines.join('\n'));
}

// In the page: for each selector, the lowest contrast of its text against
// the linear gradient behind it (stops clamped to the box), when below what
// WCAG 1.4.3 asks: [[selector, ratio, needed]].
function gradientContrast(targets) {
  const rgb = (s) => s.match(/[\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const l = c.map((v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  };
  const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
  const out = [];
  for (const t of targets) {
    const el = document.querySelector(t);
    let bg = el;
    while (bg && !/linear-gradient/.test(getComputedStyle(bg).backgroundImage)) bg = bg.parentElement;
    if (!bg) continue;
    const stops = [...getComputedStyle(bg).backgroundImage.matchAll(/(rgba?\([^)]*\))\s+([\d.]+)%/g)]
      .map((m) => [rgb(m[1]), parseFloat(m[2])]);
    const at = (p) => {
      for (let i = 1; i < stops.length; i += 1) {
        if (p <= stops[i][1]) {
          const [c0, p0] = stops[i - 1];
          const [c1, p1] = stops[i];
          const f = p1 > p0 ? Math.max(0, (p - p0) / (p1 - p0)) : 1;
          return c0.map((v, k) => v + f * (c1[k] - v));
        }
      }
      return stops[stops.length - 1][0];
    };
    const s = getComputedStyle(el);
    const size = parseFloat(s.fontSize);
    const need = size >= 24 || (size >= 18.66 && parseInt(s.fontWeight, 10) >= 700) ? 3 : 4.5;
    let worst = 99;
    for (let p = 0; p <= 100; p += 2) worst = Math.min(worst, ratio(rgb(s.color), at(p)));
    if (worst < need) out.push([t, worst, need]);
  }
  return out;
}

// A refused input must show its error on the page that comes back, and the
// inputs at fault (fields: their names; [] when the error is about none)
// must say so to a screen reader: aria-invalid="true" and aria-describedby
// pointing at the error, which is announced (role="alert"); no other input
// is marked.
async function refused(page, label, fields) {
  const shown = await page.locator('[role="alert"], .notice-error, .adm-alert-error, .adm-error').count();
  check(`${label}: the error is shown`, shown > 0, `${page.url()}: ${(await page.textContent('main')).slice(0, 300)}`);
  const marked = await page.evaluate(() => [...document.querySelectorAll('[aria-invalid="true"]')].map((i) => {
    const ids = (i.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
    const said = ids.map((id) => document.getElementById(id)).filter((e) => e && e.closest('[role="alert"]'));
    return { name: i.name, said: said.map((e) => e.textContent.trim()).join(' ') };
  }));
  const names = [...new Set(marked.map((m) => m.name))].sort();
  check(`${label}: the inputs at fault (${fields.join(', ') || 'none'}) are marked invalid, no other`,
    names.join(' ') === [...fields].sort().join(' '), `marked: ${names.join(' ')}`);
  check(`${label}: each input marked invalid is described by the announced error`,
    marked.every((m) => m.said.length > 0), JSON.stringify(marked));
  await audit(page, label);
}

// Submit a form past the browser's own checks so that the server refuses it.
async function submitRaw(page, formSel, fields) {
  await page.$eval(formSel, (f) => { f.noValidate = true; });
  for (const [name, value] of Object.entries(fields)) await page.fill(`${formSel} [name="${name}"]`, value);
  await Promise.all([page.waitForNavigation(), page.click(`${formSel} button[type="submit"]`)]);
}

// Break a form's CSRF token and submit it: the server answers 403.
async function submitForged(page, formSel) {
  await page.$eval(`${formSel} input[name="csrf_token"]`, (i) => { i.value = 'forged'; });
  await page.$eval(formSel, (f) => { f.noValidate = true; });
  await Promise.all([page.waitForNavigation(), page.click(`${formSel} button[type="submit"]`)]);
}

async function go(page, p, label) {
  const r = await page.goto(base + p);
  await audit(page, label);
  return r;
}

// ==== helpers: TOTP, mail ====

function totp(keyB32, offset) {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of keyB32.replace(/[\s=]/g, '').toUpperCase()) bits += alpha.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + offset));
  const mac = crypto.createHmac('sha1', key).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, '0');
}

async function mailLink(want, to) {
  for (let i = 0; i < 300; i += 1) {
    const names = fs.existsSync(cfg.maildir) ? fs.readdirSync(cfg.maildir).filter((x) => x.endsWith('.eml')) : [];
    names.sort((a, b) => parseInt(b, 10) - parseInt(a, 10));
    for (const name of names) {
      const text = fs.readFileSync(path.join(cfg.maildir, name), 'utf8');
      const m = text.match(new RegExp(`${want.replace(/\//g, '\\/')}\\?token=([A-Za-z0-9_-]+)`));
      if (m && text.includes(`To: ${to}`) && !usedTokens.has(m[1])) {
        usedTokens.add(m[1]);
        return `${want}?token=${m[1]}`;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}
const usedTokens = new Set();

// ==== the shopper ====

const ADDRESS = {
  email: 'a11y.buyer@example.org', name: 'Ada Lovelace', street: '12 Analytical Row', city: 'London',
  postcode: 'N1 9GU', country: 'GB',
};

async function checkout(page, audited) {
  await page.goto(`${base}/cart/add?sku=${encodeURIComponent(cfg.sku)}&quantity=1`);
  if (audited) await audit(page, 'add to cart form');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/cart/add"] button[type="submit"]')]);
  if (audited) await audit(page, 'cart with an item');
  await page.goto(`${base}/checkout`);
  if (audited) {
    await audit(page, 'checkout step 1');
    await fillFields(page, ADDRESS);
    await submitRaw(page, 'form[action="/checkout/shipping"]', { email: 'not-an-address', country: 'X' });
    await refused(page, 'checkout step 1 refused', ['country']);
  }
  await fillFields(page, ADDRESS);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/checkout/shipping"] button[type="submit"]')]);
  if (audited) {
    await audit(page, 'checkout step 2');
    await page.$eval('form[action="/checkout/review"]', (f) => { f.noValidate = true; });
    await page.$$eval('input[name="shipping_method"]', (l) => l.forEach((i) => { i.checked = false; }));
    await Promise.all([page.waitForNavigation(), page.click('form[action="/checkout/review"] button[type="submit"]')]);
    await refused(page, 'checkout step 2 refused (no method)', ['shipping_method']);
  }
  await page.locator('input[name="shipping_method"]').first().check();
  await Promise.all([page.waitForNavigation(), page.click('form[action="/checkout/review"] button[type="submit"]')]);
  if (audited) await audit(page, 'checkout step 3 (review)');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/checkout/place"] button[type="submit"]')]);
  return page.url();
}

async function shopper(ctx) {
  const page = await ctx.newPage();
  await go(page, '/', 'home');
  const cat = await page.getAttribute('a[href^="/c/"]', 'href');
  await go(page, cat, 'category');
  const prod = await page.getAttribute('main a[href^="/p/"]', 'href');
  await go(page, prod, 'product');
  const word = (await page.textContent('h1')).trim().split(/\s+/)[0];
  await go(page, `/search?q=${encodeURIComponent(word)}`, 'search with results');
  await go(page, '/search?q=zzzqqqxxx', 'search without results');
  await go(page, '/search', 'search prompt');
  await go(page, '/cart', 'empty cart');
  const orderUrl = await checkout(page, true);
  check('the shopper placed an order', /\/orders\/\d+$/.test(orderUrl), orderUrl);
  await audit(page, 'order page, pending payment');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/pay"] button[type="submit"]')]);
  await audit(page, 'sandbox payment page');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Approve payment")')]);
  await audit(page, 'return page');
  let paid = false;
  for (let i = 0; i < 50 && !paid; i += 1) {
    await page.goto(`${orderUrl}/return`);
    paid = (await page.content()).includes('Thank you');
    if (!paid) await new Promise((r) => setTimeout(r, 200));
  }
  await audit(page, 'return page, paid');
  await go(page, new URL(orderUrl).pathname, 'order page, paid');
  const r = await go(page, '/no-such-page', '404 page');
  check('a missing page is 404', r.status() === 404, r.status());
  await go(page, '/p/no-such-product', 'missing product (404)');
  await page.goto(`${base}/cart/add?sku=${encodeURIComponent(cfg.sku)}&quantity=1`);
  await submitForged(page, 'form[action="/cart/add"]');
  await audit(page, 'forged form (403 page)');
  await page.close();
  return orderUrl;
}

// ==== the customer ====

async function customer(ctx) {
  const page = await ctx.newPage();
  const email = 'a11y.customer@example.org';
  await go(page, '/account/register', 'register');
  await page.fill('#reg-email', email);
  await submitRaw(page, 'form[action="/account/register"]', { password: 'short' });
  await refused(page, 'register refused (weak password)', ['password']);
  await page.fill('#reg-email', email);
  await page.fill('#reg-name', 'Ada Customer');
  await page.fill('#reg-password', CUSTOMER_PW);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/account/register"] button[type="submit"]')]);
  await audit(page, 'register: check your e-mail');
  const verify = await mailLink('/account/verify', email);
  check('the verification mail has a link', verify);
  await go(page, '/account/verify?token=not-a-real-token-at-all', 'verify with a bad link');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/account/verify"] button[type="submit"]')]);
  await refused(page, 'verify refused', []);
  await go(page, verify, 'verify');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/account/verify"] button[type="submit"]')]);
  await audit(page, 'verify: address confirmed');
  await go(page, '/account/login', 'login');
  await page.fill('#login-email', email);
  await page.fill('#login-password', 'wrong-password-123');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/account/login"] button[type="submit"]')]);
  await refused(page, 'login refused', ['email', 'password']);
  await page.fill('#login-email', email);
  await page.fill('#login-password', CUSTOMER_PW);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/account/login"] button[type="submit"]')]);
  check('the customer is signed in', new URL(page.url()).pathname === '/account', page.url());
  await audit(page, 'account home');
  await submitRaw(page, 'form[action="/account/profile"]', { birth_date: '' });
  await page.$eval('#p-birth', (i) => { i.type = 'text'; });
  await submitRaw(page, 'form[action="/account/profile"]', { birth_date: '31-31-1999' });
  await refused(page, 'profile refused (bad birth date)', ['birth_date']);
  await go(page, '/account', 'account home');
  await submitRaw(page, 'form[action="/account/profile"]', { name: 'Ada Customer', phone: '+44 20 7946 0000' });
  await audit(page, 'profile saved');
  await go(page, '/account/addresses/new', 'new address');
  await submitRaw(page, 'form[action="/account/addresses"]', { name: 'Ada', country: 'Narnia' });
  await refused(page, 'new address refused', ['line1']);
  await page.goto(`${base}/account/addresses/new`);
  await submitRaw(page, 'form[action="/account/addresses"]', {
    name: 'Ada Customer', line1: '12 Analytical Row', postal_code: 'N1 9GU', city: 'London', country: 'GB',
  });
  await audit(page, 'address saved');
  await page.goto(`${base}/account`);
  const edit = await page.getAttribute('a[href$="/edit"]', 'href');
  await go(page, edit, 'edit address');
  await submitRaw(page, `form[action="${edit.replace(/\/edit$/, '')}"]`, { city: '' });
  await refused(page, 'edit address refused', ['city']);
  const orderUrl = await checkout(page, false);
  check('the customer placed an order', /\/orders\/\d+$/.test(orderUrl), orderUrl);
  await go(page, '/account/orders', 'order history');
  await go(page, new URL(orderUrl).pathname, "the customer's order");
  await page.goto(`${base}/account`);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/account/logout"] button[type="submit"]')]);
  await audit(page, 'logged out');
  await go(page, '/account/forgot', 'forgot password');
  await submitRaw(page, 'form[action="/account/forgot"]', { email: 'not an address' });
  await refused(page, 'forgot refused', ['email']);
  await page.fill('#forgot-email', email);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/account/forgot"] button[type="submit"]')]);
  await audit(page, 'forgot: link sent');
  const reset = await mailLink('/account/reset', email);
  check('the reset mail has a link', reset);
  await go(page, reset, 'reset password');
  await submitRaw(page, 'form[action="/account/reset"]', { password: 'short' });
  await refused(page, 'reset refused (weak password)', ['password']);
  await page.fill('#reset-password', 'Another-Long-Passphrase-77');
  await Promise.all([page.waitForNavigation(), page.click('form[action="/account/reset"] button[type="submit"]')]);
  await audit(page, 'reset done');
  await page.close();
}

// ==== the staff member ====

async function staff(ctx, spare) {
  const page = await ctx.newPage();
  const pathOf = (link) => link.slice(link.indexOf('/admin/'));
  await go(page, '/admin/login', 'back-office login');
  await go(page, pathOf(cfg.spare_link), 'enrollment');
  await submitRaw(page, 'form[action$="/enroll"]', { password: PW, password_again: 'Something-Else-Entirely-1' });
  await refused(page, 'enrollment refused (passwords differ)', ['password', 'password_again']);
  await page.goto(base + pathOf(cfg.owner_link));
  await page.fill('#password', PW);
  await page.fill('#password_again', PW);
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/enroll"] button[type="submit"]')]);
  await audit(page, 'TOTP set-up');
  let step = 0;
  await submitRaw(page, 'form[action$="/2fa/setup"]', { code: '12' });
  await refused(page, 'TOTP set-up refused', ['code']);
  // a refused code shows a new key
  const key = (await page.textContent('code.adm-key')).replace(/\s/g, '');
  await submitRaw(page, 'form[action$="/2fa/setup"]', { code: totp(key, step++) });
  check('TOTP confirmed: the recovery codes', (await page.locator('.adm-codes').count()) > 0,
    (await page.textContent('main')).slice(0, 300));
  await audit(page, 'recovery codes');
  await Promise.all([page.waitForNavigation(), page.click('a.adm-btn')]);
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/logout"] button[type="submit"]')]);
  await page.goto(`${base}/admin/login`);
  await submitRaw(page, 'form[action$="/login"]', { email: cfg.owner_email, password: 'not-the-password-1' });
  await refused(page, 'back-office login refused', ['email', 'password']);
  await submitRaw(page, 'form[action$="/login"]', { email: cfg.owner_email, password: PW });
  await audit(page, 'TOTP step');
  await submitRaw(page, 'form[action$="/login/code"]', { code: '1' });
  await refused(page, 'TOTP step refused', ['code']);
  await submitRaw(page, 'form[action$="/login/code"]', { code: totp(key, step++) });
  check('the staff member is signed in', new URL(page.url()).pathname === '/admin', page.url());
  await audit(page, 'dashboard');
  await keyboard(page, 'back-office dashboard (navigation, top bar)');
  for (const p of ['/admin/reports', '/admin/audit', '/admin/logins', '/admin/orders', '/admin/customers',
    '/admin/products', '/admin/products/new', '/admin/categories', '/admin/coupons', '/admin/shipping', '/admin/tax',
    '/admin/inventory', '/admin/staff', '/admin/security', '/admin/sessions', '/admin/password']) {
    await go(page, p, p.slice(7));
  }
  // the detail pages, reached from their lists
  for (const [list, label] of [['/admin/orders', 'order'], ['/admin/customers', 'customer'],
    ['/admin/products', 'product'], ['/admin/staff', 'staff member']]) {
    await page.goto(base + list);
    const href = await page.getAttribute(`main a[href^="${list}/"]:not([href$="/new"])`, 'href');
    await go(page, href, label);
  }
  await go(page, '/admin/reauth?next=%2Fadmin%2Fsecurity', 're-authentication');
  await submitRaw(page, 'form[action$="/reauth"]', { password: 'not-the-password-1', code: '1' });
  await refused(page, 're-authentication refused', ['password', 'code']);
  await page.goto(`${base}/admin/products/new`);
  await submitRaw(page, 'form[action="/admin/products"]', { name: '', slug: 'Not A Slug!' });
  await refused(page, 'new product refused', []);
  await page.goto(`${base}/admin/coupons`);
  await submitRaw(page, 'form[action="/admin/coupons"]', { code: '??' });
  await refused(page, 'coupon refused', []);
  await go(page, '/admin/no-such-page', 'back-office 404');
  await page.goto(`${base}/admin/tax`);
  await submitForged(page, 'form[action="/admin/tax"]');
  await audit(page, 'back-office forged form (403)');
  await page.close();
  return spare;
}

// ==== keyboard ====

// Tab from the top of the page until focus comes round; every visible
// interactive element must be reached, in document order, and look
// different when focused.
async function keyboard(page, label) {
  const want = await page.evaluate(() => {
    const sel = 'a[href], button, input:not([type="hidden"]), select, textarea, [tabindex]';
    const all = [...document.querySelectorAll(sel)].filter((e) => !e.disabled && e.tabIndex >= 0 &&
      e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden');
    // one stop per radio group: the checked radio, or the first
    const seen = new Set();
    const list = all.filter((e) => {
      if (e.type !== 'radio') return true;
      if (seen.has(e.name)) return false;
      seen.add(e.name);
      return true;
    });
    [...document.querySelectorAll('*')].forEach((e, i) => { e.dataset.kb = String(i); });
    return list.map((e) => e.dataset.kb);
  });
  const style = () => {
    const e = document.activeElement;
    const s = getComputedStyle(e);
    return {
      body: e === document.body || e === document.documentElement,
      kb: e.dataset.kb,
      name: `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.name ? `[name=${e.name}]` : ''}`,
      look: [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor, s.borderColor,
        s.color, s.textDecorationLine].join('|'),
    };
  };
  // start from the top of the document, whatever has autofocus
  await page.evaluate(() => {
    document.body.tabIndex = -1;
    document.body.focus();
    document.body.removeAttribute('tabindex');
    window.scrollTo(0, 0);
  });
  const order = [];
  for (let i = 0; i < want.length + 3; i += 1) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(style);
    if (!f.kb || f.body || (order.length && f.kb === order[0].kb)) break;
    order.push(f);
  }
  const reached = new Set(order.map((f) => f.kb));
  const missed = want.filter((k) => !reached.has(k));
  check(`keyboard: ${label}: every interactive element is reached with Tab`, missed.length === 0 && want.length > 0,
    `missed data-kb ${missed.join(',')}; reached ${order.map((f) => f.name).join(' ')}`);
  const idx = order.map((f) => parseInt(f.kb, 10));
  const back = idx.findIndex((v, i) => i > 0 && v < idx[i - 1]);
  check(`keyboard: ${label}: Tab follows the document order`, back < 0,
    back < 0 ? '' : `${order[back - 1].name} then ${order[back].name}`);
  // the same elements unfocused: the look must differ
  const plain = await page.evaluate((kbs) => {
    if (document.activeElement) document.activeElement.blur();
    return kbs.map((k) => {
      const s = getComputedStyle(document.querySelector(`[data-kb="${k}"]`));
      return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor, s.borderColor,
        s.color, s.textDecorationLine].join('|');
    });
  }, order.map((f) => f.kb));
  const same = order.filter((f, i) => f.look === plain[i]).map((f) => f.name);
  check(`keyboard: ${label}: every focused element shows a focus indicator`, same.length === 0 && order.length > 0,
    `no visible change on focus: ${same.join(' ')}`);
  // the page's own indicator, not the browser's default ring (outline
  // style auto), which varies between browsers: an outline of 2px or more,
  // or a box shadow
  const faint = order.filter((f) => {
    const [os, ow, , bs] = f.look.split('|');
    return !((os !== 'none' && os !== 'auto' && parseFloat(ow) >= 2) || (bs && bs !== 'none'));
  }).map((f) => f.name);
  check(`keyboard: ${label}: the page's focus indicator is an outline or ring of 2px or more`, faint.length === 0,
    faint.join(' '));
}

async function keyboardWalk(ctx) {
  const page = await ctx.newPage();
  const csp = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) csp.push(m.text()); });
  await page.goto(`${base}/cart/add?sku=${encodeURIComponent(cfg.sku)}&quantity=1`);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/cart/add"] button[type="submit"]')]);
  await page.goto(`${base}/checkout`);
  await keyboard(page, 'checkout step 1');
  // fill and submit with the keyboard alone
  await page.focus('#email');
  for (const v of ['kb.buyer@example.org', 'Key Board', '1 Tab Street', 'Enterville', '12345', 'DE']) {
    await page.keyboard.type(v);
    await page.keyboard.press('Tab');
  }
  await page.keyboard.press('Tab'); // past the optional phone
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  check('keyboard: the address step submits with Enter', (await page.locator('input[name="shipping_method"]').count()) > 0,
    page.url());
  await keyboard(page, 'checkout step 2');
  await page.locator('input[name="shipping_method"]').first().focus();
  await page.keyboard.press('Space');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  check('keyboard: the shipping step submits with Enter', (await page.content()).includes('Place order'), page.url());
  await keyboard(page, 'checkout step 3');
  await page.goto(`${base}/admin/login`);
  await keyboard(page, 'back-office login');
  check('keyboard pages: no CSP violations', csp.length === 0, csp.join('\n'));
  await page.close();
}

(async () => {
  let browser;
  const t0 = Date.now();
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    // bypassCSP only here, so that axe can be injected; the keyboard walk
    // runs under the server's real Content-Security-Policy.
    const opts = { ignoreHTTPSErrors: true, bypassCSP: true, viewport: { width: 1280, height: 900 } };
    // axe itself: a page with known faults must be flagged
    const sctx = await browser.newContext(opts);
    const sp = await sctx.newPage();
    await sp.setContent('<html><body><img src="x.png"><a href="/x"></a></body></html>');
    await sp.addScriptTag({ content: AXE });
    const self = await sp.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
      TAGS);
    const ids = self.violations.map((v) => v.id).sort().join(' ');
    check('axe flags a page with known faults (html-has-lang, image-alt, link-name)',
      ['html-has-lang', 'image-alt', 'link-name'].every((x) => ids.includes(x)), ids);
    await sctx.close();
    for (const [name, fn] of [['shopper', shopper], ['customer', customer], ['staff', staff]]) {
      if (only && only !== name) continue;
      const ctx = await browser.newContext(opts);
      try {
        await fn(ctx);
      } catch (e) {
        check(`the ${name} pages were audited to the end`, false, e.stack);
      }
      await ctx.close();
    }
    if (!only || only === 'keyboard') {
      const kctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
      try {
        await keyboardWalk(kctx);
      } catch (e) {
        check('the keyboard walk ran to the end', false, e.stack);
      }
      await kctx.close();
    }
  } catch (e) {
    check('the browser started', false, e.stack);
  } finally {
    if (browser) await browser.close();
  }
  console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s in the browser`);
  done();
})();
