//! Group commit of registrations made on their own (the back office and the CLI).
//!
//! Every registration locks its year's counter row until COMMIT, so registrations are written one
//! after the other whatever the number of writers: with one registration per transaction each number
//! costs a whole statement and a whole durable commit while the others wait. The registrar writes the
//! registrations that arrive while the previous group is being written as one group: one statement
//! (`protocol_register_many`), one transaction, one commit. A registration alone is written at once,
//! so nobody waits for a group to fill.
//!
//! Nothing of the register's rules changes: each registration has its number from the database in the
//! order of the group (ordered by time), and the group commits whole or not at all. A group the
//! database refuses is written again one registration at a time, so that a bad registration fails
//! alone and the others keep their place; a group whose answer is lost with the connection is not
//! (it may have committed), and its callers get the error. The writer is one task per process, started by the first registration; callers
//! only wait for their answer, so a caller that goes away (a closed browser tab) never leaves a group
//! half-handled.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use super::model::NewRegistration;
use super::repo::{self, AuditEntry, GroupItem, Inserted};

/// The largest group written at once.
pub const MAX_GROUP: usize = 64;

/// A registration handed to the registrar, with what [`repo::insert_registration`] needs.
pub struct Submission {
    pub at: OffsetDateTime,
    pub registration: NewRegistration,
    pub dossier_id: Option<i64>,
    pub by: Option<i64>,
    /// The audit entry's actor (id, label) and details, when the registration is audited.
    pub audit: Option<(Option<i64>, String, String)>,
}

impl Submission {
    fn item(&self) -> GroupItem<'_> {
        GroupItem {
            at: self.at,
            registration: &self.registration,
            dossier_id: self.dossier_id,
            by: self.by,
            audit: self.audit.as_ref().map(|(id, label, details)| AuditEntry {
                actor_id: *id,
                actor_label: label,
                details,
            }),
        }
    }
}

struct Job {
    submission: Submission,
    reply: oneshot::Sender<sqlx::Result<Inserted>>,
}

/// The per-process writer of the register (one per [`crate::state::AppState`]).
pub struct Registrar {
    shared: Arc<Shared>,
    queue: Mutex<Option<mpsc::UnboundedSender<Job>>>,
}

/// What the writer task shares with the registrar (not the queue: the task ends when the registrar,
/// the queue's only sender, is dropped).
struct Shared {
    pool: PgPool,
    aoo: String,
    register: String,
    groups: AtomicU64,
    registrations: AtomicU64,
}

impl Registrar {
    pub fn new(pool: PgPool, aoo: &str, register: &str) -> Self {
        Registrar {
            shared: Arc::new(Shared {
                pool,
                aoo: aoo.to_owned(),
                register: register.to_owned(),
                groups: AtomicU64::new(0),
                registrations: AtomicU64::new(0),
            }),
            queue: Mutex::new(None),
        }
    }

    /// Registers one item, in a group with the others that arrive meanwhile; answers once its group
    /// (or, if the group failed, the item alone) is committed or refused.
    pub async fn register(&self, submission: Submission) -> sqlx::Result<Inserted> {
        let (reply, answer) = oneshot::channel();
        let mut job = Job { submission, reply };
        // The writer task lives as long as the registrar or its runtime: start it again if it is gone.
        for _ in 0..2 {
            match self.queue_sender().send(job) {
                Ok(()) => {
                    return answer.await.unwrap_or_else(|_| Err(sqlx::Error::WorkerCrashed));
                }
                Err(mpsc::error::SendError(back)) => {
                    job = back;
                    *self.lock_queue() = None;
                }
            }
        }
        Err(sqlx::Error::WorkerCrashed)
    }

    /// Writes `submissions` as one group now, all or none, numbered in the order given.
    pub async fn register_group(&self, submissions: &[Submission]) -> sqlx::Result<Vec<Inserted>> {
        let s = &self.shared;
        let items: Vec<GroupItem<'_>> = submissions.iter().map(Submission::item).collect();
        let inserted = repo::insert_registrations(&s.pool, &s.aoo, &s.register, &items).await?;
        s.counted(submissions.len());
        Ok(inserted)
    }

