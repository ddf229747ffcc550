// Contact with the secretariat: the member writes with a PDF attachment, the secretariat answers
// and closes the conversation; the member reads the answer. axe on every page visited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  env,
  url,
  launchBrowser,
  newPage,
  assertCleanLoad,
  assertNoAxeViolations,
  submitForm,
  submitLogin,
  loginStaff,
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

const SUBJECT = `Richiesta informazioni ${Date.now()}`;
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

test('a member writes to the secretariat with an attachment and gets an answer', { timeout: 180_000 }, async (t) => {
  const step = stepper(t);
  const member = await newPage(browser, { viewport: { width: 360, height: 740 } });
  const staff = await newPage(browser);
  t.after(() => Promise.all([member.context.close(), staff.context.close()]));
  let threadPath;

  await step('the member writes with a PDF attached', async () => {
    const r = await submitLogin(member.page, env('MEMBER_EMAIL'), env('MEMBER_PASSWORD'));
    assert.equal(r.status(), 303);
    await member.page.goto(url('/portale/messaggi'));
    await assertNoAxeViolations(member.page, '/portale/messaggi');
    // A PDF renamed .jpg is refused with a message naming the file.
    await member.page.locator('#subject').fill(SUBJECT);
    await member.page.locator('#body').fill('Buongiorno,\nvorrei sapere come chiedere un certificato.');
    await member.page.locator('#files').setInputFiles({ name: 'scansione.jpg', mimeType: 'image/jpeg', buffer: PDF });
    let post = await submitForm(member.page, '#message-form');
    assert.equal(post.status(), 422);
    assert.match(await member.page.locator('.alert-danger').innerText(), /scansione\.jpg.*JPEG.*PDF/s);
    assert.equal(await member.page.locator('#subject').inputValue(), SUBJECT, 'what was typed is kept');
    await assertNoAxeViolations(member.page, '/portale/messaggi with errors');
    await member.page.locator('#files').setInputFiles({ name: 'domanda.pdf', mimeType: 'application/pdf', buffer: PDF });
    post = await submitForm(member.page, '#message-form');
    assert.equal(post.status(), 303);
    threadPath = pathOf(member.page);
    assert.match(threadPath, /^\/portale\/messaggi\/\d+$/);
    assert.match(await member.page.locator('.alert-success').innerText(), /Messaggio inviato/);
    assert.equal(await member.page.locator('.message-attachments a', { hasText: 'domanda.pdf' }).count(), 1);
    await assertNoAxeViolations(member.page, '/portale/messaggi/<n>');
  });

  await step('the secretariat answers and closes the conversation', async () => {
    await loginStaff(staff.page);
    const id = threadPath.split('/').pop();
    await staff.page.goto(url(`/backoffice/pratiche/${id}`));
    await assertNoAxeViolations(staff.page, '/backoffice/pratiche/<n> (conversation)');
    assert.ok((await staff.page.locator('.message-body').first().innerText()).includes('certificato'));
    await staff.page.locator('#reply-body').fill('Gentile collega, può chiederlo dal portale.');
    let post = await submitForm(staff.page, '#reply-form');
    assert.equal(post.status(), 303);
    assert.match(await staff.page.locator('#request-state').innerText(), /In istruttoria/);
    const closing = staff.page.waitForResponse((res) => res.request().method() === 'POST');
    await staff.page.locator('#action-close').click();
    assert.equal((await closing).status(), 303);
    await staff.page.waitForLoadState('load');
    assert.match(await staff.page.locator('#request-state').innerText(), /Chiusa/);
    await logout(staff.page);
  });

  await step('the member reads the answer', async () => {
    await member.page.goto(url(threadPath));
    assert.ok((await member.page.locator('.ordo-message-staff .message-body').innerText()).includes('può chiederlo dal portale'));
    assert.match(await member.page.locator('#request-state').innerText(), /Chiusa/);
    assert.equal(await member.page.locator('#reply-form').count(), 0, 'a closed conversation takes no replies');
    await assertNoAxeViolations(member.page, '/portale/messaggi/<n> closed');
  });

  await step('no CSP violations or broken assets', () => {
    for (const [who, p] of [['member', member], ['staff', staff]]) assertCleanLoad(p.issues, who);
  }, { blocking: false });
});
