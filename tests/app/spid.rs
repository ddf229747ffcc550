//! SPID login against a test IdP whose key is made here and whose responses are signed by xmlsec
//! (samael): the happy paths (member, unknown person, staff at level 2) and the tampering the
//! spid-sp-test suite does not cover (replay, unsolicited response, another session's request,
//! downgraded level), plus single logout. The full AgID suite runs in tests/spid/run.

use std::io::{Read, Write};
use std::sync::Arc;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::pkey::{PKey, Private};
use ordo::auth::Role;
use ordo::mail::LogMailer;
use ordo::members::cf::Sex;
use ordo::members::service::Entry;
use samael::crypto::{Crypto, CryptoProvider};
use sqlx::PgPool;
use time::macros::date;

use crate::helpers::{TestApp, test_config};

const IDP: &str = "https://idp.example.test";

struct TestIdp {
    key: PKey<Private>,
    key_der: Vec<u8>,
    cert_b64: String,
    _dir: tempfile::TempDir,
}

fn self_signed(key: &PKey<Private>, cn: &str) -> openssl::x509::X509 {
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = openssl::x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(key, openssl::hash::MessageDigest::sha256()).unwrap();
    b.build()
}

/// An app with SPID on: SP keys from `ordo spid keygen`'s code, one IdP made here.
async fn spid_app(pool: PgPool) -> (TestApp, TestIdp) {
    let dir = tempfile::tempdir().unwrap();
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let cert = self_signed(&key, "idp.example.test");
    let cert_b64 = B64.encode(cert.to_der().unwrap());
    let metadata = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP}">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{IDP}/slo"/>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{IDP}/sso"/>
</md:IDPSSODescriptor>
<md:Organization><md:OrganizationName xml:lang="it">IdP di prova</md:OrganizationName><md:OrganizationDisplayName xml:lang="it">IdP di prova</md:OrganizationDisplayName><md:OrganizationURL xml:lang="it">{IDP}</md:OrganizationURL></md:Organization>
</md:EntityDescriptor>"#
    );
    let idp_dir = dir.path().join("idp");
    std::fs::create_dir(&idp_dir).unwrap();
    std::fs::write(idp_dir.join("test-idp.xml"), metadata).unwrap();
    let sp_key = dir.path().join("sp.key");
    let sp_cert = dir.path().join("sp.crt");
    let overrides = [
        ("ORDO_SPID_ENABLED", "true"),
        ("ORDO_SPID_KEY_PATH", sp_key.to_str().unwrap()),
        ("ORDO_SPID_CERT_PATH", sp_cert.to_str().unwrap()),
        ("ORDO_SPID_IDP_METADATA_DIR", idp_dir.to_str().unwrap()),
        ("ORDO_SPID_IPA_CODE", "c_test"),
        ("ORDO_SPID_CONTACT_EMAIL", "segreteria@ordine.example.it"),
    ];
    let config = test_config(&overrides);
    ordo::sso::saml::keygen::generate(
        &config,
        &ordo::sso::saml::entity_id(&config),
        &sp_key,
        &sp_cert,
        30,
    )
    .unwrap();
    let app = TestApp::with(pool, config, Arc::new(LogMailer), |b| b).await;
    assert!(app.state.spid.is_some(), "SPID service provider loaded");
    let key_der = key.private_key_to_der().unwrap();
    (
        app,
        TestIdp {
            key,
            key_der,
            cert_b64,
            _dir: dir,
        },
    )
}

fn inflate(b64: &str) -> String {
    let bytes = B64.decode(b64).unwrap();
    let mut out = String::new();
    flate2::read::DeflateDecoder::new(&bytes[..])
        .read_to_string(&mut out)
        .unwrap();
    out
}

fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// Starts a SPID login in `browser`; returns the AuthnRequest's ID.
async fn start(browser: &mut TestApp) -> String {
    let r = browser.get(&format!("/spid/login?idp={}", urlencode(IDP))).await;
    assert_eq!(r.status, StatusCode::FOUND, "HTTP-Redirect binding answers 302");
    let location = r.location().unwrap().to_string();
    assert!(location.starts_with(&format!("{IDP}/sso?SAMLRequest=")));
    assert_eq!(
        query_param(&location, "SigAlg"),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    );
    let xml = inflate(&query_param(&location, "SAMLRequest"));
    assert!(xml.contains("https://www.spid.gov.it/SpidL2"), "{xml}");
    assert!(xml.contains(r#"ForceAuthn="true""#));
    let id_at = xml.find(" ID=\"").unwrap() + 5;
    xml[id_at..id_at + xml[id_at..].find('"').unwrap()].to_string()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

struct Resp<'a> {
    in_response_to: &'a str,
    level: u8,
    fiscal_number: &'a str,
    assertion_id: &'a str,
}

fn signature_template(id: &str, cert: &str) -> String {
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"##
    )
}

fn strip_decl(xml: &str) -> &str {
    match xml.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").unwrap() + 2..].trim_start(),
        None => xml,
    }
}

impl TestIdp {
    /// A Response as a SPID IdP sends it: Assertion signed, then the whole Response signed.
    fn response(&self, app: &TestApp, p: &Resp) -> String {
        let sp = app.state.spid.as_deref().unwrap();
        let now = app.clock_now();
        let fmt = |t: time::OffsetDateTime| ordo::sso::saml::messages::instant(t);
        let (issued, until) = (fmt(now), fmt(now + time::Duration::minutes(5)));
        let assertion = format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{aid}" Version="2.0" IssueInstant="{issued}"><saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{IDP}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" NameQualifier="{IDP}">_transient42</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="{irt}" NotOnOrAfter="{until}" Recipient="{acs}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{issued}" NotOnOrAfter="{until}"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{issued}" SessionIndex="_session7"><saml:AuthnContext><saml:AuthnContextClassRef>https://www.spid.gov.it/SpidL{level}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="fiscalNumber"><saml:AttributeValue xsi:type="xs:string">{cf}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="name"><saml:AttributeValue xsi:type="xs:string">Giulia</saml:AttributeValue></saml:Attribute><saml:Attribute Name="familyName"><saml:AttributeValue xsi:type="xs:string">Ferri</saml:AttributeValue></saml:Attribute><saml:Attribute Name="email"><saml:AttributeValue xsi:type="xs:string">giulia.ferri@example.org</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
            aid = p.assertion_id,
            sig = signature_template(p.assertion_id, &self.cert_b64),
            irt = p.in_response_to,
            acs = sp.acs_url,
            aud = sp.entity_id,
            level = p.level,
            cf = p.fiscal_number,
        );
        let signed_assertion = Crypto::sign_xml(&assertion, &self.key_der).unwrap();
        let rid = format!("_r{}", &p.assertion_id[1..]);
        let response = format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{rid}" Version="2.0" IssueInstant="{issued}" Destination="{acs}" InResponseTo="{irt}"><saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{IDP}</saml:Issuer>{sig}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
            sig = signature_template(&rid, &self.cert_b64),
            acs = sp.acs_url,
            irt = p.in_response_to,
            assertion = strip_decl(&signed_assertion),
        );
        B64.encode(Crypto::sign_xml(&response, &self.key_der).unwrap())
    }

    /// Signs an HTTP-Redirect binding message with the IdP's key.
    fn redirect_query(&self, field: &str, xml: &str) -> String {
        let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflater.write_all(xml.as_bytes()).unwrap();
        let encoded = B64.encode(deflater.finish().unwrap());
        let query = format!(
            "{field}={}&SigAlg={}",
            urlencode(&encoded),
            urlencode("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
        );
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &self.key).unwrap();
        signer.update(query.as_bytes()).unwrap();
        format!(
            "{query}&Signature={}",
            urlencode(&B64.encode(signer.sign_to_vec().unwrap()))
        )
    }
}

fn ok_resp<'a>(request_id: &'a str, fiscal_number: &'a str, assertion_id: &'a str) -> Resp<'a> {
    Resp {
        in_response_to: request_id,
        level: 2,
        fiscal_number,
        assertion_id,
    }
}

