//! Writing registrations: one (`protocol_register`), a group (`protocol_register_many`), or a
//! document added to a pending registration.

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::protocol::model::{Content, Document, NewRegistration};

pub struct Inserted {
    pub id: i64,
    pub year: i32,
    pub number: i32,
}

/// The audit entry a registration writes with itself: who, and the details (the database adds the
/// registration's id).
pub struct AuditEntry<'a> {
    pub actor_id: Option<i64>,
    pub actor_label: &'a str,
    /// A JSON object as compact text; the database appends `"registration_id"` as its last key.
    pub details: &'a str,
}

/// Inserts the registration, its documents (as given: nothing is stamped here) and, when `audit` is
/// given, its audit entry, in one statement (`protocol_register`, migration 0016): the counter row and
/// the audit chain's head are locked by this statement only, so run on the pool it is a whole
/// registration in one round trip and one commit. The database assigns year and number (trigger
/// `protocol_assign_number`).
#[allow(clippy::too_many_arguments)]
pub async fn insert_registration<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    aoo: &str,
    register: &str,
    now: OffsetDateTime,
    r: &NewRegistration,
    dossier_id: Option<i64>,
    by: Option<i64>,
    documents: &[Document],
    audit: Option<AuditEntry<'_>>,
) -> sqlx::Result<Inserted> {
    let names: Vec<&str> = documents.iter().map(|d| d.file_name.as_str()).collect();
    let types: Vec<&str> = documents.iter().map(|d| d.content_type.as_str()).collect();
    let sizes: Vec<i32> = documents.iter().map(|d| d.size as i32).collect();
    let hashes: Vec<&[u8]> = documents.iter().map(|d| &d.sha256[..]).collect();
    let contents: Vec<Option<&[u8]>> = documents.iter().map(|d| stored(d).0).collect();
    let attachments: Vec<Option<i64>> = documents.iter().map(|d| stored(d).1).collect();
    let (audited, actor_id, actor_label, details) = match audit {
        Some(a) => (true, a.actor_id, a.actor_label, a.details),
        None => (false, None, "", ""),
    };
    sqlx::query_as!(
        Inserted,
        r#"SELECT id AS "id!", year AS "year!", number AS "number!"
           FROM protocol_register($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                                  $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"#,
        aoo,
        register,
        now,
        r.direction.as_str(),
        r.correspondent.name.trim(),
        r.correspondent.fiscal_code.trim().to_uppercase(),
        r.correspondent.email.trim(),
        r.subject.trim(),
        r.attachments_description.trim(),
        r.classification,
        dossier_id,
        r.request_id,
        r.source,
        by,
        &names as &[&str],
        &types as &[&str],
        &sizes,
        &hashes as &[&[u8]],
        &contents as &[Option<&[u8]>],
        &attachments as &[Option<i64>],
        audited,
        actor_id,
        actor_label,
        details
    )
    .fetch_one(exec)
    .await
}

/// A document's columns `content` and `attachment_id`: its bytes, or the kept message attachment.
fn stored(d: &Document) -> (Option<&[u8]>, Option<i64>) {
    match &d.content {
        Content::Bytes(b) => (Some(b.as_slice()), None),
        Content::Attachment(id) => (None, Some(*id)),
    }
}

/// One registration of a group written by [`insert_registrations`].
pub struct GroupItem<'a> {
    pub at: OffsetDateTime,
    pub registration: &'a NewRegistration,
    pub dossier_id: Option<i64>,
    pub by: Option<i64>,
    pub audit: Option<AuditEntry<'a>>,
}

