//! Smart-card (CNS/CRS) login with certificates made here: a CA and its cards (openssl crate), a CRL
//! made by the `openssl ca` command. Through a trusted proxy's header (in process) and through ordo's
//! own TLS (`ordo serve` with curl presenting the card).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use ordo::mail::LogMailer;
use sqlx::PgPool;

use crate::helpers::{TestApp, TestResponse, start_time, test_config};

const CF: &str = "FRRGLI85M41L424X";

fn key() -> PKey<Private> {
    PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap()
}

fn name(cn: &str, card: bool) -> openssl::x509::X509Name {
    let mut n = X509NameBuilder::new().unwrap();
    n.append_entry_by_text("C", "IT").unwrap();
    n.append_entry_by_text("CN", cn).unwrap();
    if card {
        n.append_entry_by_text("GN", "Giulia").unwrap();
        n.append_entry_by_text("SN", "Ferri").unwrap();
    }
    n.build()
}

/// A certificate valid from `from` to `until` (unix seconds), signed by `issuer` (self-signed CA if None).
fn cert(
    key: &PKey<Private>,
    cn: &str,
    issuer: Option<(&X509, &PKey<Private>)>,
    from: i64,
    until: i64,
    serial: u32,
) -> X509 {
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = openssl::bn::BigNum::from_u32(serial)
        .unwrap()
        .to_asn1_integer()
        .unwrap();
    b.set_serial_number(&serial).unwrap();
    let subject = name(cn, issuer.is_some());
    b.set_subject_name(&subject).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(from).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::from_unix(until).unwrap()).unwrap();
    match issuer {
        None => {
            b.set_issuer_name(&subject).unwrap();
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()
                    .unwrap(),
            )
            .unwrap();
            b.sign(key, MessageDigest::sha256()).unwrap();
        }
        Some((ca, ca_key)) => {
            b.set_issuer_name(ca.subject_name()).unwrap();
            b.append_extension(BasicConstraints::new().build().unwrap())
                .unwrap();
            b.append_extension(KeyUsage::new().critical().digital_signature().build().unwrap())
                .unwrap();
            b.sign(ca_key, MessageDigest::sha256()).unwrap();
        }
    }
    b.build()
}

struct Pki {
    dir: tempfile::TempDir,
    valid: X509,
    valid_key: PKey<Private>,
    expired: X509,
    revoked: X509,
    stranger: X509,
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

/// The CA (ca.pem), its CRL revoking one card (crl.pem), and cards valid around the test clock.
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let now = start_time().unix_timestamp();
    let day = 86_400;
    let ca_key = key();
    let ca = cert(
        &ca_key,
        "CA di prova CNS",
        None,
        now - 400 * day,
        now + 3650 * day,
        1,
    );
    let cn = format!("{CF}/7420000000012345.abcdef");
    let valid_key = key();
    let valid = cert(
        &valid_key,
        &cn,
        Some((&ca, &ca_key)),
        now - 30 * day,
        now + 365 * day,
        10,
    );
    let expired = cert(&key(), &cn, Some((&ca, &ca_key)), now - 400 * day, now - day, 11);
    let revoked = cert(
        &key(),
        &cn,
        Some((&ca, &ca_key)),
        now - 30 * day,
        now + 365 * day,
        12,
    );
    let other_key = key();
    let other_ca = cert(
        &other_key,
        "CA estranea",
        None,
        now - 400 * day,
        now + 3650 * day,
        1,
    );
    let stranger = cert(
        &key(),
        &cn,
        Some((&other_ca, &other_key)),
        now - 30 * day,
        now + 365 * day,
        13,
    );

    let d = dir.path();
    write(&d.join("ca.pem"), &ca.to_pem().unwrap());
    write(&d.join("ca.key"), &ca_key.private_key_to_pem_pkcs8().unwrap());
    write(&d.join("revoked.pem"), &revoked.to_pem().unwrap());
    write(&d.join("index.txt"), b"");
    write(&d.join("crlnumber"), b"1000\n");
    write(
        &d.join("ca.cnf"),
        b"[ca]\ndefault_ca = ca_default\n[ca_default]\ndir = .\ndatabase = index.txt\ncertificate = ca.pem\n\
private_key = ca.key\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 3650\n",
    );
    for args in [
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-revoke",
            "revoked.pem",
            "-crl_reason",
            "keyCompromise",
        ][..],
        &["ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem"][..],
    ] {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Pki {
        dir,
        valid,
        valid_key,
        expired,
        revoked,
        stranger,
    }
}

fn cns_overrides(pki: &Pki, trusted_proxy: bool) -> Vec<(String, String)> {
    let d = pki.dir.path();
    vec![
        ("ORDO_CNS_ENABLED".into(), "true".into()),
        (
            "ORDO_CNS_CA_BUNDLE_PATH".into(),
            d.join("ca.pem").to_string_lossy().into_owned(),
        ),
        (
            "ORDO_CNS_CRL_PATHS".into(),
            format!("[\"{}\"]", d.join("crl.pem").to_string_lossy()),
        ),
        (
            "ORDO_HTTP_TRUSTED_PROXIES".into(),
            if trusted_proxy { "[\"127.0.0.1\"]" } else { "[]" }.into(),
        ),
    ]
}