    /// Groups written and registrations in them since start (the benchmark prints the mean group).
    pub fn stats(&self) -> (u64, u64) {
        (
            self.shared.groups.load(Ordering::Relaxed),
            self.shared.registrations.load(Ordering::Relaxed),
        )
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Option<mpsc::UnboundedSender<Job>>> {
        match self.queue.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn queue_sender(&self) -> mpsc::UnboundedSender<Job> {
        let mut queue = self.lock_queue();
        if let Some(q) = queue.as_ref().filter(|q| !q.is_closed()) {
            return q.clone();
        }
        let (q, jobs) = mpsc::unbounded_channel();
        tokio::spawn(write_groups(self.shared.clone(), jobs));
        *queue = Some(q.clone());
        q
    }
}

impl Shared {
    fn counted(&self, registrations: usize) {
        self.groups.fetch_add(1, Ordering::Relaxed);
        self.registrations
            .fetch_add(registrations as u64, Ordering::Relaxed);
    }
}

/// The writer: takes whatever has arrived (at least one registration, at most [`MAX_GROUP`]) and
/// writes it as a group; the registrations that arrive meanwhile form the next one. Ends when the
/// registrar is gone.
///
/// While groups follow one another it keeps its pool connection: acquiring one for every group costs
/// a round trip (the pool checks the connection), paid while the writers wait. It hands the
/// connection back as soon as nothing is waiting, so an idle registrar holds none.
async fn write_groups(shared: Arc<Shared>, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    let mut conn = None;
    while queue.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        // The callers just answered are sending their next registrations: give them a turn of the
        // scheduler, again while more keep coming, so that they join this group instead of waiting
        // for the next. A registration alone costs one turn (microseconds).
        while jobs.len() < MAX_GROUP {
            tokio::task::yield_now().await;
            let before = jobs.len();
            while jobs.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            if jobs.len() == before {
                break;
            }
        }
        write_group(&shared, &mut conn, std::mem::take(&mut jobs)).await;
        // The callers just answered get a turn to send their next registrations before the writer
        // decides that nothing is waiting.
        tokio::task::yield_now().await;
        if queue.is_empty() {
            conn = None;
        }
    }
}

/// Writes one group on `conn` (taken from the pool when there is none; dropped when it may be broken).
async fn write_group(s: &Shared, conn: &mut Option<PoolConnection<Postgres>>, mut jobs: Vec<Job>) {
    // Numbers follow the registrations' times.
    jobs.sort_by_key(|j| j.submission.at);
    let c = match conn {
        Some(c) => c,
        None => match s.pool.acquire().await {
            Ok(c) => conn.insert(c),
            // Nothing was sent: each caller gets the error, as a registration alone would.
            Err(e) => return fail(jobs, "no database connection for the protocol register", &e),
        },
    };
    if jobs.len() == 1 {
        let job = jobs.swap_remove(0);
        let done = write_one(&mut **c, s, &job).await;
        if matches!(&done, Err(e) if !matches!(e, sqlx::Error::Database(_))) {
            *conn = None;
        }
        let _ = job.reply.send(done);
        return;
    }
    let items: Vec<GroupItem<'_>> = jobs.iter().map(|j| j.submission.item()).collect();
    let written = repo::insert_registrations(&mut **c, &s.aoo, &s.register, &items).await;
    drop(items);
    match written {
        Ok(inserted) => {
            // Committed: one row back per registration, in order.
            s.counted(jobs.len());
            let mut inserted = inserted.into_iter();
            for job in jobs {
                let _ = job.reply.send(inserted.next().ok_or(sqlx::Error::RowNotFound));
            }
            return;
        }
        // Refused by the database: nothing was committed, write them one by one.
        Err(sqlx::Error::Database(e)) => {
            tracing::warn!(error = %e, size = jobs.len(), "protocol group refused; writing its registrations one by one")
        }
        // The connection failed: the group may have committed, so writing it again could register
        // its items twice. Each caller gets the error, as a registration alone would.
        Err(e) => {
            tracing::error!(error = %e, size = jobs.len(), "protocol group not confirmed");
            *conn = None;
            return fail(jobs, "the protocol group was not confirmed", &e);
        }
    }
    // One by one, each on a connection of its own from the pool, as a registration alone: one that
    // breaks its connection does not fail the next.
    *conn = None;
    for job in jobs {
        let done = write_one(&s.pool, s, &job).await;
        let _ = job.reply.send(done);
    }
}

/// Writes one registration in its own statement and commit.
async fn write_one<'e>(exec: impl sqlx::PgExecutor<'e>, s: &Shared, job: &Job) -> sqlx::Result<Inserted> {
    let item = job.submission.item();
    let done = repo::insert_registration(
        exec,
        &s.aoo,
        &s.register,
        item.at,
        item.registration,
        item.dossier_id,
        item.by,
        &item.registration.documents,
        item.audit,
    )
    .await;
    if done.is_ok() {
        s.counted(1);
    }
    done
}

/// Answers every job of a group with the same failure.
fn fail(jobs: Vec<Job>, what: &str, e: &sqlx::Error) {
    for job in jobs {
        let _ = job.reply.send(Err(sqlx::Error::Protocol(format!("{what}: {e}"))));
    }
}
