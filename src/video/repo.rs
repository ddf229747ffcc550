//! SQL of the systems, the grants and the access register. Functions take `&mut PgConnection` so they
//! run in the caller's transaction.

use rust_decimal::Decimal;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

#[derive(Debug, Clone)]
pub struct SiteRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub latitude: Option<Decimal>,
    pub longitude: Option<Decimal>,
    pub cameras: i32,
}

#[derive(Debug, Clone)]
pub struct SystemRow {
    pub id: i64,
    pub number: i32,
    pub description: String,
    pub site_code: Option<String>,
    pub site_name: Option<String>,
    pub system_responsible: String,
    pub data_responsible: String,
    pub video: bool,
    pub audio: bool,
    pub ptz_cameras: i32,
    pub ptz_vertical: bool,
    pub ptz_horizontal: bool,
    pub fixed_cameras: i32,
    pub optical_zoom: String,
    pub digital_zoom: String,
    pub retention_days: i32,
    pub public_notice: String,
}

pub async fn sites(conn: &mut PgConnection) -> sqlx::Result<Vec<SiteRow>> {
    sqlx::query_as!(
        SiteRow,
        "SELECT id, code, name, latitude, longitude, cameras FROM video_sites
         ORDER BY (CASE WHEN code ~ '^[0-9]+$' THEN code::INT END), code"
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn systems(conn: &mut PgConnection) -> sqlx::Result<Vec<SystemRow>> {
    sqlx::query_as!(
        SystemRow,
        r#"SELECT s.id, s.number, s.description, t.code AS "site_code?", t.name AS "site_name?",
                  s.system_responsible, s.data_responsible, s.video, s.audio, s.ptz_cameras, s.ptz_vertical,
                  s.ptz_horizontal, s.fixed_cameras, s.optical_zoom, s.digital_zoom, s.retention_days,
                  s.public_notice
           FROM video_systems s LEFT JOIN video_sites t ON t.id = s.site_id
           ORDER BY s.number"#
    )
    .fetch_all(&mut *conn)
    .await
}

/// The systems with these numbers (for the import).
pub async fn systems_by_number(conn: &mut PgConnection, numbers: &[i32]) -> sqlx::Result<Vec<SystemRow>> {
    sqlx::query_as!(
        SystemRow,
        r#"SELECT s.id, s.number, s.description, t.code AS "site_code?", t.name AS "site_name?",
                  s.system_responsible, s.data_responsible, s.video, s.audio, s.ptz_cameras, s.ptz_vertical,
                  s.ptz_horizontal, s.fixed_cameras, s.optical_zoom, s.digital_zoom, s.retention_days,
                  s.public_notice
           FROM video_systems s LEFT JOIN video_sites t ON t.id = s.site_id
           WHERE s.number = ANY($1)"#,
        numbers
    )
    .fetch_all(&mut *conn)
    .await
}

pub async fn sites_by_code(conn: &mut PgConnection, codes: &[String]) -> sqlx::Result<Vec<SiteRow>> {
    sqlx::query_as!(
        SiteRow,
        "SELECT id, code, name, latitude, longitude, cameras FROM video_sites WHERE code = ANY($1)",
        codes
    )
    .fetch_all(&mut *conn)
    .await
}

/// Creates or updates a site by its code; returns its id.
pub async fn upsert_site(
    conn: &mut PgConnection,
    code: &str,
    name: &str,
    latitude: Option<Decimal>,
    longitude: Option<Decimal>,
    cameras: i32,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO video_sites (code, name, latitude, longitude, cameras) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, latitude = EXCLUDED.latitude,
             longitude = EXCLUDED.longitude, cameras = EXCLUDED.cameras
         RETURNING id",
        code,
        name,
        latitude,
        longitude,
        cameras
    )
    .fetch_one(&mut *conn)
    .await
}

/// A system as the import writes it.
pub struct SystemData<'a> {
    pub number: i32,
    pub description: &'a str,
    pub site_id: Option<i64>,
    pub system_responsible: &'a str,
    pub data_responsible: &'a str,
    pub video: bool,
    pub audio: bool,
    pub ptz_cameras: i32,
    pub ptz_vertical: bool,
    pub ptz_horizontal: bool,
    pub fixed_cameras: i32,
    pub optical_zoom: &'a str,
    pub digital_zoom: &'a str,
    pub retention_days: i32,
    pub public_notice: &'a str,
}

