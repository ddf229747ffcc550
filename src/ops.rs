//! Operations endpoints: liveness, readiness, Prometheus metrics.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies pending migrations and writes the configured catalogues.
pub async fn prepare_database(pool: &sqlx::PgPool, config: &crate::config::Config) -> Result<(), String> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    sync_catalogues(pool, config).await
}

/// Writes the configured catalogues into the database: the Albo's sections, sectors and special lists,
/// and the protocol's titolario.
pub async fn sync_catalogues(pool: &sqlx::PgPool, config: &crate::config::Config) -> Result<(), String> {
    crate::members::service::sync_catalogue(pool, &config.albo)
        .await
        .map_err(|e| format!("cannot write the Albo catalogue (setting `albo`): {e:?}"))?;
    crate::protocol::service::sync_classes(pool, &config.protocol)
        .await
        .map_err(|e| format!("cannot write the titolario (setting `protocol.classes`): {e}"))
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok\n").into_response()
}

/// `GET /readyz`: the database answers and every migration this binary knows has been applied.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let text = |status: StatusCode, body: String| {
        let mut r = (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response();
        r.extensions_mut().insert(crate::web::errors::KeepBody);
        r
    };
    match pending_migrations(&state.pool).await {
        Ok(0) => text(StatusCode::OK, "ready\n".into()),
        Ok(n) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {n} migrations not applied\n"),
        ),
        Err(e) => {
            tracing::warn!(error = ?e.to_string(), "readiness check failed");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: database unreachable\n".into(),
            )
        }
    }
}

/// How many of the binary's migrations the database lacks.
pub async fn pending_migrations(pool: &sqlx::PgPool) -> sqlx::Result<usize> {
    let applied: HashSet<i64> =
        match sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
        {
            Ok(v) => v.into_iter().collect(),
            // No migrations table yet: nothing applied, but the database answered.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => HashSet::new(),
            Err(e) => return Err(e),
        };
    Ok(MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
        .count())
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