/// Inserts a group of registrations, each as [`insert_registration`] does, in one statement
/// (`protocol_register_many`, migration 0017): numbered in the order given, all or none. Returns what
/// each got, in the order given.
pub async fn insert_registrations<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    aoo: &str,
    register: &str,
    items: &[GroupItem<'_>],
) -> sqlx::Result<Vec<Inserted>> {
    let regs = || items.iter().map(|i| i.registration);
    let at: Vec<OffsetDateTime> = items.iter().map(|i| i.at).collect();
    let direction: Vec<&str> = regs().map(|r| r.direction.as_str()).collect();
    let name: Vec<&str> = regs().map(|r| r.correspondent.name.trim()).collect();
    let cf: Vec<String> = regs()
        .map(|r| r.correspondent.fiscal_code.trim().to_uppercase())
        .collect();
    let email: Vec<&str> = regs().map(|r| r.correspondent.email.trim()).collect();
    let subject: Vec<&str> = regs().map(|r| r.subject.trim()).collect();
    let described: Vec<&str> = regs().map(|r| r.attachments_description.trim()).collect();
    let class: Vec<&str> = regs().map(|r| r.classification.as_str()).collect();
    let dossier: Vec<Option<i64>> = items.iter().map(|i| i.dossier_id).collect();
    let request: Vec<Option<i64>> = regs().map(|r| r.request_id).collect();
    let source: Vec<&str> = regs().map(|r| r.source).collect();
    let by: Vec<Option<i64>> = items.iter().map(|i| i.by).collect();
    let docs = || {
        items
            .iter()
            .enumerate()
            .flat_map(|(n, i)| i.registration.documents.iter().map(move |d| (n as i32 + 1, d)))
    };
    let owner: Vec<i32> = docs().map(|(n, _)| n).collect();
    let names: Vec<&str> = docs().map(|(_, d)| d.file_name.as_str()).collect();
    let types: Vec<&str> = docs().map(|(_, d)| d.content_type.as_str()).collect();
    let sizes: Vec<i32> = docs().map(|(_, d)| d.size as i32).collect();
    let hashes: Vec<&[u8]> = docs().map(|(_, d)| &d.sha256[..]).collect();
    let contents: Vec<Option<&[u8]>> = docs().map(|(_, d)| stored(d).0).collect();
    let attachments: Vec<Option<i64>> = docs().map(|(_, d)| stored(d).1).collect();
    let audited: Vec<bool> = items.iter().map(|i| i.audit.is_some()).collect();
    let actor_id: Vec<Option<i64>> = items
        .iter()
        .map(|i| i.audit.as_ref().and_then(|a| a.actor_id))
        .collect();
    let actor_label: Vec<&str> = items
        .iter()
        .map(|i| i.audit.as_ref().map_or("", |a| a.actor_label))
        .collect();
    let details: Vec<&str> = items
        .iter()
        .map(|i| i.audit.as_ref().map_or("", |a| a.details))
        .collect();
    let mut rows = sqlx::query!(
        r#"SELECT item AS "item!", id AS "id!", year AS "year!", number AS "number!"
           FROM protocol_register_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                                       $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"#,
        aoo,
        register,
        &at,
        &direction as &[&str],
        &name as &[&str],
        &cf,
        &email as &[&str],
        &subject as &[&str],
        &described as &[&str],
        &class as &[&str],
        &dossier as &[Option<i64>],
        &request as &[Option<i64>],
        &source as &[&str],
        &by as &[Option<i64>],
        &owner,
        &names as &[&str],
        &types as &[&str],
        &sizes,
        &hashes as &[&[u8]],
        &contents as &[Option<&[u8]>],
        &attachments as &[Option<i64>],
        &audited,
        &actor_id as &[Option<i64>],
        &actor_label as &[&str],
        &details as &[&str]
    )
    .fetch_all(exec)
    .await?;
    rows.sort_by_key(|r| r.item);
    Ok(rows
        .into_iter()
        .map(|r| Inserted {
            id: r.id,
            year: r.year,
            number: r.number,
        })
        .collect())
}

pub async fn insert_document(
    conn: &mut PgConnection,
    registration_id: i64,
    position: i32,
    d: &Document,
) -> sqlx::Result<()> {
    let (content, attachment) = stored(d);
    sqlx::query!(
        "INSERT INTO protocol_documents (registration_id, position, file_name, content_type, size_bytes,
             sha256, content, attachment_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        registration_id,
        position,
        d.file_name,
        d.content_type,
        d.size as i32,
        &d.sha256[..],
        content,
        attachment
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
