//! SQL of the register. Functions take `&mut PgConnection` so they run inside the caller's transaction.

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

/// Filters of the public and back-office searches. Text values are already normalised.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    /// Normalised name prefix ("rossi ma" matches "Rossi Mario" and "Mario Rossi…").
    pub name_prefix: Option<String>,
    pub registration_number: Option<i32>,
    pub section: Option<String>,
    pub sector: Option<String>,
    /// Lower-case municipality of the professional domicile.
    pub municipality: Option<String>,
    pub statuses: Vec<String>,
    pub registered_from: Option<Date>,
    pub registered_to: Option<Date>,
    pub has_pec: Option<bool>,
}

/// One line of a search result: enough for lists and exports.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListRow {
    pub id: i64,
    pub fiscal_code: String,
    pub registration_number: Option<i32>,
    pub registration_date: Option<Date>,
    pub surname: String,
    pub name: String,
    pub birth_date: Date,
    pub section: String,
    pub sectors: Vec<String>,
    pub special_lists: Vec<String>,
    pub domicile_address: String,
    pub domicile_cap: String,
    pub domicile_municipality: String,
    pub domicile_province: String,
    pub residence_address: String,
    pub residence_cap: String,
    pub residence_municipality: String,
    pub residence_province: String,
    pub email: String,
    pub pec: String,
    pub phone: String,
    pub specialisations: String,
    pub status: String,
    pub public_consents: Vec<String>,
    pub photo_id: Option<i64>,
}

const LIST_COLUMNS: &str =
    "m.id, m.fiscal_code, m.registration_number, m.registration_date, m.surname, m.name,
    m.birth_date, m.section, m.sectors, m.special_lists,
    m.domicile_address, m.domicile_cap, m.domicile_municipality, m.domicile_province,
    m.residence_address, m.residence_cap, m.residence_municipality, m.residence_province,
    m.email, m.pec, m.phone, m.specialisations, m.status, m.public_consents, m.photo_id";

fn push_filters(qb: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, f: &SearchFilter) {
    qb.push(" WHERE TRUE");
    if !f.statuses.is_empty() {
        qb.push(" AND m.status = ANY(")
            .push_bind(f.statuses.clone())
            .push(")");
    }
    if let Some(p) = &f.name_prefix {
        let pattern = format!("{}%", p.replace(['\\', '%', '_'], ""));
        qb.push(" AND (m.search_key LIKE ")
            .push_bind(pattern.clone())
            .push(" OR m.search_key_alt LIKE ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(n) = f.registration_number {
        qb.push(" AND m.registration_number = ").push_bind(n);
    }
    if let Some(s) = &f.section {
        qb.push(" AND m.section = ").push_bind(s.clone());
    }
    if let Some(s) = &f.sector {
        qb.push(
            " AND EXISTS (SELECT 1 FROM member_sectors ms WHERE ms.member_id = m.id AND ms.sector_code = ",
        )
        .push_bind(s.clone())
        .push(")");
    }
    if let Some(mun) = &f.municipality {
        qb.push(" AND lower(m.domicile_municipality) = ")
            .push_bind(mun.clone());
    }
    if let Some(d) = f.registered_from {
        qb.push(" AND m.registration_date >= ").push_bind(d);
    }
    if let Some(d) = f.registered_to {
        qb.push(" AND m.registration_date <= ").push_bind(d);
    }
    match f.has_pec {
        Some(true) => {
            qb.push(" AND m.pec <> ''");
        }
        Some(false) => {
            qb.push(" AND m.pec = ''");
        }
        None => {}
    }
}

/// A page of results, in name order, and whether more follow.
pub async fn search(
    conn: &mut PgConnection,
    f: &SearchFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ListRow>, bool)> {
    let mut qb = sqlx::QueryBuilder::new(format!("SELECT {LIST_COLUMNS} FROM members m"));
    push_filters(&mut qb, f);
    qb.push(" ORDER BY m.search_key, m.id LIMIT ")
        .push_bind(limit + 1)
        .push(" OFFSET ")
        .push_bind(offset);
    let mut rows: Vec<ListRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    Ok((rows, more))
}

/// The public name search. Surname-first matches ("rossi ma…") come first, in name order; name-first
/// matches ("mario ro…") that are not already among them follow. Each part is one ordered range scan of
/// a partial index over the public register, reading only the rows of the requested page.
pub async fn public_name_search(
    conn: &mut PgConnection,
    f: &SearchFilter,
    prefix: &str,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ListRow>, bool)> {
    let pattern = format!("{}%", prefix.replace(['\\', '%', '_'], ""));
    let part = |qb: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, key: &str| {
        qb.push(format!("SELECT {LIST_COLUMNS} FROM members m"));
        push_filters(qb, f);
        // A literal status list, so that the planner uses the partial public indexes.
        qb.push(format!(
            " AND m.status IN ('active', 'suspended') AND m.{key} LIKE "
        ))
        .push_bind(pattern.clone());
    };
    let mut qb = sqlx::QueryBuilder::new("");
    part(&mut qb, "search_key");
    qb.push(" ORDER BY m.search_key, m.id LIMIT ")
        .push_bind(limit + 1)
        .push(" OFFSET ")
        .push_bind(offset);
    let mut rows: Vec<ListRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
    if rows.len() as i64 <= limit {
        let surname_total = if rows.is_empty() {
            let mut qb = sqlx::QueryBuilder::new("SELECT count(*) FROM (");
            part(&mut qb, "search_key");
            qb.push(") t");
            qb.build_query_scalar::<i64>().fetch_one(&mut *conn).await?
        } else {
            offset + rows.len() as i64
        };
        let mut qb = sqlx::QueryBuilder::new("");
        part(&mut qb, "search_key_alt");
        qb.push(" AND m.search_key NOT LIKE ")
            .push_bind(pattern.clone())
            .push(" ORDER BY m.search_key_alt, m.id LIMIT ")
            .push_bind(limit + 1 - rows.len() as i64)
            .push(" OFFSET ")
            .push_bind((offset - surname_total).max(0));
        rows.extend(qb.build_query_as::<ListRow>().fetch_all(&mut *conn).await?);
    }
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    Ok((rows, more))
}

/// Every row matching, for exports (streamed by the caller page by page).
pub async fn count(conn: &mut PgConnection, f: &SearchFilter) -> sqlx::Result<i64> {
    let mut qb = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM members m");
    push_filters(&mut qb, f);
    qb.build_query_scalar().fetch_one(&mut *conn).await
}

/// Distinct municipalities of professional domicile, for the filter list.
pub async fn municipalities(conn: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT domicile_municipality AS "m!" FROM members
           WHERE domicile_municipality <> '' AND status IN ('active', 'suspended') ORDER BY 1"#
    )
    .fetch_all(&mut *conn)
    .await
}

