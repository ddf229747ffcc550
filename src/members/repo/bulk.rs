//! Bulk loads (demo data, benchmarks).

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::MemberData;

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
                .push_bind(crate::members::model::search_key(&format!(
                    "{} {}",
                    d.surname, d.name
                )))
                .push_bind(crate::members::model::search_key(&format!(
                    "{} {}",
                    d.name, d.surname
                )))
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

/// VACUUM cannot run in a transaction: this takes the pool, not a connection in a transaction.
pub async fn vacuum_analyze(pool: &sqlx::PgPool) -> sqlx::Result<()> {
    sqlx::query("VACUUM (ANALYZE) members, member_sectors, member_status_events, member_consents")
        .execute(pool)
        .await?;
    Ok(())
}
