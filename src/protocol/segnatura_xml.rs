//! The XML segnatura of AgID's 2021 guidelines, annex 6 (`SegnaturaInformatica`, namespace
//! `http://www.agid.gov.it/protocollo/`, version 3.0.0): what an AOO sends with a protocolled message to
//! another AOO. Built from a template, signed by xmlsec (samael) with the AOO's seal
//! (`protocol.seal_key_path`, `protocol.seal_cert_path`): an enveloped XML-DSig signature, RSA-SHA256,
//! exclusive canonicalisation, the certificate in KeyInfo. Checked in the tests against AgID's published
//! schema (`tests/data/segnatura/`) and by `xmlsec1 --verify`.
//!
//! Not done: the XAdES B-B qualifying properties the annex asks of a qualified electronic seal (signing
//! time and certificate digest signed by reference to their `Id`): samael's signing registers only `ID`
//! attributes. A qualified seal comes from the order's seal device or remote-seal provider anyway.

use askama::Template;
use base64::Engine;
use time_tz::OffsetDateTimeExt;

use super::repo::{DocumentRow, RegistrationRow};
use crate::config::Config;
use crate::error::{AppError, AppResult};

#[derive(Template)]
#[template(path = "protocol/segnatura.xml")]
struct SegnaturaXml<'a> {
    order_name: &'a str,
    administration: &'a str,
    aoo: &'a str,
    register: &'a str,
    number: String,
    date: String,
    time: String,
    subject: &'a str,
    class_code: &'a str,
    class_name: &'a str,
    sender: String,
    recipient: String,
    documents: Vec<Doc>,
    cert: String,
}

struct Doc {
    name: String,
    mime: String,
    digest: String,
}

#[derive(Template)]
#[template(path = "protocol/party_administration.xml")]
struct Administration<'a> {
    name: &'a str,
    fiscal_code: &'a str,
    administration: &'a str,
    aoo: &'a str,
    pec: &'a str,
}

#[derive(Template)]
#[template(path = "protocol/party_person.xml")]
struct Person<'a> {
    name: &'a str,
    surname: &'a str,
    fiscal_code: &'a str,
    email: &'a str,
}

#[derive(Template)]
#[template(path = "protocol/party_organisation.xml")]
struct Organisation<'a> {
    name: &'a str,
    fiscal_code: &'a str,
    email: &'a str,
}

/// A correspondent as the register knows it; `person` is (name, surname) when the codice fiscale is a
/// person's known to the register of members.
struct Party<'a> {
    name: &'a str,
    fiscal_code: &'a str,
    email: &'a str,
    person: Option<(String, String)>,
}

fn is_person_cf(cf: &str) -> bool {
    cf.len() == 16 && cf.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn party_xml(p: &Party<'_>) -> Result<String, askama::Error> {
    match &p.person {
        Some((name, surname)) => Person {
            name,
            surname,
            fiscal_code: if is_person_cf(p.fiscal_code) {
                p.fiscal_code
            } else {
                ""
            },
            email: p.email,
        }
        .render(),
        None => Organisation {
            name: p.name,
            fiscal_code: if p.fiscal_code.len() == 11 && p.fiscal_code.bytes().all(|b| b.is_ascii_digit()) {
                p.fiscal_code
            } else {
                ""
            },
            email: p.email,
        }
        .render(),
    }
}

/// The seal: key (DER) and certificate (base64 DER) from the configured files.
fn seal(config: &Config) -> AppResult<(Vec<u8>, String)> {
    let p = &config.protocol;
    if p.seal_key_path.is_empty() || p.seal_cert_path.is_empty() {
        return Err(AppError::Conflict(
            "La segnatura XML va firmata con il sigillo dell'AOO: configura protocol.seal_key_path e \
             protocol.seal_cert_path."
                .into(),
        ));
    }
    let read = |path: &str| std::fs::read(path).map_err(|e| AppError::internal(format!("{path}: {e}")));
    let key =
        openssl::pkey::PKey::private_key_from_pem(&read(&p.seal_key_path)?).map_err(AppError::internal)?;
    let cert = openssl::x509::X509::from_pem(&read(&p.seal_cert_path)?).map_err(AppError::internal)?;
    Ok((
        key.private_key_to_der().map_err(AppError::internal)?,
        base64::engine::general_purpose::STANDARD.encode(cert.to_der().map_err(AppError::internal)?),
    ))
}

/// xmlsec keeps global state: one signature at a time from this module.
static XMLSEC: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The signed XML segnatura of a registration. Refused (with the reason) for an annulled registration
/// or one without documents (the annex requires the primary document's digest).
pub fn build(
    config: &Config,
    row: &RegistrationRow,
    documents: &[DocumentRow],
    person: Option<(String, String)>,
) -> AppResult<String> {
    let correspondent = Party {
        name: &row.correspondent_name,
        fiscal_code: &row.correspondent_cf,
        email: &row.correspondent_email,
        person,
    };
    if row.annulled_at.is_some() {
        return Err(AppError::Conflict(
            "La registrazione è annullata: non ha una segnatura da trasmettere.".into(),
        ));
    }
    if documents.is_empty() {
        return Err(AppError::Conflict(
            "La registrazione non ha documenti: la segnatura XML deve riportare l'impronta del documento primario."
                .into(),
        ));
    }
    let (key_der, cert) = seal(config)?;
    let p = &config.protocol;
    let order = &config.order;
    let ours = Administration {
        name: &order.name,
        fiscal_code: if order.fiscal_code.len() == 11 {
            &order.fiscal_code
        } else {
            ""
        },
        administration: &p.administration_code,
        aoo: &row.aoo,
        pec: &order.pec,
    }
    .render()
    .map_err(AppError::internal)?;
    let theirs = party_xml(&correspondent).map_err(AppError::internal)?;
    let (sender, recipient) = match row.direction.as_str() {
        "in" => (theirs, ours),
        "out" => (ours, theirs),
        _ => (ours.clone(), ours),
    };
    let local = row
        .registered_at
        .to_timezone(time_tz::timezones::db::europe::ROME);
    let xml = SegnaturaXml {
        order_name: &order.name,
        administration: &p.administration_code,
        aoo: &row.aoo,
        register: &row.register,
        number: format!("{:07}", row.number),
        date: format!(
            "{:04}-{:02}-{:02}",
            local.year(),
            u8::from(local.month()),
            local.day()
        ),
        time: format!("{:02}:{:02}:{:02}", local.hour(), local.minute(), local.second()),
        subject: &row.subject,
        class_code: &row.classification,
        class_name: p.class_name(&row.classification).unwrap_or(&row.classification),
        sender,
        recipient,
        documents: documents
            .iter()
            .map(|d| Doc {
                name: d.file_name.clone(),
                mime: d
                    .content_type
                    .split(';')
                    .next()
                    .unwrap_or("application/octet-stream")
                    .trim()
                    .to_string(),
                digest: base64::engine::general_purpose::STANDARD.encode(&d.sha256),
            })
            .collect(),
        cert,
    }
    .render()
    .map_err(AppError::internal)?;
    let _one_at_a_time = XMLSEC
        .lock()
        .map_err(|_| AppError::internal("xmlsec lock poisoned"))?;
    use samael::crypto::{Crypto, CryptoProvider};
    Crypto::sign_xml(&xml, &key_der).map_err(|e| AppError::internal(format!("XML signature failed: {e:?}")))
}
