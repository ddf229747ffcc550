//! Registering, annulling, searching and verifying.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::model::{self, Dossier, NewRegistration, Segnatura};
use super::registrar;
use super::repo::{self, DocumentRow, Filter, RegistrationRow};
use crate::audit::{self, Actor};
use crate::config::ProtocolConfig;
use crate::error::{AppError, AppResult, FieldError};
use crate::state::AppState;

/// What a registration got.
#[derive(Debug, Clone)]
pub struct Registered {
    pub id: i64,
    pub segnatura: Segnatura,
    /// The documents as registered (name, bytes, SHA-256): texts ordo produced carry the segnatura.
    pub documents: Vec<(String, usize, [u8; 32])>,
}

async fn dossier_id(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    actor: &Actor,
    r: &NewRegistration,
) -> AppResult<Option<i64>> {
    let year = crate::format::rome_year(now);
    Ok(match &r.dossier {
        Dossier::None => None,
        Dossier::Existing(id) => {
            if !repo::dossier_exists(conn, *id).await? {
                return Err(AppError::Validation(vec![FieldError::new(
                    "dossier",
                    "Il fascicolo scelto non esiste.",
                )]));
            }
            Some(*id)
        }
        Dossier::New { subject } => Some(
            repo::insert_dossier(conn, year, &r.classification, subject.trim(), now, actor.id, None).await?,
        ),
        Dossier::OfRequest { request_id, subject } => {
            match repo::dossier_of_request(conn, *request_id).await? {
                Some(id) => Some(id),
                None => Some(
                    repo::insert_dossier(
                        conn,
                        year,
                        &r.classification,
                        subject,
                        now,
                        actor.id,
                        Some(*request_id),
                    )
                    .await?,
                ),
            }
        }
    })
}

/// Registers an item in the protocol, in the caller's transaction: the number is assigned by the
/// database and exists only if the transaction commits. The one entry point for every module.
///
/// The registration, its documents and its audit entry are one statement, the last this function
/// sends: the rows every registration locks (the year's counter, the audit chain's head) are held
/// from there to the caller's COMMIT only. A caller that has more to write should register last.
/// Documents that carry the segnatura go through [`begin`] instead, since their bytes need the number.
pub async fn register(
    conn: &mut PgConnection,
    config: &ProtocolConfig,
    now: OffsetDateTime,
    actor: &Actor,
    r: NewRegistration,
) -> AppResult<Registered> {
    register_with(conn, config, now, actor, r, true).await
}

/// [`register`], or without the audit entry when not `audited` (the benchmark only).
async fn register_with(
    conn: &mut PgConnection,
    config: &ProtocolConfig,
    now: OffsetDateTime,
    actor: &Actor,
    r: NewRegistration,
    audited: bool,
) -> AppResult<Registered> {
    if r.documents.iter().any(|d| d.stamp) {
        if !audited {
            return Err(AppError::Conflict(
                "Una registrazione senza voce di audit non può timbrare documenti.".into(),
            ));
        }
        return begin(conn, config, now, actor, r)
            .await?
            .finish(conn, now, actor)
            .await;
    }
    validate(config, &r)?;
    let dossier = dossier_id(conn, now, actor, &r).await?;
    in_one_statement(&mut *conn, config, now, actor, &r, &r.documents, dossier, audited).await
}

/// A registration in its own transaction (the back office and the CLI). When it opens no file
/// (fascicolo) and stamps no document, the registrar writes it, in a group with the registrations
/// that arrive meanwhile (see [`super::registrar`]); otherwise it is a transaction of its own.
pub async fn register_alone(state: &AppState, actor: &Actor, r: NewRegistration) -> AppResult<Registered> {
    register_alone_with(state, actor, r, true).await
}

/// [`register_alone`] without the audit entry, for the benchmark that measures what the audit entry
/// costs (`--features bench`); never part of the application.
#[cfg(feature = "bench")]
pub async fn register_alone_unaudited(
    state: &AppState,
    actor: &Actor,
    r: NewRegistration,
) -> AppResult<Registered> {
    register_alone_with(state, actor, r, false).await
}

