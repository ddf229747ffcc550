//! Searches of the register: back office with filters, public name search.

use sqlx::PgConnection;
use time::Date;

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

/// The keys starting with `prefix` are those in [low, high): `high` is the prefix with its last
/// character raised by one (past the last ASCII character: the key space's end).
fn prefix_range(prefix: &str) -> (String, String) {
    let low: String = prefix.chars().filter(char::is_ascii).collect();
    let mut high = low.clone();
    match high.pop() {
        Some(c) if (c as u8) < 0x7F => high.push((c as u8 + 1) as char),
        _ => high = "\u{7f}".repeat(low.len() + 1),
    }
    (low, high)
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
    // The prefix as a key range, [prefix, prefix with its last character raised): with parameters for
    // both ends PostgreSQL can keep one generic plan with an index range scan, where `LIKE $1` makes
    // it plan every execution anew. Keys are ASCII (see `model::search_key`).
    let (low, high) = prefix_range(prefix);
    let part = |qb: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, key: &str| {
        qb.push(format!("SELECT {LIST_COLUMNS} FROM members m"));
        push_filters(qb, f);
        // A literal status list, so that the planner uses the partial public indexes.
        qb.push(format!(
            " AND m.status IN ('active', 'suspended') AND m.{key} >= "
        ))
        .push_bind(low.clone())
        .push(format!(" AND m.{key} < "))
        .push_bind(high.clone());
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
        qb.push(" AND NOT (m.search_key >= ")
            .push_bind(low.clone())
            .push(" AND m.search_key < ")
            .push_bind(high.clone())
            .push(") ORDER BY m.search_key_alt, m.id LIMIT ")
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

#[cfg(test)]
mod tests {
    use super::prefix_range;

    #[test]
    fn a_prefix_becomes_a_key_range() {
        assert_eq!(prefix_range("ros"), ("ros".into(), "rot".into()));
        assert_eq!(prefix_range("rossi m"), ("rossi m".into(), "rossi n".into()));
        assert_eq!(prefix_range("d az"), ("d az".into(), "d a{".into()));
        let (low, high) = prefix_range("z");
        assert!("zzzz" >= low.as_str() && "zzzz" < high.as_str() && "{" >= high.as_str());
    }
}
