// The enrolment procedure end to end, on a phone-sized screen: the demo applicant applies with the
// guided form, the fees are paid (the secretariat imports the intermediary's reconciliation file),
// the council's decision is recorded, the card appears and /verifica says it is valid; after the
// cancellation it says it no longer is. axe-core on every page visited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  url,
  launchBrowser,
  newPage,
  assertCleanLoad,
  assertNoAxeViolations,
  submitForm,
  submitLogin,
  loginStaff,
  screenshotDir,
  stepper,
} from './lib.mjs';
import path from 'node:path';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// The demo applicant (seed-demo): Giulia Bianchi, born in Trieste on 23/09/1998; her codice fiscale
// as python-codicefiscale computes it.
const APPLICANT = { email: 'richiedente@demo.example', password: 'demo-richiedente-2026', cf: 'BNCGLI98P63L424I' };
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

async function approve(page, requestId, resolution) {
  await page.goto(url(`/backoffice/pratiche/${requestId}`));
  await assertNoAxeViolations(page, `/backoffice/pratiche/${requestId}`);
  await page.locator('#resolution-number').fill(resolution);
  await page.locator('#resolution-date').fill('2026-11-19');
  const post = page.waitForResponse((res) => res.request().method() === 'POST');
  await page.locator('#action-approve').click();
  assert.equal((await post).status(), 303, 'the council decision is recorded');
  await page.waitForLoadState('load');
  assert.match(await page.locator('#request-state').innerText(), /Accolta/);
}

async function verdict(page, code) {
  await page.goto(url(`/verifica/${code}`));
  await assertNoAxeViolations(page, '/verifica/<code>');
  return page.locator('#verify-result').innerText();
}

