// The import screen, as an administrator uses it: upload a members file whose surname column is not
// recognised, fix the mapping, look at the preview, try it (dry run), then import it for real and
// watch the progress bar until the result. axe on every step's page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { url, env, launchBrowser, newPage, assertCleanLoad, assertNoAxeViolations, submitForm, loginStaff, pathOf, stepper } from './lib.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const ROWS = 20000;

/** A members file from `ordo import sample`, its "Cognome" column renamed so that it is not recognised. */
function sampleFile() {
  const dir = mkdtempSync(path.join(tmpdir(), 'ordo-import-'));
  try {
    const file = path.join(dir, 'iscritti.csv');
    execFileSync(env('ORDO_BIN'), ['import', 'sample', file, '--rows', String(ROWS)]);
    const text = readFileSync(file, 'utf8').replace('Codice fiscale;Cognome;', 'Codice fiscale;Cognome e nome;');
    return Buffer.from(text, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForResult(page) {
  await page.locator('#import-result').waitFor({ timeout: 180_000 });
  return page.locator('#import-counts').innerText();
}

test('an administrator maps, previews, tries and imports a members file', { timeout: 300_000 }, async (t) => {
  const step = stepper(t);
  const admin = await newPage(browser);
  t.after(() => admin.context.close());
  const { page } = admin;

  await step('the import page passes axe', async () => {
    await loginStaff(page, 'DEMO_ADMIN');
    await page.goto(url('/backoffice/import'));
    await assertNoAxeViolations(page, '/backoffice/import');
  });

  await step('a binary file is refused with the reason', async () => {
    await page.locator('#kind-members').check();
    await page.locator('#file').setInputFiles({ name: 'foto.csv', mimeType: 'text/csv', buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]) });
    const post = await submitForm(page, '#upload-form');
    assert.equal(post.status(), 422);
    assert.match(await page.locator('#import-error').innerText(), /non è un CSV/);
    await assertNoAxeViolations(page, '/backoffice/import with an error');
  });

  await step('upload: encoding, delimiter and the missing column are shown', async () => {
    await page.locator('#kind-members').check();
    await page.locator('#file').setInputFiles({ name: 'iscritti.csv', mimeType: 'text/csv', buffer: sampleFile() });
    const post = await submitForm(page, '#upload-form');
    assert.equal(post.status(), 303);
    assert.match(pathOf(page), /^\/backoffice\/import\/\d+$/);
    assert.match(await page.locator('#import-encoding').innerText(), /UTF-8/);
    assert.match(await page.locator('#import-delimiter').innerText(), /punto e virgola/);
    assert.match(await page.locator('#mapping-problem').innerText(), /«Cognome»/);
    assert.equal(await page.locator('#run-form').count(), 0);
    await assertNoAxeViolations(page, '/backoffice/import/<n> before mapping');
  });

  await step('mapping the column by hand gives a preview', async () => {
    await page.locator('#col_surname').selectOption({ label: 'Cognome e nome' });
    const post = await submitForm(page, '#mapping-form');
    assert.equal(post.status(), 303);
    assert.equal(await page.locator('#mapping-problem').count(), 0);
    assert.equal(await page.locator('#preview-table tbody tr').count(), 5);
    assert.match(await page.locator('#preview-table thead').innerText(), /Cognome/);
    await assertNoAxeViolations(page, '/backoffice/import/<n> with preview');
  });

  await step('a dry run counts everything and writes nothing', async () => {
    await page.locator('label[for=mode-dry_run]').click();
    await submitForm(page, '#run-form');
    const counts = await waitForResult(page);
    assert.match(counts, new RegExp(`${ROWS} righe: ${ROWS} nuove, 0 aggiornate, 0 invariate, 0 scartate`));
    assert.match(await page.locator('#import-result').innerText(), /Prova riuscita/);
    await assertNoAxeViolations(page, '/backoffice/import/<n> after the dry run');
  });

  await step('the import runs with a progress bar and ends with the result', async () => {
    await page.locator('label[for=mode-atomic]').click();
    await submitForm(page, '#run-form');
    // The page comes back while the server works: the bar is there and moves.
    const bar = page.locator('#import-progress');
    await bar.waitFor({ timeout: 10_000 });
    assert.equal(Number(await bar.getAttribute('max')), ROWS);
    await assertNoAxeViolations(page, '/backoffice/import/<n> running');
    const counts = await waitForResult(page);
    assert.match(counts, new RegExp(`${ROWS} righe: ${ROWS} nuove`));
    assert.match(await page.locator('#import-result').innerText(), /Importazione eseguita/);
    assert.equal(await page.locator('#run-form').count(), 0, 'an import that wrote cannot run again');
    await assertNoAxeViolations(page, '/backoffice/import/<n> done');
  });

  await step('the list shows it', async () => {
    await page.goto(url('/backoffice/import'));
    assert.match(await page.locator('#imports-table tbody tr').first().innerText(), new RegExp(`${ROWS} nuove`));
  });

  await step('no CSP violations or broken assets', () => assertCleanLoad(admin.issues, 'admin'), { blocking: false });
});
