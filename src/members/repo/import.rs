//! SQL of member imports: the lookup of a batch, the multi-row insert of new members with their status
//! history, and the update of the fields an import may change.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::{MEMBER_COLUMNS, MemberData, MemberRow};

/// The members a batch may concern: same codice fiscale or same registration number.
pub async fn existing_for_import(
    conn: &mut PgConnection,
    fiscal_codes: &[String],
    numbers: &[i32],
) -> sqlx::Result<Vec<MemberRow>> {
    sqlx::query_as::<_, MemberRow>(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members m
         WHERE m.fiscal_code = ANY($1) OR m.registration_number = ANY($2)"
    ))
    .bind(fiscal_codes)
    .bind(numbers)
    .fetch_all(&mut *conn)
    .await
}

/// One status event of an imported member.
pub struct ImportedEvent {
    pub kind: &'static str,
    pub status_after: &'static str,
    pub effective_date: Date,
    pub reason: String,
    pub resolution_number: String,
}

/// A new member from an import, with the registration it had and its history.
pub struct ImportedMember<'a> {
    pub data: &'a MemberData,
    pub birth_date: Date,
    pub registration: Option<(i32, Date)>,
    pub status: &'static str,
    pub events: Vec<ImportedEvent>,
    pub search_key: String,
    pub search_key_alt: String,
}

/// Inserts the members, their sectors and their events in three statements. Status and sectors are
/// written with the row as the events and sectors will make them, so the triggers find nothing to do.
pub async fn insert_imported(
    conn: &mut PgConnection,
    rows: &[ImportedMember<'_>],
    now: OffsetDateTime,
    by: Option<i64>,
    note: &str,
) -> sqlx::Result<Vec<i64>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let mut qb = sqlx::QueryBuilder::new(
        "INSERT INTO members (fiscal_code, surname, name, sex, birth_date, birth_place, birth_province,
            residence_address, residence_cap, residence_municipality, residence_province,
            domicile_address, domicile_cap, domicile_municipality, domicile_province,
            email, pec, phone, section, degree_class, degree_university, degree_year, state_exam_year,
            state_exam_seat, specialisations, registration_number, registration_date, search_key,
            search_key_alt, created_at, updated_at, status, sectors) ",
    );
    qb.push_values(rows, |mut b, r| {
        let d = r.data;
        let mut sectors = d.sectors.clone();
        sectors.sort();
        b.push_bind(&d.fiscal_code)
            .push_bind(&d.surname)
            .push_bind(&d.name)
            .push_bind(&d.sex)
            .push_bind(r.birth_date)
            .push_bind(&d.birth_place)
            .push_bind(&d.birth_province)
            .push_bind(&d.residence_address)
            .push_bind(&d.residence_cap)
            .push_bind(&d.residence_municipality)
            .push_bind(&d.residence_province)
            .push_bind(&d.domicile_address)
            .push_bind(&d.domicile_cap)
            .push_bind(&d.domicile_municipality)
            .push_bind(&d.domicile_province)
            .push_bind(&d.email)
            .push_bind(&d.pec)
            .push_bind(&d.phone)
            .push_bind(&d.section)
            .push_bind(&d.degree_class)
            .push_bind(&d.degree_university)
            .push_bind(d.degree_year)
            .push_bind(d.state_exam_year)
            .push_bind(&d.state_exam_seat)
            .push_bind(&d.specialisations)
            .push_bind(r.registration.map(|(n, _)| n))
            .push_bind(r.registration.map(|(_, d)| d))
            .push_bind(&r.search_key)
            .push_bind(&r.search_key_alt)
            .push_bind(now)
            .push_bind(now)
            .push_bind(r.status)
            .push_bind(sectors);
    });
    qb.push(" RETURNING id");
    let ids: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *conn).await?;

    let (mut s_ids, mut s_codes) = (vec![], vec![]);
    let mut ev = EventColumns::default();
    for (id, r) in ids.iter().zip(rows) {
        for s in &r.data.sectors {
            s_ids.push(*id);
            s_codes.push(s.clone());
        }
        for e in &r.events {
            ev.member_id.push(*id);
            ev.kind.push(e.kind.to_string());
            ev.status_after.push(e.status_after.to_string());
            ev.effective_date.push(e.effective_date);
            ev.reason.push(e.reason.clone());
            ev.resolution_number.push(e.resolution_number.clone());
        }
    }
    sqlx::query!(
        "INSERT INTO member_sectors (member_id, sector_code) SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[])",
        &s_ids,
        &s_codes
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO member_status_events (member_id, kind, status_after, effective_date, reason,
             resolution_number, note, recorded_at, recorded_by)
         SELECT e.member_id, e.kind, e.status_after, e.effective_date, e.reason, e.resolution_number, $7, $8, $9
         FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::DATE[], $5::TEXT[], $6::TEXT[])
              WITH ORDINALITY AS e(member_id, kind, status_after, effective_date, reason, resolution_number, n)
         ORDER BY e.n",
        &ev.member_id,
        &ev.kind,
        &ev.status_after,
        &ev.effective_date,
        &ev.reason,
        &ev.resolution_number,
        note,
        now,
        by
    )
    .execute(&mut *conn)
    .await?;
    Ok(ids)
}

