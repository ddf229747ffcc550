// The protocol register in the back office: the secretariat registers an incoming item with a
// document by hand, finds it by search, and opens the pratiche's automatic registrations. axe on
// every page visited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { url, launchBrowser, newPage, assertCleanLoad, assertNoAxeViolations, submitForm, loginStaff, pathOf, stepper } from './lib.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const SUBJECT = `Richiesta di parere sulla parcella ${Date.now()}`;

test('the secretariat registers an item by hand and finds it', { timeout: 120_000 }, async (t) => {
  const step = stepper(t);
  const staff = await newPage(browser);
  t.after(() => staff.context.close());

  await step('the register and the form pass axe', async () => {
    await loginStaff(staff.page);
    await staff.page.goto(url('/backoffice/protocollo'));
    await assertNoAxeViolations(staff.page, '/backoffice/protocollo');
    await staff.page.locator('#new-registration').click();
    await staff.page.waitForLoadState('load');
    assert.equal(pathOf(staff.page), '/backoffice/protocollo/nuova');
    await assertNoAxeViolations(staff.page, '/backoffice/protocollo/nuova');
  });

  await step('a registration without a subject is refused, then registered', async () => {
    await staff.page.locator('#correspondent').fill('Comune di Trieste');
    await staff.page.locator('#classification').selectOption('6');
    let post = await submitForm(staff.page, '#protocol-form');
    assert.equal(post.status(), 422);
    assert.match(await staff.page.locator('.alert-danger').innerText(), /oggetto/);
    await assertNoAxeViolations(staff.page, '/backoffice/protocollo/nuova with errors');
    await staff.page.locator('#subject').fill(SUBJECT);
    await staff.page.locator('#documents').setInputFiles({
      name: 'parcella.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.4\nparcella\n%%EOF\n'),
    });
    post = await submitForm(staff.page, '#protocol-form');
    assert.equal(post.status(), 303);
    assert.match(pathOf(staff.page), /^\/backoffice\/protocollo\/\d+$/);
    assert.match(await staff.page.locator('#segnatura').innerText(), /Prot\.N\. \d{7} del \d{2}\/\d{2}\/\d{4}/);
    assert.equal(await staff.page.locator('#documents tbody tr').count(), 1);
    await assertNoAxeViolations(staff.page, '/backoffice/protocollo/<n>');
  });

  await step('the search finds it by subject', async () => {
    await staff.page.goto(url(`/backoffice/protocollo?oggetto=${encodeURIComponent('parere sulla parcella')}`));
    const rows = staff.page.locator('#protocol-table tbody tr', { hasText: SUBJECT });
    assert.equal(await rows.count(), 1);
    await staff.page.goto(url('/backoffice/protocollo/giornaliero'));
    await assertNoAxeViolations(staff.page, '/backoffice/protocollo/giornaliero');
  });

  await step('no CSP violations or broken assets', () => assertCleanLoad(staff.issues, 'staff'), { blocking: false });
});
