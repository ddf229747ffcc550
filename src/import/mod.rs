//! CSV imports (SPEC §10): one framework, one trait per kind of data. A file is sniffed (encoding,
//! delimiter, binary or empty), its columns mapped to fields, every row parsed and validated by the
//! kind, then compared with the register and written in batches inside one transaction: all or
//! nothing (atomic), or the valid rows only with a CSV of the rejected ones. The web screen and the
//! CLI (`ordo import …`) create the same job and run the same [`run::run`].
//!
//! Kinds: members (`crate::members::import`), legacy protocol entries (`crate::protocol::legacy`) and
//! video-surveillance systems and sites (`crate::video::import`).
//! A later module adds its kind by implementing [`Kind`] and naming it in [`KindName`].

pub mod cli;
pub mod columns;
pub mod handlers;
pub mod jobs;
pub mod run;
pub mod service;
pub mod text;
pub mod values;
mod views;

use async_trait::async_trait;
use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::audit::Actor;
use crate::error::AppResult;
pub use columns::{FieldSpec, Mapping};

/// The kinds of import, as stored in `import_jobs.kind` and named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindName {
    Members,
    Protocol,
    Cameras,
}

impl KindName {
    pub const ALL: [KindName; 3] = [KindName::Members, KindName::Protocol, KindName::Cameras];

    pub fn as_str(self) -> &'static str {
        match self {
            KindName::Members => "members",
            KindName::Protocol => "protocol",
            KindName::Cameras => "cameras",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            KindName::Members => "Iscritti (con la storia dello stato)",
            KindName::Protocol => "Protocollo pregresso",
            KindName::Cameras => "Impianti e telecamere di videosorveglianza",
        }
    }

    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            KindName::Members => crate::members::import::FIELDS,
            KindName::Protocol => crate::protocol::legacy::FIELDS,
            KindName::Cameras => crate::video::import::FIELDS,
        }
    }
}

/// How a run treats the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything is checked and counted, nothing is written.
    DryRun,
    /// All rows or none: one rejected row refuses the import.
    Atomic,
    /// The valid rows are written; the rejected ones are returned as CSV with their reasons.
    ValidOnly,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::DryRun, Mode::Atomic, Mode::ValidOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::DryRun => "dry_run",
            Mode::Atomic => "atomic",
            Mode::ValidOnly => "valid_only",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::DryRun => "Prova (controlla tutto, non scrive nulla)",
            Mode::Atomic => "Importa tutto o niente",
            Mode::ValidOnly => "Importa solo le righe valide",
        }
    }
}

/// A data row as read from the file: its line and its cells (as decoded, not yet trimmed).
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

/// A row seen through the mapping.
pub struct Mapped<'a> {
    pub row: &'a Row,
    pub mapping: &'a Mapping,
}

impl Mapped<'_> {
    /// The trimmed cell of a field; `None` when the field has no column.
    pub fn get(&self, key: &str) -> Option<&str> {
        let i = *self.mapping.get(key)?;
        Some(values::clean(
            self.row.cells.get(i).map(String::as_str).unwrap_or(""),
        ))
    }

    /// The trimmed cell, or "" when the field has no column.
    pub fn text(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    /// Whether the field has a column and a non-blank value in this row.
    pub fn has(&self, key: &str) -> bool {
        !self.text(key).is_empty()
    }
}

/// A problem with one field of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// The field key (the runner turns it into the file's column name).
    pub field: &'static str,
    pub message: String,
}

impl CellError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        CellError {
            field,
            message: message.into(),
        }
    }
}

/// What happened (or, in a dry run, would happen) to a valid row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    New,
    /// Existing record changed; the fields that change.
    Updated(Vec<&'static str>),
    Unchanged,
    /// Refused by what is in the register (a protected field, a number taken by someone else…).
    Rejected(Vec<CellError>),
}

/// What the kind needs to write.
pub struct ApplyCtx<'a> {
    pub now: OffsetDateTime,
    pub actor: &'a Actor,
    pub job_id: i64,
}

/// One kind of data that can be imported.
#[async_trait]
pub trait Kind: Send + Sync {
    type Record: Send + Sync;

    fn name(&self) -> KindName;

    /// Parses and checks one row on its own (no database): the record, or every problem found.
    fn parse(&self, row: &Mapped<'_>) -> Result<Self::Record, Vec<CellError>>;

    /// Natural keys, to find the same record twice in one file: (field, value).
    fn keys(&self, record: &Self::Record) -> Vec<(&'static str, String)>;

    /// The record as it will be stored, one value per field of [`KindName::fields`], for the preview.
    fn preview(&self, record: &Self::Record) -> Vec<String>;

    /// Compares a batch with the register and, if `write`, stores the new and changed records. One
    /// outcome per record, in order. Runs inside the import's transaction.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        ctx: &ApplyCtx<'_>,
        batch: &[Self::Record],
        write: bool,
    ) -> AppResult<Vec<Outcome>>;

    /// The tables [`Kind::apply`] writes and reads back, each with the columns it looks up by
    /// (`"members (id, fiscal_code)"`). The runner refreshes their statistics (ANALYZE, which inside
    /// the transaction counts its own new rows) as they grow: planned with the row counts of the start,
    /// the register's triggers would scan a table that has meanwhile grown by 100,000 rows. Only the
    /// named columns are analysed, which is what keeps it cheap; autovacuum does the rest later.
    fn tables(&self) -> &'static [&'static str];

    /// After the last batch of a writing run, in the same transaction (e.g. counters follow imported numbers).
    async fn finish(&self, conn: &mut PgConnection) -> AppResult<()>;
}
