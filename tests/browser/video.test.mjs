// The video-access registry (issue 9) in the browser: the manager grants the demo officer, the officer
// logs a viewing session, registers a police request, the manager authorises it, the officer extracts
// and produces the verbale, whose PDF carries its protocol number; the public first-level notice at
// 360 px is axe-core clean. axe on every back-office page visited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { url, launchBrowser, newPage, assertNoAxeViolations, submitForm, loginStaff, stepper } from './lib.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

async function checkSystems(page, formSelector, labels) {
  for (const label of labels) {
    await page.locator(`${formSelector} label`, { hasText: label }).first().click();
  }
}

test('officer logs a session, manager authorises a police request, officer extracts, verbale protocolled', { timeout: 240_000 }, async (t) => {
  const step = stepper(t);
  const officer = await newPage(browser);
  const manager = await newPage(browser);
  t.after(() => Promise.all([officer.context.close(), manager.context.close()]));
  const o = officer.page;
  const m = manager.page;
  let requestPath;

  await step('the manager grants view and extraction on two systems', async () => {
    await loginStaff(m, 'VIDEO_MANAGER');
    await m.goto(url('/backoffice/videosorveglianza/autorizzazioni'));
    await assertNoAxeViolations(m, '/backoffice/videosorveglianza/autorizzazioni');
    await m.locator('#grant-user').selectOption({ label: 'Marco Romano (incaricato.video@demo.example)' });
    await checkSystems(m, '#grant-form', ['n. 3 — Cortile esterno antistante scuola', 'n. 4 — Ingresso centrale esterno scuola']);
    await m.locator('label[for=level-extract]').click();
    await m.locator('#grant-reason').fill('Nomina a incaricato del trattamento');
    const r = await submitForm(m, '#grant-form');
    assert.equal(r.status(), 303);
    assert.equal(await m.locator('#current-grants tbody tr').count(), 2);
  });

  await step('the officer logs a viewing session in the access register', async () => {
    await loginStaff(o, 'VIDEO_OFFICER');
    await o.goto(url('/backoffice/videosorveglianza'));
    await assertNoAxeViolations(o, '/backoffice/videosorveglianza');
    await checkSystems(o, '#session-form', ['n. 3 — Cortile esterno antistante scuola']);
    const now = new Date();
    const rome = (d) => d.toLocaleString('sv-SE', { timeZone: 'Europe/Rome' }).replace(' ', 'T').slice(0, 16);
    await o.locator('#session-start').fill(rome(new Date(now.getTime() - 40 * 60000)));
    await o.locator('#session-end').fill(rome(new Date(now.getTime() - 10 * 60000)));
    await o.locator('#footage-from').fill(rome(new Date(now.getTime() - 26 * 3600000)));
    await o.locator('#footage-to').fill(rome(new Date(now.getTime() - 25 * 3600000)));
    await o.locator('#session-purpose').fill('Verifica di un danneggiamento al cancello');
    const r = await submitForm(o, '#session-form');
    assert.equal(r.status(), 303);
    assert.match(await o.locator('#video-notice').innerText(), /Sessione registrata/);
    assert.match(await o.locator('#access-register tbody').innerText(), /danneggiamento al cancello/);
  });

  await step('the officer registers a police request; it is protocolled', async () => {
    await o.goto(url('/backoffice/videosorveglianza/richieste'));
    await assertNoAxeViolations(o, '/backoffice/videosorveglianza/richieste');
    await o.locator('#req-purpose').selectOption('a');
    await o.locator('#req-name').fill('Mar. Paolo Gialli');
    await o.locator('#req-org').fill('Stazione Carabinieri di Cogolo');
    await o.locator('#req-motivation').fill('Furto di una bicicletta nel cortile della scuola');
    await o.locator('#req-from').fill('2026-11-19T08:00');
    await o.locator('#req-to').fill('2026-11-19T09:00');
    await checkSystems(o, '#request-form', ['n. 3 — Cortile esterno antistante scuola', 'n. 4 — Ingresso centrale esterno scuola']);
    await o.locator('#person-name-1').fill('App. Luca Neri');
    await o.locator('#person-role-1').fill('Agente di polizia giudiziaria');
    await o.locator('#req-files').setInputFiles({ name: 'richiesta.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n') });
    const r = await submitForm(o, '#request-form');
    assert.equal(r.status(), 303);
    requestPath = new URL(o.url()).pathname;
    assert.match(await o.locator('#request-protocol').innerText(), /^\d{4}\/\d{7}$/);
    assert.match(await o.locator('#request-state').innerText(), /In valutazione/);
    await assertNoAxeViolations(o, 'request page');
  });

  await step('the manager authorises it', async () => {
    await m.goto(url(requestPath));
    await assertNoAxeViolations(m, 'request page (manager)');
    await m.locator('label[for=decision-authorise]').click();
    await m.locator('#decision-note').fill('Richiesta fondata, art. 7 comma 3');
    const r = await submitForm(m, '#decision-form');
    assert.equal(r.status(), 303);
    assert.match(await m.locator('#request-state').innerText(), /Autorizzata/);
  });

  await step('the officer extracts and produces the verbale with its protocol number', async () => {
    await o.goto(url(requestPath));
    await o.locator('label[for=kind-footage]').click();
    await o.locator('#extract-files').fill('2');
    await o.locator('#extract-encryption').fill('Archivio 7z AES-256');
    await o.locator('#extract-sha').fill(SHA);
    let r = await submitForm(o, '#extract-form');
    assert.equal(r.status(), 303);
    assert.match(await o.locator('#request-state').innerText(), /Immagini estratte/);
    r = await submitForm(o, '#verbale-form');
    assert.equal(r.status(), 303);
    const protocol = (await o.locator('#verbale-protocol').innerText()).trim();
    assert.match(protocol, /^\d{4}\/\d{7}$/);
    const href = await o.locator('#verbale-link').getAttribute('href');
    const pdf = await o.context().request.get(url(href));
    assert.equal(pdf.status(), 200);
    const body = await pdf.body();
    assert.equal(body.subarray(0, 5).toString(), '%PDF-');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'verbale-')), 'verbale.pdf');
    fs.writeFileSync(file, body);
    const text = execFileSync('pdftotext', [file, '-']).toString();
    assert.ok(text.includes(`Prot.N. ${protocol.split('/')[1]}`), `the verbale carries its protocol number: ${text}`);
    await assertNoAxeViolations(o, 'request page after the verbale');
  });

  await step('/videosorveglianza at 360 px: the notice and the sites, axe clean', async () => {
    const phone = await newPage(browser, { viewport: { width: 360, height: 740 } });
    try {
      await phone.page.goto(url('/videosorveglianza'));
      await assertNoAxeViolations(phone.page, '/videosorveglianza at 360 px');
      assert.equal(await phone.page.locator('#camera-sites tbody tr').count(), 16);
      const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 360, `the page fits the phone (scrollWidth ${width})`);
    } finally {
      await phone.context.close();
    }
  });
});
