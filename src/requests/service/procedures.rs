//! The procedures of seed 000, Allegato A, items 10–13: certificate (stamp duty through pagoPA or a
//! declared exemption), cancellation, transfer in from another order and enrolment. Each is a
//! pratica, protocolled like every other; approving a council matter records the resolution and the
//! status change, the certificate and the card are issued with the answer.

use serde_json::json;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::{complete_submission, my_member, request_document, submit};
use crate::audit::Actor;
use crate::auth::CurrentUser;
use crate::documents::member_docs;
use crate::error::{AppError, AppResult, FieldError};
use crate::members::model::{EventKind, StatusChange};
use crate::members::service as members;
use crate::members::{MemberData, MemberRow};
use crate::payments::{self, NewPosition};
use crate::protocol;
use crate::requests::model::Kind;
use crate::requests::repo::{self, RequestRow};
use crate::state::AppState;
use crate::web::multipart::Upload;

fn due(state: &AppState, now: OffsetDateTime) -> Date {
    crate::format::rome_day(now) + time::Duration::days(state.config.payments.due_days)
}

/// A certificate request: `stamp` is "pagopa" (a 16 € position is created for the pratica) or
/// "exempt" with one of the configured legal exemptions.
pub async fn submit_certificate(
    state: &AppState,
    user: &CurrentUser,
    stamp: &str,
    exemption: &str,
    purpose: &str,
) -> AppResult<i64> {
    let config = &state.config.payments;
    let exemption = exemption.trim();
    let stamp_text = match stamp {
        "pagopa" => format!(
            "assolta tramite pagoPA ({})",
            crate::format::euro(config.stamp_duty)
        ),
        "exempt" if config.stamp_exemptions.iter().any(|e| e == exemption) => {
            format!("esente ai sensi di {exemption}")
        }
        "exempt" => {
            return Err(AppError::Validation(vec![FieldError::new(
                "exemption",
                "Scegli dall'elenco la norma che prevede l'esenzione dall'imposta di bollo.",
            )]));
        }
        _ => {
            return Err(AppError::Validation(vec![FieldError::new(
                "stamp",
                "Indica se paghi l'imposta di bollo con pagoPA o se dichiari un'esenzione.",
            )]));
        }
    };
    let purpose: String = purpose
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let member = my_member(&mut tx, user).await?;
    if member.status != "active" {
        return Err(AppError::Conflict(
            "Il certificato di iscrizione si rilascia solo a chi è iscritto e non sospeso.".into(),
        ));
    }
    let subject = Kind::Certificate.label();
    let payload =
        json!({ "stamp": stamp, "exemption": exemption, "stamp_text": stamp_text, "purpose": purpose });
    let id = submit(
        state,
        user,
        &member,
        Kind::Certificate,
        subject,
        payload.clone(),
        &mut tx,
    )
    .await?;
    if stamp == "pagopa" {
        let p = NewPosition {
            member_id: member.id,
            kind: payments::Kind::StampDuty,
            year: crate::format::rome_year(now),
            description: format!("Imposta di bollo sul certificato di iscrizione (pratica n. {id})"),
            amount: config.stamp_duty,
            due_date: due(state, now),
            request_id: Some(id),
        };
        payments::service::create(&mut tx, config, now, &user.actor(), &p).await?;
    }
    let doc = request_document(id, Kind::Certificate, subject, &payload);
    complete_submission(state, tx, user, id, Kind::Certificate, subject, vec![doc]).await
}

/// A request of cancellation from the Albo, with the member's reason.
pub async fn submit_cancellation(state: &AppState, user: &CurrentUser, reason: &str) -> AppResult<i64> {
    let reason: String = reason
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    if reason.is_empty() {
        return Err(AppError::Validation(vec![FieldError::new(
            "reason",
            "Indica il motivo della richiesta di cancellazione.",
        )]));
    }
    let mut tx = state.pool.begin().await?;
    let member = my_member(&mut tx, user).await?;
    if !matches!(member.status.as_str(), "active" | "suspended") {
        return Err(AppError::Conflict(
            "Non risulti iscritto all'Albo: non c'è nulla da cancellare.".into(),
        ));
    }
    let subject = Kind::Cancellation.label();
    let payload = json!({ "reason": reason });
    let id = submit(
        state,
        user,
        &member,
        Kind::Cancellation,
        subject,
        payload.clone(),
        &mut tx,
    )
    .await?;
    let doc = request_document(id, Kind::Cancellation, subject, &payload);
    complete_submission(state, tx, user, id, Kind::Cancellation, subject, vec![doc]).await
}