async fn register_alone_with(
    state: &AppState,
    actor: &Actor,
    r: NewRegistration,
    audited: bool,
) -> AppResult<Registered> {
    let config = &state.config.protocol;
    let now = state.now();
    if matches!(r.dossier, Dossier::New { .. } | Dossier::OfRequest { .. })
        || r.documents.iter().any(|d| d.stamp)
    {
        let mut tx = state.pool.begin().await?;
        let registered = register_with(&mut tx, config, now, actor, r, audited).await?;
        tx.commit().await?;
        return Ok(registered);
    }
    validate(config, &r)?;
    let dossier = match r.dossier {
        Dossier::Existing(_) => {
            let mut conn = state.pool.acquire().await?;
            dossier_id(&mut conn, now, actor, &r).await?
        }
        _ => None,
    };
    // Written by the registrar, in a group with the registrations that arrive meanwhile.
    let listed = documents_of(&r.documents);
    let audit = audited.then(|| {
        (
            actor.id,
            actor.label.clone(),
            audit_details(&r, &listed).to_string(),
        )
    });
    let inserted = state
        .registrar
        .register(registrar::Submission {
            at: now,
            registration: r,
            dossier_id: dossier,
            by: actor.id,
            audit,
        })
        .await?;
    Ok(registered(config, &inserted, now, listed))
}

fn validate(config: &ProtocolConfig, r: &NewRegistration) -> AppResult<()> {
    let errors = model::validate(r, config);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

fn documents_of(documents: &[super::model::Document]) -> Vec<(String, usize, [u8; 32])> {
    documents
        .iter()
        .map(|d| (d.file_name.clone(), d.size, d.sha256))
        .collect()
}

/// The audit entry's details of a registration (the database adds `registration_id`).
fn audit_details(r: &NewRegistration, documents: &[(String, usize, [u8; 32])]) -> serde_json::Value {
    let documents: Vec<_> = documents
        .iter()
        .map(|(name, size, sha)| json!({ "name": name, "bytes": size, "sha256": hex::encode(sha) }))
        .collect();
    json!({
        "direction": r.direction.as_str(),
        "subject": r.subject,
        "correspondent": r.correspondent.name,
        "classification": r.classification,
        "request_id": r.request_id,
        "documents": documents,
    })
}

fn registered(
    config: &ProtocolConfig,
    inserted: &repo::Inserted,
    now: OffsetDateTime,
    documents: Vec<(String, usize, [u8; 32])>,
) -> Registered {
    Registered {
        id: inserted.id,
        segnatura: segnatura(config, inserted, now),
        documents,
    }
}

fn segnatura(config: &ProtocolConfig, inserted: &repo::Inserted, now: OffsetDateTime) -> Segnatura {
    Segnatura {
        administration: config.administration_code.clone(),
        aoo: config.aoo_code.clone(),
        register: config.register_code.clone(),
        year: inserted.year,
        number: inserted.number,
        registered_at: now,
    }
}

/// The registration with `documents` as given (none stamped) and, when `audited`, its audit entry.
#[allow(clippy::too_many_arguments)]
async fn in_one_statement<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    config: &ProtocolConfig,
    now: OffsetDateTime,
    actor: &Actor,
    r: &NewRegistration,
    documents: &[super::model::Document],
    dossier: Option<i64>,
    audited: bool,
) -> AppResult<Registered> {
    let listed = documents_of(documents);
    let details = audited.then(|| audit_details(r, &listed).to_string());
    let audit = details.as_deref().map(|details| repo::AuditEntry {
        actor_id: actor.id,
        actor_label: &actor.label,
        details,
    });
    let inserted = repo::insert_registration(
        exec,
        &config.aoo_code,
        &config.register_code,
        now,
        r,
        dossier,
        actor.id,
        documents,
        audit,
    )
    .await?;
    Ok(registered(config, &inserted, now, listed))
}

