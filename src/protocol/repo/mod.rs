//! SQL of the protocol register. Functions take `&mut PgConnection` to run in the caller's transaction.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

mod write;

pub use write::{
    AuditEntry, GroupItem, Inserted, insert_document, insert_registration, insert_registrations,
};

pub async fn insert_dossier(
    conn: &mut PgConnection,
    year: i32,
    classification: &str,
    subject: &str,
    now: OffsetDateTime,
    by: Option<i64>,
    request_id: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO protocol_dossiers (year, classification, subject, opened_at, opened_by, request_id)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        year,
        classification,
        subject,
        now,
        by,
        request_id
    )
    .fetch_one(&mut *conn)
    .await
}

pub async fn dossier_of_request(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM protocol_dossiers WHERE request_id = $1",
        request_id
    )
    .fetch_optional(&mut *conn)
    .await
}

pub async fn dossier_exists(conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS(SELECT 1 FROM protocol_dossiers WHERE id = $1) AS "e!""#,
        id
    )
    .fetch_one(&mut *conn)
    .await
}

#[derive(Debug, Clone)]
pub struct DossierRow {
    pub id: i64,
    pub year: i32,
    pub classification: String,
    pub subject: String,
}

pub async fn recent_dossiers(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<DossierRow>> {
    sqlx::query_as!(
        DossierRow,
        "SELECT id, year, classification, subject FROM protocol_dossiers ORDER BY id DESC LIMIT $1",
        limit
    )
    .fetch_all(&mut *conn)
    .await
}

/// Writes the configured titolario: new codes added, names updated; codes are never removed.
pub async fn sync_classes(
    conn: &mut PgConnection,
    classes: &[(String, String, Option<String>)],
) -> sqlx::Result<()> {
    for (code, name, parent) in classes {
        sqlx::query!(
            "INSERT INTO protocol_classes (code, name, parent) VALUES ($1, $2, $3)
             ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, parent = EXCLUDED.parent",
            code,
            name,
            parent.as_deref()
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn annul(
    conn: &mut PgConnection,
    registration_id: i64,
    now: OffsetDateTime,
    by: i64,
    reason: &str,
    act: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "INSERT INTO protocol_annulments (registration_id, annulled_at, annulled_by, reason, act)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (registration_id) DO NOTHING",
        registration_id,
        now,
        by,
        reason,
        act
    )
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone)]
pub struct RegistrationRow {
    pub id: i64,
    pub aoo: String,
    pub register: String,
    pub year: i32,
    pub number: i32,
    pub registered_at: OffsetDateTime,
    pub direction: String,
    pub correspondent_name: String,
    pub correspondent_cf: String,
    pub correspondent_email: String,
    pub subject: String,
    pub attachments_description: String,
    pub classification: String,
    pub dossier_id: Option<i64>,
    pub dossier_subject: Option<String>,
    pub request_id: Option<i64>,
    pub source: String,
    pub registered_by: Option<String>,
    pub documents: i64,
    pub annulled_at: Option<OffsetDateTime>,
    pub annulled_by: Option<String>,
    pub annul_reason: Option<String>,
    pub annul_act: Option<String>,
}

/// Search filters; empty ones match everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub year: Option<i32>,
    pub number: Option<i32>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub correspondent: String,
    pub subject: String,
    pub classification: String,
    pub direction: String,
    pub request_id: Option<i64>,
    pub id: Option<i64>,
    /// AOO and register codes; empty: any.
    pub aoo: String,
    pub register: String,
}

pub async fn search(
    conn: &mut PgConnection,
    f: &Filter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<RegistrationRow>> {
    sqlx::query_as!(
        RegistrationRow,
        r#"SELECT r.id, r.aoo, r.register, r.year, r.number, r.registered_at, r.direction, r.correspondent_name,
                  r.correspondent_cf, r.correspondent_email, r.subject, r.attachments_description, r.classification,
                  r.dossier_id, d.subject AS "dossier_subject?", r.request_id, r.source, u.email AS "registered_by?",
                  (SELECT count(*) FROM protocol_documents pd WHERE pd.registration_id = r.id) AS "documents!",
                  a.annulled_at AS "annulled_at?", au.email AS "annulled_by?", a.reason AS "annul_reason?",
                  a.act AS "annul_act?"
           FROM protocol_registrations r
           LEFT JOIN protocol_dossiers d ON d.id = r.dossier_id
           LEFT JOIN users u ON u.id = r.registered_by
           LEFT JOIN protocol_annulments a ON a.registration_id = r.id
           LEFT JOIN users au ON au.id = a.annulled_by
           WHERE ($1::int IS NULL OR r.year = $1)
             AND ($2::int IS NULL OR r.number = $2)
             AND ($3::date IS NULL OR r.registered_at >= ($3::date::timestamp AT TIME ZONE 'Europe/Rome'))
             AND ($4::date IS NULL OR r.registered_at < (($4::date + 1)::timestamp AT TIME ZONE 'Europe/Rome'))
             AND ($5 = '' OR lower(r.correspondent_name) LIKE '%' || lower($5) || '%'
                  OR lower(r.correspondent_email) LIKE '%' || lower($5) || '%' OR r.correspondent_cf = upper($5))
             AND ($6 = '' OR lower(r.subject) LIKE '%' || lower($6) || '%')
             AND ($7 = '' OR r.classification = $7 OR r.classification LIKE $7 || '.%')
             AND ($8 = '' OR r.direction = $8)
             AND ($9::bigint IS NULL OR r.request_id = $9)
             AND ($10::bigint IS NULL OR r.id = $10)
             AND ($11 = '' OR r.aoo = $11) AND ($12 = '' OR r.register = $12)
           ORDER BY r.registered_at DESC, r.id DESC
           LIMIT $13 OFFSET $14"#,
        f.year,
        f.number,
        f.from,
        f.to,
        f.correspondent,
        f.subject,
        f.classification,
        f.direction,
        f.request_id,
        f.id,
        f.aoo,
        f.register,
        limit,
        offset
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<RegistrationRow>> {
    let f = Filter {
        id: Some(id),
        ..Default::default()
    };
    Ok(search(conn, &f, 1, 0).await?.pop())
}

/// The registrations of one local day (Europe/Rome), in number order.
pub async fn of_day(
    conn: &mut PgConnection,
    aoo: &str,
    register: &str,
    day: Date,
) -> sqlx::Result<Vec<RegistrationRow>> {
    let f = Filter {
        aoo: aoo.to_string(),
        register: register.to_string(),
        from: Some(day),
        to: Some(day),
        ..Default::default()
    };
    let mut rows = search(conn, &f, i64::MAX, 0).await?;
    rows.sort_by_key(|r| (r.year, r.number));
    Ok(rows)
}

#[derive(Debug, Clone)]
pub struct DocumentRow {
    pub id: i64,
    pub registration_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i32,
    pub sha256: Vec<u8>,
}

pub async fn documents(conn: &mut PgConnection, registration_id: i64) -> sqlx::Result<Vec<DocumentRow>> {
    sqlx::query_as!(
        DocumentRow,
        "SELECT id, registration_id, file_name, content_type, size_bytes, sha256
         FROM protocol_documents WHERE registration_id = $1 ORDER BY position",
        registration_id
    )
    .fetch_all(&mut *conn)
    .await
}

pub struct DocumentFile {
    pub file_name: String,
    pub content_type: String,
    pub content: Vec<u8>,
    pub registration_id: i64,
}

pub async fn document_file(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<DocumentFile>> {
    sqlx::query_as!(
        DocumentFile,
        r#"SELECT d.file_name, d.content_type, COALESCE(d.content, a.content) AS "content!", d.registration_id
           FROM protocol_documents d LEFT JOIN request_attachments a ON a.id = d.attachment_id
           WHERE d.id = $1"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await
}

/// (year, number) of every registration of an AOO and register, in order, for the gap check.
pub async fn numbers(conn: &mut PgConnection, aoo: &str, register: &str) -> sqlx::Result<Vec<(i32, i32)>> {
    let rows = sqlx::query!(
        "SELECT year, number FROM protocol_registrations WHERE aoo = $1 AND register = $2 ORDER BY year, number",
        aoo,
        register
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.year, r.number)).collect())
}

pub struct StoredDocument {
    pub year: i32,
    pub number: i32,
    pub file_name: String,
    pub sha256: Vec<u8>,
    pub content: Vec<u8>,
}

/// The documents with their bytes, `after` a document id, a batch at a time (bounded memory).
pub async fn documents_batch(
    conn: &mut PgConnection,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<(i64, StoredDocument)>> {
    let rows = sqlx::query!(
        r#"SELECT d.id, r.year, r.number, d.file_name, d.sha256,
                  COALESCE(d.content, a.content) AS "content!"
           FROM protocol_documents d JOIN protocol_registrations r ON r.id = d.registration_id
           LEFT JOIN request_attachments a ON a.id = d.attachment_id
           WHERE d.id > $1 ORDER BY d.id LIMIT $2"#,
        after,
        limit
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.id,
                StoredDocument {
                    year: r.year,
                    number: r.number,
                    file_name: r.file_name,
                    sha256: r.sha256,
                    content: r.content,
                },
            )
        })
        .collect())
}

/// The registrations linked to a pratica, oldest first.
pub async fn of_request(
    conn: &mut PgConnection,
    request_id: i64,
) -> sqlx::Result<Vec<(i64, i32, i32, OffsetDateTime, String)>> {
    let rows = sqlx::query!(
        "SELECT id, year, number, registered_at, direction FROM protocol_registrations
         WHERE request_id = $1 ORDER BY id",
        request_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.year, r.number, r.registered_at, r.direction))
        .collect())
}

