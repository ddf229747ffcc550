// Staff login with TOTP: enrolment, login with a new code, refused replay (+ axe on the
// enrolment page, checked before the code is submitted).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  env,
  url,
  launchBrowser,
  newPage,
  assertCleanLoad,
  assertNoAxeViolations,
  totpFor,
  freshCode,
  currentStep,
  submitForm,
  submitLogin,
  submitOtp,
  logout,
  pathOf,
  stepper,
} from './lib.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function assertAlert(page) {
  const alert = page.locator('.alert-danger');
  assert.ok((await alert.count()) > 0, `no .alert-danger on ${page.url()}`);
  assert.ok(await alert.first().isVisible(), '.alert-danger is not visible');
  assert.notEqual((await alert.first().innerText()).trim(), '', '.alert-danger is empty');
}

test('wrong credentials answer 401 with an error message', { timeout: 60_000 }, async (t) => {
  const { context, page, issues } = await newPage(browser);
  t.after(() => context.close());
  const response = await submitLogin(page, 'nobody-browser@example.org', 'not-the-password-1234');
  assert.equal(response.status(), 401, `POST /login answered ${response.status()}`);
  await assertAlert(page);
  assert.equal(await page.locator('form#login-form').count(), 1, 'the login form is gone after a failed login');
  assertCleanLoad(issues, 'failed login');
});

test('staff user: TOTP enrolment, login with a new code, replay refused', { timeout: 240_000 }, async (t) => {
  const email = env('ADMIN_EMAIL');
  const password = env('ADMIN_PASSWORD');
  const { context, page, issues } = await newPage(browser);
  t.after(() => context.close());
  const step = stepper(t);
  const state = {};

  await step('password login of a staff user without TOTP leads to enrolment', async () => {
    const response = await submitLogin(page, email, password);
    assert.equal(response.status(), 303, `POST /login answered ${response.status()}`);
    assert.equal(pathOf(page), '/account/totp', `after the password the browser is at ${page.url()}`);
  });

  await step('the enrolment page shows the secret and a QR code', async () => {
    const raw = await page.locator('#totp-secret').innerText();
    state.secret = raw.replace(/[\s-]/g, '').toUpperCase();
    assert.match(state.secret, /^[A-Z2-7]{16,}=*$/, `#totp-secret is not a base32 secret: ${JSON.stringify(raw)}`);
    const qr = page.locator('img#totp-qr');
    assert.ok(await qr.isVisible(), 'img#totp-qr is not visible');
    const size = await qr.evaluate((img) => [img.complete, img.naturalWidth, img.naturalHeight, img.alt]);
    assert.ok(size[0] && size[1] > 0 && size[2] > 0, `the QR image did not load (${size})`);
    assert.ok(size[3] && size[3].trim(), 'the QR image has no alt text');
    assert.equal(await page.locator('form#totp-enrol-form #code').count(), 1, 'no form#totp-enrol-form input#code');
  });

  await step('the enrolment page has no axe violations (WCAG 2.1 A/AA)', async () => {
    await assertNoAxeViolations(page, 'TOTP enrolment');
  }, { blocking: false });

  await step('submitting the current code shows ten recovery codes', async () => {
    state.totp = totpFor(state.secret);
    const { code, step: s } = await freshCode(state.totp);
    state.enrolStep = s;
    await page.locator('form#totp-enrol-form #code').fill(code);
    const response = await submitForm(page, 'form#totp-enrol-form');
    assert.ok(response.status() < 400, `enrolment POST answered ${response.status()}`);
    const codes = await page.locator('#recovery-codes li').allInnerTexts();
    assert.equal(codes.length, 10, `expected 10 recovery codes, found ${codes.length} on ${page.url()}`);
    const cleaned = codes.map((c) => c.trim());
    assert.ok(cleaned.every((c) => c.length >= 8), `suspiciously short recovery codes: ${JSON.stringify(cleaned)}`);
    assert.equal(new Set(cleaned).size, 10, 'recovery codes are not all different');
  });

  await step('continue leads to the back office', async () => {
    const link = page.locator('a#continue');
    assert.equal(new URL(await link.evaluate((a) => a.href)).pathname, '/backoffice');
    await Promise.all([page.waitForURL(url('/backoffice'), { waitUntil: 'load' }), link.click()]);
    assert.match(await page.locator('h1').first().innerText(), /Back office/);
  });

  await step('logout', async () => {
    state.afterLogout = await logout(page);
  });

  await step('logout leads to the login page with a notice', async () => {
    assert.equal(state.afterLogout, '/login', `after logout the browser is at ${state.afterLogout}, expected /login`);
    assert.match(await page.locator('.alert-success').innerText(), /Sei uscito/);
  }, { blocking: false });

  await step('password + a code from a later time step reaches the back office', async () => {
    const response = await submitLogin(page, email, password);
    assert.equal(response.status(), 303, `POST /login answered ${response.status()}`);
    assert.equal(pathOf(page), '/login/otp', `after the password the browser is at ${page.url()}`);
    // The server refuses a step <= the last accepted one: wait for a later step, and keep
    // enough of it left to replay the same code within the same step below.
    const { code, step: s } = await freshCode(state.totp, { afterStep: state.enrolStep, minRemainingSeconds: 20 });
    state.code = code;
    state.codeStep = s;
    const otp = await submitOtp(page, code);
    assert.equal(otp.status(), 303, `POST /login/otp answered ${otp.status()}`);
    assert.equal(pathOf(page), '/backoffice', `after the code the browser is at ${page.url()}`);
    assert.match(await page.locator('h1').first().innerText(), /Back office/);
  });

  await step('logout again', async () => {
    await logout(page);
  });

  await step('replaying the same code is refused with 401', async () => {
    const response = await submitLogin(page, email, password);
    assert.equal(response.status(), 303, `POST /login answered ${response.status()}`);
    assert.equal(pathOf(page), '/login/otp');
    assert.equal(currentStep(), state.codeStep, 'the time step changed before the replay: the test ran too slowly to be conclusive');
    const otp = await submitOtp(page, state.code);
    assert.equal(otp.status(), 401, `replayed code: POST /login/otp answered ${otp.status()}`);
    assert.equal(pathOf(page), '/login/otp', `after the replay the browser is at ${page.url()}`);
    await assertAlert(page);
    assert.equal(await page.locator('form#otp-form #code').count(), 1, 'the OTP form is gone after a refused code');
  });

  await step('a wrong code is refused with 401 too', async () => {
    let wrong = state.totp.generate({ timestamp: Date.now() - 3600_000 });
    const current = state.totp.generate();
    if (wrong === current) wrong = String((Number(wrong) + 1) % 1_000_000).padStart(6, '0');
    const otp = await submitOtp(page, wrong);
    assert.equal(otp.status(), 401, `wrong code: POST /login/otp answered ${otp.status()}`);
    assert.equal(pathOf(page), '/login/otp');
    await assertAlert(page);
    assert.equal(await page.locator('form#otp-form #code').count(), 1, 'the OTP form is gone after a wrong code');
  });

  await step('no CSP violations, page errors or broken assets during the flow', async () => {
    assertCleanLoad(issues, 'login flow');
  }, { blocking: false });
});