async fn app_with(pool: PgPool, pki: &Pki, trusted_proxy: bool) -> TestApp {
    let overrides = cns_overrides(pki, trusted_proxy);
    let pairs: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = TestApp::with(pool, test_config(&pairs), Arc::new(LogMailer), |b| b).await;
    assert!(app.state.cns.is_some());
    app
}

async fn with_card(browser: &mut TestApp, card: &X509) -> TestResponse {
    let pem = String::from_utf8(card.to_pem().unwrap()).unwrap();
    // As nginx's $ssl_client_escaped_cert: percent-encoded (a space is %20, a '+' of base64 is %2B).
    let escaped = percent_encoding::utf8_percent_encode(&pem, percent_encoding::NON_ALPHANUMERIC).to_string();
    let req = browser
        .build(Method::GET, "/cns/login")
        .header("x-ssl-client-cert", escaped)
        .body(Body::empty())
        .unwrap();
    browser.request(req).await
}

#[sqlx::test]
async fn a_valid_card_through_the_trusted_proxy_logs_in_and_bad_cards_are_refused(pool: PgPool) {
    let pki = pki();
    let app = app_with(pool, &pki, true).await;

    let mut browser = app.fresh_browser();
    let r = with_card(&mut browser, &pki.valid).await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, Some("/portale")),
        "{:?}",
        r.texts(".alert")
    );
    assert_eq!(browser.get("/portale").await.status, StatusCode::OK);
    let (name, method): (String, String) = sqlx::query_as(
        "SELECT u.display_name, a.details::jsonb->>'method' FROM users u JOIN audit_log a
           ON a.entity_id = u.id::text AND a.action = 'auth.login' WHERE u.fiscal_code = $1",
    )
    .bind(CF)
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    assert_eq!((name.as_str(), method.as_str()), ("Giulia Ferri", "cns L2"));

    for (card, expected) in [
        (&pki.expired, "scaduto"),
        (&pki.revoked, "revocato"),
        (
            &pki.stranger,
            "non è stato emesso da un ente certificatore riconosciuto",
        ),
    ] {
        let mut b = app.fresh_browser();
        let r = with_card(&mut b, card).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{expected}");
        assert!(r.body.contains(expected), "{expected}: {}", r.body);
        assert_ne!(b.get("/portale").await.status, StatusCode::OK);
    }
    // No certificate at all.
    let mut b = app.fresh_browser();
    let r = b.get("/cns/login").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("non ha presentato alcun certificato"));
}

#[sqlx::test]
async fn the_certificate_header_is_ignored_from_an_untrusted_address(pool: PgPool) {
    let pki = pki();
    let app = app_with(pool, &pki, false).await;
    let mut browser = app.fresh_browser();
    let r = with_card(&mut browser, &pki.valid).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.body.contains("non ha presentato alcun certificato"),
        "{}",
        r.body
    );
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE fiscal_code = $1")
        .bind(CF)
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[sqlx::test]
async fn ordo_terminating_tls_asks_for_the_card_and_logs_its_holder_in(pool: PgPool) {
    let pki = pki();
    let d = pki.dir.path().to_path_buf();
    write(&d.join("card.pem"), &pki.valid.to_pem().unwrap());
    write(
        &d.join("card.key"),
        &pki.valid_key.private_key_to_pem_pkcs8().unwrap(),
    );
    // The server's own certificate.
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.pem",
        ])
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(made.status.success());
    let db = crate::cli::database_url(&pool).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("ORDO_BIND", format!("127.0.0.1:{port}"))
        .env("ORDO_BASE_URL", format!("https://127.0.0.1:{port}"))
        .env("ORDO_TLS_CERT_PATH", d.join("server.pem"))
        .env("ORDO_TLS_KEY_PATH", d.join("server.key"))
        .envs(cns_overrides(&pki, false))
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}/cns/login");
    let curl = move |cert: &str| -> String {
        for _ in 0..200 {
            let out = Command::new("curl")
                .args(["-sk", "-D", "-", "-o", "/dev/null", "--max-time", "5"])
                .arg("--cert")
                .arg(d.join(cert))
                .arg("--key")
                .arg(d.join("card.key"))
                .arg(&url)
                .output()
                .unwrap();
            let head = String::from_utf8_lossy(&out.stdout).into_owned();
            if head.starts_with("HTTP/") {
                return head;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("ordo serve did not answer");
    };
    let head = tokio::task::spawn_blocking(move || curl("card.pem"))
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.starts_with("http/1.1 303") || lower.starts_with("http/2 303"),
        "{head}"
    );
    assert!(lower.contains("location: /portale"), "{head}");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE fiscal_code = $1")
        .bind(CF)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 1, "the card's holder has an account now");
}
