//! Pratiche: submission by the member, decisions by the secretariat, effects on the register, and
//! e-mail notifications. Every step is one transaction with its history event and audit entry; the
//! member is notified after the commit.

use serde_json::json;
use sqlx::PgConnection;

use super::model::{Action, CHANGEABLE_FIELDS, Kind, State, next_state_for};
use super::repo::{self, EventRow, RequestRow};
use super::repo::{AttachmentRow, MessageRow};
use crate::audit::{self, Actor};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, FieldError};
use crate::mail::Mail;
use crate::members::MemberRow;
use crate::members::service as members;
use crate::protocol;
use crate::state::AppState;

const MAX_FIELD: usize = 200;

fn clean(field: &'static str, value: &str, errors: &mut Vec<FieldError>) -> String {
    let v = value.trim();
    if v.chars().count() > MAX_FIELD {
        errors.push(FieldError::new(
            field,
            format!("Testo troppo lungo (massimo {MAX_FIELD} caratteri)."),
        ));
    }
    if v.chars().any(|c| c.is_control()) {
        errors.push(FieldError::new(field, "Contiene caratteri non ammessi."));
    }
    v.to_string()
}

/// Not found unless the account is the member's own: someone else's pratiche do not exist for it.
async fn ensure_own(conn: &mut PgConnection, user: &CurrentUser, member_id: i64) -> AppResult<()> {
    let mine = members::member_of_user(conn, user.id).await?.map(|m| m.id);
    if mine == Some(member_id) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

async fn my_member(conn: &mut PgConnection, user: &CurrentUser) -> AppResult<MemberRow> {
    members::member_of_user(conn, user.id).await?.ok_or_else(|| {
        AppError::Conflict(
            "Il tuo account non è collegato a una posizione nell'Albo: scrivi alla segreteria.".into(),
        )
    })
}

/// What the member asks to change: only the fields whose value differs from the register.
pub fn diff(
    member: &MemberRow,
    proposed: &[(String, String)],
) -> Result<Vec<(String, String, String)>, Vec<FieldError>> {
    let mut errors = vec![];
    let mut changes = vec![];
    for (field, label) in CHANGEABLE_FIELDS {
        let Some((_, value)) = proposed.iter().find(|(f, _)| f == field) else {
            continue;
        };
        let value = clean(field, value, &mut errors);
        if *field == "email" && !value.is_empty() && crate::auth::model::Email::parse(field, &value).is_err()
        {
            errors.push(FieldError::new(field, format!("{label}: indirizzo non valido.")));
        }
        let current = member.contact_value(field).unwrap_or_default();
        if value != current {
            changes.push((field.to_string(), current.to_string(), value));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if changes.is_empty() {
        return Err(vec![FieldError::new(
            "changes",
            "Non hai modificato nessun dato.",
        )]);
    }
    Ok(changes)
}

async fn submit(
    state: &AppState,
    user: &CurrentUser,
    member: &MemberRow,
    kind: Kind,
    subject: &str,
    payload: serde_json::Value,
    conn: &mut PgConnection,
) -> AppResult<i64> {
    let now = state.now();
    if !kind.allows_many_open() && repo::has_open(conn, member.id, kind.as_str()).await? {
        return Err(AppError::Conflict(format!(
            "Hai già una pratica «{}» aperta: attendi che la segreteria la definisca.",
            kind.label()
        )));
    }
    let id = repo::insert(conn, kind.as_str(), member.id, user.id, subject, &payload, now).await?;
    repo::insert_event(conn, id, None, State::Submitted.as_str(), now, Some(user.id), "").await?;
    audit::record(
        conn,
        now,
        audit::Event {
            actor: &user.actor(),
            action: "request.submit",
            entity: "request",
            entity_id: Some(id.to_string()),
            details: json!({ "kind": kind.as_str(), "member_id": member.id, "payload": payload }),
        },
    )
    .await?;
    Ok(id)
}

/// Protocols an item of a pratica in the caller's transaction: incoming when the member writes,
/// outgoing when the order answers. The correspondent is the member; the pratica's own file
/// (fascicolo) collects its registrations.
#[allow(clippy::too_many_arguments)]
async fn protocol(
    conn: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    request_id: i64,
    kind: Kind,
    subject: &str,
    direction: protocol::Direction,
    documents: Vec<protocol::Document>,
) -> AppResult<protocol::service::Pending> {
    let r = repo::by_id_for_update(conn, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let member = members::member_by_id(conn, r.member_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let config = &state.config.protocol;
    let registration = protocol::NewRegistration {
        direction,
        correspondent: protocol::Correspondent {
            name: format!("{} {}", member.surname, member.name),
            fiscal_code: member.fiscal_code.clone(),
            email: r.requester_email.clone(),
        },
        subject: format!("Pratica n. {request_id} — {subject}")
            .chars()
            .take(protocol::model::MAX_SUBJECT)
            .collect(),
        attachments_description: String::new(),
        classification: config.class_for_request(kind.as_str()).to_string(),
        dossier: protocol::Dossier::OfRequest {
            request_id,
            subject: format!("Pratica n. {request_id} — {}", r.subject)
                .chars()
                .take(protocol::model::MAX_SUBJECT)
                .collect(),
        },
        request_id: Some(request_id),
        source: "request",
        documents,
    };
    protocol::service::begin(conn, config, state.now(), actor, registration).await
}

/// The request as submitted, as a document for the protocol (canonical JSON).
fn request_document(
    request_id: i64,
    kind: Kind,
    subject: &str,
    payload: &serde_json::Value,
) -> protocol::Document {
    let text =
        json!({ "pratica": request_id, "tipo": kind.as_str(), "oggetto": subject, "contenuto": payload });
    protocol::Document::from_bytes(
        format!("pratica-{request_id}.json"),
        "application/json",
        text.to_string().into_bytes(),
    )
}

/// Protocols the submission as incoming, in its transaction, commits, and tells the member.
#[allow(clippy::too_many_arguments)]
async fn complete_submission(
    state: &AppState,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    user: &CurrentUser,
    id: i64,
    kind: Kind,
    subject: &str,
    documents: Vec<protocol::Document>,
) -> AppResult<i64> {
    protocol(
        &mut tx,
        state,
        &user.actor(),
        id,
        kind,
        subject,
        protocol::Direction::In,
        documents,
    )
    .await?
    .finish(&mut tx, state.now(), &user.actor())
    .await?;
    tx.commit().await?;
    notify(state, id).await;
    Ok(id)
}

/// A data-change request: recorded with the old and new values; the register changes only on approval.
pub async fn submit_data_change(
    state: &AppState,
    user: &CurrentUser,
    proposed: &[(String, String)],
) -> AppResult<i64> {
    let mut tx = state.pool.begin().await?;
    let member = my_member(&mut tx, user).await?;
    let changes = diff(&member, proposed).map_err(AppError::Validation)?;
    let payload = json!({
        "changes": changes.iter().map(|(f, before, after)| json!({"field": f, "before": before, "after": after})).collect::<Vec<_>>()
    });
    let id = submit(
        state,
        user,
        &member,
        Kind::DataChange,
        Kind::DataChange.label(),
        payload.clone(),
        &mut tx,
    )
    .await?;
    let doc = request_document(id, Kind::DataChange, Kind::DataChange.label(), &payload);
    complete_submission(
        state,
        tx,
        user,
        id,
        Kind::DataChange,
        Kind::DataChange.label(),
        vec![doc],
    )
    .await
}

/// A PEC request: either the member's own address to register, or a request for one from the order.
pub async fn submit_pec(state: &AppState, user: &CurrentUser, own_pec: Option<&str>) -> AppResult<i64> {
    let mut errors = vec![];
    let pec = own_pec
        .map(|p| clean("pec", p, &mut errors))
        .filter(|p| !p.is_empty());
    let pec = match pec.map(|p| crate::auth::model::Email::parse("pec", &p)) {
        None => None,
        Some(Ok(email)) => Some(email.as_str().to_string()),
        Some(Err(_)) => {
            errors.push(FieldError::new("pec", "L'indirizzo PEC non è valido."));
            None
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut tx = state.pool.begin().await?;
    let member = my_member(&mut tx, user).await?;
    let (subject, payload) = match &pec {
        Some(p) => (
            "Registrazione dell'indirizzo PEC",
            json!({ "mode": "register", "pec": p, "before": member.pec }),
        ),
        None => (
            "Richiesta di un indirizzo PEC",
            json!({ "mode": "request", "before": member.pec }),
        ),
    };
    let id = submit(state, user, &member, Kind::Pec, subject, payload.clone(), &mut tx).await?;
    let doc = request_document(id, Kind::Pec, subject, &payload);
    complete_submission(state, tx, user, id, Kind::Pec, subject, vec![doc]).await
}

/// A passport photo: checked, re-encoded and stored at once; it shows only after approval.
pub async fn submit_photo(state: &AppState, user: &CurrentUser, upload: &[u8]) -> AppResult<i64> {
    let processed = tokio::task::spawn_blocking({
        let upload = upload.to_vec();
        move || crate::members::photo::process(&upload)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|e| AppError::Validation(vec![e]))?;
    let mut tx = state.pool.begin().await?;
    let member = my_member(&mut tx, user).await?;
    let photo_id = members::store_photo(&mut tx, state.now(), user, member.id, &processed).await?;
    let payload = json!({ "photo_id": photo_id, "before": member.photo_id, "width": processed.width, "height": processed.height });
    let id = submit(
        state,
        user,
        &member,
        Kind::Photo,
        "Nuova fototessera",
        payload.clone(),
        &mut tx,
    )
    .await?;
    let docs = vec![
        request_document(id, Kind::Photo, "Nuova fototessera", &payload),
        protocol::Document::from_bytes("fototessera.jpg", "image/jpeg", processed.jpeg.clone()),
    ];
    complete_submission(state, tx, user, id, Kind::Photo, "Nuova fototessera", docs).await
}

/// A decision or step by the secretariat. Approving applies the request to the register in the same
/// transaction. For a PEC request the assigned address comes with the approval.
pub async fn act(
    state: &AppState,
    user: &CurrentUser,
    request_id: i64,
    action: Action,
    note: &str,
    assigned_pec: Option<&str>,
    resolution: &procedures::Resolution,
) -> AppResult<()> {
    let now = state.now();
    let mut errors = vec![];
    let note = clean("note", note, &mut errors);
    if action == Action::Reject && note.is_empty() {
        errors.push(FieldError::new(
            "note",
            "Indica il motivo del rigetto: sarà comunicato all'iscritto.",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut tx = state.pool.begin().await?;
    let request = repo::by_id_for_update(&mut tx, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = State::parse(&request.state).ok_or_else(|| AppError::internal("unknown request state"))?;
    let kind = Kind::parse(&request.kind).ok_or_else(|| AppError::internal("unknown request kind"))?;
    let next = next_state_for(kind, current, action).map_err(AppError::Conflict)?;
    let actor = user.actor();
    if action == Action::Approve {
        procedures::check_paid(&mut tx, &request).await?;
        apply(&mut tx, now, &actor, &request, assigned_pec).await?;
        procedures::apply(&mut tx, now, &actor, kind, &request, resolution).await?;
    }
    repo::insert_event(
        &mut tx,
        request.id,
        Some(current.as_str()),
        next.as_str(),
        now,
        Some(user.id),
        &note,
    )
    .await?;
    if matches!(action, Action::Approve | Action::Reject) {
        let outcome = format!(
            "Pratica n. {} «{}»: {}.{}",
            request.id,
            request.subject,
            next.label().to_lowercase(),
            if note.is_empty() {
                String::new()
            } else {
                format!("\nNota della segreteria: {note}")
            }
        );
        let doc = protocol::Document::produced_text(format!("esito-pratica-{}.txt", request.id), &outcome);
        let subject = format!("{} — esito: {}", request.subject, next.label().to_lowercase());
        let mut pending = protocol(
            &mut tx,
            state,
            &actor,
            request.id,
            kind,
            &subject,
            protocol::Direction::Out,
            vec![doc],
        )
        .await?;
        if action == Action::Approve {
            procedures::issue_with_answer(&mut tx, state, now, kind, &request, &mut pending).await?;
        }
        pending.finish(&mut tx, now, &actor).await?;
    }
    audit::record(&mut tx, now, audit::Event {
        actor: &actor,
        action: "request.transition",
        entity: "request",
        entity_id: Some(request.id.to_string()),
        details: json!({ "before": { "state": current.as_str() }, "after": { "state": next.as_str() }, "note": note }),
    })
    .await?;
    tx.commit().await?;
    notify(state, request.id).await;
    Ok(())
}

async fn apply(
    conn: &mut PgConnection,
    now: time::OffsetDateTime,
    actor: &Actor,
    request: &RequestRow,
    assigned_pec: Option<&str>,
) -> AppResult<()> {
    match Kind::parse(&request.kind) {
        Some(Kind::DataChange) => {
            let changes: Vec<(String, String)> = request.payload["changes"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|c| {
                            Some((c["field"].as_str()?.to_string(), c["after"].as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            members::apply_contact_changes(conn, now, actor, request.member_id, &changes).await
        }
        Some(Kind::Pec) => {
            let pec = match request.payload["mode"].as_str() {
                Some("register") => request.payload["pec"].as_str().unwrap_or_default().to_string(),
                _ => {
                    let p = assigned_pec.map(str::trim).unwrap_or_default();
                    if crate::auth::model::Email::parse("pec", p).is_err() {
                        return Err(AppError::Validation(vec![FieldError::new(
                            "pec",
                            "Per accogliere la richiesta indica l'indirizzo PEC assegnato.",
                        )]));
                    }
                    p.to_lowercase()
                }
            };
            members::apply_contact_changes(conn, now, actor, request.member_id, &[("pec".to_string(), pec)])
                .await
        }
        Some(Kind::Photo) => {
            let photo_id = request.payload["photo_id"]
                .as_i64()
                .ok_or_else(|| AppError::internal("photo request without photo"))?;
            members::set_photo(conn, now, actor, request.member_id, photo_id).await
        }
        // A conversation is closed, never approved (the workflow refuses it before we get here).
        Some(Kind::Message) => Ok(()),
        // The procedures act in `procedures::apply` and with the answer.
        Some(Kind::Certificate | Kind::Cancellation | Kind::TransferIn | Kind::Enrolment) => Ok(()),
        None => Err(AppError::internal(format!(
            "unknown request kind {}",
            request.kind
        ))),
    }
}

/// E-mail to the member about the request's current state. A failure to send is logged, not fatal:
/// the portal shows the state anyway.
async fn notify(state: &AppState, request_id: i64) {
    let loaded = async {
        let mut conn = state.pool.acquire().await?;
        let r = repo::by_id_for_update(&mut conn, request_id).await?;
        let events = repo::events(&mut conn, request_id).await?;
        Ok::<_, sqlx::Error>((r, events))
    }
    .await;
    let (Some(r), events) = (match loaded {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = ?e.to_string(), "cannot load the request to notify");
            return;
        }
    }) else {
        return;
    };
    let label = State::parse(&r.state).map(|s| s.label()).unwrap_or("");
    let note = events.last().map(|e| e.note.clone()).unwrap_or_default();
    let body = format!(
        "Gentile iscritto,\n\nla pratica n. {} «{}» è ora nello stato: {label}.\n{}\
         Puoi seguirla nell'area iscritti: {}/portale/richieste\n\n{}\n",
        r.id,
        r.subject,
        if note.is_empty() {
            String::new()
        } else {
            format!("Nota della segreteria: {note}\n")
        },
        state.config.base(),
        state.config.order.name
    );
    let mail = Mail {
        to: r.requester_email.clone(),
        subject: format!("Pratica n. {}: {label}", r.id),
        body,
    };
    if let Err(e) = state.mailer.send(mail).await {
        tracing::error!(error = ?e, request = r.id, "request notification not sent");
    }
}

pub struct Detail {
    pub request: RequestRow,
    pub events: Vec<EventRow>,
    pub messages: Vec<MessageRow>,
    pub attachments: Vec<AttachmentRow>,
    pub protocols: Vec<protocol::service::ProtocolRef>,
    pub positions: Vec<crate::payments::PositionRow>,
}

pub async fn inbox(state: &AppState, open_only: bool) -> AppResult<Vec<RequestRow>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::inbox(&mut conn, open_only, 500).await?)
}

pub async fn detail(state: &AppState, id: i64) -> AppResult<Detail> {
    let mut tx = state.pool.begin().await?;
    let request = repo::by_id_for_update(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let events = repo::events(&mut tx, id).await?;
    let messages = repo::messages(&mut tx, id).await?;
    let attachments = repo::attachments(&mut tx, id).await?;
    let protocols = protocol::service::refs_of_request(&mut tx, id).await?;
    let positions = crate::payments::service::of_request(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Detail {
        request,
        events,
        messages,
        attachments,
        protocols,
        positions,
    })
}

/// The member's own requests with their histories.
pub async fn mine(state: &AppState, user: &CurrentUser) -> AppResult<Option<(MemberRow, Vec<Detail>)>> {
    let mut conn = state.pool.acquire().await?;
    let Some(member) = members::member_of_user(&mut conn, user.id).await? else {
        return Ok(None);
    };
    let mut out = vec![];
    for request in repo::of_member(&mut conn, member.id).await? {
        let events = repo::events(&mut conn, request.id).await?;
        let protocols = protocol::service::refs_of_request(&mut conn, request.id).await?;
        let positions = crate::payments::service::of_request(&mut conn, request.id).await?;
        out.push(Detail {
            request,
            events,
            messages: vec![],
            attachments: vec![],
            protocols,
            positions,
        });
    }
    Ok(Some((member, out)))
}

mod messages;
mod procedures;
pub use messages::{attachment, my_detail, post_message, start_conversation};
pub use procedures::{Resolution, Transfer, submit_cancellation, submit_certificate, submit_enrolment};
