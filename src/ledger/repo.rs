//! SQL of the ledger.

use rust_decimal::Decimal;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

pub async fn insert_year(
    conn: &mut PgConnection,
    year: i32,
    presumed: Decimal,
    at: OffsetDateTime,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "INSERT INTO ledger_years (year, presumed_result, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        year,
        presumed,
        at
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The year's state: (presumed result, approved, provisional, closed), the year row locked.
pub async fn year_state(
    conn: &mut PgConnection,
    year: i32,
) -> sqlx::Result<Option<(Decimal, bool, bool, bool)>> {
    let row = sqlx::query!(
        r#"SELECT y.presumed_result,
                  EXISTS (SELECT 1 FROM ledger_year_events e WHERE e.year = y.year AND e.kind = 'budget_approved') AS "approved!",
                  EXISTS (SELECT 1 FROM ledger_year_events e WHERE e.year = y.year AND e.kind = 'provisional') AS "provisional!",
                  EXISTS (SELECT 1 FROM ledger_year_events e WHERE e.year = y.year AND e.kind = 'closed') AS "closed!"
           FROM ledger_years y WHERE y.year = $1 FOR UPDATE"#,
        year
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.presumed_result, r.approved, r.provisional, r.closed)))
}

pub async fn insert_year_event(
    conn: &mut PgConnection,
    year: i32,
    kind: &str,
    resolution: &str,
    at: OffsetDateTime,
    by: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO ledger_year_events (year, kind, resolution, at, by_user) VALUES ($1, $2, $3, $4, $5)",
        year,
        kind,
        resolution,
        at,
        by
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub struct NewChapter<'a> {
    pub year: i32,
    pub side: &'a str,
    pub title: i16,
    pub category: &'a str,
    pub code: &'a str,
    pub name: &'a str,
    pub reserve_fund: bool,
}

/// `None` when the code exists already for that year and side.
pub async fn insert_chapter(conn: &mut PgConnection, c: &NewChapter<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "INSERT INTO ledger_chapters (year, side, title, category, code, name, reserve_fund)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (year, side, code) DO NOTHING RETURNING id",
        c.year,
        c.side,
        c.title,
        c.category,
        c.code,
        c.name,
        c.reserve_fund
    )
    .fetch_optional(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct ChapterRow {
    pub id: i64,
    pub year: i32,
    pub side: String,
    pub title: i16,
    pub code: String,
    pub name: String,
}

/// The chapter, locked: operations on one chapter are serialised, so two of them never both take its
/// last euros.
pub async fn chapter_for_update(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ChapterRow>> {
    sqlx::query_as!(
        ChapterRow,
        "SELECT id, year, side, title, code, name FROM ledger_chapters WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Competence figures of a chapter: (allocated incl. variations, committed incl. bookings).
pub async fn competence(conn: &mut PgConnection, chapter_id: i64) -> sqlx::Result<(Decimal, Decimal)> {
    let row = sqlx::query!(
        r#"SELECT COALESCE(SUM(e.amount) FILTER (WHERE e.kind IN ('allocation', 'variation')), 0) AS "allocated!",
                  COALESCE(SUM(e.amount) FILTER (WHERE e.kind IN ('impegno', 'accertamento')
                      OR (e.kind = 'prenotazione' AND NOT EXISTS (
                          SELECT 1 FROM ledger_entries c WHERE c.parent_id = e.id AND c.kind = 'impegno'))), 0)
                  - COALESCE(SUM(e.amount) FILTER (WHERE e.kind = 'economia'), 0) AS "used!"
           FROM ledger_entries e WHERE e.chapter_id = $1 AND NOT e.residui"#,
        chapter_id
    )
    .fetch_one(conn)
    .await?;
    Ok((row.allocated, row.used))
}

/// Impegni of a chapter in the month of `day` (the provisional budget's twelfths).
pub async fn committed_in_month(
    conn: &mut PgConnection,
    chapter_id: i64,
    day: Date,
) -> sqlx::Result<Decimal> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE(SUM(amount), 0) AS "n!" FROM ledger_entries
           WHERE chapter_id = $1 AND kind = 'impegno' AND NOT residui
             AND date_trunc('month', entry_date) = date_trunc('month', $2::date)"#,
        chapter_id,
        day
    )
    .fetch_one(conn)
    .await
}

/// The last approved allocation of the same chapter (same side and code) in the previous year.
pub async fn previous_allocation(conn: &mut PgConnection, c: &ChapterRow) -> sqlx::Result<Decimal> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE(SUM(e.amount), 0) AS "n!" FROM ledger_entries e
           JOIN ledger_chapters p ON p.id = e.chapter_id
           WHERE p.year = $1 - 1 AND p.side = $2 AND p.code = $3
             AND e.kind IN ('allocation', 'variation') AND NOT e.residui"#,
        c.year,
        c.side,
        c.code
    )
    .fetch_one(conn)
    .await
}