/// A member of a bulk load (demo data, benchmarks): registered or not, with an optional final event.
pub struct BulkMember {
    pub data: MemberData,
    pub birth_date: Date,
    /// Registration date; `None` leaves the member an applicant.
    pub registered: Option<Date>,
    /// An event after registration: (kind, status after, reason).
    pub then: Option<(&'static str, &'static str, &'static str)>,
    /// Optional public fields consented to (recorded in member_consents with source "import").
    pub consents: Vec<String>,
}

/// Inserts many members in a few statements (batches of 1,000). Registration numbers come from the
/// counter, as for single registrations. Returns the new ids.
pub async fn bulk_insert(
    conn: &mut PgConnection,
    rows: &[BulkMember],
    now: OffsetDateTime,
) -> sqlx::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(1000) {
        let registered = chunk.iter().filter(|r| r.registered.is_some()).count() as i32;
        let last = sqlx::query_scalar!(
            "UPDATE registration_counter SET last_number = last_number + $1 WHERE id RETURNING last_number",
            registered
        )
        .fetch_one(&mut *conn)
        .await?;
        let mut next_number = last - registered;
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO members (fiscal_code, surname, name, sex, birth_date, birth_place, birth_province,
                residence_address, residence_cap, residence_municipality, residence_province,
                domicile_address, domicile_cap, domicile_municipality, domicile_province,
                email, pec, phone, section, degree_class, degree_university, degree_year, state_exam_year,
                state_exam_seat, registration_number, registration_date, search_key, search_key_alt,
                created_at, updated_at, status, public_consents, sectors) ",
        );
        // Status and consents are written with the row as the events and consents inserted below will
        // make them, so the triggers find nothing to change (a bulk load stays fast).
        qb.push_values(chunk, |mut b, r| {
            let d = &r.data;
            let number = r.registered.map(|_| {
                next_number += 1;
                next_number
            });
            b.push_bind(d.fiscal_code.clone())
                .push_bind(d.surname.clone())
                .push_bind(d.name.clone())
                .push_bind(d.sex.clone())
                .push_bind(r.birth_date)
                .push_bind(d.birth_place.clone())
                .push_bind(d.birth_province.clone())
                .push_bind(d.residence_address.clone())
                .push_bind(d.residence_cap.clone())
                .push_bind(d.residence_municipality.clone())
                .push_bind(d.residence_province.clone())
                .push_bind(d.domicile_address.clone())
                .push_bind(d.domicile_cap.clone())
                .push_bind(d.domicile_municipality.clone())
                .push_bind(d.domicile_province.clone())
                .push_bind(d.email.clone())
                .push_bind(d.pec.clone())
                .push_bind(d.phone.clone())
                .push_bind(d.section.clone())
                .push_bind(d.degree_class.clone())
                .push_bind(d.degree_university.clone())
                .push_bind(d.degree_year)
                .push_bind(d.state_exam_year)
                .push_bind(d.state_exam_seat.clone())
                .push_bind(number)
                .push_bind(r.registered)
                .push_bind(super::model::search_key(&format!("{} {}", d.surname, d.name)))
                .push_bind(super::model::search_key(&format!("{} {}", d.name, d.surname)))
                .push_bind(now)
                .push_bind(now)
                .push_bind(match (r.registered, r.then) {
                    (None, _) => "applicant",
                    (Some(_), None) => "active",
                    (Some(_), Some((_, status, _))) => status,
                })
                .push_bind(r.consents.clone())
                .push_bind({
                    let mut codes = d.sectors.clone();
                    codes.sort();
                    codes
                });
        });
        qb.push(" RETURNING id");
        let chunk_ids: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *conn).await?;
        // Sectors, then the status events in order (the trigger keeps members.status in step).
        let (mut s_ids, mut s_codes) = (vec![], vec![]);
        for (id, r) in chunk_ids.iter().zip(chunk) {
            for s in &r.data.sectors {
                s_ids.push(*id);
                s_codes.push(s.clone());
            }
        }
        sqlx::query!(
            "INSERT INTO member_sectors (member_id, sector_code) SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[])",
            &s_ids,
            &s_codes
        )
        .execute(&mut *conn)
        .await?;
        let mut events: Vec<(i64, &str, &str, Date, &str)> = vec![];
        for (id, r) in chunk_ids.iter().zip(chunk) {
            let applied = r.registered.unwrap_or(r.birth_date) - time::Duration::days(30);
            events.push((*id, "application", "applicant", applied, ""));
            if let Some(reg) = r.registered {
                events.push((*id, "registration", "active", reg, ""));
                if let Some((kind, status, reason)) = r.then {
                    events.push((*id, kind, status, reg + time::Duration::days(365), reason));
                }
            }
        }
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO member_status_events (member_id, kind, status_after, effective_date, reason,
                resolution_number, resolution_date, recorded_at) ",
        );
        qb.push_values(&events, |mut b, (id, kind, status, date, reason)| {
            let resolution = if *kind == "application" {
                String::new()
            } else {
                format!("{}/{}", id % 90 + 1, date.year())
            };
            let resolution_date = (*kind != "application").then_some(*date);
            b.push_bind(*id)
                .push_bind(kind.to_string())
                .push_bind(status.to_string())
                .push_bind(*date)
                .push_bind(reason.to_string())
                .push_bind(resolution)
                .push_bind(resolution_date)
                .push_bind(now);
        });
        qb.build().execute(&mut *conn).await?;
        ids.extend(chunk_ids);
    }
    Ok(ids)
}