#[derive(Default)]
struct EventColumns {
    member_id: Vec<i64>,
    kind: Vec<String>,
    status_after: Vec<String>,
    effective_date: Vec<Date>,
    reason: Vec<String>,
    resolution_number: Vec<String>,
}

/// The fields an import may change on an existing member; `None` leaves the field as it is.
#[derive(Debug, Default)]
pub struct ImportUpdate {
    pub birth_province: Option<String>,
    pub residence_address: Option<String>,
    pub residence_cap: Option<String>,
    pub residence_municipality: Option<String>,
    pub residence_province: Option<String>,
    pub domicile_address: Option<String>,
    pub domicile_cap: Option<String>,
    pub domicile_municipality: Option<String>,
    pub domicile_province: Option<String>,
    pub email: Option<String>,
    pub pec: Option<String>,
    pub phone: Option<String>,
    pub degree_class: Option<String>,
    pub degree_university: Option<String>,
    pub degree_year: Option<i32>,
    pub state_exam_year: Option<i32>,
    pub state_exam_seat: Option<String>,
    pub specialisations: Option<String>,
}

pub async fn update_imported(
    conn: &mut PgConnection,
    id: i64,
    u: &ImportUpdate,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE members SET
             birth_province = COALESCE($2, birth_province),
             residence_address = COALESCE($3, residence_address),
             residence_cap = COALESCE($4, residence_cap),
             residence_municipality = COALESCE($5, residence_municipality),
             residence_province = COALESCE($6, residence_province),
             domicile_address = COALESCE($7, domicile_address),
             domicile_cap = COALESCE($8, domicile_cap),
             domicile_municipality = COALESCE($9, domicile_municipality),
             domicile_province = COALESCE($10, domicile_province),
             email = COALESCE($11, email),
             pec = COALESCE($12, pec),
             phone = COALESCE($13, phone),
             degree_class = COALESCE($14, degree_class),
             degree_university = COALESCE($15, degree_university),
             degree_year = COALESCE($16, degree_year),
             state_exam_year = COALESCE($17, state_exam_year),
             state_exam_seat = COALESCE($18, state_exam_seat),
             specialisations = COALESCE($19, specialisations),
             updated_at = $20
         WHERE id = $1",
        id,
        u.birth_province,
        u.residence_address,
        u.residence_cap,
        u.residence_municipality,
        u.residence_province,
        u.domicile_address,
        u.domicile_cap,
        u.domicile_municipality,
        u.domicile_province,
        u.email,
        u.pec,
        u.phone,
        u.degree_class,
        u.degree_university,
        u.degree_year,
        u.state_exam_year,
        u.state_exam_seat,
        u.specialisations,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
