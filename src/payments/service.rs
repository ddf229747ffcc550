//! Creating positions, the annual fees, arrears, notices and receipts.

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::pagopa::{self, NoticeCode};
use super::repo::{self, PositionRow};
use crate::audit::{self, Actor};
use crate::config::PaymentsConfig;
use crate::documents::{DocKind, NewDocument, qr};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AnnualFee,
    RegistrationFee,
    StampDuty,
    Other,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AnnualFee => "annual_fee",
            Kind::RegistrationFee => "registration_fee",
            Kind::StampDuty => "stamp_duty",
            Kind::Other => "other",
        }
    }

    pub fn label_of(s: &str) -> &'static str {
        match s {
            "annual_fee" => "Quota annuale",
            "registration_fee" => "Tassa di iscrizione",
            "stamp_duty" => "Imposta di bollo",
            _ => "Altro",
        }
    }
}

pub struct NewPosition {
    pub member_id: i64,
    pub kind: Kind,
    pub year: i32,
    pub description: String,
    pub amount: Decimal,
    pub due_date: Date,
    pub request_id: Option<i64>,
}

/// Creates a position with a new IUV and notice code, in the caller's transaction. `None` when it is
/// an annual fee that exists already.
pub async fn create(
    conn: &mut PgConnection,
    config: &PaymentsConfig,
    now: OffsetDateTime,
    actor: &Actor,
    p: &NewPosition,
) -> AppResult<Option<i64>> {
    pagopa::amount_cents(p.amount).map_err(|e| AppError::Conflict(e.to_string()))?;
    let base = repo::next_iuv_base(conn).await?;
    let notice = NoticeCode::aux3(config.segregation_code, base as u64).map_err(AppError::internal)?;
    let id = repo::insert(
        conn,
        &repo::NewPositionRow {
            member_id: p.member_id,
            kind: p.kind.as_str(),
            year: p.year,
            description: &p.description,
            amount: p.amount,
            notice_code: notice.as_str(),
            iuv: notice.iuv(),
            due_date: p.due_date,
            request_id: p.request_id,
            created_at: now,
            created_by: actor.id,
        },
    )
    .await?;
    if let Some(id) = id {
        audit::record(
            conn,
            now,
            audit::Event {
                actor,
                action: "payment.position",
                entity: "payment_position",
                entity_id: Some(id.to_string()),
                details: json!({ "member_id": p.member_id, "kind": p.kind.as_str(), "year": p.year,
                             "amount": p.amount.to_string(), "notice_code": notice.as_str() }),
            },
        )
        .await?;
    }
    Ok(id)
}

/// The annual fee of a member for a year: the section's amount, less the largest reduction that
/// applies (first calendar years of registration). `None` if no fee is configured for the section.
pub fn annual_fee(
    config: &PaymentsConfig,
    year: i32,
    section: &str,
    registered: Option<Date>,
) -> Option<(Decimal, Option<String>)> {
    let base = config.annual_fee(year, section)?;
    let years_in = registered.map(|d| year - d.year() + 1);
    let reduction = config
        .reductions
        .iter()
        .filter(|r| years_in.is_some_and(|y| (1..=r.first_years).contains(&y)))
        .max_by(|a, b| a.percent.cmp(&b.percent));
    Some(match reduction {
        None => (base, None),
        Some(r) => {
            let amount = (base * (Decimal::ONE_HUNDRED - r.percent) / Decimal::ONE_HUNDRED).round_dp(2);
            (amount, Some(format!("{} (−{}%)", r.label, r.percent.normalize())))
        }
    })
}

pub fn annual_due(config: &PaymentsConfig, year: i32) -> AppResult<Date> {
    let (m, d) = config
        .annual_due_parts()
        .ok_or_else(|| AppError::internal("payments.annual_due"))?;
    let month = time::Month::try_from(m).map_err(AppError::internal)?;
    Date::from_calendar_date(year, month, d).map_err(AppError::internal)
}

