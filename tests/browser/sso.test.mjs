// Single sign-on end to end, through real third-party peers: a SAML2 IdP built on pysaml2
// (tests/browser/saml-idp.py, started by ./run) and an OpenID Connect provider (node oidc-provider,
// started here). A member of the register lands in their portal; an unknown person becomes an
// applicant. The login page with its SPID, CIE and card buttons is axe-clean at 360 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  env,
  url,
  launchBrowser,
  newPage,
  assertNoAxeViolations,
  pathOf,
} from './lib.mjs';
import { startProvider } from './oidc-provider.mjs';

let browser;
let provider;
before(async () => {
  browser = await launchBrowser();
  provider = await startProvider({ port: Number(env('OIDC_PORT')), ordoUrl: env('ORDO_URL').replace(/\/+$/, '') });
});
after(async () => {
  await browser?.close();
  await provider?.close();
});

function sql(query) {
  return execFileSync(env('PSQL'), [env('DATABASE_URL'), '-tAXqc', query], { encoding: 'utf8' }).trim();
}

// The demo member's codice fiscale (iscritto@demo.example is linked to a member of the register).
function demoMemberCf() {
  const cf = sql(`SELECT m.fiscal_code FROM members m JOIN users u ON u.id = m.user_id
                  WHERE u.email = '${env('MEMBER_EMAIL')}'`);
  assert.match(cf, /^[A-Z0-9]{16}$/, 'the demo member has a codice fiscale');
  return cf;
}

async function loginWithSaml(page, cf, name, surname) {
  await page.goto(url('/login'));
  await page.locator('.spid-button-summary').click();
  await page.locator('a.spid-idp', { hasText: 'IdP di prova (pysaml2)' }).click();
  await page.waitForURL((u) => u.port === env('SAML_IDP_PORT'));
  await page.fill('#cf', cf);
  await page.fill('#name', name);
  await page.fill('#surname', surname);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/portale' || u.pathname.startsWith('/spid/'), { timeout: 20_000 }),
    page.click('#accedi'),
  ]);
}

async function loginWithOidc(page, cf) {
  await page.goto(url('/login'));
  await page.locator('a.oidc-provider', { hasText: 'Entra con CIE (prova)' }).click();
  await page.waitForURL((u) => u.port === env('OIDC_PORT'));
  await page.fill('input[name=login]', cf);
  await page.fill('input[name=password]', 'qualsiasi');
  await page.locator('button[type=submit]').first().click();
  // The provider's consent page.
  await page.waitForLoadState('load');
  if (new URL(page.url()).port === env('OIDC_PORT')) {
    await page.locator('button[type=submit]').first().click();
  }
  await page.waitForURL((u) => u.port !== env('OIDC_PORT'), { timeout: 20_000 });
  await page.waitForLoadState('load');
}

test('the login page with SPID, CIE and card buttons is axe-clean on a phone', { timeout: 60_000 }, async (t) => {
  const { context, page } = await newPage(browser, { viewport: { width: 360, height: 740 } });
  t.after(() => context.close());
  await page.goto(url('/login'));
  await page.locator('.spid-button-summary').click();
  assert.ok(await page.locator('a.spid-idp').first().isVisible(), 'the IdP list opens');
  assert.ok(await page.locator('a.oidc-provider').first().isVisible());
  await assertNoAxeViolations(page, 'login page with single sign-on');
});

test('SAML (pysaml2 IdP): a member lands in the portal, an unknown person becomes an applicant', { timeout: 90_000 }, async (t) => {
  const cf = demoMemberCf();
  {
    const { context, page } = await newPage(browser);
    t.after(() => context.close());
    await loginWithSaml(page, cf, 'Nome', 'Iscritto');
    assert.equal(pathOf(page), '/portale', `landed on ${page.url()}`);
    const text = await page.locator('main').innerText();
    assert.match(text, new RegExp(sql(`SELECT surname FROM members WHERE fiscal_code = '${cf}'`)), 'the portal shows the member record');
  }
  {
    const { context, page } = await newPage(browser);
    t.after(() => context.close());
    const stranger = 'VRDLCU90A01L424K';
    await loginWithSaml(page, stranger, 'Luca', 'Verdi');
    assert.equal(pathOf(page), '/portale', `landed on ${page.url()}`);
    assert.equal(sql(`SELECT string_agg(r.role, ',') FROM users u JOIN user_roles r ON r.user_id = u.id WHERE u.fiscal_code = '${stranger}'`), 'applicant');
    assert.equal(sql(`SELECT count(*) FROM members WHERE fiscal_code = '${stranger}'`), '0');
  }
});

test('OIDC (node oidc-provider, PKCE + private_key_jwt + request object): member and applicant', { timeout: 90_000 }, async (t) => {
  const cf = demoMemberCf();
  {
    const { context, page } = await newPage(browser);
    t.after(() => context.close());
    await loginWithOidc(page, cf);
    assert.equal(pathOf(page), '/portale', `landed on ${page.url()}`);
    assert.equal(
      sql(`SELECT details::jsonb->>'method' FROM audit_log a JOIN users u ON a.entity_id = u.id::text
           JOIN members m ON m.user_id = u.id WHERE a.action = 'auth.login' AND m.fiscal_code = '${cf}'
           ORDER BY a.seq DESC LIMIT 1`),
      'cie L2',
    );
  }
  {
    const { context, page } = await newPage(browser);
    t.after(() => context.close());
    const stranger = 'BNCNNA85M41L424U';
    await loginWithOidc(page, stranger);
    assert.equal(pathOf(page), '/portale', `landed on ${page.url()}`);
    assert.equal(sql(`SELECT string_agg(r.role, ',') FROM users u JOIN user_roles r ON r.user_id = u.id WHERE u.fiscal_code = '${stranger}'`), 'applicant');
  }
});
