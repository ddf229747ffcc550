//! OpenID Connect tampering: a provider run here (discovery, JWKS, token endpoint checking PKCE and
//! the private_key_jwt assertion) that answers correctly or lies on purpose — a wrong nonce, audience
//! or issuer in the ID token —, plus a callback with a wrong state, one from another browser session,
//! and a code issued for another PKCE challenge. Each is refused with a page and its reason logged.
//! The end-to-end login through a real provider (node oidc-provider) is in tests/browser/sso.test.mjs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::JwtPayload;
use ordo::mail::LogMailer;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::helpers::TestApp;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lie {
    None,
    Nonce,
    Audience,
    Issuer,
    /// Honest, CIE-style: the fiscal number only in the userinfo response, signed and encrypted.
    ClaimsInUserinfo,
    /// The userinfo response names another subject.
    UserinfoSubject,
}

#[derive(Clone)]
struct Provider {
    issuer: String,
    key_pem: Vec<u8>,
    rp_public_pem: Vec<u8>,
    /// The public part of the relying party's encryption key (userinfo is encrypted to it).
    rp_enc_public_pem: Vec<u8>,
    lie: Arc<Mutex<Lie>>,
    /// code → (PKCE challenge, nonce) as the authorization request gave them.
    codes: Arc<Mutex<HashMap<String, (String, String)>>>,
}