/// Creates or updates a system by its number.
pub async fn upsert_system(
    conn: &mut PgConnection,
    s: &SystemData<'_>,
    job_id: i64,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO video_systems (number, description, site_id, system_responsible, data_responsible, video,
             audio, ptz_cameras, ptz_vertical, ptz_horizontal, fixed_cameras, optical_zoom, digital_zoom,
             retention_days, public_notice, import_job_id, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (number) DO UPDATE SET description = EXCLUDED.description, site_id = EXCLUDED.site_id,
             system_responsible = EXCLUDED.system_responsible, data_responsible = EXCLUDED.data_responsible,
             video = EXCLUDED.video, audio = EXCLUDED.audio, ptz_cameras = EXCLUDED.ptz_cameras,
             ptz_vertical = EXCLUDED.ptz_vertical, ptz_horizontal = EXCLUDED.ptz_horizontal,
             fixed_cameras = EXCLUDED.fixed_cameras, optical_zoom = EXCLUDED.optical_zoom,
             digital_zoom = EXCLUDED.digital_zoom, retention_days = EXCLUDED.retention_days,
             public_notice = EXCLUDED.public_notice, import_job_id = EXCLUDED.import_job_id,
             updated_at = EXCLUDED.updated_at",
        s.number,
        s.description,
        s.site_id,
        s.system_responsible,
        s.data_responsible,
        s.video,
        s.audio,
        s.ptz_cameras,
        s.ptz_vertical,
        s.ptz_horizontal,
        s.fixed_cameras,
        s.optical_zoom,
        s.digital_zoom,
        s.retention_days,
        s.public_notice,
        job_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Which of these ids are systems.
pub async fn existing_systems(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!("SELECT id FROM video_systems WHERE id = ANY($1)", ids)
        .fetch_all(&mut *conn)
        .await
}

// --- grants -----------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct GrantRow {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub system_id: i64,
    pub system_number: i32,
    pub system_description: String,
    pub level: Option<String>,
    pub effective_on: Date,
    pub reason: String,
    pub decided_by_name: String,
    pub decided_at: OffsetDateTime,
}

pub struct NewGrant<'a> {
    pub user_id: i64,
    pub system_id: i64,
    pub level: Option<&'a str>,
    pub effective_on: Date,
    pub reason: &'a str,
    pub decided_by: i64,
    pub decided_at: OffsetDateTime,
}

pub async fn insert_grant(conn: &mut PgConnection, g: &NewGrant<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO video_grants (user_id, system_id, level, effective_on, reason, decided_by, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        g.user_id,
        g.system_id,
        g.level,
        g.effective_on,
        g.reason,
        g.decided_by,
        g.decided_at
    )
    .fetch_one(&mut *conn)
    .await
}

/// Every act, newest first; `current` keeps only the latest act in force of each person and system
/// that grants something.
pub async fn grants(conn: &mut PgConnection, current: bool, today: Date) -> sqlx::Result<Vec<GrantRow>> {
    sqlx::query_as!(
        GrantRow,
        r#"SELECT g.id, g.user_id, u.display_name AS user_name, g.system_id, s.number AS system_number,
                  s.description AS system_description, g.level, g.effective_on, g.reason,
                  d.display_name AS decided_by_name, g.decided_at
           FROM video_grants g
           JOIN users u ON u.id = g.user_id
           JOIN users d ON d.id = g.decided_by
           JOIN video_systems s ON s.id = g.system_id
           WHERE NOT $1 OR (g.level IS NOT NULL AND g.id = (
               SELECT x.id FROM video_grants x
               WHERE x.user_id = g.user_id AND x.system_id = g.system_id AND x.effective_on <= $2
               ORDER BY x.effective_on DESC, x.id DESC LIMIT 1))
           ORDER BY g.id DESC"#,
        current,
        today
    )
    .fetch_all(&mut *conn)
    .await
}

/// The level a person holds today on each of these systems (missing: none).
pub async fn levels(
    conn: &mut PgConnection,
    user_id: i64,
    system_ids: &[i64],
    today: Date,
) -> sqlx::Result<Vec<(i64, String)>> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT ON (system_id) system_id, level
           FROM video_grants
           WHERE user_id = $1 AND system_id = ANY($2) AND effective_on <= $3
           ORDER BY system_id, effective_on DESC, id DESC"#,
        user_id,
        system_ids,
        today
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.level.map(|l| (r.system_id, l)))
        .collect())
}