/// Which of these codici fiscali are already in the register.
pub async fn existing_fiscal_codes(conn: &mut PgConnection, codes: &[String]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "SELECT fiscal_code FROM members WHERE fiscal_code = ANY($1)",
        codes
    )
    .fetch_all(&mut *conn)
    .await
}

/// Records consents of a bulk load: (member id, field) pairs.
pub async fn bulk_consents(
    conn: &mut PgConnection,
    ids: &[i64],
    fields: &[String],
    source: &str,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO member_consents (member_id, field, granted, source, recorded_at)
         SELECT id, field, TRUE, $3, $4 FROM UNNEST($1::BIGINT[], $2::TEXT[]) AS c(id, field)",
        ids,
        fields,
        source,
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

/// VACUUM cannot run in a transaction: this takes the pool, not a connection in a transaction.
pub async fn vacuum_analyze(pool: &sqlx::PgPool) -> sqlx::Result<()> {
    sqlx::query("VACUUM (ANALYZE) members, member_sectors, member_status_events, member_consents")
        .execute(pool)
        .await?;
    Ok(())
}

pub struct NewPhoto<'a> {
    pub member_id: i64,
    pub jpeg: &'a [u8],
    pub sha256: &'a [u8],
    pub width: i32,
    pub height: i32,
    pub at: OffsetDateTime,
    pub by: i64,
}

pub async fn insert_photo(conn: &mut PgConnection, p: &NewPhoto<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO member_photos (member_id, image, sha256, width, height, uploaded_at, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        p.member_id,
        p.jpeg,
        p.sha256,
        p.width,
        p.height,
        p.at,
        p.by
    )
    .fetch_one(&mut *conn)
    .await
}

pub async fn set_photo(
    conn: &mut PgConnection,
    member_id: i64,
    photo_id: i64,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE members SET photo_id = $2, updated_at = $3 WHERE id = $1
         AND EXISTS (SELECT 1 FROM member_photos p WHERE p.id = $2 AND p.member_id = $1)",
        member_id,
        photo_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A photo with the member it belongs to.
pub async fn photo(conn: &mut PgConnection, photo_id: i64) -> sqlx::Result<Option<(i64, Vec<u8>)>> {
    let row = sqlx::query!(
        "SELECT member_id, image FROM member_photos WHERE id = $1",
        photo_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.member_id, r.image)))
}

/// The approved photo of a member of the public register who consented to show it.
pub async fn public_photo(
    conn: &mut PgConnection,
    registration_number: i32,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar!(
        "SELECT p.image FROM members m JOIN member_photos p ON p.id = m.photo_id
         WHERE m.registration_number = $1 AND m.status IN ('active', 'suspended') AND 'photo' = ANY(m.public_consents)",
        registration_number
    )
    .fetch_optional(&mut *conn)
    .await
}
