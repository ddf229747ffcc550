//! The protocol register's rules that need no database: directions, the segnatura, the checks on a
//! new registration. Pure.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::config::ProtocolConfig;
use crate::error::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
    Internal,
}

impl Direction {
    pub const ALL: [Direction; 3] = [Direction::In, Direction::Out, Direction::Internal];

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Internal => "internal",
        }
    }

    pub fn parse(s: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Direction::In => "In entrata",
            Direction::Out => "In uscita",
            Direction::Internal => "Interno",
        }
    }
}

/// The protocol signature (segnatura): who registered it, in which register, number and date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segnatura {
    pub administration: String,
    pub aoo: String,
    pub register: String,
    pub year: i32,
    pub number: i32,
    pub registered_at: OffsetDateTime,
}

impl Segnatura {
    /// The number as it is written: 7 digits.
    pub fn number_text(&self) -> String {
        format!("{:07}", self.number)
    }

    /// "2026/0000012": the key people quote.
    pub fn key(&self) -> String {
        format!("{}/{}", self.year, self.number_text())
    }

    /// The line stamped on documents, in the form of the order's own registrations:
    /// "Cod.Amministrazione: oring_ts · Cod.AOO: oring_ts · Cod.Registro: PROT · Prot.N. 0000784 del 01/08/2023".
    pub fn stamp(&self) -> String {
        format!(
            "Cod.Amministrazione: {} · Cod.AOO: {} · Cod.Registro: {} · Prot.N. {} del {}",
            self.administration,
            self.aoo,
            self.register,
            self.number_text(),
            crate::format::rome_date(self.registered_at)
        )
    }
}

/// Who the item comes from or goes to.
#[derive(Debug, Clone, Default)]
pub struct Correspondent {
    pub name: String,
    /// Codice fiscale (16 characters) or the 11-digit fiscal code of an entity; may be empty.
    pub fiscal_code: String,
    /// E-mail or PEC; may be empty.
    pub email: String,
}

/// Where a document's bytes are.
#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    /// A message attachment already stored, append-only, in `request_attachments`.
    Attachment(i64),
}

#[derive(Debug, Clone)]
pub struct Document {
    pub file_name: String,
    pub content_type: String,
    pub size: usize,
    pub sha256: [u8; 32],
    pub content: Content,
    /// A text ordo writes itself (e.g. an outcome letter): registered with the segnatura as its first
    /// line, once the number is known.
    pub stamp: bool,
}

impl Document {
    pub fn from_bytes(
        file_name: impl Into<String>,
        content_type: impl Into<String>,
        bytes: Vec<u8>,
    ) -> Document {
        Document {
            file_name: file_name.into(),
            content_type: content_type.into(),
            size: bytes.len(),
            sha256: Sha256::digest(&bytes).into(),
            content: Content::Bytes(bytes),
            stamp: false,
        }
    }

    /// A plain-text document ordo produces: it will carry the registration's segnatura.
    pub fn produced_text(file_name: impl Into<String>, text: &str) -> Document {
        Document {
            stamp: true,
            ..Document::from_bytes(file_name, "text/plain; charset=utf-8", text.as_bytes().to_vec())
        }
    }

    /// This document with the segnatura as its first line (only for texts ordo produces).
    pub fn stamped(&self, segnatura: &Segnatura) -> Document {
        match &self.content {
            Content::Bytes(b) if self.stamp => {
                let text = format!("{}\n\n{}", segnatura.stamp(), String::from_utf8_lossy(b));
                Document {
                    stamp: false,
                    ..Document::from_bytes(
                        self.file_name.clone(),
                        self.content_type.clone(),
                        text.into_bytes(),
                    )
                }
            }
            _ => self.clone(),
        }
    }
}

/// The file (fascicolo) a registration goes into.
#[derive(Debug, Clone)]
pub enum Dossier {
    None,
    Existing(i64),
    New {
        subject: String,
    },
    /// The pratica's own file, opened with its first registration.
    OfRequest {
        request_id: i64,
        subject: String,
    },
}

