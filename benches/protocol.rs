//! Protocol registrations per second through the service code, with 8 and 32 concurrent writers:
//! - `alone`: `protocol::service::register_alone`, as the back office and the CLI register an item (the
//!   registrar writes it with the others that arrive meanwhile: one statement and one commit per
//!   group; registration, document, audit entry), with and without the audit entry; prints the mean
//!   group;
//! - `in-transaction`: `protocol::register` inside a transaction the caller commits, as every pratica
//!   registers (one more round trip, the COMMIT, while the counter row is locked).
//!
//! Run by `scripts/bench-protocol`, which prints these figures beside a bare pgbench doing the same
//! counter update + insert.
//!
//! Environment: DATABASE_URL (a migrated database), BENCH_SECONDS (default 10), BENCH_WRITERS
//! (default "8 32").

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ordo::audit::Actor;
use ordo::clock::SystemClock;
use ordo::mail::LogMailer;
use ordo::protocol::{self, Correspondent, Direction, Document, Dossier, NewRegistration};
use ordo::state::AppState;
use sqlx::postgres::PgPoolOptions;

fn registration(i: u64) -> NewRegistration {
    NewRegistration {
        direction: Direction::In,
        correspondent: Correspondent {
            name: "Comune di Trieste".into(),
            fiscal_code: "00210240321".into(),
            email: "protocollo@pec.comune.trieste.it".into(),
        },
        subject: format!("Richiesta di parere n. {i}"),
        attachments_description: String::new(),
        classification: "7.1".into(),
        dossier: Dossier::None,
        request_id: None,
        source: "bench",
        documents: vec![Document::from_bytes(
            "nota.pdf",
            "application/pdf",
            format!("%PDF-1.4 nota {i}").into_bytes(),
        )],
    }
}

#[derive(Clone, Copy)]
enum Path {
    Alone,
    AloneUnaudited,
    InTransaction,
}

async fn one(state: &AppState, actor: &Actor, i: u64, path: Path) -> anyhow::Result<()> {
    let r = registration(i);
    let failed = |e| anyhow::anyhow!("registration failed: {e:?}");
    match path {
        Path::Alone => {
            protocol::service::register_alone(state, actor, r)
                .await
                .map_err(failed)?;
        }
        Path::AloneUnaudited => {
            protocol::service::register_alone_unaudited(state, actor, r)
                .await
                .map_err(failed)?;
        }
        Path::InTransaction => {
            let mut tx = state.pool.begin().await?;
            protocol::register(&mut tx, &state.config.protocol, state.now(), actor, r)
                .await
                .map_err(failed)?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// What the runs of one path and audit setting did: registrations, seconds, the registrar's groups
/// and the registrations in them.
#[derive(Default)]
struct Total {
    done: u64,
    secs: f64,
    groups: u64,
    grouped: u64,
}

/// Registrations done and seconds taken by `writers` writers on `path` for `seconds`.
async fn run(state: &AppState, writers: usize, path: Path, seconds: u64) -> anyhow::Result<(u64, f64)> {
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = vec![];
    for w in 0..writers {
        let (state, done) = (state.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let actor = Actor::system("bench");
            let mut i = w as u64 * 1_000_000;
            while Instant::now() < deadline {
                one(&state, &actor, i, path).await?;
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((done.load(Ordering::Relaxed), started.elapsed().as_secs_f64()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = ordo::config::Config::load(None)?;
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let writers: Vec<usize> = std::env::var("BENCH_WRITERS")
        .unwrap_or_else(|_| "8 32".into())
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let max = writers.iter().copied().max().unwrap_or(8) as u32;
    let pool = PgPoolOptions::new()
        .max_connections(max + 2)
        .connect(&config.database.url)
        .await?;
    ordo::ops::sync_catalogues(&pool, &config)
        .await
        .map_err(anyhow::Error::msg)?;
    let state = AppState::new(pool, config, Arc::new(SystemClock), Arc::new(LogMailer));
    // Warm-up: connections, prepared statements.
    run(&state, max as usize, Path::Alone, 1).await?;
    for &w in &writers {
        // With and without audit in the order on, off, off, on, each figure the sum of its two runs:
        // this machine's speed drifts within a minute, and the mirrored order gives both the same
        // share of the drift (and of whatever the run before leaves behind: autovacuum, a checkpoint).
        let runs = [
            (Path::Alone, "alone", "on"),
            (Path::AloneUnaudited, "alone", "off"),
            (Path::AloneUnaudited, "alone", "off"),
            (Path::Alone, "alone", "on"),
            (Path::InTransaction, "in-transaction", "on"),
        ];
        let mut totals: BTreeMap<(&str, &str), Total> = BTreeMap::new();
        for (path, name, audit) in runs {
            let (groups, grouped) = state.registrar.stats();
            let (done, secs) = run(&state, w, path, seconds).await?;
            let (groups, grouped) = (
                state.registrar.stats().0 - groups,
                state.registrar.stats().1 - grouped,
            );
            let t = totals.entry((name, audit)).or_default();
            t.done += done;
            t.secs += secs;
            t.groups += groups;
            t.grouped += grouped;
        }
        for ((name, audit), t) in totals {
            let rate = t.done as f64 / t.secs;
            let group = if t.groups == 0 {
                0.0
            } else {
                t.grouped as f64 / t.groups as f64
            };
            println!("service writers={w} audit={audit} path={name} rate={rate:.1} group={group:.1}");
        }
    }
    Ok(())
}
