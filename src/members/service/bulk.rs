//! Bulk loads of members (demo data, benchmarks).

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use crate::members::repo;

use crate::members::model::OptionalField;

pub use crate::members::repo::BulkMember;

/// Loads many members at once (demo data, benchmarks), skipping codici fiscali already present.
/// One audit entry for the whole load. Returns how many were created.
pub async fn bulk_load(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    actor: &Actor,
    rows: Vec<BulkMember>,
) -> AppResult<usize> {
    let codes: Vec<String> = rows.iter().map(|r| r.data.fiscal_code.clone()).collect();
    let existing: std::collections::HashSet<String> = repo::existing_fiscal_codes(conn, &codes)
        .await?
        .into_iter()
        .collect();
    let rows: Vec<BulkMember> = rows
        .into_iter()
        .filter(|r| !existing.contains(&r.data.fiscal_code))
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    let ids = repo::bulk_insert(conn, &rows, now).await?;
    let (mut c_ids, mut c_fields) = (vec![], vec![]);
    for (id, r) in ids.iter().zip(&rows) {
        for f in &r.consents {
            if OptionalField::parse(f).is_none() {
                return Err(AppError::internal(format!("unknown consent field {f}")));
            }
            c_ids.push(*id);
            c_fields.push(f.clone());
        }
    }
    repo::bulk_consents(conn, &c_ids, &c_fields, "import", now).await?;
    audit::record(
        conn,
        now,
        audit::Event {
            actor,
            action: "member.bulk_create",
            entity: "member",
            entity_id: None,
            details: json!({ "count": ids.len(), "first_id": ids.first(), "last_id": ids.last() }),
        },
    )
    .await?;
    Ok(ids.len())
}

/// VACUUM (ANALYZE) of the register's tables, after a bulk load.
pub async fn vacuum_analyze(pool: &sqlx::PgPool) -> AppResult<()> {
    repo::vacuum_analyze(pool).await?;
    Ok(())
}
