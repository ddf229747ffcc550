// The home page at a 360 px wide phone viewport: a full-page screenshot for review
// ($SCREENSHOT_DIR/home-360.png) and no horizontal scrolling.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { url, launchBrowser, newPage, screenshotDir, assertCleanLoad } from './lib.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('home page at 360x740: screenshot and no horizontal scroll', { timeout: 60_000 }, async (t) => {
  const { context, page, issues } = await newPage(browser, {
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
  });
  t.after(() => context.close());
  const response = await page.goto(url('/'), { waitUntil: 'load' });
  assert.equal(response.status(), 200, `GET / answered ${response.status()}`);
  await page.evaluate(() => document.fonts.ready);
  const file = path.join(screenshotDir(), 'home-360.png');
  await page.screenshot({ path: file, fullPage: true });
  t.diagnostic(`screenshot: ${file}`);
  const { scrollWidth, clientWidth, wide } = await page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    // The elements sticking out on the right, to make a failure actionable.
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > vw + 0.5)
      .slice(0, 10)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : ''} right=${Math.round(el.getBoundingClientRect().right)}`);
    return { scrollWidth: document.documentElement.scrollWidth, clientWidth: vw, wide };
  });
  assert.ok(
    scrollWidth <= 360,
    `horizontal scroll at 360 px: scrollWidth=${scrollWidth}, clientWidth=${clientWidth}; elements past the right edge:\n  ${wide.join('\n  ')}`,
  );
  assertCleanLoad(issues, 'home page at 360 px');
});
