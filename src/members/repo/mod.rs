//! SQL of the register. Functions take `&mut PgConnection` so they run inside the caller's transaction.

mod bulk;
mod import;
mod photos;
mod search;

pub use bulk::*;
pub use import::*;
pub use photos::*;
pub use search::*;

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use crate::config::AlboConfig;

/// Inserts or renames sections, sectors and special lists from the configuration. Never deletes.
pub async fn sync_catalogue(conn: &mut PgConnection, albo: &AlboConfig) -> sqlx::Result<()> {
    for (i, s) in albo.sections.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO albo_sections (code, name, position) VALUES ($1, $2, $3)
             ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, position = EXCLUDED.position",
            s.code,
            s.name,
            i as i32
        )
        .execute(&mut *conn)
        .await?;
    }
    for (i, s) in albo.sectors.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO albo_sectors (code, name, position) VALUES ($1, $2, $3)
             ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, position = EXCLUDED.position",
            s.code,
            s.name,
            i as i32
        )
        .execute(&mut *conn)
        .await?;
    }
    for (i, s) in albo.special_lists.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO albo_special_lists (code, name, position) VALUES ($1, $2, $3)
             ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, position = EXCLUDED.position",
            s.code,
            s.name,
            i as i32
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Every stored field of a member.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct MemberRow {
    pub id: i64,
    pub fiscal_code: String,
    pub surname: String,
    pub name: String,
    pub sex: String,
    pub birth_date: Date,
    pub birth_place: String,
    pub birth_province: String,
    pub citizenship: String,
    pub residence_address: String,
    pub residence_cap: String,
    pub residence_municipality: String,
    pub residence_province: String,
    pub domicile_address: String,
    pub domicile_cap: String,
    pub domicile_municipality: String,
    pub domicile_province: String,
    pub workplace_name: String,
    pub workplace_address: String,
    pub workplace_municipality: String,
    pub email: String,
    pub pec: String,
    pub phone: String,
    pub section: String,
    pub degree_class: String,
    pub degree_university: String,
    pub degree_year: Option<i32>,
    pub state_exam_year: Option<i32>,
    pub state_exam_seat: String,
    pub specialisations: String,
    pub registration_number: Option<i32>,
    pub registration_date: Option<Date>,
    pub status: String,
    pub public_consents: Vec<String>,
    pub user_id: Option<i64>,
    pub sectors: Vec<String>,
    pub special_lists: Vec<String>,
    pub photo_id: Option<i64>,
}

const MEMBER_COLUMNS: &str = "m.id, m.fiscal_code, m.surname, m.name, m.sex, m.birth_date, m.birth_place,
    m.birth_province, m.citizenship, m.residence_address, m.residence_cap, m.residence_municipality,
    m.residence_province, m.domicile_address, m.domicile_cap, m.domicile_municipality, m.domicile_province,
    m.workplace_name, m.workplace_address, m.workplace_municipality, m.email, m.pec, m.phone, m.section,
    m.degree_class, m.degree_university, m.degree_year, m.state_exam_year, m.state_exam_seat,
    m.specialisations, m.registration_number, m.registration_date, m.status, m.public_consents, m.user_id,
    m.sectors, m.special_lists, m.photo_id";

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<MemberRow>> {
    sqlx::query_as::<_, MemberRow>(&format!("SELECT {MEMBER_COLUMNS} FROM members m WHERE m.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

pub async fn by_user(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<MemberRow>> {
    sqlx::query_as::<_, MemberRow>(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members m WHERE m.user_id = $1"
    ))
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await
}

pub async fn id_by_fiscal_code(conn: &mut PgConnection, fiscal_code: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("SELECT id FROM members WHERE fiscal_code = $1", fiscal_code)
        .fetch_optional(&mut *conn)
        .await
}

/// The fields a new member is created with (status comes from the first event).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct MemberData {
    pub fiscal_code: String,
    pub surname: String,
    pub name: String,
    pub sex: String,
    pub birth_date: Option<Date>,
    pub birth_place: String,
    pub birth_province: String,
    pub citizenship: String,
    pub residence_address: String,
    pub residence_cap: String,
    pub residence_municipality: String,
    pub residence_province: String,
    pub domicile_address: String,
    pub domicile_cap: String,
    pub domicile_municipality: String,
    pub domicile_province: String,
    pub workplace_name: String,
    pub workplace_address: String,
    pub workplace_municipality: String,
    pub email: String,
    pub pec: String,
    pub phone: String,
    pub section: String,
    pub degree_class: String,
    pub degree_university: String,
    pub degree_year: Option<i32>,
    pub state_exam_year: Option<i32>,
    pub state_exam_seat: String,
    pub specialisations: String,
    pub sectors: Vec<String>,
}

pub async fn insert(
    conn: &mut PgConnection,
    d: &MemberData,
    birth_date: Date,
    search_key: &str,
    search_key_alt: &str,
    now: OffsetDateTime,
) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar!(
        "INSERT INTO members (fiscal_code, surname, name, sex, birth_date, birth_place, birth_province, citizenship,
            residence_address, residence_cap, residence_municipality, residence_province,
            domicile_address, domicile_cap, domicile_municipality, domicile_province,
            workplace_name, workplace_address, workplace_municipality, email, pec, phone, section,
            degree_class, degree_university, degree_year, state_exam_year, state_exam_seat, specialisations,
            search_key, search_key_alt, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                 $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $32)
         RETURNING id",
        d.fiscal_code,
        d.surname,
        d.name,
        d.sex,
        birth_date,
        d.birth_place,
        d.birth_province,
        d.citizenship,
        d.residence_address,
        d.residence_cap,
        d.residence_municipality,
        d.residence_province,
        d.domicile_address,
        d.domicile_cap,
        d.domicile_municipality,
        d.domicile_province,
        d.workplace_name,
        d.workplace_address,
        d.workplace_municipality,
        d.email,
        d.pec,
        d.phone,
        d.section,
        d.degree_class,
        d.degree_university,
        d.degree_year,
        d.state_exam_year,
        d.state_exam_seat,
        d.specialisations,
        search_key,
        search_key_alt,
        now
    )
    .fetch_one(&mut *conn)
    .await?;
    set_sectors(conn, id, &d.sectors).await?;
    Ok(id)
}