async fn discovery(State(p): State<Provider>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "issuer": p.issuer,
        "authorization_endpoint": format!("{}/authorize", p.issuer),
        "token_endpoint": format!("{}/token", p.issuer),
        "jwks_uri": format!("{}/jwks", p.issuer),
        "userinfo_endpoint": format!("{}/userinfo", p.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(p): State<Provider>) -> Json<serde_json::Value> {
    let mut jwk = RS256.key_pair_from_pem(&p.key_pem).unwrap().to_jwk_public_key();
    jwk.set_key_id("provider-key");
    jwk.set_algorithm("RS256");
    Json(serde_json::json!({ "keys": [serde_json::Value::Object(jwk.into())] }))
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// openidconnect checks the ID token's expiry against the real clock, not the app's.
#[allow(clippy::disallowed_methods)]
fn real_now() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

async fn token(
    State(p): State<Provider>,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<serde_json::Value>) {
    let refuse = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": "invalid_grant", "error_description": why })),
        )
    };
    // private_key_jwt: the assertion must be signed by the relying party's key.
    let verifier = RS256.verifier_from_pem(&p.rp_public_pem).unwrap();
    let Some(assertion) = form.get("client_assertion") else {
        return refuse("no client assertion");
    };
    let Ok((claims, _)) = josekit::jwt::decode_with_verifier(assertion, &verifier) else {
        return refuse("client assertion not signed by the client's key");
    };
    if claims.issuer() != Some("ordo-test")
        || form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    {
        return refuse("bad client assertion");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some((challenge, nonce)) = p.codes.lock().unwrap().remove(&code) else {
        return refuse("unknown code");
    };
    if s256(form.get("code_verifier").map(String::as_str).unwrap_or("")) != challenge {
        return refuse("PKCE verification failed");
    }
    let lie = *p.lie.lock().unwrap();
    let mut id = JwtPayload::new();
    id.set_issuer(if lie == Lie::Issuer {
        "https://evil.example"
    } else {
        &p.issuer
    });
    id.set_audience(vec![
        if lie == Lie::Audience {
            "someone-else"
        } else {
            "ordo-test"
        }
        .to_string(),
    ]);
    id.set_subject("sub-42");
    id.set_issued_at(&real_now());
    id.set_expires_at(&(real_now() + std::time::Duration::from_secs(300)));
    let nonce = if lie == Lie::Nonce {
        "another-nonce".to_string()
    } else {
        nonce
    };
    id.set_claim("nonce", Some(nonce.into())).unwrap();
    id.set_claim("given_name", Some("Giulia".into())).unwrap();
    id.set_claim("family_name", Some("Ferri".into())).unwrap();
    if !matches!(lie, Lie::ClaimsInUserinfo | Lie::UserinfoSubject) {
        id.set_claim(
            "https://attributes.eid.gov.it/fiscal_number",
            Some("TINIT-FRRGLI85M41L424X".into()),
        )
        .unwrap();
    }
    let mut header = JwsHeader::new();
    header.set_key_id("provider-key");
    let signer = RS256.signer_from_pem(&p.key_pem).unwrap();
    let id_token = josekit::jwt::encode_with_signer(&id, &header, &signer).unwrap();
    (
        StatusCode::OK,
        Json(
            serde_json::json!({ "access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": id_token }),
        ),
    )
}

/// The userinfo endpoint as CIE's: a JWT signed by the provider, encrypted to the client's enc key.
async fn userinfo(
    State(p): State<Provider>,
) -> (StatusCode, [(axum::http::HeaderName, &'static str); 1], String) {
    let lie = *p.lie.lock().unwrap();
    let mut claims = JwtPayload::new();
    claims.set_subject(if lie == Lie::UserinfoSubject {
        "someone-else"
    } else {
        "sub-42"
    });
    claims
        .set_claim(
            "https://attributes.eid.gov.it/fiscal_number",
            Some("TINIT-FRRGLI85M41L424X".into()),
        )
        .unwrap();
    claims.set_claim("family_name", Some("Ferri".into())).unwrap();
    let mut header = JwsHeader::new();
    header.set_key_id("provider-key");
    let signed =
        josekit::jwt::encode_with_signer(&claims, &header, &RS256.signer_from_pem(&p.key_pem).unwrap())
            .unwrap();
    let mut jwe_header = josekit::jwe::JweHeader::new();
    jwe_header.set_content_encryption("A256CBC-HS512");
    jwe_header.set_content_type("JWT");
    let encrypter = josekit::jwe::RSA_OAEP
        .encrypter_from_pem(&p.rp_enc_public_pem)
        .unwrap();
    let jwe = josekit::jwe::serialize_compact(signed.as_bytes(), &jwe_header, &encrypter).unwrap();
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/jose")],
        jwe,
    )
}

fn rsa_pem() -> (Vec<u8>, Vec<u8>) {
    let key = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    (
        key.private_key_to_pem_pkcs8().unwrap(),
        key.public_key_to_pem().unwrap(),
    )
}

async fn setup(pool: PgPool) -> (TestApp, Provider, tempfile::TempDir) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let dir = tempfile::tempdir().unwrap();
    let (rp_key, rp_public) = rsa_pem();
    std::fs::write(dir.path().join("rp.key"), &rp_key).unwrap();
    let (rp_enc_key, rp_enc_public) = rsa_pem();
    std::fs::write(dir.path().join("rp-enc.key"), &rp_enc_key).unwrap();
    let provider = Provider {
        issuer: issuer.clone(),
        key_pem: rsa_pem().0,
        rp_public_pem: rp_public,
        rp_enc_public_pem: rp_enc_public,
        lie: Arc::new(Mutex::new(Lie::None)),
        codes: Arc::new(Mutex::new(HashMap::new())),
    };
    let router = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo))
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let toml = format!(
        r#"[oidc]
key_path = "{}"
enc_key_path = "{}"
[[oidc.providers]]
name = "test"
label = "Entra con il provider di prova"
issuer = "{issuer}"
client_id = "ordo-test"
acr_values = "https://www.spid.gov.it/SpidL2"
request_object = true
"#,
        dir.path().join("rp.key").display(),
        dir.path().join("rp-enc.key").display()
    );
    let file = dir.path().join("ordo.toml");
    std::fs::write(&file, toml).unwrap();
    let config = ordo::config::Config::load_from(
        Some(&file),
        [
            (
                "DATABASE_URL".to_string(),
                "postgres://unused@localhost/unused".to_string(),
            ),
            ("ORDO_ALBO_PUBLIC_CACHE_SECONDS".to_string(), "0".to_string()),
        ],
    )
    .unwrap();
    let app = TestApp::with(pool, config, Arc::new(LogMailer), |b| b).await;
    (app, provider, dir)
}

fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Starts a login and plays the provider's authorization step: returns (state, code).
async fn authorize(browser: &mut TestApp, p: &Provider) -> (String, String) {
    let r = browser.get("/oidc/test/login").await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    let url = r.location().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/authorize?", p.issuer)));
    assert_eq!(param(&url, "code_challenge_method"), "S256");
    assert_eq!(param(&url, "acr_values"), "https://www.spid.gov.it/SpidL2");
    // The signed request object carries the same parameters, signed with the key of /oidc/jwks.json.
    let verifier = RS256.verifier_from_pem(&p.rp_public_pem).unwrap();
    let (request, header) = josekit::jwt::decode_with_verifier(param(&url, "request"), &verifier).unwrap();
    assert_eq!(header.token_type(), Some("oauth-authz-req+jwt"));
    assert_eq!(
        request.claim("state").and_then(|v| v.as_str()),
        Some(param(&url, "state").as_str())
    );
    assert_eq!(
        request.claim("code_challenge").and_then(|v| v.as_str()),
        Some(param(&url, "code_challenge").as_str())
    );
    let code = format!("code-{}", param(&url, "state"));
    p.codes.lock().unwrap().insert(
        code.clone(),
        (param(&url, "code_challenge"), param(&url, "nonce")),
    );
    (param(&url, "state"), code)
}