/// Posts a response to the ACS and follows to the completion step.
async fn post_and_complete(browser: &mut TestApp, saml_response: &str) -> (StatusCode, Option<String>) {
    let r = browser
        .post_raw(
            "/spid/acs",
            &[("SAMLResponse", saml_response), ("RelayState", "abc")],
        )
        .await;
    if r.status != StatusCode::SEE_OTHER {
        return (r.status, None);
    }
    let completion = r.location().unwrap().to_string();
    assert!(completion.starts_with("/spid/completa?t="));
    let r = browser.get(&completion).await;
    (r.status, r.location().map(str::to_string))
}

const GIULIA: &str = "TINIT-FRRGLI85M41L424X";

#[sqlx::test]
async fn unknown_person_becomes_an_applicant_and_a_member_lands_in_the_portal(pool: PgPool) {
    let (app, idp) = spid_app(pool).await;

    let mut stranger = app.fresh_browser();
    let id = start(&mut stranger).await;
    let response = idp.response(&stranger, &ok_resp(&id, GIULIA, "_a1"));
    let (status, to) = post_and_complete(&mut stranger, &response).await;
    assert_eq!((status, to.as_deref()), (StatusCode::SEE_OTHER, Some("/portale")));
    let (email, roles): (String, Vec<String>) = sqlx::query_as(
        "SELECT u.email, array_agg(r.role) FROM users u JOIN user_roles r ON r.user_id = u.id
         WHERE u.fiscal_code = 'FRRGLI85M41L424X' GROUP BY u.email",
    )
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(email, "giulia.ferri@example.org");
    assert_eq!(roles, vec!["applicant".to_string()]);
    assert_eq!(stranger.get("/portale").await.status, StatusCode::OK);

    // A member of the register, never logged in before: an account is made and linked.
    let d = crate::members::data("Bianchi", "Marco", date!(1980 - 01 - 01), Sex::M);
    let cf = d.fiscal_code.clone();
    let member_id = crate::members::add(
        &app,
        d,
        Entry::Registered {
            date: date!(2015 - 03 - 10),
            resolution_number: "7/2015",
        },
    )
    .await;
    let mut member = app.fresh_browser();
    let id = start(&mut member).await;
    let response = idp.response(&member, &ok_resp(&id, &format!("TINIT-{cf}"), "_a2"));
    let (status, to) = post_and_complete(&mut member, &response).await;
    assert_eq!((status, to.as_deref()), (StatusCode::SEE_OTHER, Some("/portale")));
    let linked: Option<i64> = sqlx::query_scalar("SELECT user_id FROM members WHERE id = $1")
        .bind(member_id)
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert!(linked.is_some(), "the member record is linked to the new account");
    let portal = member.get("/portale").await;
    assert!(
        portal.body.contains("Bianchi"),
        "the portal shows the member's own record"
    );
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'sso.account_linked'")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(audit, 1);
}

