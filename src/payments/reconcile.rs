//! Payment outcomes from the order's pagoPA intermediary. [`Intermediary`] is the connector; the
//! first implementation is [`ReconciliationFile`], the CSV export intermediaries give their
//! creditors (one row per payment). Applying outcomes is idempotent: a receipt already recorded is
//! "unchanged"; a payment for an unknown or already paid position, or of another amount, is refused
//! with its reason. A new payment is also recorded in the ledger (accertamento and riscossione on the
//! chapter of its kind), in the same transaction, when that year's budget has the chapter.
//!
//! File columns (header names, any order, `;` or `,`, UTF-8 with or without BOM):
//! `codice_avviso` (18 digits; or `iuv`), `importo` (`16,00` or `16.00`), `data_pagamento`
//! (`2026-11-22T10:15:00+01:00`, `2026-11-22 10:15`, `2026-11-22` or `22/11/2026`, Europe/Rome when
//! without offset), `id_ricevuta` (the PSP's receipt id, IUR), `psp` (optional).

use rust_decimal::Decimal;
use serde_json::json;
use time::OffsetDateTime;

use super::pagopa::NoticeCode;
use super::repo;
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// One payment as the intermediary reports it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Line of the file (1 = header), for messages.
    pub line: usize,
    pub notice_code: String,
    pub amount: Decimal,
    pub paid_at: OffsetDateTime,
    pub receipt_id: String,
    pub psp: String,
}

/// A line that could not be read, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub line: usize,
    pub notice_code: String,
    pub reason: String,
}

/// The connector to the order's pagoPA intermediary: where payment outcomes come from.
#[async_trait::async_trait]
pub trait Intermediary: Send + Sync {
    /// A name for the audit log and the receipts' source.
    fn source(&self) -> String;
    /// The outcomes, and the lines that are not outcomes at all.
    async fn outcomes(&self) -> AppResult<(Vec<Outcome>, Vec<Refusal>)>;
}

/// A reconciliation file uploaded by staff or given to the CLI.
pub struct ReconciliationFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[async_trait::async_trait]
impl Intermediary for ReconciliationFile {
    fn source(&self) -> String {
        format!("file:{}", self.name)
    }

    async fn outcomes(&self) -> AppResult<(Vec<Outcome>, Vec<Refusal>)> {
        parse(&self.bytes).map_err(|m| AppError::Validation(vec![crate::error::FieldError::new("file", m)]))
    }
}

fn header_index(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

fn parse_amount(s: &str) -> Option<Decimal> {
    let s = s.trim().trim_end_matches('€').trim();
    let normal = if s.contains(',') {
        s.replace('.', "").replace(',', ".")
    } else {
        s.to_string()
    };
    normal.parse::<Decimal>().ok()
}

fn parse_paid_at(s: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    use time_tz::PrimitiveDateTimeExt;
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let rome = time_tz::timezones::db::europe::ROME;
    let local = time::PrimitiveDateTime::parse(
        s,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
    .or_else(|_| {
        time::PrimitiveDateTime::parse(s, format_description!("[year]-[month]-[day] [hour]:[minute]"))
    })
    .ok()
    .or_else(|| {
        time::Date::parse(s, format_description!("[year]-[month]-[day]"))
            .or_else(|_| time::Date::parse(s, format_description!("[day]/[month]/[year]")))
            .ok()
            .map(|d| d.midnight())
    })?;
    local.assume_timezone(rome).take_first()
}

/// Reads the file: the outcomes, and the lines refused because they cannot be read. An error when
/// the file as a whole is not a reconciliation file.
pub fn parse(bytes: &[u8]) -> Result<(Vec<Outcome>, Vec<Refusal>), String> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|_| "Il file non è un CSV di testo in UTF-8.".to_string())?;
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("Intestazione illeggibile: {e}"))?
        .clone();
    let col = |names: &[&str], label: &str| {
        header_index(&headers, names).ok_or_else(|| format!("Manca la colonna «{label}» nell'intestazione."))
    };
    let notice_col = col(&["codice_avviso", "iuv", "numero_avviso"], "codice_avviso")?;
    let amount_col = col(&["importo", "importo_pagato"], "importo")?;
    let date_col = col(&["data_pagamento", "data"], "data_pagamento")?;
    let receipt_col = col(&["id_ricevuta", "iur", "receipt_id"], "id_ricevuta")?;
    let psp_col = header_index(&headers, &["psp", "prestatore"]);
    let (mut outcomes, mut refused) = (vec![], vec![]);
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                refused.push(Refusal {
                    line,
                    notice_code: String::new(),
                    reason: format!("riga illeggibile: {e}"),
                });
                continue;
            }
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let field = |c: usize| record.get(c).unwrap_or_default().trim().to_string();
        let raw_notice = field(notice_col);
        let mut refuse = |reason: String| {
            refused.push(Refusal {
                line,
                notice_code: raw_notice.clone(),
                reason,
            });
        };
        let notice = match NoticeCode::parse(&raw_notice) {
            Ok(n) => n,
            Err(e) => {
                refuse(e.to_string());
                continue;
            }
        };
        let Some(amount) = parse_amount(&field(amount_col)).filter(|a| *a > Decimal::ZERO && a.scale() <= 2)
        else {
            refuse(format!("importo non valido: «{}».", field(amount_col)));
            continue;
        };
        let Some(paid_at) = parse_paid_at(&field(date_col)) else {
            refuse(format!("data di pagamento non valida: «{}».", field(date_col)));
            continue;
        };
        let receipt_id = field(receipt_col);
        if receipt_id.is_empty() || receipt_id.len() > 100 {
            refuse("manca l'identificativo della ricevuta (id_ricevuta).".into());
            continue;
        }
        outcomes.push(Outcome {
            line,
            notice_code: notice.as_str().to_string(),
            amount,
            paid_at,
            receipt_id,
            psp: psp_col.map(field).unwrap_or_default(),
        });
    }
    if outcomes.is_empty() && refused.is_empty() {
        return Err("Il file non contiene pagamenti.".into());
    }
    Ok((outcomes, refused))
}