/// The people who may hold grants (video officers and managers): id, name, e-mail.
pub async fn operators(conn: &mut PgConnection) -> sqlx::Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query!(
        "SELECT DISTINCT u.id, u.display_name, u.email FROM users u JOIN user_roles r ON r.user_id = u.id
         WHERE r.role IN ('video_officer', 'video_manager') AND u.disabled_at IS NULL
         ORDER BY u.display_name, u.id"
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.display_name, r.email))
        .collect())
}

// --- access register --------------------------------------------------------------------------

pub struct NewAccess<'a> {
    pub user_id: i64,
    pub session_start: OffsetDateTime,
    pub session_end: OffsetDateTime,
    pub footage_from: OffsetDateTime,
    pub footage_to: OffsetDateTime,
    pub system_ids: &'a [i64],
    pub purpose: &'a str,
    pub extracted: bool,
    pub request_id: Option<i64>,
    pub recorded_at: OffsetDateTime,
}

pub async fn insert_access(conn: &mut PgConnection, a: &NewAccess<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO video_access_log (user_id, session_start, session_end, footage_from, footage_to,
             system_ids, purpose, extracted, request_id, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        a.user_id,
        a.session_start,
        a.session_end,
        a.footage_from,
        a.footage_to,
        a.system_ids,
        a.purpose,
        a.extracted,
        a.request_id,
        a.recorded_at
    )
    .fetch_one(&mut *conn)
    .await
}

#[derive(Debug, Clone)]
pub struct AccessRow {
    pub id: i64,
    pub user_name: String,
    pub session_start: OffsetDateTime,
    pub session_end: OffsetDateTime,
    pub footage_from: OffsetDateTime,
    pub footage_to: OffsetDateTime,
    pub systems: Vec<i32>,
    pub purpose: String,
    pub extracted: bool,
    pub request_id: Option<i64>,
}

/// Entries whose session started in [from, to), of one operator and one system if given; newest first.
pub async fn accesses(
    conn: &mut PgConnection,
    from: OffsetDateTime,
    to: OffsetDateTime,
    user_id: Option<i64>,
    system_id: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<AccessRow>> {
    sqlx::query_as!(
        AccessRow,
        r#"SELECT a.id, u.display_name AS user_name, a.session_start, a.session_end, a.footage_from,
                  a.footage_to, a.purpose, a.extracted, a.request_id,
                  ARRAY(SELECT s.number FROM video_systems s WHERE s.id = ANY(a.system_ids) ORDER BY s.number)
                      AS "systems!"
           FROM video_access_log a JOIN users u ON u.id = a.user_id
           WHERE a.session_start >= $1 AND a.session_start < $2
             AND ($3::BIGINT IS NULL OR a.user_id = $3)
             AND ($4::BIGINT IS NULL OR $4 = ANY(a.system_ids))
           ORDER BY a.session_start DESC, a.id DESC LIMIT $5"#,
        from,
        to,
        user_id,
        system_id,
        limit
    )
    .fetch_all(&mut *conn)
    .await
}

/// Accesses in [from, to) by operator and system: sessions, minutes, sessions with an extraction.
pub struct AccessTotal {
    pub user_name: String,
    pub system_number: i32,
    pub system_description: String,
    pub sessions: i64,
    pub minutes: i64,
    pub extractions: i64,
}

pub async fn access_totals(
    conn: &mut PgConnection,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> sqlx::Result<Vec<AccessTotal>> {
    sqlx::query_as!(
        AccessTotal,
        r#"SELECT u.display_name AS user_name, s.number AS system_number, s.description AS system_description,
                  count(*) AS "sessions!",
                  COALESCE(sum(EXTRACT(EPOCH FROM a.session_end - a.session_start)::BIGINT / 60), 0)::BIGINT
                      AS "minutes!",
                  count(*) FILTER (WHERE a.extracted) AS "extractions!"
           FROM video_access_log a
           CROSS JOIN LATERAL unnest(a.system_ids) AS x(system_id)
           JOIN video_systems s ON s.id = x.system_id
           JOIN users u ON u.id = a.user_id
           WHERE a.session_start >= $1 AND a.session_start < $2
           GROUP BY u.display_name, s.number, s.description
           ORDER BY u.display_name, s.number"#,
        from,
        to
    )
    .fetch_all(&mut *conn)
    .await
}
