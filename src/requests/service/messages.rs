//! Conversations with the secretariat: a pratica of kind «message», its messages and attachments.

use serde_json::json;
use sqlx::PgConnection;

use super::{Detail, complete_submission, detail, ensure_own, my_member, protocol, submit};
use crate::audit;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, FieldError};
use crate::mail::Mail;
use crate::protocol as register;
use crate::requests::attachments::{self, Checked};
use crate::requests::model::{Kind, State};
use crate::requests::repo::{self, RequestRow};
use crate::state::AppState;
use crate::web::multipart::Upload;

const MAX_SUBJECT: usize = 150;
const MAX_BODY: usize = 10_000;

/// A message's text: required, bounded, and without control characters other than line breaks and
/// tabs. Markup is kept as typed: pages escape it and e-mails are plain text.
fn message_text(
    field: &'static str,
    value: &str,
    max: usize,
    multiline: bool,
    errors: &mut Vec<FieldError>,
) -> String {
    let v = value.trim();
    let what = if field == "subject" {
        "l'oggetto"
    } else {
        "il testo del messaggio"
    };
    if v.is_empty() {
        errors.push(FieldError::new(field, format!("Scrivi {what}.")));
    }
    if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("Troppo lungo {what}: al massimo {max} caratteri."),
        ));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if v.chars().any(|c| c.is_control() && !allowed(c)) {
        errors.push(FieldError::new(
            field,
            format!("{} contiene caratteri non ammessi.", capitalise(what)),
        ));
    }
    v.replace("\r\n", "\n")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Checks the attachments off the async runtime (hashing 50 MB takes a while); refuses the message
/// with every problem found, the text's (`errors`) and the files'.
pub(super) async fn checked_files(
    files: Vec<Upload>,
    mut errors: Vec<FieldError>,
) -> AppResult<Vec<Checked>> {
    let checked = tokio::task::spawn_blocking(move || {
        let refs: Vec<&Upload> = files.iter().collect();
        attachments::check("files", &refs)
    })
    .await
    .map_err(AppError::internal)?;
    match checked {
        Ok(files) if errors.is_empty() => Ok(files),
        Ok(_) => Err(AppError::Validation(errors)),
        Err(more) => {
            errors.extend(more);
            Err(AppError::Validation(errors))
        }
    }
}

pub(super) async fn add_message(
    conn: &mut PgConnection,
    now: time::OffsetDateTime,
    user: &CurrentUser,
    request_id: i64,
    from_staff: bool,
    body: &str,
    files: &[Checked],
) -> AppResult<Vec<register::Document>> {
    let message_id = repo::insert_message(conn, request_id, user.id, from_staff, body, now).await?;
    let mut listed = vec![];
    // A staff reply is a letter of the order (it carries the segnatura); a member's message is kept as sent.
    let text = if from_staff {
        register::Document::produced_text(format!("messaggio-{message_id}.txt"), body)
    } else {
        register::Document::from_bytes(
            format!("messaggio-{message_id}.txt"),
            "text/plain; charset=utf-8",
            body.as_bytes().to_vec(),
        )
    };
    let mut documents = vec![text];
    for f in files {
        let id = repo::insert_attachment(conn, message_id, f).await?;
        listed.push(json!({ "id": id, "name": f.file_name, "type": f.file_type.mime(), "bytes": f.bytes.len(), "sha256": hex::encode(f.sha256) }));
        documents.push(register::Document {
            file_name: f.file_name.clone(),
            content_type: f.file_type.mime().to_string(),
            size: f.bytes.len(),
            sha256: f.sha256,
            content: register::Content::Attachment(id),
            stamp: false,
        });
    }
    audit::record(
        conn,
        now,
        audit::Event {
            actor: &user.actor(),
            action: "request.message",
            entity: "request",
            entity_id: Some(request_id.to_string()),
            details: json!({ "message_id": message_id, "from_staff": from_staff, "chars": body.chars().count(), "attachments": listed }),
        },
    )
    .await?;
    Ok(documents)
}

