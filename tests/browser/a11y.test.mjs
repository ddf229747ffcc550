// axe-core (WCAG 2.0/2.1 A and AA) on the public pages (home, login, the video-surveillance notice); the TOTP enrolment page is
// checked in login.test.mjs, before its code is submitted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { url, launchBrowser, newPage, assertCleanLoad, assertNoAxeViolations } from './lib.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

for (const [label, pathname] of [
  ['home page', '/'],
  ['login page', '/login'],
  ['video-surveillance notice', '/videosorveglianza'],
]) {
  test(`${label} (${pathname})`, { timeout: 60_000 }, async (t) => {
    const { context, page, issues } = await newPage(browser);
    t.after(() => context.close());
    const response = await page.goto(url(pathname), { waitUntil: 'load' });
    assert.equal(response.status(), 200, `GET ${pathname} answered ${response.status()}`);
    await page.evaluate(() => document.fonts.ready);
    await t.test('has no axe violations (WCAG 2.0/2.1 A and AA)', async () => {
      await assertNoAxeViolations(page, `${label} (${pathname})`);
    });
    await t.test('loads cleanly under the CSP (no violations, no broken or foreign assets)', async () => {
      assertCleanLoad(issues, `${label} (${pathname})`);
    });
    await t.test('declares an Italian <html lang>', async () => {
      assert.match(await page.evaluate(() => document.documentElement.lang), /^it\b/);
    });
  });
}
