// The import screen, as an administrator uses it: upload a members file whose surname column is not
// recognised, fix the mapping, look at the preview, try it (dry run), then import it for real and
// watch the progress bar until the result. axe on every step's page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { url, env, launchBrowser, newPage, assertCleanLoad, assertNoAxeViolations, submitForm, loginStaff, pathOf, stepper, sleep } from './lib.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const ROWS = 20000;

/** A members file from `ordo import sample`, its "Cognome" column renamed so that it is not recognised. */
function sampleFile(rows = ROWS, rename = true) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ordo-import-'));
  try {
    const file = path.join(dir, 'iscritti.csv');
    execFileSync(env('ORDO_BIN'), ['import', 'sample', file, '--rows', String(rows)]);
    const raw = readFileSync(file, 'utf8');
    const text = rename ? raw.replace('Codice fiscale;Cognome;', 'Codice fiscale;Cognome e nome;') : raw;
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

/** One value from the test database (psql -tA). */
function sql(query) {
  return execFileSync(env('PSQL'), [env('DATABASE_URL'), '-tAXqc', query], { encoding: 'utf8' }).trim();
}

/** What an import could have changed: members, their history and sectors, the audit log. */
function fingerprint() {
  return sql(`SELECT concat_ws('|',
      (SELECT md5(coalesce(string_agg(m::text, ',' ORDER BY id), '')) FROM members m),
      (SELECT count(*) FROM member_status_events), (SELECT count(*) FROM member_sectors),
      (SELECT count(*) FROM audit_log), (SELECT last_number FROM registration_counter))`);
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test('killing the server in the middle of an atomic import leaves the register as it was', { timeout: 300_000 }, async (t) => {
  const step = stepper(t);
  // A second ordo process on the same database, to be killed; the first one stays up.
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(env('ORDO_BIN'), ['serve'], {
    env: { ...process.env, ORDO_BIND: `127.0.0.1:${port}`, ORDO_BASE_URL: base },
    stdio: 'ignore',
  });
  t.after(() => server.exitCode === null && server.kill('SIGKILL'));
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    assert.ok(i < 150, 'the second ordo serve did not start');
    await sleep(200);
  }
  const admin = await newPage(browser);
  t.after(() => admin.context.close());
  const { page } = admin;
  let job;
  let before;

  await step('an atomic import starts on the second process', async () => {
    // Sessions live in PostgreSQL and cookies do not depend on the port: one login serves both.
    await loginStaff(page, 'DEMO_ADMIN');
    await page.goto(`${base}/backoffice/import`);
    await page.locator('#file').setInputFiles({ name: 'grande.csv', mimeType: 'text/csv', buffer: sampleFile(30000, false) });
    const post = await submitForm(page, '#upload-form');
    assert.equal(post.status(), 303);
    job = Number(new URL(page.url()).pathname.split('/').pop());
    before = fingerprint();
    await page.locator('label[for=mode-atomic]').click();
    const run = await submitForm(page, '#run-form');
    assert.equal(run.status(), 303);
  });

  await step('the server is killed while it writes; nothing of the import remains', async () => {
    let processed = 0;
    for (let i = 0; i < 1500 && processed < 2000; i++) {
      processed = Number(sql(`SELECT processed_rows FROM import_jobs WHERE id = ${job} AND state = 'running'`) || 0);
      if (processed < 2000) await sleep(20);
    }
    assert.ok(processed >= 2000 && processed < 30000, `caught the import midway: ${processed} rows`);
    server.kill('SIGKILL');
    await new Promise((resolve) => (server.exitCode !== null ? resolve() : server.once('exit', resolve)));
    assert.equal(fingerprint(), before);
    // The first process sees the job's lock gone and shows it as interrupted.
    await page.goto(url(`/backoffice/import/${job}`));
    assert.match(await page.locator('#import-state').innerText(), /Interrotta/);
    assert.match(await page.locator('#import-failure').innerText(), /nulla è stato scritto/);
  });
});