test('an applicant enrols from the phone, pays, is registered, gets the card, is cancelled', { timeout: 240_000 }, async (t) => {
  const step = stepper(t);
  const phone = await newPage(browser, { viewport: { width: 360, height: 740 } });
  const staff = await newPage(browser);
  t.after(() => Promise.all([phone.context.close(), staff.context.close()]));
  const p = phone.page;
  let requestId;
  let notices = [];
  let cardCode;

  await step('the applicant fills the guided form on a 360 px screen', async () => {
    const r = await submitLogin(p, APPLICANT.email, APPLICANT.password);
    assert.equal(r.status(), 303);
    await p.goto(url('/portale'));
    await assertNoAxeViolations(p, '/portale (applicant without a register entry)');
    await p.locator('#start-enrolment').click();
    await p.waitForLoadState('load');
    assert.equal(new URL(p.url()).pathname, '/portale/iscrizione');
    await assertNoAxeViolations(p, '/portale/iscrizione');
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the form fits the phone (scrollWidth ${width})`);
    const fill = async (id, value) => p.locator(`#${id}`).fill(value);
    await fill('surname', 'Bianchi');
    await fill('name', 'Giulia');
    await fill('fiscal_code', APPLICANT.cf);
    await p.locator('#sex').selectOption('F');
    await fill('birth_date', '1998-09-23');
    await fill('birth_place', 'Trieste');
    await fill('birth_province', 'TS');
    await fill('residence_address', 'Via Giosuè Carducci 14');
    await fill('residence_cap', '34122');
    await fill('residence_municipality', 'Trieste');
    await fill('residence_province', 'TS');
    await fill('email', 'giulia.bianchi@example.org');
    await fill('degree_class', 'LM-23');
    await fill('degree_university', 'Università degli Studi di Trieste');
    await fill('degree_year', '2024');
    await fill('state_exam_year', '2025');
    await fill('state_exam_seat', 'Trieste');
    await p.locator('label[for=sector-civile_ambientale]').click();
    assert.ok(await p.locator('#sector-civile_ambientale').isChecked());
    // Without the identity document: refused, with what was typed kept.
    let post = await submitForm(p, '#enrolment-form');
    assert.equal(post.status(), 422);
    assert.match(await p.locator('#enrolment-errors').innerText(), /documento di identità/);
    assert.equal(await p.locator('#surname').inputValue(), 'Bianchi');
    await assertNoAxeViolations(p, '/portale/iscrizione with errors');
    await p.locator('#attachments').setInputFiles({ name: 'carta-identita.pdf', mimeType: 'application/pdf', buffer: PDF });
    post = await submitForm(p, '#enrolment-form');
    assert.equal(post.status(), 303);
    requestId = new URL(p.url()).searchParams.get('ok');
    assert.ok(requestId, 'the pratica number is shown');
    await assertNoAxeViolations(p, '/portale/richieste');
    assert.equal(await p.locator('.request-payments li').count(), 2, 'stamp duty and registration fee');
    assertCleanLoad(phone.issues, 'enrolment');
  });

  await step('the applicant sees the pagoPA notices', async () => {
    await p.goto(url('/portale/pagamenti'));
    await assertNoAxeViolations(p, '/portale/pagamenti');
    const rows = await p.locator('#my-payments tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        notice: tr.querySelector('td .small').textContent.replace(/\D/g, ''),
        amount: tr.children[1].textContent.trim().replace(/[^\d,]/g, ''),
      })),
    );
    assert.equal(rows.length, 2);
    notices = rows;
    const href = await p.locator('#my-payments a', { hasText: 'Avviso di pagamento' }).first().getAttribute('href');
    const pdf = await p.request.get(url(href));
    assert.equal(pdf.headers()['content-type'], 'application/pdf');
  });

  await step('the secretariat imports the reconciliation file and the council decides', async () => {
    await loginStaff(staff.page);
    await staff.page.goto(url('/backoffice/pagamenti'));
    await assertNoAxeViolations(staff.page, '/backoffice/pagamenti');
    const csv = 'codice_avviso;importo;data_pagamento;id_ricevuta;psp\n' +
      notices.map((n, i) => `${n.notice};${n.amount};2026-11-20 10:15;IUR-BROWSER-${i};Banca di Prova\n`).join('');
    await staff.page.locator('#reconcile-file').setInputFiles({ name: 'rendicontazione.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const post = await submitForm(staff.page, '#reconcile-form');
    assert.equal(post.status(), 200);
    assert.match(await staff.page.locator('#payments-notice').innerText(), /2 pagamenti registrati, 0 già presenti, 0 rifiutati/);
    await assertNoAxeViolations(staff.page, '/backoffice/pagamenti after the import');
    await approve(staff.page, requestId, '40/2026');
  });

  await step('the card appears and /verifica says valid', async () => {
    await p.goto(url('/portale'));
    await assertNoAxeViolations(p, '/portale (registered)');
    assert.match(await p.locator('#my-status').innerText(), /Iscritto|attiv/i);
    await p.goto(url('/portale/tesserino'));
    await assertNoAxeViolations(p, '/portale/tesserino');
    assert.match(await p.locator('#card-number').innerText(), /^\d+$/);
    cardCode = (await p.locator('#card-code').innerText()).trim();
    await p.screenshot({ path: path.join(screenshotDir(), 'tesserino-360.png'), fullPage: true });
    assert.match(await verdict(p, cardCode), /autentico e valido/);
  });

  await step('after the cancellation the card is no longer valid', async () => {
    await p.goto(url('/portale/documenti'));
    await assertNoAxeViolations(p, '/portale/documenti');
    await p.locator('#reason').fill('Cessata attività professionale');
    const post = await submitForm(p, '#cancellation-form');
    assert.equal(post.status(), 303);
    const cancelId = new URL(p.url()).searchParams.get('ok');
    await approve(staff.page, cancelId, '55/2026');
    assert.match(await verdict(p, cardCode), /non più valido.*cancellato/s);
    assertCleanLoad(phone.issues, 'procedures');
    assertCleanLoad(staff.issues, 'back office');
  });
});
