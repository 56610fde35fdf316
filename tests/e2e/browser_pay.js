// browser_pay.js — the shopper journey in a real browser (Debian's chromium
// driven by playwright-core): product -> add to cart -> checkout (address,
// shipping, review) -> place order -> pay -> sandbox page -> approve ->
// return page -> paid.  Prints TAP.  argv: BASE_URL SKU
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { NPM, CHROMIUM, CHROMIUM_ARGS, check, done, fillFields } = require('./common');
const { chromium } = require(path.join(NPM, 'playwright-core'));

const base = process.argv[2];
const sku = process.argv[3];

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-chromium-'));
  let ctx;
  try {
    // a fresh profile directory (Playwright's form of --user-data-dir)
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', ...CHROMIUM_ARGS],
      ignoreHTTPSErrors: true,
      javaScriptEnabled: false,
    });
    const page = await ctx.newPage();
    const cspErrors = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text()); });

    await page.goto(`${base}/cart/add?sku=${encodeURIComponent(sku)}&quantity=2`);
    await page.click('form[action="/cart/add"] button[type="submit"]');
    check('add to cart lands on the cart', page.url().endsWith('/cart') && (await page.content()).includes(sku),
      page.url());
    await page.goto(`${base}/checkout`);
    await fillFields(page, {
      email: 'browser.buyer@example.org', name: 'Grace Hopper', street: '1 Navy Way', city: 'Arlington',
      postcode: '22202', country: 'US',
    });
    await page.click('form[action="/checkout/shipping"] button[type="submit"]');
    check('step 2: shipping methods', (await page.locator('input[name="shipping_method"]').count()) > 0);
    await page.locator('input[name="shipping_method"]').first().check();
    await page.click('form[action="/checkout/review"] button[type="submit"]');
    check('step 3: review with a Place order button', (await page.content()).includes('Place order'));
    await page.click('form[action="/checkout/place"] button[type="submit"]');
    check('the order page: pending payment', /\/orders\/\d+$/.test(page.url()) &&
      (await page.content()).includes('pending_payment'), page.url());
    const orderUrl = page.url();
    await page.click('form[action$="/pay"] button[type="submit"]');
    check('pay: the sandbox provider page', page.url().includes('/sandbox-pay/sbx_'), page.url());
    check('the sandbox page has no card fields',
      (await page.locator('input[name*="card"], input[autocomplete^="cc-"]').count()) === 0);
    await page.click('button:has-text("Approve payment")');
    check('approve: back on the return page', page.url().endsWith('/return'), page.url());
    let paid = false;
    for (let i = 0; i < 50 && !paid; i += 1) {
      await page.goto(`${orderUrl}/return`);
      paid = (await page.content()).includes('Thank you');
      if (!paid) await new Promise((r) => setTimeout(r, 200));
    }
    check('the webhook arrived: the return page says thank you', paid);
    await page.goto(orderUrl);
    check('the order page shows paid', (await page.content()).includes('<strong>paid</strong>'));
    check('no CSP violations', cspErrors.length === 0, cspErrors.join('\n'));
  } catch (e) {
    check('the browser journey ran to the end', false, e.stack);
  } finally {
    if (ctx) await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  done();
})();