/// Allocations of a year by side and title: (side, title, amount).
pub async fn allocations_by_title(
    conn: &mut PgConnection,
    year: i32,
) -> sqlx::Result<Vec<(String, i16, Decimal)>> {
    let rows = sqlx::query!(
        r#"SELECT c.side, c.title, COALESCE(SUM(e.amount), 0) AS "amount!"
           FROM ledger_chapters c LEFT JOIN ledger_entries e ON e.chapter_id = c.id
                AND e.kind IN ('allocation', 'variation') AND NOT e.residui
           WHERE c.year = $1 GROUP BY c.side, c.title"#,
        year
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.side, r.title, r.amount)).collect())
}

pub struct NewEntry<'a> {
    pub chapter_id: i64,
    pub kind: &'a str,
    pub residui: bool,
    pub parent_id: Option<i64>,
    pub amount: Decimal,
    pub cash_amount: Decimal,
    pub entry_date: Date,
    pub party: &'a str,
    pub party_code: &'a str,
    pub iban: &'a str,
    pub cig: &'a str,
    pub cup: &'a str,
    pub reason: &'a str,
    pub authorised_by: &'a str,
    pub resolution: &'a str,
    pub countersigned_by: Option<i64>,
    pub payment_receipt_id: Option<i64>,
    pub recorded_at: OffsetDateTime,
    pub recorded_by: Option<i64>,
}

impl<'a> NewEntry<'a> {
    /// An entry of `kind` with nothing else: no party, codes, parent, authorisation or link; the
    /// operation sets what it has.
    pub fn new(
        chapter_id: i64,
        kind: &'a str,
        amount: Decimal,
        entry_date: Date,
        reason: &'a str,
        recorded_at: OffsetDateTime,
        recorded_by: i64,
    ) -> Self {
        NewEntry {
            chapter_id,
            kind,
            residui: false,
            parent_id: None,
            amount,
            cash_amount: Decimal::ZERO,
            entry_date,
            party: "",
            party_code: "",
            iban: "",
            cig: "",
            cup: "",
            reason,
            authorised_by: "",
            resolution: "",
            countersigned_by: None,
            payment_receipt_id: None,
            recorded_at,
            recorded_by: Some(recorded_by),
        }
    }
}

pub async fn insert_entry(conn: &mut PgConnection, e: &NewEntry<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO ledger_entries (chapter_id, kind, residui, parent_id, amount, cash_amount, entry_date, party,
             party_code, iban, cig, cup, reason, authorised_by, resolution, countersigned_by, recorded_at, recorded_by,
             payment_receipt_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id",
        e.chapter_id,
        e.kind,
        e.residui,
        e.parent_id,
        e.amount,
        e.cash_amount,
        e.entry_date,
        e.party,
        e.party_code,
        e.iban,
        e.cig,
        e.cup,
        e.reason,
        e.authorised_by,
        e.resolution,
        e.countersigned_by,
        e.recorded_at,
        e.recorded_by,
        e.payment_receipt_id
    )
    .fetch_one(conn)
    .await
}

