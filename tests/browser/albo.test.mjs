// The member register end to end: a member asks for a data change and uploads a passport photo, the
// secretariat approves both, the public Albo shows the new e-mail and the photo only after the member
// consents to them. axe on every page
// visited; 360 px screenshots of the public Albo and of the portal home.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  env,
  url,
  launchBrowser,
  newPage,
  assertCleanLoad,
  assertNoAxeViolations,
  totpFor,
  freshCode,
  submitForm,
  submitLogin,
  submitOtp,
  logout,
  pathOf,
  screenshotDir,
  stepper,
} from './lib.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const NEW_EMAIL = `mario.rossi.${Date.now()}@esempio.it`;

test('data change and photo approved by the secretariat, public only after consent', { timeout: 180_000 }, async (t) => {
  const step = stepper(t);
  const phone = { viewport: { width: 360, height: 740 } };
  const member = await newPage(browser, phone);
  const staff = await newPage(browser);
  const visitor = await newPage(browser, phone);
  t.after(() => Promise.all([member.context.close(), staff.context.close(), visitor.context.close()]));
  let detailUrl;

  await step('the member logs in and sees the portal (360 px screenshot)', async () => {
    const r = await submitLogin(member.page, env('MEMBER_EMAIL'), env('MEMBER_PASSWORD'));
    assert.equal(r.status(), 303);
    assert.equal(pathOf(member.page), '/portale');
    assert.match(await member.page.locator('#my-status').innerText(), /Iscritto/);
    await member.page.screenshot({ path: path.join(screenshotDir(), 'portale-360.png'), fullPage: true });
    const width = await member.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `horizontal scroll on the portal at 360 px: ${width}`);
  });
  await step('axe: portal home', () => assertNoAxeViolations(member.page, '/portale'), { blocking: false });

  await step('the member asks to change the e-mail', async () => {
    await member.page.goto(url('/portale/richieste'));
    await assertNoAxeViolations(member.page, '/portale/richieste');
    await member.page.locator('#dc-email').fill(NEW_EMAIL);
    const r = await submitForm(member.page, '#data-change-form');
    assert.equal(r.status(), 303);
    assert.match(await member.page.locator('.alert-success').innerText(), /pratica n\. \d+/);
    assert.match(await member.page.locator('.request-state').first().innerText(), /Presentata/);
  });

  await step('the member uploads a passport photo', async () => {
    // A real PNG, drawn by the browser itself.
    const dataUrl = await member.page.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 420;
      c.height = 540;
      const g = c.getContext('2d');
      g.fillStyle = '#d9c7b0';
      g.fillRect(0, 0, 420, 540);
      g.fillStyle = '#3a2a1a';
      g.beginPath();
      g.arc(210, 220, 120, 0, Math.PI * 2);
      g.fill();
      return c.toDataURL('image/png');
    });
    const buffer = Buffer.from(dataUrl.split(',')[1], 'base64');
    await member.page.locator('#photo').setInputFiles({ name: 'fototessera.png', mimeType: 'image/png', buffer });
    const r = await submitForm(member.page, '#photo-form');
    assert.equal(r.status(), 303);
    assert.match(await member.page.locator('.alert-success').innerText(), /pratica n\. \d+/);
  });

  await step('the public Albo finds the member, without the e-mail (360 px screenshot)', async () => {
    await visitor.page.goto(url('/albo?q=rossi%20mario'));
    const link = visitor.page.locator('#albo-results a', { hasText: 'Rossi Mario' }).first();
    await link.waitFor();
    await visitor.page.screenshot({ path: path.join(screenshotDir(), 'albo-360.png'), fullPage: true });
    const width = await visitor.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `horizontal scroll on the Albo at 360 px: ${width}`);
    await assertNoAxeViolations(visitor.page, '/albo search');
    await link.click();
    await visitor.page.waitForLoadState('load');
    detailUrl = visitor.page.url();
    await assertNoAxeViolations(visitor.page, '/albo/<n>');
    assert.equal(await visitor.page.locator('#field-email').count(), 0, 'e-mail shown without consent');
    assert.equal(await visitor.page.locator('#field-photo').count(), 0, 'photo shown before approval and consent');
    assert.ok(!(await visitor.page.content()).includes(NEW_EMAIL));
  });

  await step('the secretariat approves both requests', async () => {
    const r = await submitLogin(staff.page, env('STAFF_EMAIL'), env('STAFF_PASSWORD'));
    assert.equal(r.status(), 303);
    assert.equal(pathOf(staff.page), '/login/otp');
    const { code } = await freshCode(totpFor(env('STAFF_TOTP_SECRET')));
    const otp = await submitOtp(staff.page, code);
    assert.equal(otp.status(), 303);
    await staff.page.goto(url('/backoffice/pratiche'));
    await assertNoAxeViolations(staff.page, '/backoffice/pratiche');
    const links = await staff.page.locator('#requests-table a').evaluateAll((as) => as.map((a) => a.href));
    assert.equal(links.length, 2, `two open requests expected, found ${links.length}`);
    let sawDiff = false;
    let sawPhoto = false;
    for (const link of links) {
      await staff.page.goto(link);
      await assertNoAxeViolations(staff.page, '/backoffice/pratiche/<n>');
      if (await staff.page.locator('#request-diff').count()) {
        assert.ok((await staff.page.locator('#request-diff').innerText()).includes(NEW_EMAIL));
        sawDiff = true;
      }
      if (await staff.page.locator('#request-photo').count()) {
        const w = await staff.page.locator('#request-photo').evaluate((img) => img.naturalWidth);
        assert.ok(w > 0, 'the proposed photo does not load for the staff');
        sawPhoto = true;
      }
      const post = staff.page.waitForResponse((res) => res.request().method() === 'POST');
      await staff.page.locator('#action-approve').click();
      assert.equal((await post).status(), 303);
      await staff.page.waitForLoadState('load');
      assert.match(await staff.page.locator('#request-state').innerText(), /Accolta/);
    }
    assert.ok(sawDiff && sawPhoto, 'the data change and the photo request were both seen');
    await logout(staff.page);
  });

  await step('still private until the member consents', async () => {
    await visitor.page.goto(detailUrl);
    assert.equal(await visitor.page.locator('#field-email').count(), 0);
    assert.equal(await visitor.page.locator('#field-photo').count(), 0);
  });

  await step('the member consents to show the e-mail', async () => {
    await member.page.goto(url('/portale'));
    assert.ok((await member.page.locator('#my-data').innerText()).includes(NEW_EMAIL), 'approved e-mail in the register');
    // Bootstrap Italia draws the checkbox on its label, as a person clicks it.
    await member.page.locator('label[for=consent-email]').click();
    await member.page.locator('label[for=consent-photo]').click();
    const r = await submitForm(member.page, '#consents-form');
    assert.equal(r.status(), 303);
    assert.ok(await member.page.locator('#consent-email').isChecked());
    assert.ok(await member.page.locator('#consent-photo').isChecked());
  });

  await step('the public Albo now shows the new e-mail and the photo', async () => {
    await visitor.page.goto(detailUrl);
    assert.equal((await visitor.page.locator('#field-email').innerText()).trim(), NEW_EMAIL);
    const w = await visitor.page.locator('#field-photo').evaluate((img) => img.complete && img.naturalWidth);
    assert.ok(w > 0, 'the public photo does not load');
    await assertNoAxeViolations(visitor.page, '/albo/<n> with consent');
  });

  await step('no CSP violations or broken assets', () => {
    for (const [who, p] of [['member', member], ['staff', staff], ['visitor', visitor]]) assertCleanLoad(p.issues, who);
  }, { blocking: false });
});
