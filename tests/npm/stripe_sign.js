// stripe_sign.js — print the Stripe-Signature header the official stripe
// package makes for a payload: stdin {"payload","secret","timestamp"}.
// Used by tests/http/pay_test.py to check storefort's verification.
'use strict';
const Stripe = require('stripe');
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const a = JSON.parse(input);
  const stripe = new Stripe('sk_test_unused');
  process.stdout.write(stripe.webhooks.generateTestHeaderString({
    payload: a.payload, secret: a.secret, timestamp: a.timestamp,
  }));
});