/// A registration whose last document is produced once its number is known (a certificate that
/// prints its own segnatura): `begin`, render with `Pending::segnatura`, `add_document`, `finish`.
/// All in the caller's transaction, like [`register`]; the counter row stays locked from `begin` to
/// the caller's COMMIT.
pub struct Pending {
    registration: NewRegistration,
    registered: Registered,
}

/// Assigns the number and registers the documents given, each stamped with the segnatura if it asks
/// for it; [`Pending::finish`] writes the audit entry.
pub async fn begin(
    conn: &mut PgConnection,
    config: &ProtocolConfig,
    now: OffsetDateTime,
    actor: &Actor,
    mut r: NewRegistration,
) -> AppResult<Pending> {
    validate(config, &r)?;
    let dossier = dossier_id(conn, now, actor, &r).await?;
    // The audit chain's head before the counter, as protocol_register takes them.
    audit::lock_chain(conn).await?;
    let registered = in_one_statement(&mut *conn, config, now, actor, &r, &[], dossier, false).await?;
    let documents = std::mem::take(&mut r.documents);
    let mut pending = Pending {
        registration: r,
        registered,
    };
    for d in documents {
        let d = d.stamped(&pending.registered.segnatura);
        pending.add_document(conn, d).await?;
    }
    Ok(pending)
}

impl Pending {
    pub fn segnatura(&self) -> &Segnatura {
        &self.registered.segnatura
    }

    pub fn id(&self) -> i64 {
        self.registered.id
    }

    pub async fn add_document(
        &mut self,
        conn: &mut PgConnection,
        d: super::model::Document,
    ) -> AppResult<()> {
        let position = self.registered.documents.len() as i32 + 1;
        repo::insert_document(conn, self.registered.id, position, &d).await?;
        self.registered.documents.push((d.file_name, d.size, d.sha256));
        Ok(())
    }

    pub async fn finish(
        self,
        conn: &mut PgConnection,
        now: OffsetDateTime,
        actor: &Actor,
    ) -> AppResult<Registered> {
        let mut details = audit_details(&self.registration, &self.registered.documents);
        details["registration_id"] = json!(self.registered.id);
        audit::record(
            conn,
            now,
            audit::Event {
                actor,
                action: "protocol.register",
                entity: "protocol",
                entity_id: Some(self.registered.segnatura.key()),
                details,
            },
        )
        .await?;
        Ok(self.registered)
    }
}

/// The content type of a document, by its content (what the sender named it is not trusted).
pub fn content_type_of(bytes: &[u8]) -> &'static str {
    infer::get(bytes)
        .map(|t| t.mime_type())
        .unwrap_or("application/octet-stream")
}

