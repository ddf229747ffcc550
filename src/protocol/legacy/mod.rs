//! Legacy protocol entries: the registrations of the system used before ordo, imported from CSV and
//! kept as they were (their register code, year, number and date), apart from ordo's own register,
//! whose numbering they never touch. Natural key: register, year, number. An entry is never changed:
//! the same entry imported again is unchanged, a different one under the same key is rejected.

use async_trait::async_trait;
use sqlx::PgConnection;
use time::Date;

use super::model::Direction;
use crate::error::AppResult;
use crate::import::{ApplyCtx, CellError, FieldSpec, Kind, KindName, Mapped, Outcome, values};
use crate::members::model::italian_date;

mod repo;

/// The register code given to entries of a file without a register column.
pub const DEFAULT_REGISTER: &str = "PREGRESSO";

pub const FIELDS: &[FieldSpec] = &[
    FieldSpec {
        key: "register",
        label: "Registro",
        required: false,
        synonyms: &["cod registro", "codice registro", "register"],
    },
    FieldSpec {
        key: "year",
        label: "Anno",
        required: false,
        synonyms: &["anno protocollo", "year"],
    },
    FieldSpec {
        key: "number",
        label: "Numero",
        required: true,
        synonyms: &[
            "numero protocollo",
            "n protocollo",
            "prot n",
            "protocollo",
            "n",
            "number",
        ],
    },
    FieldSpec {
        key: "date",
        label: "Data",
        required: true,
        synonyms: &[
            "data registrazione",
            "data protocollo",
            "data di registrazione",
            "date",
        ],
    },
    FieldSpec {
        key: "direction",
        label: "Verso",
        required: true,
        synonyms: &["tipo", "entrata uscita", "e u", "arrivo partenza", "direction"],
    },
    FieldSpec {
        key: "correspondent",
        label: "Mittente o destinatario",
        required: true,
        synonyms: &[
            "mittente destinatario",
            "corrispondente",
            "mittente",
            "destinatario",
            "correspondent",
        ],
    },
    FieldSpec {
        key: "subject",
        label: "Oggetto",
        required: true,
        synonyms: &["subject"],
    },
    FieldSpec {
        key: "classification",
        label: "Classificazione",
        required: false,
        synonyms: &["classifica", "titolario", "classification"],
    },
    FieldSpec {
        key: "note",
        label: "Note",
        required: false,
        synonyms: &["annotazioni", "notes"],
    },
];

pub struct LegacyKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub register: String,
    pub year: i32,
    pub number: i32,
    pub registered_on: Date,
    pub direction: String,
    pub correspondent: String,
    pub subject: String,
    pub classification: String,
    pub note: String,
}

fn parse_direction(s: &str) -> Option<Direction> {
    match crate::import::columns::normalise(s).as_str() {
        "e" | "entrata" | "arrivo" | "in" | "ingresso" | "incoming" => Some(Direction::In),
        "u" | "uscita" | "partenza" | "out" | "outgoing" => Some(Direction::Out),
        "i" | "interno" | "interna" | "internal" => Some(Direction::Internal),
        _ => None,
    }
}

#[async_trait]
impl Kind for LegacyKind {
    type Record = Entry;

    fn name(&self) -> KindName {
        KindName::Protocol
    }