#[sqlx::test]
async fn a_response_is_accepted_once_only_and_never_unsolicited(pool: PgPool) {
    let (app, idp) = spid_app(pool).await;
    let mut browser = app.fresh_browser();
    let id = start(&mut browser).await;
    let response = idp.response(&browser, &ok_resp(&id, GIULIA, "_a3"));
    assert_eq!(
        post_and_complete(&mut browser, &response).await.0,
        StatusCode::SEE_OTHER
    );

    // The same response again, from another browser: the request was answered already.
    let mut attacker = app.fresh_browser();
    let r = attacker
        .post_raw("/spid/acs", &[("SAMLResponse", &response), ("RelayState", "abc")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Accesso non riuscito"));

    // The same assertion under a new request of the attacker's own: the assertion ID is spent.
    let id2 = start(&mut attacker).await;
    let replayed = idp.response(&attacker, &ok_resp(&id2, GIULIA, "_a3"));
    assert_eq!(
        post_and_complete(&mut attacker, &replayed).await.0,
        StatusCode::FORBIDDEN
    );

    // A response to a request nobody sent.
    let unsolicited = idp.response(&attacker, &ok_resp("_neverSent", GIULIA, "_a4"));
    assert_eq!(
        post_and_complete(&mut attacker, &unsolicited).await.0,
        StatusCode::FORBIDDEN
    );

    // Not even XML, or no response at all: a page, never a 500.
    let r = attacker
        .post_raw("/spid/acs", &[("SAMLResponse", "bm90IHhtbA==")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = attacker.post_raw("/spid/acs", &[("RelayState", "x")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn a_response_to_another_sessions_request_or_at_a_lower_level_is_refused(pool: PgPool) {
    let (app, idp) = spid_app(pool).await;
    let mut victim = app.fresh_browser();
    let id = start(&mut victim).await;
    // The victim's valid response, delivered to the attacker's browser (login CSRF / session swap).
    let mut attacker = app.fresh_browser();
    start(&mut attacker).await;
    let response = idp.response(&attacker, &ok_resp(&id, GIULIA, "_a5"));
    let (status, _) = post_and_complete(&mut attacker, &response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        attacker.get("/portale").await.status != StatusCode::OK,
        "the attacker is not logged in"
    );

    // SpidL1 when SpidL2 was asked.
    let mut browser = app.fresh_browser();
    let id = start(&mut browser).await;
    let weak = idp.response(
        &browser,
        &Resp {
            level: 1,
            ..ok_resp(&id, GIULIA, "_a6")
        },
    );
    let r = browser.post_raw("/spid/acs", &[("SAMLResponse", &weak)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE fiscal_code IS NOT NULL")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(users, 0, "no account was made by a refused response");

    // A response signed by someone else's key, claiming to be the IdP.
    let other_key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let forger = TestIdp {
        key_der: other_key.private_key_to_der().unwrap(),
        cert_b64: B64.encode(self_signed(&other_key, "forger").to_der().unwrap()),
        key: other_key,
        _dir: tempfile::tempdir().unwrap(),
    };
    let id = start(&mut browser).await;
    let forged = forger.response(&browser, &ok_resp(&id, GIULIA, "_a7"));
    let r = browser.post_raw("/spid/acs", &[("SAMLResponse", &forged)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn staff_with_spid_level_2_need_no_totp_and_single_logout_reaches_the_idp(pool: PgPool) {
    let (app, idp) = spid_app(pool).await;
    app.create_user("segreteria@example.org", &[Role::Secretariat], false)
        .await;
    sqlx::query("UPDATE users SET fiscal_code = 'FRRGLI85M41L424X' WHERE email = 'segreteria@example.org'")
        .execute(&app.state.pool)
        .await
        .unwrap();
    let mut staff = app.fresh_browser();
    let id = start(&mut staff).await;
    let response = idp.response(&staff, &ok_resp(&id, GIULIA, "_a8"));
    let (status, to) = post_and_complete(&mut staff, &response).await;
    assert_eq!(
        (status, to.as_deref()),
        (StatusCode::SEE_OTHER, Some("/backoffice"))
    );
    assert_eq!(staff.get("/backoffice").await.status, StatusCode::OK);
    let method: String = sqlx::query_scalar(
        "SELECT details::jsonb->>'method' FROM audit_log WHERE action = 'auth.login' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(method, "spid L2");

    // Logout: the session ends here and a signed LogoutRequest goes to the IdP.
    staff.get("/account").await;
    let r = staff.post("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::FOUND);
    let location = r.location().unwrap().to_string();
    assert!(location.starts_with(&format!("{IDP}/slo?SAMLRequest=")));
    let logout = inflate(&query_param(&location, "SAMLRequest"));
    assert!(
        logout.contains("_transient42") && logout.contains("_session7"),
        "{logout}"
    );
    assert_ne!(
        staff.get("/backoffice").await.status,
        StatusCode::OK,
        "logged out here"
    );
    let id_at = logout.find(" ID=\"").unwrap() + 5;
    let logout_id = &logout[id_at..id_at + logout[id_at..].find('"').unwrap()];

    // The IdP's LogoutResponse, signed: back to the login page.
    let sp = app.state.spid.as_deref().unwrap();
    let answer = format!(
        r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lr1" Version="2.0" IssueInstant="{}" Destination="{}" InResponseTo="{logout_id}"><saml:Issuer>{IDP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>"#,
        ordo::sso::saml::messages::instant(app.clock_now()),
        sp.slo_url
    );
    let query = idp.redirect_query("SAMLResponse", &answer);
    // Tampered signature: refused.
    let r = staff
        .get(&format!(
            "/spid/slo?{}",
            query.replace("&Signature=", "&Signature=AA")
        ))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = staff.get(&format!("/spid/slo?{query}")).await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, Some("/login?ok=logout"))
    );
}

#[sqlx::test]
async fn metadata_is_signed_and_lists_what_spid_requires(pool: PgPool) {
    let (mut app, _idp) = spid_app(pool).await;
    let r = app.get("/spid/metadata").await;
    assert_eq!(r.status, StatusCode::OK);
    let xml = r.body;
    for needle in [
        r#"AuthnRequestsSigned="true""#,
        r#"<md:AssertionConsumerService index="0" isDefault="true""#,
        r#"<md:RequestedAttribute Name="fiscalNumber"/>"#,
        "<spid:IPACode>c_test</spid:IPACode><spid:Public/>",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    ] {
        assert!(xml.contains(needle), "metadata lacks {needle}");
    }
    let sp = app.state.spid.as_deref().unwrap();
    let cert = samael::crypto::CertificateDer::from(B64.decode(&sp.cert_b64).unwrap());
    Crypto::verify_signed_xml(&xml, &cert, Some("ID")).expect("the metadata signature verifies");
    let tampered = xml.replace("c_test", "c_evil");
    assert!(Crypto::verify_signed_xml(&tampered, &cert, Some("ID")).is_err());
}

#[sqlx::test]
async fn an_idp_initiated_logout_ends_the_persons_sessions_and_answers_signed(pool: PgPool) {
    let (app, idp) = spid_app(pool).await;
    let mut browser = app.fresh_browser();
    let id = start(&mut browser).await;
    let response = idp.response(&browser, &ok_resp(&id, GIULIA, "_a9"));
    assert_eq!(
        post_and_complete(&mut browser, &response).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(browser.get("/portale").await.status, StatusCode::OK);

    let sp = app.state.spid.as_deref().unwrap();
    let request = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_idplr1" Version="2.0" IssueInstant="{}" Destination="{}"><saml:Issuer>{IDP}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" NameQualifier="{IDP}">_transient42</saml:NameID><samlp:SessionIndex>_session7</samlp:SessionIndex></samlp:LogoutRequest>"#,
        ordo::sso::saml::messages::instant(app.clock_now()),
        sp.slo_url
    );
    // Unsigned: refused, the session lives on.
    let mut idp_side = app.fresh_browser();
    let unsigned = idp.redirect_query("SAMLRequest", &request);
    let unsigned = unsigned.split("&SigAlg=").next().unwrap().to_string();
    assert_eq!(
        idp_side.get(&format!("/spid/slo?{unsigned}")).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(browser.get("/portale").await.status, StatusCode::OK);
    // Signed: the person's sessions end and a signed LogoutResponse goes back to the IdP.
    let r = idp_side
        .get(&format!(
            "/spid/slo?{}",
            idp.redirect_query("SAMLRequest", &request)
        ))
        .await;
    assert_eq!(r.status, StatusCode::FOUND);
    let location = r.location().unwrap().to_string();
    assert!(
        location.starts_with(&format!("{IDP}/slo?SAMLResponse=")),
        "{location}"
    );
    assert!(!query_param(&location, "Signature").is_empty());
    let answer = inflate(&query_param(&location, "SAMLResponse"));
    assert!(
        answer.contains(r#"InResponseTo="_idplr1""#) && answer.contains("status:Success"),
        "{answer}"
    );
    assert_ne!(
        browser.get("/portale").await.status,
        StatusCode::OK,
        "the session ended"
    );
}