/// The revenue chapter of a year with this code, locked.
pub async fn revenue_chapter_for_update(
    conn: &mut PgConnection,
    year: i32,
    code: &str,
) -> sqlx::Result<Option<ChapterRow>> {
    sqlx::query_as!(
        ChapterRow,
        "SELECT id, year, side, title, code, name FROM ledger_chapters
         WHERE year = $1 AND side = 'revenue' AND code = $2 FOR UPDATE",
        year,
        code
    )
    .fetch_optional(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct EntryRow {
    pub id: i64,
    pub chapter_id: i64,
    pub kind: String,
    pub residui: bool,
    pub amount: Decimal,
    pub party: String,
    pub party_code: String,
    pub iban: String,
    pub cig: String,
    pub cup: String,
    pub reason: String,
    /// What the children of this entry already take (riscossioni of an accertamento, liquidazioni of an
    /// impegno, pagamenti of a liquidazione).
    pub used: Decimal,
}

/// An entry with what its children take, locked.
pub async fn entry_for_update(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<EntryRow>> {
    sqlx::query_as!(
        EntryRow,
        r#"SELECT e.id, e.chapter_id, e.kind, e.residui, e.amount, e.party, e.party_code, e.iban, e.cig, e.cup,
                  e.reason,
                  (SELECT COALESCE(SUM(c.amount), 0) FROM ledger_entries c WHERE c.parent_id = e.id) AS "used!"
           FROM ledger_entries e WHERE e.id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct ReceiptFacts {
    pub id: i64,
    pub kind: String,
    pub residui: bool,
    pub amount: Decimal,
    pub entry_date: Date,
    pub party: String,
    pub party_code: String,
    pub reason: String,
    pub year: i32,
    pub chapter: String,
}

pub async fn receipt_facts(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ReceiptFacts>> {
    sqlx::query_as!(
        ReceiptFacts,
        r#"SELECT e.id, e.kind, e.residui, e.amount, e.entry_date, e.party, e.party_code, e.reason, c.year,
                  c.code || ' ' || c.name AS "chapter!"
           FROM ledger_entries e JOIN ledger_chapters c ON c.id = e.chapter_id WHERE e.id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn petty_cash_spent(conn: &mut PgConnection, year: i32) -> sqlx::Result<Decimal> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE(SUM(amount), 0) AS "n!" FROM ledger_petty_cash WHERE year = $1"#,
        year
    )
    .fetch_one(conn)
    .await
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_petty_cash(
    conn: &mut PgConnection,
    year: i32,
    day: Date,
    amount: Decimal,
    payee: &str,
    reason: &str,
    at: OffsetDateTime,
    by: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO ledger_petty_cash (year, entry_date, amount, payee, reason, recorded_at, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        year,
        day,
        amount,
        payee,
        reason,
        at,
        by
    )
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone)]
pub struct PettyCashRow {
    pub id: i64,
    pub entry_date: Date,
    pub amount: Decimal,
    pub payee: String,
    pub reason: String,
}

/// The expenses between two dates (inclusive), in order.
pub async fn petty_cash_between(
    conn: &mut PgConnection,
    from: Date,
    to: Date,
) -> sqlx::Result<Vec<PettyCashRow>> {
    sqlx::query_as!(
        PettyCashRow,
        "SELECT id, entry_date, amount, payee, reason FROM ledger_petty_cash
         WHERE entry_date BETWEEN $1 AND $2 ORDER BY entry_date, id",
        from,
        to
    )
    .fetch_all(conn)
    .await
}

/// What is still open at the year's end: accertamenti not fully collected and impegni not fully paid
/// (less their economies), with what is left of each.
#[derive(Debug, Clone)]
pub struct Outstanding {
    pub id: i64,
    pub kind: String,
    pub side: String,
    pub title: i16,
    pub category: String,
    pub code: String,
    pub name: String,
    pub party: String,
    pub party_code: String,
    pub iban: String,
    pub cig: String,
    pub cup: String,
    pub reason: String,
    pub left: Decimal,
}

pub async fn outstanding(conn: &mut PgConnection, year: i32) -> sqlx::Result<Vec<Outstanding>> {
    sqlx::query_as!(
        Outstanding,
        r#"SELECT e.id, e.kind, c.side, c.title, c.category, c.code, c.name, e.party, e.party_code, e.iban, e.cig,
                  e.cup, e.reason, (e.amount - COALESCE(x.taken, 0)) AS "left!"
           FROM ledger_entries e JOIN ledger_chapters c ON c.id = e.chapter_id
           LEFT JOIN LATERAL (
               SELECT SUM(CASE WHEN e.kind = 'accertamento' THEN
                               CASE WHEN k.kind = 'riscossione' THEN k.amount ELSE 0 END
                          ELSE
                               CASE WHEN k.kind = 'economia' THEN k.amount
                                    WHEN k.kind = 'liquidazione' THEN
                                        (SELECT COALESCE(SUM(p.amount), 0) FROM ledger_entries p
                                         WHERE p.parent_id = k.id AND p.kind = 'pagamento')
                                    ELSE 0 END
                          END) AS taken
               FROM ledger_entries k WHERE k.parent_id = e.id
           ) x ON TRUE
           WHERE c.year = $1 AND e.kind IN ('accertamento', 'impegno')
             AND e.amount - COALESCE(x.taken, 0) > 0
           ORDER BY c.side, c.code, e.id"#,
        year
    )
    .fetch_all(conn)
    .await
}

/// The chapter with this side and code in `year`, created like `like` when missing.
pub async fn chapter_in_year(conn: &mut PgConnection, year: i32, o: &Outstanding) -> sqlx::Result<i64> {
    if let Some(id) = sqlx::query_scalar!(
        "SELECT id FROM ledger_chapters WHERE year = $1 AND side = $2 AND code = $3",
        year,
        o.side,
        o.code
    )
    .fetch_optional(&mut *conn)
    .await?
    {
        return Ok(id);
    }
    sqlx::query_scalar!(
        "INSERT INTO ledger_chapters (year, side, title, category, code, name) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        year,
        o.side,
        o.title,
        o.category,
        o.code,
        o.name
    )
    .fetch_one(conn)
    .await
}

/// One chapter's figures for the rendiconto finanziario (seed 004 art. 28: by titolo, categoria,
/// capitolo; competence and residui apart).
#[derive(Debug, Clone)]
pub struct RendicontoRow {
    pub side: String,
    pub title: i16,
    pub category: String,
    pub code: String,
    pub name: String,
    /// Final allocation: initial plus variations.
    pub allocated: Decimal,
    /// Accertato (revenue) or impegnato net of economies (expenditure), on competence.
    pub assessed: Decimal,
    /// Riscosso or pagato on competence.
    pub cashed: Decimal,
    /// Residui at the start (carried from the previous year).
    pub residui_start: Decimal,
    /// Riscosso or pagato on residui.
    pub residui_cashed: Decimal,
}

pub async fn rendiconto(conn: &mut PgConnection, year: i32) -> sqlx::Result<Vec<RendicontoRow>> {
    sqlx::query_as!(
        RendicontoRow,
        r#"SELECT c.side, c.title, c.category, c.code, c.name,
             COALESCE(SUM(e.amount) FILTER (WHERE e.kind IN ('allocation', 'variation')), 0) AS "allocated!",
             COALESCE(SUM(e.amount) FILTER (WHERE NOT e.residui AND e.kind IN ('accertamento', 'impegno')), 0)
               - COALESCE(SUM(e.amount) FILTER (WHERE NOT e.residui AND e.kind = 'economia'), 0) AS "assessed!",
             COALESCE(SUM(e.amount) FILTER (WHERE NOT e.residui AND e.kind IN ('riscossione', 'pagamento')), 0) AS "cashed!",
             COALESCE(SUM(e.amount) FILTER (WHERE e.residui AND e.kind IN ('accertamento', 'impegno')), 0)
               - COALESCE(SUM(e.amount) FILTER (WHERE e.residui AND e.kind = 'economia'), 0) AS "residui_start!",
             COALESCE(SUM(e.amount) FILTER (WHERE e.residui AND e.kind IN ('riscossione', 'pagamento')), 0) AS "residui_cashed!"
           FROM ledger_chapters c LEFT JOIN ledger_entries e ON e.chapter_id = c.id
           WHERE c.year = $1
           GROUP BY c.id, c.side, c.title, c.category, c.code, c.name
           ORDER BY c.side DESC, c.title, c.category, c.code"#,
        year
    )
    .fetch_all(conn)
    .await
}

/// The chapters of a year with this code, on one side when given (the journal names chapters by code).
pub async fn chapters_by_code(
    conn: &mut PgConnection,
    year: i32,
    side: Option<&str>,
    code: &str,
) -> sqlx::Result<Vec<ChapterRow>> {
    sqlx::query_as!(
        ChapterRow,
        "SELECT id, year, side, title, code, name FROM ledger_chapters
         WHERE year = $1 AND code = $2 AND ($3::text IS NULL OR side = $3) ORDER BY side DESC",
        year,
        code,
        side
    )
    .fetch_all(conn)
    .await
}

/// The cash fund at 1 January of a year: `None` when the year does not exist or it is not recorded.
pub async fn opening_cash(conn: &mut PgConnection, year: i32) -> sqlx::Result<Option<Decimal>> {
    let row = sqlx::query_scalar!("SELECT opening_cash FROM ledger_years WHERE year = $1", year)
        .fetch_optional(conn)
        .await?;
    Ok(row.flatten())
}

/// Records the cash fund at 1 January once: `false` when it was recorded already.
pub async fn set_opening_cash(conn: &mut PgConnection, year: i32, amount: Decimal) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE ledger_years SET opening_cash = $2 WHERE year = $1 AND opening_cash IS NULL",
        year,
        amount
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// When a journal with this SHA-256 was applied, and its file's name.
pub async fn journal_applied(
    conn: &mut PgConnection,
    sha256: &[u8],
) -> sqlx::Result<Option<(String, OffsetDateTime)>> {
    let row = sqlx::query!(
        "SELECT file_name, applied_at FROM ledger_journals WHERE sha256 = $1",
        sha256
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.file_name, r.applied_at)))
}

/// Records an applied journal; `false` when the same file was applied already.
pub async fn insert_journal(
    conn: &mut PgConnection,
    sha256: &[u8],
    file_name: &str,
    rows: i32,
    at: OffsetDateTime,
    by: Option<i64>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "INSERT INTO ledger_journals (sha256, file_name, rows_applied, applied_at, applied_by)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        sha256,
        file_name,
        rows,
        at,
        by
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