pub async fn set_sectors(conn: &mut PgConnection, member_id: i64, sectors: &[String]) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM member_sectors WHERE member_id = $1", member_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO member_sectors (member_id, sector_code) SELECT $1, s FROM UNNEST($2::TEXT[]) AS s",
        member_id,
        sectors
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Locks the member row for the rest of the transaction and returns its status.
pub async fn lock_status(conn: &mut PgConnection, member_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("SELECT status FROM members WHERE id = $1 FOR UPDATE", member_id)
        .fetch_optional(&mut *conn)
        .await
}

/// The next registration number (progressive, never reused: the counter only grows).
pub async fn next_registration_number(conn: &mut PgConnection) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        "UPDATE registration_counter SET last_number = last_number + 1 WHERE id RETURNING last_number"
    )
    .fetch_one(&mut *conn)
    .await
}

/// Makes sure the counter is above every number already present (after an import of legacy numbers).
pub async fn raise_registration_counter(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE registration_counter SET last_number =
            GREATEST(last_number, (SELECT COALESCE(MAX(registration_number), 0) FROM members)) WHERE id"
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_registration(
    conn: &mut PgConnection,
    member_id: i64,
    number: i32,
    date: Date,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE members SET registration_number = $2, registration_date = $3 WHERE id = $1",
        member_id,
        number,
        date
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub struct NewEvent<'a> {
    pub member_id: i64,
    pub kind: &'a str,
    pub status_after: &'a str,
    pub effective_date: Date,
    pub until_date: Option<Date>,
    pub reason: &'a str,
    pub resolution_number: &'a str,
    pub resolution_date: Option<Date>,
    pub protocol_number: &'a str,
    pub note: &'a str,
    pub recorded_at: OffsetDateTime,
    pub recorded_by: Option<i64>,
}

pub async fn insert_event(conn: &mut PgConnection, e: &NewEvent<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO member_status_events (member_id, kind, status_after, effective_date, until_date, reason,
             resolution_number, resolution_date, protocol_number, note, recorded_at, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        e.member_id,
        e.kind,
        e.status_after,
        e.effective_date,
        e.until_date,
        e.reason,
        e.resolution_number,
        e.resolution_date,
        e.protocol_number,
        e.note,
        e.recorded_at,
        e.recorded_by
    )
    .fetch_one(&mut *conn)
    .await
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EventRow {
    pub id: i64,
    pub kind: String,
    pub status_after: String,
    pub effective_date: Date,
    pub until_date: Option<Date>,
    pub reason: String,
    pub resolution_number: String,
    pub resolution_date: Option<Date>,
    pub protocol_number: String,
    pub note: String,
    pub recorded_at: OffsetDateTime,
    pub recorded_by: Option<String>,
}

pub async fn events(conn: &mut PgConnection, member_id: i64) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT e.id, e.kind, e.status_after, e.effective_date, e.until_date, e.reason, e.resolution_number,
                  e.resolution_date, e.protocol_number, e.note, e.recorded_at, u.email AS "recorded_by?"
           FROM member_status_events e LEFT JOIN users u ON u.id = e.recorded_by
           WHERE e.member_id = $1 ORDER BY e.id"#,
        member_id
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn insert_consent(
    conn: &mut PgConnection,
    member_id: i64,
    field: &str,
    granted: bool,
    source: &str,
    at: OffsetDateTime,
    by: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO member_consents (member_id, field, granted, source, recorded_at, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
        member_id,
        field,
        granted,
        source,
        at,
        by
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ConsentRow {
    pub field: String,
    pub granted: bool,
    pub source: String,
    pub recorded_at: OffsetDateTime,
}

pub async fn consents(conn: &mut PgConnection, member_id: i64) -> sqlx::Result<Vec<ConsentRow>> {
    sqlx::query_as!(
        ConsentRow,
        "SELECT field, granted, source, recorded_at FROM member_consents WHERE member_id = $1 ORDER BY id",
        member_id
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn link_user(conn: &mut PgConnection, member_id: i64, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE members SET user_id = $2 WHERE id = $1",
        member_id,
        user_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets the place of work.
pub async fn set_workplace(
    conn: &mut PgConnection,
    member_id: i64,
    name: &str,
    address: &str,
    municipality: &str,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE members SET workplace_name = $2, workplace_address = $3, workplace_municipality = $4, updated_at = $5
         WHERE id = $1",
        member_id,
        name,
        address,
        municipality,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Updates contact and address fields by name (names come from `model::CONTACT_FIELDS` only).
pub async fn update_contact_fields(
    conn: &mut PgConnection,
    member_id: i64,
    changes: &[(&'static str, String)],
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    let mut qb = sqlx::QueryBuilder::new("UPDATE members SET updated_at = ");
    qb.push_bind(now);
    for (field, value) in changes {
        qb.push(format!(", {field} = ")).push_bind(value.clone());
    }
    qb.push(" WHERE id = ").push_bind(member_id);
    qb.build().execute(&mut *conn).await?;
    Ok(())
}