#[derive(Debug, Default)]
pub struct Report {
    pub applied: Vec<(usize, String)>,
    /// Of the applied payments, those recorded in the ledger (accertamento + riscossione).
    pub booked: usize,
    pub unchanged: Vec<(usize, String)>,
    pub refused: Vec<Refusal>,
}

/// Records the outcomes from an intermediary in one transaction: new receipts for the payments not
/// seen yet, nothing for those already recorded, a refusal (with reason) for the rest.
pub async fn run(state: &AppState, actor: &Actor, source: &dyn Intermediary) -> AppResult<Report> {
    let (outcomes, refused) = source.outcomes().await?;
    let name = source.source();
    let now = state.now();
    let mut report = Report {
        refused,
        ..Report::default()
    };
    let mut tx = state.pool.begin().await?;
    for o in outcomes {
        let refuse = |reason: String| Refusal {
            line: o.line,
            notice_code: o.notice_code.clone(),
            reason,
        };
        let Some(p) = repo::by_notice_for_update(&mut tx, &o.notice_code).await? else {
            report.refused.push(refuse(
                "posizione sconosciuta: nessun avviso con questo codice.".into(),
            ));
            continue;
        };
        if let Some(existing) = &p.receipt_id {
            if *existing == o.receipt_id {
                report.unchanged.push((o.line, o.notice_code.clone()));
            } else {
                report.refused.push(refuse(format!(
                    "posizione già pagata (ricevuta {existing} del {}).",
                    p.paid_at.map(crate::format::rome_date).unwrap_or_default()
                )));
            }
            continue;
        }
        if o.amount != p.amount {
            report.refused.push(refuse(format!(
                "importo {} diverso da quello dovuto ({}).",
                crate::format::euro(o.amount),
                crate::format::euro(p.amount)
            )));
            continue;
        }
        let receipt = repo::insert_receipt(
            &mut tx,
            &repo::NewReceipt {
                position_id: p.id,
                receipt_id: &o.receipt_id,
                amount: o.amount,
                paid_at: o.paid_at,
                psp: &o.psp,
                source: &name,
                recorded_at: now,
                recorded_by: actor.id,
            },
        )
        .await?;
        audit::record(&mut tx, now, audit::Event {
            actor,
            action: "payment.paid",
            entity: "payment_position",
            entity_id: Some(p.id.to_string()),
            details: json!({ "receipt": receipt, "receipt_id": o.receipt_id, "amount": o.amount.to_string(),
                             "notice_code": o.notice_code, "source": name }),
        })
        .await?;
        let paid_on = crate::format::rome_day(o.paid_at);
        let booked = crate::ledger::operations::record_pagopa_payment(
            &mut tx,
            state,
            actor,
            &crate::ledger::operations::PagoPaPayment {
                receipt_id: receipt,
                kind: &p.kind,
                description: &p.description,
                debtor: &p.member_name,
                debtor_code: &p.fiscal_code,
                amount: o.amount,
                paid_on,
            },
        )
        .await?;
        if booked {
            report.booked += 1;
        }
        report.applied.push((o.line, o.notice_code.clone()));
    }
    audit::record(&mut tx, now, audit::Event {
        actor,
        action: "payment.reconcile",
        entity: "payment_position",
        entity_id: None,
        details: json!({ "source": name, "applied": report.applied.len(), "unchanged": report.unchanged.len(),
                         "refused": report.refused.len() }),
    })
    .await?;
    tx.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_dates_as_files_write_them() {
        assert_eq!(parse_amount("16,00"), "16".parse().ok());
        assert_eq!(parse_amount("1.234,50 €"), "1234.50".parse().ok());
        assert_eq!(parse_amount("168.00"), "168".parse().ok());
        let t = parse_paid_at("2026-11-22 10:15").expect("local time");
        assert_eq!(
            t.to_offset(time::UtcOffset::UTC).hour(),
            9,
            "Rome is UTC+1 in November"
        );
        assert!(parse_paid_at("22/11/2026").is_some());
        assert!(parse_paid_at("2026-11-22T10:15:00+01:00").is_some());
        assert!(parse_paid_at("ieri").is_none());
    }

    #[test]
    fn a_file_without_the_columns_is_not_a_reconciliation_file() {
        let err = parse(b"nome;cognome\nMario;Rossi\n").expect_err("no notice column");
        assert!(err.contains("codice_avviso"), "{err}");
        assert!(parse(b"\xff\xfe\x00").is_err());
    }
}