/// Where a transferring member comes from.
#[derive(Debug, Clone, Default)]
pub struct Transfer {
    pub from_order: String,
    pub from_number: String,
    pub from_date: Option<Date>,
}

/// An application for registration (or, with `transfer`, for registration by transfer from another
/// order): the applicant enters the register as applicant, the required attachments go with the
/// pratica, and the fees are asked through pagoPA.
pub async fn submit_enrolment(
    state: &AppState,
    user: &CurrentUser,
    data: MemberData,
    transfer: Option<Transfer>,
    files: Vec<Upload>,
) -> AppResult<i64> {
    let mut errors = vec![];
    if files.is_empty() {
        errors.push(FieldError::new(
            "attachments",
            "Allega il documento di identità (PDF, JPEG o PNG).",
        ));
    }
    if let Some(t) = &transfer {
        if t.from_order.trim().is_empty() {
            errors.push(FieldError::new("from_order", "Indica l'Ordine di provenienza."));
        }
        if t.from_number.trim().is_empty() {
            errors.push(FieldError::new(
                "from_number",
                "Indica il numero di iscrizione nell'Ordine di provenienza.",
            ));
        }
        if t.from_date.is_none() {
            errors.push(FieldError::new(
                "from_date",
                "Indica la data di iscrizione nell'Ordine di provenienza.",
            ));
        }
    }
    let files = super::messages::checked_files(files, errors).await?;
    let now = state.now();
    let today = crate::format::rome_day(now);
    let actor = user.actor();
    let mut tx = state.pool.begin().await?;
    if members::member_of_user(&mut tx, user.id).await?.is_some() {
        return Err(AppError::Conflict(
            "Il tuo account ha già una posizione nell'Albo: per altre richieste usa l'area iscritti.".into(),
        ));
    }
    if let Some(proved) = repo::user_fiscal_code(&mut tx, user.id).await?
        && !proved.eq_ignore_ascii_case(data.fiscal_code.trim())
    {
        return Err(AppError::Validation(vec![FieldError::new(
            "fiscal_code",
            "Il codice fiscale deve essere quello con cui hai effettuato l'accesso (SPID, CIE o carta).",
        )]));
    }
    let member_id = members::create_member(
        &mut tx,
        &state.config.albo,
        now,
        today,
        &actor,
        data,
        members::Entry::Application,
    )
    .await?;
    members::link_user(&mut tx, member_id, user.id).await?;
    let member = members::member_by_id(&mut tx, member_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (kind, payload) = match &transfer {
        None => (Kind::Enrolment, json!({ "section": member.section })),
        Some(t) => (
            Kind::TransferIn,
            json!({ "section": member.section, "from_order": t.from_order.trim(), "from_number": t.from_number.trim(),
                    "from_date": t.from_date.map(crate::members::model::italian_date) }),
        ),
    };
    let subject = kind.label();
    let id = submit(state, user, &member, kind, subject, payload.clone(), &mut tx).await?;
    let mut documents = vec![request_document(id, kind, subject, &payload)];
    documents.extend(
        super::messages::add_message(&mut tx, now, user, id, false, "Allegati alla domanda.", &files).await?,
    );
    let config = &state.config.payments;
    let year = crate::format::rome_year(now);
    let mut fees = vec![(
        payments::Kind::StampDuty,
        format!("Imposta di bollo sulla domanda (pratica n. {id})"),
        config.stamp_duty,
    )];
    if kind == Kind::Enrolment {
        fees.push((
            payments::Kind::RegistrationFee,
            format!("Tassa di iscrizione all'Albo (pratica n. {id})"),
            config.registration_fee,
        ));
    }
    for (fee, description, amount) in fees {
        let p = NewPosition {
            member_id,
            kind: fee,
            year,
            description,
            amount,
            due_date: due(state, now),
            request_id: Some(id),
        };
        payments::service::create(&mut tx, config, now, &actor, &p).await?;
    }
    complete_submission(state, tx, user, id, kind, subject, documents).await
}

/// The council's decision as the secretariat enters it with an approval.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    pub number: String,
    pub date: Option<Date>,
}

