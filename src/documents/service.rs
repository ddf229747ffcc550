//! Issuing a document (render, store, code) and verifying one.

use rand::Rng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::{qr, repo};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Certificate,
    SelfCertification,
    Card,
    PaymentNotice,
    Receipt,
    /// The incasso receipt of a riscossione in the ledger.
    LedgerReceipt,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Certificate => "certificate",
            DocKind::SelfCertification => "self_certification",
            DocKind::Card => "card",
            DocKind::PaymentNotice => "payment_notice",
            DocKind::Receipt => "receipt",
            DocKind::LedgerReceipt => "ledger_receipt",
        }
    }

    pub fn parse(s: &str) -> Option<DocKind> {
        [
            DocKind::Certificate,
            DocKind::SelfCertification,
            DocKind::Card,
            DocKind::PaymentNotice,
            DocKind::Receipt,
            DocKind::LedgerReceipt,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            DocKind::Certificate => "Certificato di iscrizione",
            DocKind::SelfCertification => "Autocertificazione di iscrizione",
            DocKind::Card => "Tessera di iscrizione",
            DocKind::PaymentNotice => "Avviso di pagamento pagoPA",
            DocKind::Receipt => "Ricevuta di pagamento",
            DocKind::LedgerReceipt => "Ricevuta di incasso",
        }
    }

    /// Whether the document attests a membership, so it lapses when the member is no longer active.
    pub fn needs_active_member(self) -> bool {
        matches!(
            self,
            DocKind::Certificate | DocKind::SelfCertification | DocKind::Card
        )
    }

    fn template(self) -> &'static str {
        match self {
            DocKind::Certificate => include_str!("../../templates/pdf/certificate.typ"),
            DocKind::SelfCertification => include_str!("../../templates/pdf/self_certification.typ"),
            DocKind::Card => include_str!("../../templates/pdf/card.typ"),
            DocKind::PaymentNotice => include_str!("../../templates/pdf/payment_notice.typ"),
            DocKind::Receipt => include_str!("../../templates/pdf/receipt.typ"),
            DocKind::LedgerReceipt => include_str!("../../templates/pdf/ledger_receipt.typ"),
        }
    }
}

const COMMON: &str = include_str!("../../templates/pdf/common.typ");
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub const CODE_LEN: usize = 20;

/// A new verification code: 20 characters of the base32 alphabet, 100 random bits.
pub fn new_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..32)] as char)
        .collect()
}

/// A code as typed by a person: upper case, spaces and dashes dropped; `None` if it cannot be one.
pub fn normalise_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// What a document to issue is: its kind, owner, what it states, and the data of its template.
pub struct NewDocument {
    pub kind: DocKind,
    pub member_id: Option<i64>,
    pub title: String,
    /// (label, value) pairs shown by the verification page.
    pub facts: Vec<(String, String)>,
    pub fingerprint: String,
    /// The template's own fields (merged with the frame's: order, code, QR, segnatura).
    pub data: Value,
    /// Extra files the template reads (photo, the pagoPA QR code).
    pub files: Vec<(String, Vec<u8>)>,
    pub segnatura: Option<String>,
    pub request_id: Option<i64>,
    pub protocol_registration_id: Option<i64>,
    pub payment_position_id: Option<i64>,
    pub ledger_entry_id: Option<i64>,
    pub issued_by: Option<i64>,
}

pub struct Issued {
    pub id: i64,
    pub code: String,
    pub pdf: Vec<u8>,
}

/// The order's logo as a file for the templates: (name, bytes).
fn logo(config: &Config) -> AppResult<(String, Vec<u8>)> {
    let path = &config.order.logo_path;
    if path.is_empty() {
        let file = crate::web::assets::Assets::get("img/logo.svg")
            .ok_or_else(|| AppError::internal("built-in logo missing"))?;
        return Ok(("logo.svg".into(), file.data.into_owned()));
    }
    let ext = std::path::Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("png")
        .to_ascii_lowercase();
    let bytes = std::fs::read(path).map_err(AppError::internal)?;
    Ok((format!("logo.{ext}"), bytes))
}

/// Renders a document with a given code (pure apart from reading the logo). Blocking: CPU-bound.
pub fn render(config: &Config, now: OffsetDateTime, code: &str, doc: &NewDocument) -> AppResult<Vec<u8>> {
    let url = verify_url(config, code);
    let (logo_name, logo_bytes) = logo(config)?;
    let order = &config.order;
    let mut data = json!({
        "title": doc.title,
        "order": {
            "name": order.name, "address": order.address, "fiscal_code": order.fiscal_code,
            "email": order.email, "pec": order.pec, "color": order.primary_color,
        },
        "logo": logo_name,
        "code": code,
        "verify_url": url,
        "segnatura": doc.segnatura,
        "issued": crate::format::rome_datetime(now),
    });
    if let (Some(target), Some(extra)) = (data.as_object_mut(), doc.data.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("common.typ", COMMON.as_bytes().to_vec()),
        ("qr.svg", qr::svg(&url)?.into_bytes()),
        (logo_name.as_str(), logo_bytes),
    ];
    for (name, bytes) in &doc.files {
        files.push((name.as_str(), bytes.clone()));
    }
    crate::pdf::renderer()
        .render(doc.kind.template(), &data, &files)
        .map_err(AppError::internal)
}

pub fn verify_url(config: &Config, code: &str) -> String {
    format!("{}/verifica/{code}", config.base())
}

