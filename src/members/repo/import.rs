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
    // One array per column (UNNEST): a single short statement to plan, whatever the batch size.
    let mut c = MemberColumns::default();
    for r in rows {
        c.push(r);
    }
    let inserted = sqlx::query!(
        r#"INSERT INTO members (fiscal_code, surname, name, sex, birth_date, birth_place, birth_province,
               residence_address, residence_cap, residence_municipality, residence_province,
               domicile_address, domicile_cap, domicile_municipality, domicile_province,
               email, pec, phone, section, degree_class, degree_university, degree_year, state_exam_year,
               state_exam_seat, specialisations, registration_number, registration_date, search_key,
               search_key_alt, status, sectors, created_at, updated_at)
           SELECT u.fiscal_code, u.surname, u.name, u.sex, u.birth_date, u.birth_place, u.birth_province,
               u.residence_address, u.residence_cap, u.residence_municipality, u.residence_province,
               u.domicile_address, u.domicile_cap, u.domicile_municipality, u.domicile_province,
               u.email, u.pec, u.phone, u.section, u.degree_class, u.degree_university, u.degree_year,
               u.state_exam_year, u.state_exam_seat, u.specialisations, u.registration_number,
               u.registration_date, u.search_key, u.search_key_alt, u.status,
               CASE WHEN u.sectors = '' THEN '{}'::TEXT[] ELSE string_to_array(u.sectors, ',') END, $32, $32
           FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::DATE[], $6::TEXT[], $7::TEXT[],
                       $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[], $13::TEXT[], $14::TEXT[],
                       $15::TEXT[], $16::TEXT[], $17::TEXT[], $18::TEXT[], $19::TEXT[], $20::TEXT[], $21::TEXT[],
                       $22::INT[], $23::INT[], $24::TEXT[], $25::TEXT[], $26::INT[], $27::DATE[], $28::TEXT[],
                       $29::TEXT[], $30::TEXT[], $31::TEXT[])
                AS u(fiscal_code, surname, name, sex, birth_date, birth_place, birth_province,
                     residence_address, residence_cap, residence_municipality, residence_province,
                     domicile_address, domicile_cap, domicile_municipality, domicile_province, email, pec,
                     phone, section, degree_class, degree_university, degree_year, state_exam_year,
                     state_exam_seat, specialisations, registration_number, registration_date, search_key,
                     search_key_alt, status, sectors)
           RETURNING id, fiscal_code"#,
        &c.fiscal_code,
        &c.surname,
        &c.name,
        &c.sex,
        &c.birth_date,
        &c.birth_place,
        &c.birth_province,
        &c.residence_address,
        &c.residence_cap,
        &c.residence_municipality,
        &c.residence_province,
        &c.domicile_address,
        &c.domicile_cap,
        &c.domicile_municipality,
        &c.domicile_province,
        &c.email,
        &c.pec,
        &c.phone,
        &c.section,
        &c.degree_class,
        &c.degree_university,
        &c.degree_year as &[Option<i32>],
        &c.state_exam_year as &[Option<i32>],
        &c.state_exam_seat,
        &c.specialisations,
        &c.registration_number as &[Option<i32>],
        &c.registration_date as &[Option<Date>],
        &c.search_key,
        &c.search_key_alt,
        &c.status,
        &c.sectors,
        now
    )
    .fetch_all(&mut *conn)
    .await?;
    // Ids in the order of `rows`, whatever order the rows came back in.
    let by_code: std::collections::HashMap<&str, i64> =
        inserted.iter().map(|r| (r.fiscal_code.as_str(), r.id)).collect();
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| {
            by_code
                .get(r.data.fiscal_code.as_str())
                .copied()
                .unwrap_or_default()
        })
        .collect();

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

/// The columns of a batch of new members, one vector each (for UNNEST).
#[derive(Default)]
struct MemberColumns {
    fiscal_code: Vec<String>,
    surname: Vec<String>,
    name: Vec<String>,
    sex: Vec<String>,
    birth_date: Vec<Date>,
    birth_place: Vec<String>,
    birth_province: Vec<String>,
    residence_address: Vec<String>,
    residence_cap: Vec<String>,
    residence_municipality: Vec<String>,
    residence_province: Vec<String>,
    domicile_address: Vec<String>,
    domicile_cap: Vec<String>,
    domicile_municipality: Vec<String>,
    domicile_province: Vec<String>,
    email: Vec<String>,
    pec: Vec<String>,
    phone: Vec<String>,
    section: Vec<String>,
    degree_class: Vec<String>,
    degree_university: Vec<String>,
    degree_year: Vec<Option<i32>>,
    state_exam_year: Vec<Option<i32>>,
    state_exam_seat: Vec<String>,
    specialisations: Vec<String>,
    registration_number: Vec<Option<i32>>,
    registration_date: Vec<Option<Date>>,
    search_key: Vec<String>,
    search_key_alt: Vec<String>,
    status: Vec<String>,
    /// Sorted codes joined by commas (section and sector codes have none).
    sectors: Vec<String>,
}

impl MemberColumns {
    fn push(&mut self, r: &ImportedMember<'_>) {
        let d = r.data;
        self.fiscal_code.push(d.fiscal_code.clone());
        self.surname.push(d.surname.clone());
        self.name.push(d.name.clone());
        self.sex.push(d.sex.clone());
        self.birth_date.push(r.birth_date);
        self.birth_place.push(d.birth_place.clone());
        self.birth_province.push(d.birth_province.clone());
        self.residence_address.push(d.residence_address.clone());
        self.residence_cap.push(d.residence_cap.clone());
        self.residence_municipality.push(d.residence_municipality.clone());
        self.residence_province.push(d.residence_province.clone());
        self.domicile_address.push(d.domicile_address.clone());
        self.domicile_cap.push(d.domicile_cap.clone());
        self.domicile_municipality.push(d.domicile_municipality.clone());
        self.domicile_province.push(d.domicile_province.clone());
        self.email.push(d.email.clone());
        self.pec.push(d.pec.clone());
        self.phone.push(d.phone.clone());
        self.section.push(d.section.clone());
        self.degree_class.push(d.degree_class.clone());
        self.degree_university.push(d.degree_university.clone());
        self.degree_year.push(d.degree_year);
        self.state_exam_year.push(d.state_exam_year);
        self.state_exam_seat.push(d.state_exam_seat.clone());
        self.specialisations.push(d.specialisations.clone());
        self.registration_number.push(r.registration.map(|(n, _)| n));
        self.registration_date.push(r.registration.map(|(_, d)| d));
        self.search_key.push(r.search_key.clone());
        self.search_key_alt.push(r.search_key_alt.clone());
        self.status.push(r.status.to_string());
        let mut sectors = d.sectors.clone();
        sectors.sort();
        self.sectors.push(sectors.join(","));
    }
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