#[derive(Debug, Clone)]
pub struct NewRegistration {
    pub direction: Direction,
    pub correspondent: Correspondent,
    pub subject: String,
    pub attachments_description: String,
    pub classification: String,
    pub dossier: Dossier,
    pub request_id: Option<i64>,
    /// What caused it: "manual", "cli", "request", ….
    pub source: &'static str,
    pub documents: Vec<Document>,
}

pub const MAX_SUBJECT: usize = 500;
pub const MAX_DOCUMENTS: usize = 20;

fn text(
    field: &'static str,
    label: &str,
    value: &str,
    max: usize,
    required: bool,
    errors: &mut Vec<FieldError>,
) {
    if required && value.trim().is_empty() {
        errors.push(FieldError::new(field, format!("Indica {label}.")));
    }
    if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("Troppo lungo: {label} al massimo {max} caratteri."),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        errors.push(FieldError::new(
            field,
            format!("Caratteri non ammessi in {label}."),
        ));
    }
}

/// Everything wrong with a new registration, each message naming its field.
pub fn validate(r: &NewRegistration, config: &ProtocolConfig) -> Vec<FieldError> {
    let mut errors = vec![];
    text("subject", "l'oggetto", &r.subject, MAX_SUBJECT, true, &mut errors);
    text(
        "correspondent",
        "il corrispondente",
        &r.correspondent.name,
        300,
        true,
        &mut errors,
    );
    text(
        "attachments_description",
        "la descrizione degli allegati",
        &r.attachments_description,
        1000,
        false,
        &mut errors,
    );
    let cf = r.correspondent.fiscal_code.trim();
    let cf_ok = cf.is_empty()
        || (cf.len() == 11 && cf.chars().all(|c| c.is_ascii_digit()))
        || crate::members::cf::CodiceFiscale::parse(cf).is_ok();
    if !cf_ok {
        errors.push(FieldError::new(
            "correspondent_cf",
            "Codice fiscale del corrispondente non valido: 16 caratteri per una persona, 11 cifre per un ente.",
        ));
    }
    let email = r.correspondent.email.trim();
    if !email.is_empty() && crate::auth::model::Email::parse("correspondent_email", email).is_err() {
        errors.push(FieldError::new(
            "correspondent_email",
            "Indirizzo e-mail o PEC del corrispondente non valido.",
        ));
    }
    if config.class_name(&r.classification).is_none() {
        errors.push(FieldError::new(
            "classification",
            format!(
                "Classificazione «{}» non prevista dal titolario.",
                r.classification
            ),
        ));
    }
    if r.documents.len() > MAX_DOCUMENTS {
        errors.push(FieldError::new(
            "documents",
            format!("Al massimo {MAX_DOCUMENTS} documenti per registrazione."),
        ));
    }
    if let Dossier::New { subject } = &r.dossier {
        text(
            "dossier_subject",
            "l'oggetto del fascicolo",
            subject,
            MAX_SUBJECT,
            true,
            &mut errors,
        );
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_segnatura_reads_like_the_orders_own() {
        let s = Segnatura {
            administration: "oring_ts".into(),
            aoo: "oring_ts".into(),
            register: "OUT".into(),
            year: 2023,
            number: 784,
            registered_at: datetime!(2023-07-31 22:30 UTC),
        };
        assert_eq!(s.key(), "2023/0000784");
        assert_eq!(
            s.stamp(),
            "Cod.Amministrazione: oring_ts · Cod.AOO: oring_ts · Cod.Registro: OUT · Prot.N. 0000784 del 01/08/2023"
        );
    }

    #[test]
    fn directions_round_trip() {
        for d in Direction::ALL {
            assert_eq!(Direction::parse(d.as_str()), Some(d));
        }
        assert_eq!(Direction::parse("uscita"), None);
    }
}
