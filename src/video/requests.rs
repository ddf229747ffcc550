//! Footage requests (art. 7-9): intake with automatic protocol, the manager's decision, the
//! extraction by an officer holding an extract grant, the verbale (PDF, protocolled), the outcome,
//! the deletion of the extracted files and the closing. Each step is one transaction with its event,
//! its audit entry and, where it is correspondence, its protocol registration.

use serde_json::json;
use sqlx::PgConnection;

use super::model::{self, ExtractionKind, Level, Purpose, State, Step};
use super::request_repo::{self as repo, RequestRow};
use super::service::{chosen_systems, form_date, require_level, rome_datetime, text};
use crate::audit;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, FieldError};
use crate::protocol;
use crate::requests::attachments::Checked;
use crate::state::AppState;

/// A written request as the intake form sends it.
#[derive(Debug, Default, Clone)]
pub struct RequestInput {
    pub purpose: String,
    pub requester_name: String,
    pub requester_org: String,
    pub requester_email: String,
    pub motivation: String,
    pub footage_from: String,
    pub footage_to: String,
    pub systems: Vec<String>,
    /// The people a police request authorises: (name, role), blank pairs ignored.
    pub people: Vec<(String, String)>,
}

/// Registers a written, motivated request: protocolled as incoming with its attachments, in one
/// transaction with the request, its people, its first event and the audit entry.
pub async fn submit(
    state: &AppState,
    user: &CurrentUser,
    input: &RequestInput,
    attachments: Vec<Checked>,
) -> AppResult<i64> {
    let mut errors = vec![];
    let purpose = Purpose::parse(&input.purpose);
    if purpose.is_none() {
        errors.push(FieldError::new(
            "purpose",
            "Scegli la finalità della richiesta, da a) a e) (art. 8).",
        ));
    }
    let name = text(
        &input.requester_name,
        "requester_name",
        "il richiedente",
        200,
        true,
        &mut errors,
    );
    let org = text(
        &input.requester_org,
        "requester_org",
        "l'ente o il comando",
        200,
        false,
        &mut errors,
    );
    let email = input.requester_email.trim().to_lowercase();
    if !email.is_empty() && crate::auth::model::Email::parse("requester_email", &email).is_err() {
        errors.push(FieldError::new(
            "requester_email",
            "Indirizzo e-mail o PEC del richiedente non valido.",
        ));
    }
    let motivation = text(
        &input.motivation,
        "motivation",
        "la motivazione",
        5000,
        true,
        &mut errors,
    );
    let from = rome_datetime(
        &input.footage_from,
        "footage_from",
        "l'inizio delle riprese richieste",
    )
    .map_err(|e| errors.push(e))
    .ok();
    let to = rome_datetime(&input.footage_to, "footage_to", "la fine delle riprese richieste")
        .map_err(|e| errors.push(e))
        .ok();
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        errors.push(FieldError::new(
            "footage_to",
            "Le riprese richieste finiscono prima di iniziare.",
        ));
    }
    let mut people = vec![];
    for (n, r) in &input.people {
        let n = text(
            n,
            "people",
            "il nominativo della persona autorizzata",
            200,
            false,
            &mut errors,
        );
        let r = text(
            r,
            "people",
            "la qualifica della persona autorizzata",
            200,
            false,
            &mut errors,
        );
        match (n.is_empty(), r.is_empty()) {
            (true, true) => {}
            (false, false) => people.push((n, r)),
            _ => errors.push(FieldError::new(
                "people",
                "Per ogni persona autorizzata indica nominativo e qualifica.",
            )),
        }
    }
    if purpose.is_some_and(Purpose::is_police) && people.is_empty() {
        errors.push(FieldError::new(
            "people",
            "Una richiesta delle forze di polizia indica i nominativi e le qualifiche delle persone \
             incaricate di visionare e prelevare le immagini (art. 7, comma 3).",
        ));
    }
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let systems = chosen_systems(&mut tx, &input.systems, &mut errors).await?;
    let (Some(purpose), Some(from), Some(to), true) = (purpose, from, to, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let id = repo::next_id(&mut tx).await?;
    let payload = json!({
        "richiesta": id, "finalita": purpose.label(), "richiedente": name, "ente": org, "email": email,
        "motivazione": motivation, "riprese_dal": crate::format::rome_datetime(from),
        "riprese_al": crate::format::rome_datetime(to), "impianti": systems,
        "persone_autorizzate": people.iter().map(|(n, r)| json!({ "nominativo": n, "qualifica": r })).collect::<Vec<_>>(),
    });
    let mut documents = vec![protocol::Document::from_bytes(
        format!("richiesta-videoriprese-{id}.json"),
        "application/json",
        payload.to_string().into_bytes(),
    )];
    documents.extend(
        attachments.iter().map(|a| {
            protocol::Document::from_bytes(a.file_name.clone(), a.file_type.mime(), a.bytes.clone())
        }),
    );
    let registration = protocol::NewRegistration {
        direction: protocol::Direction::In,
        correspondent: protocol::Correspondent {
            name: if org.is_empty() {
                name.clone()
            } else {
                format!("{name} ({org})")
            }
            .chars()
            .take(300)
            .collect(),
            fiscal_code: String::new(),
            email: email.clone(),
        },
        subject: format!(
            "Richiesta di accesso alle videoriprese n. {id} — finalità {}",
            purpose.label()
        ),
        attachments_description: format!("{} allegati", attachments.len()),
        classification: state.config.video.classification.clone(),
        dossier: protocol::Dossier::None,
        request_id: None,
        source: "video",
        documents,
    };
    let registered =
        protocol::register(&mut tx, &state.config.protocol, now, &user.actor(), registration).await?;
    let key = registered.segnatura.key();
    repo::insert(
        &mut tx,
        &repo::NewRequest {
            id,
            purpose: purpose.as_str(),
            requester_name: &name,
            requester_org: &org,
            requester_email: &email,
            motivation: &motivation,
            footage_from: from,
            footage_to: to,
            system_ids: &systems,
            protocol_id: registered.id,
            protocol_key: &key,
            created_by: user.id,
            created_at: now,
        },
    )
    .await?;
    for (i, (n, r)) in people.iter().enumerate() {
        repo::insert_person(&mut tx, id, i as i32 + 1, n, r).await?;
    }
    let mut hashes = vec![];
    for a in &attachments {
        repo::insert_attachment(&mut tx, id, &a.file_name, a.file_type.mime(), &a.sha256, &a.bytes).await?;
        hashes.push(json!({ "name": a.file_name, "sha256": hex::encode(a.sha256) }));
    }
    let note = format!("Protocollo n. {key}");
    repo::insert_event(&mut tx, id, State::Received.as_str(), &note, user.id, now).await?;
    audit::record(
        &mut tx,
        now,
        audit::Event {
            actor: &user.actor(),
            action: "video.request",
            entity: "video_request",
            entity_id: Some(id.to_string()),
            details: json!({ "purpose": purpose.as_str(), "requester": name, "systems": systems,
                             "protocol": key, "attachments": hashes }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Locks the request and checks that `step` may be taken; the state it leads to.
pub(super) async fn begin_step(
    conn: &mut PgConnection,
    id: i64,
    step: Step,
) -> AppResult<(RequestRow, State)> {
    let r = repo::by_id(conn, id, true).await?.ok_or(AppError::NotFound)?;
    let state = State::parse(&r.state).ok_or_else(|| AppError::internal("unknown video request state"))?;
    let next = step.check(state).map_err(AppError::Conflict)?;
    Ok((r, next))
}

/// Records the event and the audit entry of a step and commits.
pub(super) async fn end_step(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    to: State,
    note: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    let now = state.now();
    repo::insert_event(&mut tx, id, to.as_str(), note, user.id, now).await?;
    audit::record(
        &mut tx,
        now,
        audit::Event {
            actor: &user.actor(),
            action: &format!("video.request.{}", to.as_str()),
            entity: "video_request",
            entity_id: Some(id.to_string()),
            details,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The manager authorises (art. 7.4) or refuses a request. `held_for`: the authority's order to keep
/// the footage (no retention alert while it holds).
pub async fn decide(
    state: &AppState,
    manager: &CurrentUser,
    id: i64,
    authorise: bool,
    note: &str,
    held_for: &str,
) -> AppResult<()> {
    let mut errors = vec![];
    let note = text(note, "note", "la motivazione", 2000, !authorise, &mut errors);
    let held_for = text(
        held_for,
        "held_for",
        "il provvedimento di conservazione",
        500,
        false,
        &mut errors,
    );
    let mut tx = state.pool.begin().await?;
    let step = if authorise { Step::Authorise } else { Step::Refuse };
    let (_, to) = begin_step(&mut tx, id, step).await?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    repo::set_state(&mut tx, id, to.as_str()).await?;
    if !held_for.is_empty() {
        repo::set_held_for(&mut tx, id, &held_for).await?;
    }
    let details = json!({ "note": note, "held_for": held_for });
    end_step(tx, state, manager, id, to, &note, details).await
}

/// The extraction as the officer's form sends it.
#[derive(Debug, Default, Clone)]
pub struct ExtractionInput {
    /// "footage" or "frames".
    pub kind: String,
    /// Third parties masked in the frames.
    pub masked: bool,
    pub files: String,
    pub note: String,
    pub encryption_method: String,
    pub sha256: String,
}

/// Records the extraction: only by someone holding an extract grant on every system of the request;
/// for (d) and (e) only single frames with third parties masked. The extraction is also an entry of
/// the access register.
pub async fn extract(
    state: &AppState,
    officer: &CurrentUser,
    id: i64,
    input: &ExtractionInput,
) -> AppResult<()> {
    let mut errors = vec![];
    let kind = ExtractionKind::parse(&input.kind);
    if kind.is_none() {
        errors.push(FieldError::new(
            "extraction_kind",
            "Indica che cosa è stato estratto: filmato integrale o singoli fotogrammi.",
        ));
    }
    let files = input
        .files
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|n| (1..=10_000).contains(n));
    if files.is_none() {
        errors.push(FieldError::new(
            "files",
            "Indica quanti file sono stati estratti (almeno 1).",
        ));
    }
    let note = text(
        &input.note,
        "note",
        "la descrizione dei file",
        2000,
        false,
        &mut errors,
    );
    let method = text(
        &input.encryption_method,
        "encryption_method",
        "il metodo di cifratura usato per la consegna (art. 6.9)",
        200,
        true,
        &mut errors,
    );
    let sha = model::parse_sha256(&input.sha256)
        .map_err(|e| errors.push(e))
        .ok();
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let (r, to) = begin_step(&mut tx, id, Step::Extract).await?;
    require_level(
        &mut tx,
        officer.id,
        &r.system_ids,
        Level::Extract,
        crate::format::rome_day(now),
    )
    .await?;
    let purpose = Purpose::parse(&r.purpose).ok_or_else(|| AppError::internal("unknown purpose"))?;
    if let Some(k) = kind
        && let Err(e) = model::check_release(purpose, k, input.masked)
    {
        errors.push(e);
    }
    let (Some(kind), Some(files), Some(sha), true) = (kind, files, sha, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let masked = input.masked && kind == ExtractionKind::Frames;
    repo::set_extraction(
        &mut tx,
        id,
        &repo::Extraction {
            kind: kind.as_str(),
            masked,
            files,
            note: &note,
            encryption_method: &method,
            sha256: &sha,
            by: officer.id,
            at: now,
        },
    )
    .await?;
    let access = super::repo::insert_access(
        &mut tx,
        &super::repo::NewAccess {
            user_id: officer.id,
            session_start: now,
            session_end: now,
            footage_from: r.footage_from,
            footage_to: r.footage_to,
            system_ids: &r.system_ids,
            purpose: &format!(
                "Richiesta n. {id} (prot. {}) — {}",
                r.request_protocol,
                purpose.label()
            ),
            extracted: true,
            request_id: Some(id),
            recorded_at: now,
        },
    )
    .await?;
    let summary = format!(
        "{} file ({}){}; cifratura: {method}; SHA-256 {}",
        files,
        ExtractionKind::label_of(kind.as_str()),
        if masked { ", terzi oscurati" } else { "" },
        hex::encode(sha)
    );
    let details = json!({ "kind": kind.as_str(), "masked": masked, "files": files, "encryption": method,
                          "sha256": hex::encode(sha), "access_id": access });
    end_step(tx, state, officer, id, to, &summary, details).await
}

/// Annotates the outcome in the register (art. 9 f).
pub async fn outcome(state: &AppState, officer: &CurrentUser, id: i64, outcome: &str) -> AppResult<()> {
    let mut errors = vec![];
    let outcome = text(outcome, "outcome", "l'esito", 2000, true, &mut errors);
    let mut tx = state.pool.begin().await?;
    let (_, to) = begin_step(&mut tx, id, Step::Outcome).await?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    repo::set_outcome(&mut tx, id, &outcome, to.as_str()).await?;
    end_step(
        tx,
        state,
        officer,
        id,
        to,
        &outcome,
        json!({ "outcome": outcome }),
    )
    .await
}

/// Records the deletion of the extracted files (art. 9 g) with its date: not in the future, not
/// before the extraction.
pub async fn delete_files(state: &AppState, officer: &CurrentUser, id: i64, on: &str) -> AppResult<()> {
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let (r, to) = begin_step(&mut tx, id, Step::DeleteFiles).await?;
    let on = form_date(on, "deleted_on", "la data della cancellazione")
        .map_err(|e| AppError::Validation(vec![e]))?;
    let extracted = r.extracted_at.map(crate::format::rome_day);
    if on > crate::format::rome_day(now) || extracted.is_some_and(|d| on < d) {
        return Err(AppError::Validation(vec![FieldError::new(
            "deleted_on",
            "La data della cancellazione non può essere futura né precedente all'estrazione.",
        )]));
    }
    repo::set_files_deleted(&mut tx, id, on).await?;
    let note = format!(
        "File estratti cancellati il {}",
        crate::members::model::italian_date(on)
    );
    end_step(
        tx,
        state,
        officer,
        id,
        to,
        &note,
        json!({ "deleted_on": on.to_string() }),
    )
    .await
}

/// Closes the request: only once the extracted files are deleted (or when it was refused).
pub async fn close(state: &AppState, officer: &CurrentUser, id: i64) -> AppResult<()> {
    let mut tx = state.pool.begin().await?;
    let (_, to) = begin_step(&mut tx, id, Step::Close).await?;
    repo::set_state(&mut tx, id, to.as_str()).await?;
    end_step(tx, state, officer, id, to, "", json!({})).await
}

pub async fn list(state: &AppState) -> AppResult<Vec<RequestRow>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::list(&mut conn, None).await?)
}

/// A request with its people, attachments and history.
pub struct Detail {
    pub request: RequestRow,
    pub people: Vec<(String, String)>,
    pub attachments: Vec<repo::AttachmentRow>,
    pub events: Vec<repo::EventRow>,
}

pub async fn detail(state: &AppState, id: i64) -> AppResult<Detail> {
    let mut conn = state.pool.acquire().await?;
    let request = repo::by_id(&mut conn, id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Detail {
        people: repo::people(&mut conn, id).await?,
        attachments: repo::attachments(&mut conn, id).await?,
        events: repo::events(&mut conn, id).await?,
        request,
    })
}

pub async fn verbale_pdf(state: &AppState, id: i64) -> AppResult<Vec<u8>> {
    let mut conn = state.pool.acquire().await?;
    repo::verbale_pdf(&mut conn, id).await?.ok_or(AppError::NotFound)
}

pub async fn attachment(state: &AppState, id: i64) -> AppResult<(String, String, Vec<u8>)> {
    let mut conn = state.pool.acquire().await?;
    repo::attachment(&mut conn, id).await?.ok_or(AppError::NotFound)
}

pub async fn totals(
    state: &AppState,
    from: time::OffsetDateTime,
    to: time::OffsetDateTime,
) -> AppResult<Vec<(String, String, i64)>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::totals(&mut conn, from, to).await?)
}