pub struct DailyRow {
    pub day: Date,
    pub produced_at: OffsetDateTime,
    pub entries: i32,
    pub csv_sha256: Vec<u8>,
    pub pdf_sha256: Vec<u8>,
}

pub async fn daily_exists(
    conn: &mut PgConnection,
    aoo: &str,
    register: &str,
    day: Date,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS(SELECT 1 FROM protocol_daily_registers WHERE aoo = $1 AND register = $2 AND day = $3) AS "e!""#,
        aoo,
        register,
        day
    )
    .fetch_one(&mut *conn)
    .await
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_daily(
    conn: &mut PgConnection,
    aoo: &str,
    register: &str,
    day: Date,
    now: OffsetDateTime,
    entries: i32,
    csv: &[u8],
    csv_sha256: &[u8],
    pdf: &[u8],
    pdf_sha256: &[u8],
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "INSERT INTO protocol_daily_registers (aoo, register, day, produced_at, entries, csv, csv_sha256, pdf, pdf_sha256)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        aoo,
        register,
        day,
        now,
        entries,
        csv,
        csv_sha256,
        pdf,
        pdf_sha256
    )
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn dailies(
    conn: &mut PgConnection,
    aoo: &str,
    register: &str,
    limit: i64,
) -> sqlx::Result<Vec<DailyRow>> {
    sqlx::query_as!(
        DailyRow,
        "SELECT day, produced_at, entries, csv_sha256, pdf_sha256 FROM protocol_daily_registers
         WHERE aoo = $1 AND register = $2 ORDER BY day DESC LIMIT $3",
        aoo,
        register,
        limit
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn daily_file(
    conn: &mut PgConnection,
    aoo: &str,
    register: &str,
    day: Date,
    pdf: bool,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar!(
        r#"SELECT CASE WHEN $4 THEN pdf ELSE csv END AS "f!" FROM protocol_daily_registers
           WHERE aoo = $1 AND register = $2 AND day = $3"#,
        aoo,
        register,
        day,
        pdf
    )
    .fetch_optional(&mut *conn)
    .await
}

/// The first local day with registrations (where the daily job starts).
pub async fn first_day(conn: &mut PgConnection, aoo: &str, register: &str) -> sqlx::Result<Option<Date>> {
    sqlx::query_scalar!(
        r#"SELECT (min(registered_at) AT TIME ZONE 'Europe/Rome')::date AS "d" FROM protocol_registrations
           WHERE aoo = $1 AND register = $2"#,
        aoo,
        register
    )
    .fetch_one(&mut *conn)
    .await
}
