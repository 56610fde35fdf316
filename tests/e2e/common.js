// common.js — what the browser scripts share: TAP output (check, done) and
// how Debian's chromium is started for them.
'use strict';
const path = require('path');

const NPM = path.join(__dirname, '..', 'npm', 'node_modules');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let n = 0;
let failed = 0;

// One TAP line; diag (any value) goes below a failure as "#   " lines.
// Returns ok.
function check(name, ok, diag) {
  n += 1;
  if (ok) {
    console.log(`ok ${n} - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok ${n} - ${name}`);
    if (diag !== undefined) console.log(`#   ${String(diag).slice(0, 3000).replace(/\n/g, '\n#   ')}`);
  }
  return ok;
}

// Fill the named inputs of the page ({name: value}), in order.
async function fillFields(page, fields) {
  for (const [name, value] of Object.entries(fields)) await page.fill(`input[name="${name}"]`, value);
}

// The plan line, then exit: 1 when a check failed.
function done() {
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}

module.exports = { NPM, CHROMIUM, CHROMIUM_ARGS, check, done, fillFields };
