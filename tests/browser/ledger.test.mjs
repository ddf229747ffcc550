// The ledger in the browser: the treasurer records an impegno, liquidates and pays it from the
// chapter's page; the auditor sees the same entries with no form at all; axe-core on every page; a
// 360 px screenshot of the budget-against-actual page with its chart. The demo's ledger (seed-demo
// applies the demo year's journal) gives the year and its chapters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  url,
  launchBrowser,
  newPage,
  assertCleanLoad,
  assertNoAxeViolations,
  submitForm,
  loginStaff,
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

const SUPPLIER = `Ferramenta Browser ${Date.now()}`;

test('the treasurer records an impegno and pays it, the auditor only reads', { timeout: 180_000 }, async (t) => {
  const step = stepper(t);
  const treasurer = await newPage(browser);
  const auditor = await newPage(browser);
  const phone = await newPage(browser, { viewport: { width: 360, height: 740 } });
  t.after(() => Promise.all([treasurer.context.close(), auditor.context.close(), phone.context.close()]));
  const p = treasurer.page;
  let chapterPath;
  let yearPath;

  await step('the treasurer opens the year and an expenditure chapter', async () => {
    await loginStaff(p, 'TREASURER');
    await p.goto(url('/backoffice/contabilita'));
    yearPath = new URL(p.url()).pathname;
    assert.match(yearPath, /^\/backoffice\/contabilita\/\d{4}$/);
    await assertNoAxeViolations(p, yearPath);
    assert.equal(await p.locator('svg.ledger-chart[role=img]').count(), 1, 'the chart is on the page');
    await p.locator('#expenditure-chapters tbody a').first().click();
    await p.waitForLoadState('load');
    chapterPath = new URL(p.url()).pathname;
    await assertNoAxeViolations(p, chapterPath);
  });

  await step('records an impegno within its own threshold', async () => {
    await p.locator('#c-supplier').fill(SUPPLIER);
    await p.locator('#c-code').fill('01234567897');
    await p.locator('#c-iban').fill('IT60 X054 2811 1010 0000 0123 456');
    await p.locator('#c-reason').fill('Piccole riparazioni della sede');
    await p.locator('#c-amount').fill('12,50');
    await p.locator('#c-cig').fill('Z1A2B3C4D5');
    await p.locator('#c-auth').selectOption('tesoriere');
    const r = await submitForm(p, '#commit-form');
    assert.equal(r.status(), 303);
    assert.match(await p.locator('#ledger-notice').innerText(), /impegno/);
    await assertNoAxeViolations(p, `${chapterPath} after the impegno`);
  });

  const row = () => p.locator('#entries tbody tr', { hasText: SUPPLIER });

  await step('liquidates and pays it', async () => {
    const impegno = row().filter({ hasText: 'Impegno' }).first();
    await impegno.locator('.liquidate-form input[name=document]').fill('fattura n. 7/2026');
    const id = (await impegno.getAttribute('id')).replace('entry-', '');
    let r = await submitForm(p, `#entry-${id} .liquidate-form`);
    assert.equal(r.status(), 303);
    const liquidazione = row().filter({ hasText: 'Liquidazione' }).first();
    const lid = (await liquidazione.getAttribute('id')).replace('entry-', '');
    r = await submitForm(p, `#entry-${lid} .pay-form`);
    assert.equal(r.status(), 303);
    assert.equal(await row().filter({ hasText: 'Pagamento' }).count(), 1, 'the payment is listed');
    await assertNoAxeViolations(p, `${chapterPath} after the payment`);
    assertCleanLoad(treasurer.issues, 'treasurer pages');
  });

  await step('the auditor sees it read-only', async () => {
    await loginStaff(auditor.page, 'AUDITOR');
    await auditor.page.goto(url(chapterPath));
    await assertNoAxeViolations(auditor.page, `${chapterPath} (auditor)`);
    const entries = auditor.page.locator('#entries tbody tr', { hasText: SUPPLIER });
    assert.equal(await entries.count(), 3, 'impegno, liquidazione and pagamento are listed');
    assert.equal(await auditor.page.locator('main form, #main form, form[action*="/contabilita/"]').count(), 0, 'no form for the auditor');
    const refused = await auditor.page.request.post(url(`${chapterPath}/operazione`), { form: { operation: 'impegno' } });
    assert.equal(refused.status(), 403);
    assertCleanLoad(auditor.issues, 'auditor pages');
  });

  await step('budget against actual at 360 px, with its chart', async () => {
    await loginStaff(phone.page, 'AUDITOR');
    await phone.page.goto(url(yearPath));
    await assertNoAxeViolations(phone.page, `${yearPath} at 360 px`);
    const chart = phone.page.locator('svg.ledger-chart');
    const box = await chart.boundingBox();
    assert.ok(box && box.width > 200 && box.width <= 360, `the chart fits the phone (${box?.width})`);
    const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the page does not scroll sideways (scrollWidth ${width})`);
    await phone.page.screenshot({ path: path.join(screenshotDir(), 'contabilita-360.png'), fullPage: true });
  });
});
