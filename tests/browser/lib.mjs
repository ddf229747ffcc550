// Shared helpers for the ordo browser tests (node --test, playwright-core, axe-core, otpauth).
//
// Environment (set by tests/browser/run):
//   ORDO_URL        base URL of a running ordo server, e.g. http://127.0.0.1:8123
//   ADMIN_EMAIL     staff account created without TOTP
//   ADMIN_PASSWORD  its password
//   SCREENSHOT_DIR  where screenshots go (created if missing)
//   CHROMIUM_PATH   optional, default /usr/bin/chromium (never a downloaded browser)

import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';
import * as OTPAuth from 'otpauth';

const require = createRequire(import.meta.url);

export function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    throw new Error(`environment variable ${name} is not set (run the tests through tests/browser/run)`);
  }
  return value;
}

export const BASE_URL = (process.env.ORDO_URL ?? '').replace(/\/+$/, '');

export function url(pathname = '/') {
  return env('ORDO_URL').replace(/\/+$/, '') + pathname;
}

export function screenshotDir() {
  const dir = env('SCREENSHOT_DIR', path.resolve('target/screenshots'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------- browser

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * A fresh context + page with a watcher that records what goes wrong while pages load:
 * CSP violations, uncaught page errors, console errors, failed or >= 400 sub-resource
 * requests and any request to an origin other than the app's.
 */
export async function newPage(browser, contextOptions = {}) {
  const context = await browser.newContext({ locale: 'it-IT', ...contextOptions });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  const page = await context.newPage();
  const issues = watch(page);
  return { context, page, issues };
}

function watch(page) {
  const issues = {
    csp: [],
    pageErrors: [],
    consoleErrors: [],
    failedRequests: [],
    foreignRequests: [],
    clear() {
      for (const k of ['csp', 'pageErrors', 'consoleErrors', 'failedRequests', 'foreignRequests']) this[k].length = 0;
    },
  };
  const origin = BASE_URL ? new URL(BASE_URL).origin : null;
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const where = msg.location()?.url ?? '';
    if (/Content Security Policy/i.test(text)) {
      issues.csp.push(`${text.slice(0, 300)}${where ? ` [at ${where}]` : ''}`);
    } else if (/^Failed to load resource/.test(text)) {
      // Sub-resources are reported by the response/requestfailed handlers; documents
      // (e.g. the expected 401 pages) by the tests; a missing favicon is not our concern.
    } else {
      issues.consoleErrors.push(`${text}${where ? ` [at ${where}]` : ''}`);
    }
  });
  page.on('pageerror', (err) => issues.pageErrors.push(String(err && err.stack ? err.stack : err)));
  page.on('request', (req) => {
    const u = req.url();
    if (/^(data|blob|about):/.test(u)) return;
    if (origin && new URL(u).origin !== origin) issues.foreignRequests.push(u);
  });
  page.on('requestfailed', (req) => {
    if (/favicon\.ico$/.test(req.url())) return;
    // Cancelled because the test moved on to the next page before this one finished loading.
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
    issues.failedRequests.push(`${req.url()} (${req.failure()?.errorText})`);
  });
  page.on('response', (res) => {
    const req = res.request();
    if (req.resourceType() === 'document') return; // documents are asserted by the tests
    if (res.status() >= 400 && !/favicon\.ico$/.test(res.url())) {
      issues.failedRequests.push(`${res.url()} -> HTTP ${res.status()}`);
    }
  });
  return issues;
}

/** Asserts the page loaded cleanly under the app's CSP (no violations, no broken or foreign assets). */
export function assertCleanLoad(issues, label) {
  const problems = [];
  for (const [k, v] of Object.entries(issues)) {
    if (Array.isArray(v) && v.length) problems.push(`${k}:\n    ${v.join('\n    ')}`);
  }
  assert.equal(problems.length, 0, `${label}: problems while loading the page:\n  ${problems.join('\n  ')}`);
}

// ---------------------------------------------------------------- axe

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * Runs axe-core on the current page. The app's CSP forbids inline scripts, so axe is not
 * added with addScriptTag({content}): page.evaluate() runs through the DevTools protocol,
 * which page CSP does not govern.
 */
export async function runAxe(page) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) {
    await page.evaluate(AXE_SOURCE);
    assert.ok(await page.evaluate(() => typeof window.axe === 'object'), 'axe-core did not load');
  }
  return page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
}

export function formatViolations(violations) {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .map((n) => `      - ${JSON.stringify(n.target)}  ${n.html.replace(/\s+/g, ' ').slice(0, 200)}\n        ${(n.failureSummary || '').replace(/\n/g, '\n        ')}`)
        .join('\n');
      return `  [${v.impact}] ${v.id}: ${v.help}\n    ${v.helpUrl}\n${nodes}`;
    })
    .join('\n');
}