/// Renders (off the async runtime) and stores a document in the caller's transaction.
pub async fn issue(
    conn: &mut PgConnection,
    state: &AppState,
    now: OffsetDateTime,
    doc: NewDocument,
) -> AppResult<Issued> {
    let code = new_code();
    let (doc, pdf) = tokio::task::spawn_blocking({
        let config = state.config.clone();
        let code = code.clone();
        move || {
            let pdf = render(&config, now, &code, &doc);
            (doc, pdf)
        }
    })
    .await
    .map_err(AppError::internal)?;
    let pdf = pdf?;
    store(conn, now, &code, &doc, &pdf)
        .await
        .map(|id| Issued { id, code, pdf })
}

/// Stores a rendered document under its code.
pub async fn store(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    code: &str,
    doc: &NewDocument,
    pdf: &[u8],
) -> AppResult<i64> {
    let facts = Value::Array(doc.facts.iter().map(|(k, v)| json!([k, v])).collect());
    let sha: [u8; 32] = Sha256::digest(pdf).into();
    Ok(repo::insert(
        conn,
        &repo::NewRow {
            code,
            kind: doc.kind.as_str(),
            member_id: doc.member_id,
            title: &doc.title,
            facts: &facts,
            fingerprint: &doc.fingerprint,
            pdf,
            pdf_sha256: &sha,
            request_id: doc.request_id,
            protocol_registration_id: doc.protocol_registration_id,
            payment_position_id: doc.payment_position_id,
            ledger_entry_id: doc.ledger_entry_id,
            issued_at: now,
            issued_by: doc.issued_by,
        },
    )
    .await?)
}

/// What the verification page says about a code.
pub struct Verification {
    pub code: String,
    pub kind: DocKind,
    pub title: String,
    pub facts: Vec<(String, String)>,
    pub issued_at: OffsetDateTime,
    /// `None`: valid. Otherwise why it is no longer valid.
    pub invalid_because: Option<String>,
}

fn status_label(status: &str) -> &'static str {
    match status {
        "applicant" => "non iscritto (domanda in corso)",
        "suspended" => "sospeso",
        "cancelled" => "cancellato dall'Albo",
        _ => "non attivo",
    }
}

pub async fn verify(state: &AppState, code: &str) -> AppResult<Option<Verification>> {
    let mut conn = state.pool.acquire().await?;
    let Some(row) = repo::by_code(&mut conn, code).await? else {
        return Ok(None);
    };
    let kind = DocKind::parse(&row.kind).ok_or_else(|| AppError::internal("unknown document kind"))?;
    let invalid_because = match (&row.revoked_at, row.member_status.as_deref()) {
        (Some(at), _) => Some(format!(
            "Revocato il {}: {}",
            crate::format::rome_datetime(*at),
            row.revoke_reason.clone().unwrap_or_default()
        )),
        (None, Some(status)) if kind.needs_active_member() && status != "active" => {
            Some(format!("L'iscritto risulta ora {}.", status_label(status)))
        }
        _ => None,
    };
    let facts = row
        .facts
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|pair| {
                    Some((
                        pair.get(0)?.as_str()?.to_string(),
                        pair.get(1)?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(Verification {
        code: row.code,
        kind,
        title: row.title,
        facts,
        issued_at: row.issued_at,
        invalid_because,
    }))
}

/// A stored PDF for its owner (`member_id`), or for staff (`None`).
pub async fn pdf_for(state: &AppState, id: i64, member_id: Option<i64>) -> AppResult<(Vec<u8>, String)> {
    let mut conn = state.pool.acquire().await?;
    let owner = repo::owner(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    if member_id.is_some() && owner != member_id {
        return Err(AppError::NotFound);
    }
    let (pdf, kind, code) = repo::pdf(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let label = DocKind::parse(&kind).map(DocKind::label).unwrap_or("Documento");
    Ok((pdf, format!("{label} {code}.pdf")))
}

pub use repo::DocumentRow;

pub async fn of_member(conn: &mut PgConnection, member_id: i64) -> AppResult<Vec<DocumentRow>> {
    Ok(repo::of_member(conn, member_id).await?)
}

pub async fn of_ledger_entry(conn: &mut PgConnection, entry_id: i64) -> AppResult<Option<i64>> {
    Ok(repo::of_ledger_entry(conn, entry_id).await?)
}

pub async fn of_position(conn: &mut PgConnection, position_id: i64, kind: DocKind) -> AppResult<Option<i64>> {
    Ok(repo::of_position(conn, position_id, kind.as_str()).await?)
}

pub(super) async fn current_card(
    conn: &mut PgConnection,
    member_id: i64,
) -> AppResult<Option<(i64, String, String)>> {
    Ok(repo::current_card(conn, member_id).await?)
}

pub(super) async fn revoke(
    conn: &mut PgConnection,
    id: i64,
    at: OffsetDateTime,
    reason: &str,
) -> AppResult<bool> {
    Ok(repo::revoke(conn, id, at, reason).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_base32_and_normalise() {
        let a = new_code();
        let b = new_code();
        assert_ne!(a, b);
        assert_eq!(normalise_code(&a), Some(a.clone()));
        let typed = format!(" {}-{} ", &a[..10].to_lowercase(), &a[10..]);
        assert_eq!(normalise_code(&typed), Some(a));
        assert_eq!(normalise_code("ABC"), None);
        assert_eq!(
            normalise_code("0000000000OOOOOOOOOO"),
            None,
            "0 is not in the alphabet"
        );
    }
}
