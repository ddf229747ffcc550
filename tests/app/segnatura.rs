//! The XML segnatura (AgID 2021 guidelines, annex 6): valid against AgID's published schema
//! (`tests/data/segnatura`, checked by `xmllint --nonet`), signed with the AOO's seal (checked by
//! `xmlsec1 --verify`, and refused once a byte of the signed content changes), the digests of the
//! documents as the annex writes them (base64 of the SHA-256), refusals with their reason.

use std::process::Command;

use axum::http::StatusCode;
use base64::Engine;
use ordo::audit::Actor;
use ordo::protocol::{self, Correspondent, Direction, Document, Dossier, NewRegistration};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, test_config};
use crate::requests::{member, staff};

/// A seal for the tests: an RSA key and a self-signed certificate, as PEM files.
fn seal(dir: &std::path::Path) -> (String, String) {
    use openssl::{asn1::Asn1Time, hash::MessageDigest, pkey::PKey, rsa::Rsa, x509};
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "Sigillo AOO oring_ts (prova)")
        .unwrap();
    let name = name.build();
    let mut b = x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let (k, c) = (dir.join("seal.key"), dir.join("seal.crt"));
    std::fs::write(&k, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&c, b.build().to_pem().unwrap()).unwrap();
    (k.to_string_lossy().into_owned(), c.to_string_lossy().into_owned())
}

fn xsd() -> String {
    format!(
        "{}/tests/data/segnatura/segnatura_protocollo.xsd",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn xmllint(file: &std::path::Path) -> std::process::Output {
    Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", &xsd()])
        .arg(file)
        .output()
        .expect("xmllint: install libxml2-utils (scripts/test does)")
}

fn xmlsec_verify(file: &std::path::Path, cert: &str) -> bool {
    Command::new("xmlsec1")
        .args(["--verify", "--trusted-pem", cert])
        .arg(file)
        .output()
        .expect("xmlsec1: install xmlsec1 (scripts/test does)")
        .status
        .success()
}

fn registration(cf: &str, name: &str, direction: Direction, documents: Vec<Document>) -> NewRegistration {
    NewRegistration {
        direction,
        correspondent: Correspondent {
            name: name.into(),
            fiscal_code: cf.into(),
            email: "mario.rossi@example.org".into(),
        },
        subject: "Trasmissione del certificato di iscrizione <n. 1> & allegati".into(),
        attachments_description: String::new(),
        classification: "2.4".into(),
        dossier: Dossier::None,
        request_id: None,
        source: "manual",
        documents,
    }
}

#[sqlx::test]
async fn the_xml_segnatura_follows_agids_schema_and_carries_the_seal(pool: sqlx::PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = seal(dir.path());
    let config = test_config(&[
        ("ORDO_PROTOCOL_SEAL_KEY_PATH", &key),
        ("ORDO_PROTOCOL_SEAL_CERT_PATH", &cert),
    ]);
    let mailer = ordo::mail::from_config(&config.smtp).unwrap();
    let app = TestApp::with(pool.clone(), config, mailer, |b| b).await;
    let (_, member_id) = member(&app, "segnatura@example.org").await;
    let cf: String = sqlx::query_scalar("SELECT fiscal_code FROM members WHERE id = $1")
        .bind(member_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let primary = b"%PDF-1.4 certificato".to_vec();
    let annex = b"allegato di prova".to_vec();
    let actor = Actor::system("test");
    let out = protocol::service::register_alone(
        &app.state,
        &actor,
        registration(
            &cf,
            "Rossi Mario",
            Direction::Out,
            vec![
                Document::from_bytes("certificato.pdf", "application/pdf", primary.clone()),
                Document::from_bytes("nota.txt", "text/plain; charset=utf-8", annex.clone()),
            ],
        ),
    )
    .await
    .unwrap();

    let mut s = staff(&app).await;
    let page = s.get(&format!("/backoffice/protocollo/{}", out.id)).await;
    assert!(page.has("#segnatura-xml"));
    let r = s
        .get(&format!("/backoffice/protocollo/{}/segnatura.xml", out.id))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("Segnatura.xml")
    );
    let file = dir.path().join("Segnatura.xml");
    std::fs::write(&file, &r.bytes).unwrap();
    let lint = xmllint(&file);
    assert!(
        lint.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&lint.stderr),
        r.body
    );
    assert!(xmlsec_verify(&file, &cert), "the seal verifies:\n{}", r.body);

    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b));
    assert!(r.body.contains(&format!(
        "<prot:NumeroRegistrazione>{:07}</prot:NumeroRegistrazione>",
        out.segnatura.number
    )));
    assert!(
        r.body.contains(&format!(">{}</prot:Impronta>", b64(&primary))),
        "primary digest, base64"
    );
    assert!(
        r.body.contains(&format!(">{}</prot:Impronta>", b64(&annex))),
        "annex digest"
    );
    assert!(
        r.body
            .contains("prot:nomeFile=\"certificato.pdf\" prot:mimeType=\"application/pdf\"")
    );
    assert!(
        r.body.contains("<prot:Mittente><prot:Amministrazione>"),
        "outgoing: the order sends"
    );
    assert!(
        r.body
            .contains("<prot:Nome>Mario</prot:Nome><prot:Cognome>Rossi</prot:Cognome>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("&lt;n. 1&gt; &amp; allegati"),
        "the subject escaped"
    );

    // A changed byte of what was sealed: the signature no longer verifies.
    let tampered = String::from_utf8(r.bytes.clone())
        .unwrap()
        .replace("Trasmissione", "Trasmisione");
    std::fs::write(&file, tampered).unwrap();
    assert!(
        !xmlsec_verify(&file, &cert),
        "a tampered segnatura must not verify"
    );

    // An incoming registration from an organisation: the sender is a PersonaGiuridica; still valid.
    let incoming = protocol::service::register_alone(
        &app.state,
        &actor,
        registration(
            "00210240321",
            "Comune di Trieste",
            Direction::In,
            vec![Document::from_bytes(
                "nota.pdf",
                "application/pdf",
                primary.clone(),
            )],
        ),
    )
    .await
    .unwrap();
    let r = s
        .get(&format!("/backoffice/protocollo/{}/segnatura.xml", incoming.id))
        .await;
    std::fs::write(&file, &r.bytes).unwrap();
    assert!(xmllint(&file).status.success(), "{}", r.body);
    assert!(
        r.body
            .contains("<prot:Mittente><prot:PersonaGiuridica><prot:Denominazione>Comune di Trieste"),
        "{}",
        r.body
    );

    // Without documents there is no primary document to cite: refused with the reason.
    let bare = protocol::service::register_alone(
        &app.state,
        &actor,
        registration(&cf, "Rossi Mario", Direction::Out, vec![]),
    )
    .await
    .unwrap();
    let r = s
        .get(&format!("/backoffice/protocollo/{}/segnatura.xml", bare.id))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("documento primario"));
}

#[sqlx::test]
async fn without_the_seal_the_xml_segnatura_is_refused_with_the_setting_to_fix(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let out = protocol::service::register_alone(
        &app.state,
        &Actor::system("test"),
        registration(
            "00210240321",
            "Comune di Trieste",
            Direction::In,
            vec![Document::from_bytes(
                "a.pdf",
                "application/pdf",
                b"%PDF-1.4".to_vec(),
            )],
        ),
    )
    .await
    .unwrap();
    let mut s = staff(&app).await;
    let r = s
        .get(&format!("/backoffice/protocollo/{}/segnatura.xml", out.id))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("protocol.seal_key_path"), "{}", r.body);
}