export async function assertNoAxeViolations(page, label) {
  const results = await runAxe(page);
  const violations = results.violations;
  assert.equal(violations.length, 0, `${label}: ${violations.length} axe violation(s):\n${formatViolations(violations)}`);
}

// ---------------------------------------------------------------- TOTP

export const TOTP_PERIOD = 30;

export function totpFor(base32Secret) {
  return new OTPAuth.TOTP({
    algorithm: 'SHA1',
    digits: 6,
    period: TOTP_PERIOD,
    secret: OTPAuth.Secret.fromBase32(base32Secret.replace(/[\s-]/g, '').toUpperCase()),
  });
}

export function currentStep(now = Date.now()) {
  return Math.floor(now / 1000 / TOTP_PERIOD);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A code for a time step strictly after `afterStep` (the server refuses steps <= the last
 * accepted one), with at least `minRemainingSeconds` left in that step so it is still the
 * current step when the server checks it (and when the test replays it).
 */
export async function freshCode(totp, { afterStep = -1, minRemainingSeconds = 8 } = {}) {
  for (;;) {
    const now = Date.now();
    const step = currentStep(now);
    const remaining = TOTP_PERIOD - (now / 1000 - step * TOTP_PERIOD);
    if (step > afterStep && remaining >= minRemainingSeconds) {
      return { code: totp.generate({ timestamp: now }), step };
    }
    const nextStepAt = (step + 1) * TOTP_PERIOD * 1000;
    await sleep(nextStepAt - now + 250);
  }
}

// ---------------------------------------------------------------- app flows

/**
 * Clicks the submit button of `formSelector` and waits for both the POST response to the
 * form's action (its own status: 303 on success, 401 on refusal, before any redirect is
 * followed) and the end of the resulting navigation.
 */
export async function submitForm(page, formSelector) {
  const form = page.locator(formSelector);
  const action = await form.evaluate((f) => f.action); // resolved URL (current URL when empty)
  const postPath = new URL(action).pathname;
  const post = page.waitForResponse(
    (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === postPath,
  );
  const loaded = page.waitForEvent('load'); // the next document's load event
  await form.locator('[type=submit]').first().click();
  const [response] = await Promise.all([post, loaded]);
  return response;
}

/** Fills and submits form#login-form; returns the POST /login response. */
export async function submitLogin(page, email, password) {
  await page.goto(url('/login'));
  await page.locator('#login-form #email').fill(email);
  await page.locator('#login-form #password').fill(password);
  return submitForm(page, '#login-form');
}

/** Fills and submits form#otp-form (at /login/otp); returns the POST /login/otp response. */
export async function submitOtp(page, code) {
  await page.locator('#otp-form #code').fill(code);
  return submitForm(page, '#otp-form');
}

/**
 * Logs a demo staff account in with password and TOTP: the secretariat (env STAFF_*), or the
 * administrator with prefix 'DEMO_ADMIN'. Another test file may have used the current time step
 * for the same account (replays are refused): then the next step's code.
 */
export async function loginStaff(page, prefix = 'STAFF') {
  const r = await submitLogin(page, env(`${prefix}_EMAIL`), env(`${prefix}_PASSWORD`));
  assert.equal(r.status(), 303);
  const totp = totpFor(env(`${prefix}_TOTP_SECRET`));
  let otp = await submitOtp(page, (await freshCode(totp)).code);
  if (otp.status() === 401) {
    otp = await submitOtp(page, (await freshCode(totp, { afterStep: currentStep() })).code);
  }
  assert.equal(otp.status(), 303, `staff login with TOTP answered ${otp.status()}`);
}

/**
 * Logs out with form#logout-form (POST /logout) and checks the answer is a redirect to a
 * page without the logout form. Returns the pathname landed on (the contract says "/").
 */
export async function logout(page) {
  const response = await submitForm(page, '#logout-form');
  assert.ok([302, 303].includes(response.status()), `POST /logout answered ${response.status()}, expected a redirect`);
  assert.equal(await page.locator('#logout-form').count(), 0, 'the logout form is still shown after logout');
  return pathOf(page);
}

export function pathOf(page) {
  return new URL(page.url()).pathname;
}

/**
 * Sequential steps inside one test: each step is a subtest (so the spec reporter shows
 * progress), and once a step fails the following ones are skipped instead of failing with
 * confusing follow-on errors. Steps marked { blocking: false } (checks that leave the
 * page and the state unchanged, such as axe) fail on their own without skipping the rest.
 */
export function stepper(t) {
  let failed = null;
  return (name, fn, { blocking = true } = {}) =>
    t.test(name, async (st) => {
      if (failed) {
        st.skip(`skipped: earlier step "${failed}" failed`);
        return;
      }
      try {
        await fn(st);
      } catch (err) {
        if (blocking) failed = name;
        throw err;
      }
    });
}