async fn callback(browser: &mut TestApp, state: &str, code: &str) -> crate::helpers::TestResponse {
    browser
        .get(&format!("/oidc/callback?state={state}&code={code}"))
        .await
}

#[sqlx::test]
async fn an_honest_provider_logs_the_person_in(pool: PgPool) {
    let (app, p, _dir) = setup(pool).await;
    let mut jwks = app.fresh_browser();
    let keys = jwks.get("/oidc/jwks.json").await;
    assert!(keys.body.contains("\"RS256\""), "{}", keys.body);
    let mut browser = app.fresh_browser();
    let (state, code) = authorize(&mut browser, &p).await;
    let r = callback(&mut browser, &state, &code).await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, Some("/portale")),
        "{:?}",
        r.texts(".alert")
    );
    let method: String = sqlx::query_scalar(
        "SELECT details::jsonb->>'method' FROM audit_log WHERE action = 'auth.login' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(method, "test L2");
    // The same callback again: the state is spent.
    let r = callback(&mut browser, &state, &code).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // CIE-style: the fiscal number only in the userinfo response, signed and encrypted to the key
    // ordo publishes with use "enc".
    assert!(
        keys.body.contains("\"enc\"") && keys.body.contains("RSA-OAEP"),
        "{}",
        keys.body
    );
    *p.lie.lock().unwrap() = Lie::ClaimsInUserinfo;
    let mut cie = app.fresh_browser();
    let (state, code) = authorize(&mut cie, &p).await;
    let r = callback(&mut cie, &state, &code).await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, Some("/portale")),
        "{:?}",
        r.texts(".alert")
    );
    // A userinfo response about someone else than the ID token: refused.
    *p.lie.lock().unwrap() = Lie::UserinfoSubject;
    let mut other = app.fresh_browser();
    let (state, code) = authorize(&mut other, &p).await;
    assert_eq!(
        callback(&mut other, &state, &code).await.status,
        StatusCode::FORBIDDEN
    );
}

#[sqlx::test]
async fn lying_tokens_wrong_states_and_foreign_codes_are_refused(pool: PgPool) {
    let (app, p, _dir) = setup(pool).await;
    for lie in [Lie::Nonce, Lie::Audience, Lie::Issuer] {
        *p.lie.lock().unwrap() = lie;
        let mut browser = app.fresh_browser();
        let (state, code) = authorize(&mut browser, &p).await;
        let r = callback(&mut browser, &state, &code).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{lie:?}");
        assert!(r.body.contains("Accesso non riuscito"), "{lie:?}");
        assert_ne!(browser.get("/portale").await.status, StatusCode::OK, "{lie:?}");
    }
    *p.lie.lock().unwrap() = Lie::None;

    // A state this app never issued.
    let mut browser = app.fresh_browser();
    let (_, code) = authorize(&mut browser, &p).await;
    assert_eq!(
        callback(&mut browser, "forged-state", &code).await.status,
        StatusCode::FORBIDDEN
    );

    // The victim's callback opened in the attacker's browser.
    let mut victim = app.fresh_browser();
    let (state, code) = authorize(&mut victim, &p).await;
    let mut attacker = app.fresh_browser();
    assert_eq!(
        callback(&mut attacker, &state, &code).await.status,
        StatusCode::FORBIDDEN
    );

    // A code obtained for another authorization (another PKCE challenge): the provider refuses the
    // exchange because our verifier does not match, and so do we.
    let mut browser = app.fresh_browser();
    let (state, _) = authorize(&mut browser, &p).await;
    p.codes
        .lock()
        .unwrap()
        .insert("injected".into(), (s256("the attacker's verifier"), "n".into()));
    assert_eq!(
        callback(&mut browser, &state, "injected").await.status,
        StatusCode::FORBIDDEN
    );

    // An error from the provider, and a callback without parameters: a page, never a 500.
    assert_eq!(
        browser
            .get("/oidc/callback?error=access_denied&state=x")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(browser.get("/oidc/callback").await.status, StatusCode::FORBIDDEN);
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE fiscal_code IS NOT NULL")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(accounts, 0, "no refused callback made an account");
}