/// Creates the annual fee positions of a year for every active member that has none: one
/// transaction, idempotent. Returns how many were created.
pub async fn generate_annual_fees(state: &AppState, actor: &Actor, year: i32) -> AppResult<usize> {
    if !(2000..=2100).contains(&year) {
        return Err(AppError::Validation(vec![crate::error::FieldError::new(
            "year",
            "Anno non valido.",
        )]));
    }
    let config = &state.config.payments;
    let now = state.now();
    let due = annual_due(config, year)?;
    let mut tx = state.pool.begin().await?;
    let mut created = 0;
    for (member_id, section, registered) in repo::members_without_annual_fee(&mut tx, year).await? {
        let Some((amount, reduction)) = annual_fee(config, year, &section, registered) else {
            continue;
        };
        let description = match reduction {
            None => format!("Quota annuale di iscrizione {year}"),
            Some(r) => format!("Quota annuale di iscrizione {year} — {r}"),
        };
        let p = NewPosition {
            member_id,
            kind: Kind::AnnualFee,
            year,
            description,
            amount,
            due_date: due,
            request_id: None,
        };
        if create(&mut tx, config, now, actor, &p).await?.is_some() {
            created += 1;
        }
    }
    audit::record(
        &mut tx,
        now,
        audit::Event {
            actor,
            action: "payment.annual_fees",
            entity: "payment_position",
            entity_id: None,
            details: json!({ "year": year, "created": created }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// A free-form fee asked of one member by staff (e.g. a duplicate card, a fee for an opinion): the
/// member by codice fiscale, a description, the amount ("25,00" or "25.00") and the due date.
pub async fn create_other(
    state: &AppState,
    actor: &Actor,
    fiscal_code: &str,
    description: &str,
    amount: &str,
    due: &str,
) -> AppResult<i64> {
    use crate::error::FieldError;
    let mut errors = vec![];
    let description: String = description.trim().chars().filter(|c| !c.is_control()).collect();
    if description.is_empty() || description.chars().count() > 140 {
        errors.push(FieldError::new(
            "description",
            "Indica la causale (al massimo 140 caratteri).",
        ));
    }
    let amount = amount.trim().replace('.', "").replace(',', ".");
    let amount = match amount.parse::<Decimal>() {
        Ok(a) if a > Decimal::ZERO && a.scale() <= 2 && pagopa::amount_cents(a).is_ok() => Some(a),
        _ => {
            errors.push(FieldError::new(
                "amount",
                "Indica un importo in euro maggiore di zero, es. 25,00.",
            ));
            None
        }
    };
    let now = state.now();
    let today = crate::format::rome_day(now);
    let due = match crate::members::model::parse_date(due) {
        Some(d) if d >= today => Some(d),
        _ => {
            errors.push(FieldError::new(
                "due_date",
                "Indica una scadenza da oggi in poi (gg/mm/aaaa).",
            ));
            None
        }
    };
    let mut tx = state.pool.begin().await?;
    let member =
        crate::members::service::id_by_fiscal_code(&mut tx, &fiscal_code.trim().to_uppercase()).await?;
    if member.is_none() {
        errors.push(FieldError::new(
            "fiscal_code",
            "Nessun iscritto o richiedente con questo codice fiscale.",
        ));
    }
    let (Some(member_id), Some(amount), Some(due_date), true) = (member, amount, due, errors.is_empty())
    else {
        return Err(AppError::Validation(errors));
    };
    let p = NewPosition {
        member_id,
        kind: Kind::Other,
        year: crate::format::rome_year(now),
        description,
        amount,
        due_date,
        request_id: None,
    };
    let id = create(&mut tx, &state.config.payments, now, actor, &p)
        .await?
        .ok_or_else(|| AppError::internal("a free-form position is never a duplicate"))?;
    tx.commit().await?;
    Ok(id)
}

pub async fn of_member(conn: &mut PgConnection, member_id: i64) -> AppResult<Vec<PositionRow>> {
    Ok(repo::of_member(conn, member_id).await?)
}

pub async fn of_request(conn: &mut PgConnection, request_id: i64) -> AppResult<Vec<PositionRow>> {
    Ok(repo::of_request(conn, request_id).await?)
}

pub async fn latest(state: &AppState, unpaid_only: bool) -> AppResult<Vec<PositionRow>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::latest(&mut conn, unpaid_only, 500).await?)
}

pub async fn arrears(state: &AppState) -> AppResult<Vec<PositionRow>> {
    let mut conn = state.pool.acquire().await?;
    let today = crate::format::rome_day(state.now());
    Ok(repo::arrears(&mut conn, today).await?)
}

fn debtor(p: &PositionRow) -> serde_json::Value {
    json!({ "full_name": p.member_name, "fiscal_code": p.fiscal_code })
}

/// The payment notice (or, once paid, the receipt) of a position as PDF: issued once, then the same
/// document. `member_id` restricts to the member's own positions.
pub async fn document(
    state: &AppState,
    position_id: i64,
    member_id: Option<i64>,
    receipt: bool,
) -> AppResult<(Vec<u8>, String)> {
    let mut tx = state.pool.begin().await?;
    let p = repo::by_id(&mut tx, position_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if member_id.is_some_and(|m| m != p.member_id) {
        return Err(AppError::NotFound);
    }
    let kind = if receipt {
        DocKind::Receipt
    } else {
        DocKind::PaymentNotice
    };
    if receipt && p.receipt_id.is_none() {
        return Err(AppError::Conflict(
            "La posizione non risulta ancora pagata.".into(),
        ));
    }
    let id = match crate::documents::service::of_position(&mut tx, p.id, kind).await? {
        Some(id) => id,
        None => {
            let doc = if receipt {
                receipt_doc(&p)?
            } else {
                notice_doc(state, &p)?
            };
            crate::documents::service::issue(&mut tx, state, state.now(), doc)
                .await?
                .id
        }
    };
    tx.commit().await?;
    crate::documents::service::pdf_for(state, id, None).await
}

fn notice_doc(state: &AppState, p: &PositionRow) -> AppResult<NewDocument> {
    let notice = NoticeCode::parse(&p.notice_code).map_err(AppError::internal)?;
    let cents = pagopa::amount_cents(p.amount).map_err(AppError::internal)?;
    let payload =
        pagopa::qr_payload(&notice, &state.config.order.fiscal_code, cents).map_err(AppError::internal)?;
    let amount = crate::format::euro(p.amount);
    Ok(NewDocument {
        kind: DocKind::PaymentNotice,
        member_id: Some(p.member_id),
        title: format!("Avviso di pagamento — {}", p.description),
        facts: vec![
            ("Destinatario".into(), p.member_name.clone()),
            ("Causale".into(), p.description.clone()),
            ("Importo".into(), amount.clone()),
            ("Codice avviso".into(), notice.grouped()),
        ],
        fingerprint: String::new(),
        data: json!({
            "debtor": debtor(p), "subject": p.description, "amount": amount,
            "due": crate::members::model::italian_date(p.due_date), "notice_code": notice.grouped(),
            "creditor_cf": state.config.order.fiscal_code, "iuv": p.iuv,
            "channels": "Sul sito o nell'app della tua banca, con l'app IO, presso gli sportelli bancari e \
                         gli uffici postali, nei punti vendita abilitati (tabaccherie, ricevitorie) e presso \
                         gli altri prestatori aderenti a pagoPA.",
        }),
        files: vec![("pagopa_qr.svg".into(), qr::pagopa_svg(&payload)?.into_bytes())],
        segnatura: None,
        request_id: p.request_id,
        protocol_registration_id: None,
        payment_position_id: Some(p.id),
        ledger_entry_id: None,
        issued_by: None,
    })
}

fn receipt_doc(p: &PositionRow) -> AppResult<NewDocument> {
    let paid = p.paid_amount.unwrap_or(p.amount);
    let amount = crate::format::euro(paid);
    let paid_at = p.paid_at.map(crate::format::rome_datetime).unwrap_or_default();
    let receipt_id = p.receipt_id.clone().unwrap_or_default();
    Ok(NewDocument {
        kind: DocKind::Receipt,
        member_id: Some(p.member_id),
        title: format!("Ricevuta di pagamento — {}", p.description),
        facts: vec![
            ("Versante".into(), p.member_name.clone()),
            ("Causale".into(), p.description.clone()),
            ("Importo pagato".into(), amount.clone()),
            ("Pagato il".into(), paid_at.clone()),
            ("Identificativo della ricevuta".into(), receipt_id.clone()),
        ],
        fingerprint: String::new(),
        data: json!({
            "debtor": debtor(p), "subject": p.description, "amount": amount, "paid_at": paid_at,
            "receipt_id": receipt_id, "notice_code": p.notice_code, "psp": p.psp.clone().unwrap_or_default(),
        }),
        files: vec![],
        segnatura: None,
        request_id: p.request_id,
        protocol_registration_id: None,
        payment_position_id: Some(p.id),
        ledger_entry_id: None,
        issued_by: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PaymentsConfig {
        crate::config::Config::load(None)
            .expect("default config")
            .payments
    }

    #[test]
    fn annual_fee_with_the_first_years_reduction() {
        let c = config();
        let d = |y: i32| Date::from_calendar_date(y, time::Month::June, 1).ok();
        let full = annual_fee(&c, 2026, "A", d(2010)).expect("fee");
        assert_eq!(full, ("180.00".parse().expect("dec"), None));
        let (reduced, why) = annual_fee(&c, 2026, "A", d(2024)).expect("fee");
        assert_eq!(
            reduced,
            "90.00".parse::<Decimal>().expect("dec"),
            "third year: 50% off"
        );
        assert!(why.is_some_and(|w| w.contains("50%")));
        let (fourth, _) = annual_fee(&c, 2026, "B", d(2023)).expect("fee");
        assert_eq!(
            fourth,
            "130.00".parse::<Decimal>().expect("dec"),
            "fourth year: full fee"
        );
        assert!(annual_fee(&c, 2026, "Z", d(2020)).is_none());
    }
}