/// A member writes to the secretariat: a new conversation (a pratica of kind «message») with its first
/// message and attachments, in one transaction.
pub async fn start_conversation(
    state: &AppState,
    user: &CurrentUser,
    subject: &str,
    body: &str,
    files: Vec<Upload>,
) -> AppResult<i64> {
    let mut errors = vec![];
    let subject = message_text("subject", subject, MAX_SUBJECT, false, &mut errors);
    let body = message_text("body", body, MAX_BODY, true, &mut errors);
    let files = checked_files(files, errors).await?;
    let mut tx = state.pool.begin().await?;
    let member = my_member(&mut tx, user).await?;
    let payload = json!({ "attachments": files.len() });
    let id = submit(state, user, &member, Kind::Message, &subject, payload, &mut tx).await?;
    let documents = add_message(&mut tx, state.now(), user, id, false, &body, &files).await?;
    complete_submission(state, tx, user, id, Kind::Message, &subject, documents).await
}

/// A further message in an open pratica, by the member who owns it or by the secretariat. A staff
/// reply takes a newly submitted pratica in charge and e-mails the member.
pub async fn post_message(
    state: &AppState,
    user: &CurrentUser,
    request_id: i64,
    as_staff: bool,
    body: &str,
    files: Vec<Upload>,
) -> AppResult<()> {
    let mut errors = vec![];
    let body = message_text("body", body, MAX_BODY, true, &mut errors);
    let files = checked_files(files, errors).await?;
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let request = repo::by_id_for_update(&mut tx, request_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !as_staff {
        ensure_own(&mut tx, user, request.member_id).await?;
    }
    let current = State::parse(&request.state).ok_or_else(|| AppError::internal("unknown request state"))?;
    if !current.is_open() {
        return Err(AppError::Conflict(
            "La pratica è già definita: per scrivere ancora alla segreteria apri una nuova comunicazione."
                .into(),
        ));
    }
    let documents = add_message(&mut tx, now, user, request.id, as_staff, &body, &files).await?;
    let (direction, what) = if as_staff {
        (register::Direction::Out, "risposta della segreteria")
    } else {
        (register::Direction::In, "messaggio dell'iscritto")
    };
    let kind = Kind::parse(&request.kind).ok_or_else(|| AppError::internal("unknown request kind"))?;
    let subject = format!("{} — {what}", request.subject);
    protocol(
        &mut tx,
        state,
        &user.actor(),
        request.id,
        kind,
        &subject,
        direction,
        documents,
    )
    .await?
    .finish(&mut tx, state.now(), &user.actor())
    .await?;
    if as_staff && current == State::Submitted {
        repo::insert_event(
            &mut tx,
            request.id,
            Some(current.as_str()),
            State::InReview.as_str(),
            now,
            Some(user.id),
            "Risposta della segreteria",
        )
        .await?;
    }
    tx.commit().await?;
    if as_staff {
        notify_reply(state, &request).await;
    }
    Ok(())
}

/// E-mail to the member: a reply is waiting in the portal (the text stays there, not in the mailbox).
async fn notify_reply(state: &AppState, r: &RequestRow) {
    let body = format!(
        "Gentile iscritto,\n\nla segreteria ha risposto nella pratica n. {} «{}».\n\
         Leggi la risposta nell'area iscritti: {}/portale/messaggi/{}\n\n{}\n",
        r.id,
        r.subject,
        state.config.base(),
        r.id,
        state.config.order.name
    );
    let mail = Mail {
        to: r.requester_email.clone(),
        subject: format!("Pratica n. {}: nuova risposta della segreteria", r.id),
        body,
    };
    if let Err(e) = state.mailer.send(mail).await {
        tracing::error!(error = ?e, request = r.id, "reply notification not sent");
    }
}

/// One of the member's own pratiche with its conversation (not found if it is someone else's).
pub async fn my_detail(state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Detail> {
    let d = detail(state, id).await?;
    let mut conn = state.pool.acquire().await?;
    ensure_own(&mut conn, user, d.request.member_id).await?;
    Ok(d)
}

/// An attachment's file; `owner` limits it to the member's own pratiche (not found otherwise).
pub async fn attachment(
    state: &AppState,
    id: i64,
    owner: Option<&CurrentUser>,
) -> AppResult<repo::AttachmentFile> {
    let mut conn = state.pool.acquire().await?;
    let file = repo::attachment_file(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(user) = owner {
        ensure_own(&mut conn, user, file.member_id).await?;
    }
    Ok(file)
}