    fn parse(&self, row: &Mapped<'_>) -> Result<Entry, Vec<CellError>> {
        let mut errors = vec![];
        let register = match row.text("register") {
            "" => DEFAULT_REGISTER.to_string(),
            r if r.chars().count() > 50 => {
                errors.push(CellError::new(
                    "register",
                    "il codice del registro è troppo lungo (massimo 50 caratteri).",
                ));
                String::new()
            }
            r => r.to_uppercase(),
        };
        let number = values::integer_between(
            row.text("number").trim_start_matches('0'),
            1,
            9_999_999,
            "il numero di protocollo",
        )
        .unwrap_or_else(|m| {
            errors.push(CellError::new("number", m));
            0
        });
        let date = values::date(row.text("date"))
            .map_err(|m| errors.push(CellError::new("date", m)))
            .ok();
        let year = if row.has("year") {
            match values::integer(row.text("year")) {
                Ok(y) if date.is_none_or(|d| i64::from(d.year()) == y) => y as i32,
                Ok(_) => {
                    errors.push(CellError::new(
                        "year",
                        "l'anno non corrisponde alla data di registrazione.",
                    ));
                    0
                }
                Err(m) => {
                    errors.push(CellError::new("year", m));
                    0
                }
            }
        } else {
            date.map(|d| d.year()).unwrap_or(0)
        };
        let direction = parse_direction(row.text("direction")).unwrap_or_else(|| {
            errors.push(CellError::new(
                "direction",
                format!(
                    "verso «{}» sconosciuto: usa entrata (E), uscita (U) o interno (I).",
                    row.text("direction")
                ),
            ));
            Direction::In
        });
        let mut text = |key: &'static str, max: usize, required: bool| -> String {
            let v = row.text(key);
            if required && v.is_empty() {
                errors.push(CellError::new(key, "manca il valore."));
            } else if v.chars().count() > max {
                errors.push(CellError::new(
                    key,
                    format!("testo troppo lungo (massimo {max} caratteri)."),
                ));
            } else if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                errors.push(CellError::new(key, "contiene caratteri di controllo."));
            }
            v.to_string()
        };
        let correspondent = text("correspondent", 300, true);
        let subject = text("subject", 1000, true);
        let classification = text("classification", 50, false);
        let note = text("note", 2000, false);
        match (date, errors.is_empty()) {
            (Some(registered_on), true) => Ok(Entry {
                register,
                year,
                number,
                registered_on,
                direction: direction.as_str().to_string(),
                correspondent,
                subject,
                classification,
                note,
            }),
            _ => Err(errors),
        }
    }

    fn keys(&self, e: &Entry) -> Vec<(&'static str, String)> {
        vec![("number", format!("{}/{}/{:07}", e.register, e.year, e.number))]
    }

    fn preview(&self, e: &Entry) -> Vec<String> {
        FIELDS
            .iter()
            .map(|f| match f.key {
                "register" => e.register.clone(),
                "year" => e.year.to_string(),
                "number" => format!("{:07}", e.number),
                "date" => italian_date(e.registered_on),
                "direction" => Direction::parse(&e.direction)
                    .map(|d| d.label())
                    .unwrap_or("")
                    .to_string(),
                "correspondent" => e.correspondent.clone(),
                "subject" => e.subject.clone(),
                "classification" => e.classification.clone(),
                "note" => e.note.clone(),
                _ => String::new(),
            })
            .collect()
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        ctx: &ApplyCtx<'_>,
        batch: &[Entry],
        write: bool,
    ) -> AppResult<Vec<Outcome>> {
        let registers: Vec<String> = batch.iter().map(|e| e.register.clone()).collect();
        let years: Vec<i32> = batch.iter().map(|e| e.year).collect();
        let numbers: Vec<i32> = batch.iter().map(|e| e.number).collect();
        let existing = repo::existing(conn, &registers, &years, &numbers).await?;
        let mut outcomes = vec![];
        let mut new = vec![];
        for e in batch {
            let stored = existing
                .iter()
                .find(|x| (x.register.as_str(), x.year, x.number) == (e.register.as_str(), e.year, e.number));
            outcomes.push(match stored {
                None => {
                    new.push(e);
                    Outcome::New
                }
                Some(s) if s == e => Outcome::Unchanged,
                Some(s) => Outcome::Rejected(vec![CellError::new(
                    "number",
                    format!(
                        "la registrazione {}/{:07} del registro {} è già stata importata con dati diversi (del {}, oggetto «{}»): le registrazioni non si modificano.",
                        s.year,
                        s.number,
                        s.register,
                        italian_date(s.registered_on),
                        s.subject
                    ),
                )]),
            });
        }
        if write && !new.is_empty() {
            repo::insert(conn, &new, ctx.job_id, ctx.now).await?;
        }
        Ok(outcomes)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["protocol_legacy_entries (register, year, number)"]
    }

    async fn finish(&self, _conn: &mut PgConnection) -> AppResult<()> {
        Ok(())
    }
}

/// Legacy entries, newest first, optionally of one year and number and matching a text in subject or
/// correspondent.
pub async fn search(
    pool: &sqlx::PgPool,
    year: Option<i32>,
    number: Option<i32>,
    text: &str,
    limit: i64,
) -> AppResult<Vec<Entry>> {
    let mut conn = pool.acquire().await?;
    Ok(repo::search(&mut conn, year, number, text, limit).await?)
}
