//! Back-office page of the audit log, with the result of a chain verification.

use axum::extract::Query;
use serde::Deserialize;

use super::views::{AuditPage, EntryLine};
use super::{Verification, latest, verify};
use crate::error::AppResult;
use crate::format::rome_datetime;
use crate::web::Ctx;

const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuditQuery {
    before: Option<i64>,
}

pub async fn audit_page(ctx: Ctx, Query(q): Query<AuditQuery>) -> AppResult<AuditPage> {
    let rows = latest(&ctx.state.pool, PAGE, q.before).await?;
    let (intact, verification) = match verify(&ctx.state.pool).await? {
        Verification::Intact { entries } => (
            true,
            format!("Catena integra: {entries} registrazioni verificate."),
        ),
        Verification::Broken { seq, reason } => (
            false,
            format!("Catena interrotta alla registrazione n. {seq}: {reason}."),
        ),
    };
    let older = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|r| r.seq))
        .flatten();
    let entries = rows
        .into_iter()
        .map(|e| EntryLine {
            seq: e.seq,
            recorded_at: rome_datetime(e.recorded_at),
            actor: e.actor_label,
            action: e.action,
            entity: match e.entity_id {
                Some(id) => format!("{} {}", e.entity, id),
                None => e.entity,
            },
            details: e.details,
            hash_prefix: hex::encode(&e.hash[..6.min(e.hash.len())]),
        })
        .collect();
    Ok(AuditPage {
        layout: ctx.layout("Registro delle operazioni").await?,
        entries,
        intact,
        verification,
        older,
    })
}
