//! The incasso receipt of a riscossione (seed 004: year, debtor, reason, amount in figures and in
//! words, date; competence and residui apart): a document ordo issues once, with its verification code.

use serde_json::json;

use super::repo;
use super::words::amount_in_words;
use crate::documents::{DocKind, NewDocument, service as documents};
use crate::error::{AppError, AppResult};
use crate::format::euro;
use crate::members::model::italian_date;
use crate::state::AppState;

/// The receipt of riscossione `id` as PDF (issued at the first request, the same document after).
pub async fn receipt_pdf(state: &AppState, id: i64) -> AppResult<(Vec<u8>, String)> {
    let mut tx = state.pool.begin().await?;
    let f = repo::receipt_facts(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if f.kind != "riscossione" {
        return Err(AppError::Conflict(
            "La ricevuta di incasso si rilascia per una riscossione.".into(),
        ));
    }
    let doc_id = match documents::of_ledger_entry(&mut tx, f.id).await? {
        Some(doc) => doc,
        None => {
            let words = amount_in_words(f.amount).map_err(AppError::Conflict)?;
            let amount = euro(f.amount);
            let doc = NewDocument {
                kind: DocKind::LedgerReceipt,
                member_id: None,
                title: format!("Ricevuta di incasso n. {} / {}", f.id, f.year),
                facts: vec![
                    ("Ricevuto da".into(), f.party.clone()),
                    ("Causale".into(), f.reason.clone()),
                    ("Importo".into(), format!("{amount} (euro {words})")),
                    ("Data".into(), italian_date(f.entry_date)),
                ],
                fingerprint: String::new(),
                data: json!({
                    "number": f.id, "year": f.year, "debtor": f.party, "debtor_code": f.party_code, "reason": f.reason,
                    "amount": amount, "words": words, "date": italian_date(f.entry_date), "chapter": f.chapter,
                    "residui": f.residui,
                }),
                files: vec![],
                segnatura: None,
                request_id: None,
                protocol_registration_id: None,
                payment_position_id: None,
                ledger_entry_id: Some(f.id),
                issued_by: None,
            };
            documents::issue(&mut tx, state, state.now(), doc).await?.id
        }
    };
    tx.commit().await?;
    documents::pdf_for(state, doc_id, None).await
}