/// Annuls a registration: it stays in the register, marked annulled with reason and authorising act.
pub async fn annul(
    state: &AppState,
    actor: &Actor,
    user_id: i64,
    id: i64,
    reason: &str,
    act: &str,
) -> AppResult<()> {
    let mut errors = vec![];
    for (field, value, label) in [
        ("reason", reason, "il motivo dell'annullamento"),
        ("act", act, "l'atto che autorizza l'annullamento"),
    ] {
        if value.trim().is_empty() {
            errors.push(FieldError::new(field, format!("Indica {label}.")));
        } else if value.chars().any(char::is_control) || value.chars().count() > 1000 {
            errors.push(FieldError::new(
                field,
                format!("Controlla {label}: troppo lungo o con caratteri non ammessi."),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let row = repo::by_id(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if !repo::annul(&mut tx, id, now, user_id, reason.trim(), act.trim()).await? {
        return Err(AppError::Conflict("La registrazione è già annullata.".into()));
    }
    audit::record(
        &mut tx,
        now,
        audit::Event {
            actor,
            action: "protocol.annul",
            entity: "protocol",
            entity_id: Some(format!("{}/{:07}", row.year, row.number)),
            details: json!({ "registration_id": id, "reason": reason.trim(), "act": act.trim() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The signed XML segnatura (AgID 2021, annex 6) of a registration. A correspondent whose codice
/// fiscale is in the register of members is written as that person (name and surname), any other as an
/// organisation with its name.
pub async fn segnatura_xml(state: &AppState, id: i64) -> AppResult<String> {
    let mut conn = state.pool.acquire().await?;
    let row = repo::by_id(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let documents = repo::documents(&mut conn, id).await?;
    let person = match crate::members::service::id_by_fiscal_code(&mut conn, &row.correspondent_cf).await? {
        Some(member_id) => crate::members::service::member_by_id(&mut conn, member_id)
            .await?
            .map(|m| (m.name, m.surname)),
        None => None,
    };
    let config = state.config.clone();
    tokio::task::spawn_blocking(move || super::segnatura_xml::build(&config, &row, &documents, person))
        .await
        .map_err(AppError::internal)?
}

pub fn segnatura_of(config: &ProtocolConfig, r: &RegistrationRow) -> Segnatura {
    Segnatura {
        administration: config.administration_code.clone(),
        aoo: r.aoo.clone(),
        register: r.register.clone(),
        year: r.year,
        number: r.number,
        registered_at: r.registered_at,
    }
}

pub async fn search(
    state: &AppState,
    f: &Filter,
    limit: i64,
    offset: i64,
) -> AppResult<Vec<RegistrationRow>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::search(&mut conn, f, limit, offset).await?)
}

pub struct Detail {
    pub row: RegistrationRow,
    pub documents: Vec<DocumentRow>,
    /// The other registrations of the same pratica (the request and its answers).
    pub linked: Vec<(i64, Segnatura, String)>,
}

pub async fn detail(state: &AppState, id: i64) -> AppResult<Detail> {
    let mut conn = state.pool.acquire().await?;
    let row = repo::by_id(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let documents = repo::documents(&mut conn, id).await?;
    let linked = match row.request_id {
        Some(rid) => repo::of_request(&mut conn, rid)
            .await?
            .into_iter()
            .filter(|(other, ..)| *other != id)
            .map(|(other, year, number, at, direction)| {
                let s = Segnatura {
                    administration: state.config.protocol.administration_code.clone(),
                    aoo: row.aoo.clone(),
                    register: row.register.clone(),
                    year,
                    number,
                    registered_at: at,
                };
                (other, s, direction)
            })
            .collect(),
        None => vec![],
    };
    Ok(Detail {
        row,
        documents,
        linked,
    })
}

pub async fn document(state: &AppState, id: i64) -> AppResult<repo::DocumentFile> {
    let mut conn = state.pool.acquire().await?;
    repo::document_file(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// A registration as other modules show it: "Prot. 2026/0000012 del 22/11/2026 (in entrata)".
#[derive(Debug, Clone)]
pub struct ProtocolRef {
    pub id: i64,
    pub key: String,
    pub date: String,
    pub direction: &'static str,
}

/// The registrations of a pratica, oldest first (the member sees them in the portal).
pub async fn refs_of_request(conn: &mut PgConnection, request_id: i64) -> AppResult<Vec<ProtocolRef>> {
    Ok(repo::of_request(conn, request_id)
        .await?
        .into_iter()
        .map(|(id, year, number, at, direction)| ProtocolRef {
            id,
            key: format!("{year}/{number:07}"),
            date: crate::format::rome_date(at),
            direction: super::Direction::parse(&direction)
                .map(|d| d.label())
                .unwrap_or(""),
        })
        .collect())
}

pub async fn recent_dossiers(state: &AppState) -> AppResult<Vec<repo::DossierRow>> {
    let mut conn = state.pool.acquire().await?;
    Ok(repo::recent_dossiers(&mut conn, 200).await?)
}

/// Writes the configured titolario into the database (at start-up and on `migrate`).
pub async fn sync_classes(pool: &sqlx::PgPool, config: &ProtocolConfig) -> sqlx::Result<()> {
    let classes: Vec<(String, String, Option<String>)> = config
        .classes
        .iter()
        .map(|c| {
            (
                c.code.clone(),
                c.name.clone(),
                ProtocolConfig::parent_of(&c.code).map(str::to_string),
            )
        })
        .collect();
    let mut tx = pool.begin().await?;
    repo::sync_classes(&mut tx, &classes).await?;
    tx.commit().await
}
