//! SQL of payment positions and receipts.

use rust_decimal::Decimal;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

pub async fn next_iuv_base(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT nextval('payment_iuv_seq') AS "n!""#)
        .fetch_one(conn)
        .await
}

pub struct NewPositionRow<'a> {
    pub member_id: i64,
    pub kind: &'a str,
    pub year: i32,
    pub description: &'a str,
    pub amount: Decimal,
    pub notice_code: &'a str,
    pub iuv: &'a str,
    pub due_date: Date,
    pub request_id: Option<i64>,
    pub created_at: OffsetDateTime,
    pub created_by: Option<i64>,
}

/// Inserts a position; `None` when an annual fee for that member and year exists already.
pub async fn insert(conn: &mut PgConnection, p: &NewPositionRow<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "INSERT INTO payment_positions (member_id, kind, year, description, amount, notice_code, iuv, due_date,
             request_id, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (member_id, year) WHERE kind = 'annual_fee' DO NOTHING
         RETURNING id",
        p.member_id,
        p.kind,
        p.year,
        p.description,
        p.amount,
        p.notice_code,
        p.iuv,
        p.due_date,
        p.request_id,
        p.created_at,
        p.created_by
    )
    .fetch_optional(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct PositionRow {
    pub id: i64,
    pub member_id: i64,
    pub member_name: String,
    pub fiscal_code: String,
    pub registration_number: Option<i32>,
    pub kind: String,
    pub year: i32,
    pub description: String,
    pub amount: Decimal,
    pub notice_code: String,
    pub iuv: String,
    pub due_date: Date,
    pub request_id: Option<i64>,
    pub created_at: OffsetDateTime,
    pub receipt_id: Option<String>,
    pub paid_amount: Option<Decimal>,
    pub paid_at: Option<OffsetDateTime>,
    pub psp: Option<String>,
}

macro_rules! select_positions {
    ($where:literal, $($arg:expr),*) => {
        sqlx::query_as!(
            PositionRow,
            r#"SELECT p.id, p.member_id, m.surname || ' ' || m.name AS "member_name!", m.fiscal_code,
                      m.registration_number, p.kind, p.year, p.description, p.amount, p.notice_code, p.iuv,
                      p.due_date, p.request_id, p.created_at,
                      r.receipt_id AS "receipt_id?", r.amount AS "paid_amount?", r.paid_at AS "paid_at?",
                      r.psp AS "psp?"
               FROM payment_positions p
               JOIN members m ON m.id = p.member_id
               LEFT JOIN payment_receipts r ON r.position_id = p.id
               WHERE "# + $where,
            $($arg),*
        )
    };
}

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<PositionRow>> {
    select_positions!("p.id = $1", id).fetch_optional(conn).await
}

/// The position with this notice code, locked against a concurrent reconciliation.
pub async fn by_notice_for_update(
    conn: &mut PgConnection,
    notice_code: &str,
) -> sqlx::Result<Option<PositionRow>> {
    select_positions!("p.notice_code = $1 FOR UPDATE OF p", notice_code)
        .fetch_optional(conn)
        .await
}

pub async fn of_member(conn: &mut PgConnection, member_id: i64) -> sqlx::Result<Vec<PositionRow>> {
    select_positions!("p.member_id = $1 ORDER BY p.id DESC", member_id)
        .fetch_all(conn)
        .await
}

pub async fn of_request(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Vec<PositionRow>> {
    select_positions!("p.request_id = $1 ORDER BY p.id", request_id)
        .fetch_all(conn)
        .await
}

/// Newest positions, optionally only unpaid ones.
pub async fn latest(
    conn: &mut PgConnection,
    unpaid_only: bool,
    limit: i64,
) -> sqlx::Result<Vec<PositionRow>> {
    select_positions!(
        "(NOT $1 OR r.id IS NULL) ORDER BY p.id DESC LIMIT $2",
        unpaid_only,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Unpaid positions past their due date (arrears), by member.
pub async fn arrears(conn: &mut PgConnection, today: Date) -> sqlx::Result<Vec<PositionRow>> {
    select_positions!(
        "r.id IS NULL AND p.due_date < $1 ORDER BY m.surname, m.name, p.member_id, p.due_date",
        today
    )
    .fetch_all(conn)
    .await
}

/// Active members without an annual fee position for the year: (id, section, registration date).
pub async fn members_without_annual_fee(
    conn: &mut PgConnection,
    year: i32,
) -> sqlx::Result<Vec<(i64, String, Option<Date>)>> {
    let rows = sqlx::query!(
        "SELECT m.id, m.section, m.registration_date FROM members m
         WHERE m.status = 'active'
           AND NOT EXISTS (SELECT 1 FROM payment_positions p
                           WHERE p.member_id = m.id AND p.kind = 'annual_fee' AND p.year = $1)
         ORDER BY m.id",
        year
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.section, r.registration_date))
        .collect())
}

pub struct NewReceipt<'a> {
    pub position_id: i64,
    pub receipt_id: &'a str,
    pub amount: Decimal,
    pub paid_at: OffsetDateTime,
    pub psp: &'a str,
    pub source: &'a str,
    pub recorded_at: OffsetDateTime,
    pub recorded_by: Option<i64>,
}

pub async fn insert_receipt(conn: &mut PgConnection, r: &NewReceipt<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO payment_receipts (position_id, receipt_id, amount, paid_at, psp, source, recorded_at, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        r.position_id,
        r.receipt_id,
        r.amount,
        r.paid_at,
        r.psp,
        r.source,
        r.recorded_at,
        r.recorded_by
    )
    .fetch_one(conn)
    .await
}