/// Before approving: the pratica's fees are paid.
pub(super) async fn check_paid(conn: &mut PgConnection, request: &RequestRow) -> AppResult<()> {
    let unpaid: Vec<String> = payments::service::of_request(conn, request.id)
        .await?
        .into_iter()
        .filter(|p| p.receipt_id.is_none())
        .map(|p| {
            format!(
                "{} ({}, avviso {})",
                p.description,
                crate::format::euro(p.amount),
                p.notice_code
            )
        })
        .collect();
    if unpaid.is_empty() {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "La pratica non si può accogliere finché non risultano pagati: {}.",
            unpaid.join("; ")
        )))
    }
}

/// Approving a procedure: the council's status decision (with its resolution) in the transaction.
pub(super) async fn apply(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    actor: &Actor,
    kind: Kind,
    request: &RequestRow,
    resolution: &Resolution,
) -> AppResult<()> {
    let event = match kind {
        Kind::Cancellation => EventKind::Cancellation,
        Kind::TransferIn => EventKind::TransferIn,
        Kind::Enrolment => EventKind::Registration,
        _ => return Ok(()),
    };
    let change = StatusChange {
        kind: event,
        effective_date: resolution.date.unwrap_or_else(|| crate::format::rome_day(now)),
        until_date: None,
        // A cancellation the member asks for is a resignation; their words go in the note.
        reason: if kind == Kind::Cancellation {
            crate::members::model::CancellationReason::Resignation
                .as_str()
                .to_string()
        } else {
            String::new()
        },
        resolution_number: resolution.number.clone(),
        resolution_date: resolution.date,
        protocol_number: String::new(),
        note: match request.payload["reason"].as_str() {
            Some(why) => format!("Pratica n. {}: {why}", request.id),
            None => format!("Pratica n. {}", request.id),
        },
    };
    members::record_status_change(conn, now, actor, request.member_id, &change).await?;
    Ok(())
}

/// With the outgoing registration of an approval: the certificate (stamped with the segnatura and
/// registered as the answer's document) or the new member's card.
pub(super) async fn issue_with_answer(
    conn: &mut PgConnection,
    state: &AppState,
    now: OffsetDateTime,
    kind: Kind,
    request: &RequestRow,
    pending: &mut protocol::service::Pending,
) -> AppResult<()> {
    let member: MemberRow = members::member_by_id(conn, request.member_id)
        .await?
        .ok_or(AppError::NotFound)?;
    match kind {
        Kind::Certificate => {
            let stamp = request.payload["stamp_text"].as_str().unwrap_or_default();
            let mut doc = member_docs::certificate(&state.config, now, &member, stamp, request.id)?;
            doc.segnatura = Some(pending.segnatura().stamp());
            doc.protocol_registration_id = Some(pending.id());
            let code = crate::documents::service::new_code();
            let (doc, pdf) = tokio::task::spawn_blocking({
                let config = state.config.clone();
                let code = code.clone();
                move || {
                    let pdf = crate::documents::service::render(&config, now, &code, &doc);
                    (doc, pdf)
                }
            })
            .await
            .map_err(AppError::internal)?;
            let pdf = pdf?;
            crate::documents::service::store(conn, now, &code, &doc, &pdf).await?;
            pending
                .add_document(
                    conn,
                    protocol::Document::from_bytes(format!("certificato-{code}.pdf"), "application/pdf", pdf),
                )
                .await
        }
        Kind::Enrolment | Kind::TransferIn => member_docs::card(conn, state, now, &member).await.map(|_| ()),
        _ => Ok(()),
    }
}
