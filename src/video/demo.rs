//! The demo order's cameras: the tables of seed 002 (Comune di Peio, Allegato A: 27 systems; Allegato
//! B: 16 sites), committed as `demo/video/cameras.csv` and loaded by `ordo seed-demo` through the CSV
//! import (the same job and runner as `ordo import cameras FILE`). Loading it again changes nothing.

use std::io::Cursor;

use crate::audit::Actor;
use crate::error::{AppError, AppResult};
use crate::import::run::Summary;
use crate::import::{KindName, Mode, jobs, service};
use crate::state::AppState;

/// The seed's camera tables as CSV.
pub const CAMERAS_CSV: &[u8] = include_bytes!("../../demo/video/cameras.csv");

pub async fn seed(state: &AppState) -> AppResult<Summary> {
    let prepared = service::prepare(KindName::Cameras, || Ok(Cursor::new(CAMERAS_CSV)))
        .map_err(|e| AppError::internal(format!("demo cameras: {e}")))?;
    let id = service::create_job(
        state,
        KindName::Cameras,
        "cli",
        "cameras.csv",
        None,
        &prepared,
        false,
        None,
    )
    .await?;
    let job = jobs::get(&state.pool, id).await?.ok_or(AppError::NotFound)?;
    let actor = Actor::system("seed-demo");
    let (summary, _) = service::execute(
        state,
        &job,
        Cursor::new(CAMERAS_CSV),
        Mode::Atomic,
        &actor,
        &|_| {},
    )
    .await?;
    Ok(summary)
}
