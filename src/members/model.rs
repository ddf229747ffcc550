//! Member domain rules: the status lifecycle, search-key normalisation, input parsing. Pure.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::FieldError;

/// A member's status in the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Applicant,
    Active,
    Suspended,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Applicant,
        Status::Active,
        Status::Suspended,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applicant => "applicant",
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Applicant => "Richiedente",
            Status::Active => "Iscritto",
            Status::Suspended => "Sospeso",
            Status::Cancelled => "Cancellato",
        }
    }

    /// Whether the member appears in the public Albo.
    pub fn is_public(self) -> bool {
        matches!(self, Status::Active | Status::Suspended)
    }
}

/// Why a member is cancelled from the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancellationReason {
    Resignation,
    TransferOut,
    Death,
    Arrears,
    Disciplinary,
}

impl CancellationReason {
    pub const ALL: [CancellationReason; 5] = [
        CancellationReason::Resignation,
        CancellationReason::TransferOut,
        CancellationReason::Death,
        CancellationReason::Arrears,
        CancellationReason::Disciplinary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CancellationReason::Resignation => "resignation",
            CancellationReason::TransferOut => "transfer_out",
            CancellationReason::Death => "death",
            CancellationReason::Arrears => "arrears",
            CancellationReason::Disciplinary => "disciplinary",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            CancellationReason::Resignation => "Dimissioni",
            CancellationReason::TransferOut => "Trasferimento ad altro Ordine",
            CancellationReason::Death => "Decesso",
            CancellationReason::Arrears => "Morosità",
            CancellationReason::Disciplinary => "Provvedimento disciplinare",
        }
    }
}

/// A change of status, as recorded in `member_status_events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Application submitted: the person enters the register as applicant.
    Application,
    /// Registration decided by the council: applicant → active, registration number given.
    Registration,
    /// Suspension (from/to dates): active → suspended.
    Suspension,
    /// End of a suspension: suspended → active.
    Reinstatement,
    /// Cancellation with a reason: active or suspended → cancelled.
    Cancellation,
    /// Arrival from another order: enters directly as active, with a new registration number.
    TransferIn,
    /// Departure to another order: active or suspended → cancelled (reason: transfer out).
    TransferOut,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::Application,
        EventKind::Registration,
        EventKind::Suspension,
        EventKind::Reinstatement,
        EventKind::Cancellation,
        EventKind::TransferIn,
        EventKind::TransferOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Application => "application",
            EventKind::Registration => "registration",
            EventKind::Suspension => "suspension",
            EventKind::Reinstatement => "reinstatement",
            EventKind::Cancellation => "cancellation",
            EventKind::TransferIn => "transfer_in",
            EventKind::TransferOut => "transfer_out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            EventKind::Application => "Domanda di iscrizione",
            EventKind::Registration => "Iscrizione all'Albo",
            EventKind::Suspension => "Sospensione",
            EventKind::Reinstatement => "Revoca della sospensione",
            EventKind::Cancellation => "Cancellazione",
            EventKind::TransferIn => "Iscrizione per trasferimento da altro Ordine",
            EventKind::TransferOut => "Trasferimento ad altro Ordine",
        }
    }

    /// Whether the event needs a council resolution (delibera) reference.
    pub fn needs_resolution(self) -> bool {
        !matches!(self, EventKind::Application)
    }

    /// Whether the event gives a registration number.
    pub fn gives_registration_number(self) -> bool {
        matches!(self, EventKind::Registration | EventKind::TransferIn)
    }
}

/// The lifecycle: which event may follow which status, and the status after it.
/// `None` as current status means "not in the register yet".
pub fn transition(current: Option<Status>, kind: EventKind) -> Result<Status, String> {
    use EventKind as E;
    use Status as S;
    let next = match (current, kind) {
        (None, E::Application) => Some(S::Applicant),
        (None | Some(S::Applicant), E::TransferIn) => Some(S::Active),
        (Some(S::Applicant), E::Registration) => Some(S::Active),
        (Some(S::Active), E::Suspension) => Some(S::Suspended),
        (Some(S::Suspended), E::Reinstatement) => Some(S::Active),
        (Some(S::Active | S::Suspended), E::Cancellation) => Some(S::Cancelled),
        (Some(S::Active | S::Suspended), E::TransferOut) => Some(S::Cancelled),
        _ => None,
    };
    next.ok_or_else(|| {
        let from = current.map(|s| s.label()).unwrap_or("non ancora nell'Albo");
        format!(
            "Operazione non consentita: «{}» non è possibile per chi è nello stato «{from}».",
            kind.label()
        )
    })
}

/// A status change as entered by the secretariat, checked before it is recorded.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub kind: EventKind,
    pub effective_date: Date,
    pub until_date: Option<Date>,
    pub reason: String,
    pub resolution_number: String,
    pub resolution_date: Option<Date>,
    pub protocol_number: String,
    pub note: String,
}

impl StatusChange {
    /// Field-level checks (the lifecycle is checked against the current status separately).
    pub fn validate(&self, today: Date) -> Vec<FieldError> {
        let mut errors = vec![];
        if self.kind.needs_resolution() {
            if self.resolution_number.trim().is_empty() {
                errors.push(FieldError::new(
                    "resolution_number",
                    "Indica il numero della delibera del Consiglio.",
                ));
            }
            match self.resolution_date {
                None => errors.push(FieldError::new(
                    "resolution_date",
                    "Indica la data della delibera del Consiglio.",
                )),
                Some(d) if d > today => errors.push(FieldError::new(
                    "resolution_date",
                    "La data della delibera non può essere futura.",
                )),
                Some(d) if d > self.effective_date && self.kind != EventKind::Suspension => {
                    errors.push(FieldError::new(
                        "resolution_date",
                        "La delibera non può essere successiva alla data di decorrenza.",
                    ))
                }
                _ => {}
            }
        }
        if self.kind == EventKind::Suspension {
            match self.until_date {
                Some(u) if u < self.effective_date => errors.push(FieldError::new(
                    "until_date",
                    "La fine della sospensione non può precedere l'inizio.",
                )),
                _ => {}
            }
            if self.reason.trim().is_empty() {
                errors.push(FieldError::new("reason", "Indica il motivo della sospensione."));
            }
        }
        if self.kind == EventKind::Cancellation && CancellationReason::parse(&self.reason).is_none() {
            errors.push(FieldError::new("reason", "Scegli il motivo della cancellazione."));
        }
        errors
    }
}

/// Lower case, accents and punctuation removed, single spaces: "D'Àngelo  Nicolò" → "dangelo nicolo".
pub fn search_key(text: &str) -> String {
    let plain = deunicode::deunicode(text).to_lowercase();
    let mut out = String::with_capacity(plain.len());
    let mut space = false;
    for c in plain.chars() {
        if c.is_ascii_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else if c.is_whitespace() || c == '-' {
            space = true;
        }
        // apostrophes and other punctuation vanish: "d'angelo" → "dangelo"
    }
    out
}

/// An optional date field of a form: empty is `None`; a malformed one adds a field error.
pub fn optional_date(field: &'static str, raw: &str, errors: &mut Vec<FieldError>) -> Option<Date> {
    if raw.trim().is_empty() {
        return None;
    }
    let parsed = parse_date(raw);
    if parsed.is_none() {
        errors.push(FieldError::new(
            field,
            "Data non valida: usa il formato gg/mm/aaaa.",
        ));
    }
    parsed
}

/// Parses `gg/mm/aaaa` or `aaaa-mm-gg`.
pub fn parse_date(raw: &str) -> Option<Date> {
    let s = raw.trim();
    let fmt_it = time::macros::format_description!("[day]/[month]/[year]");
    let fmt_iso = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, fmt_it).or_else(|_| Date::parse(s, fmt_iso)).ok()
}

/// Optional fields: shown in the public Albo only with the member's consent (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionalField {
    Email,
    Phone,
    Address,
    Specialisations,
    Photo,
}

impl OptionalField {
    pub const ALL: [OptionalField; 5] = [
        OptionalField::Email,
        OptionalField::Phone,
        OptionalField::Address,
        OptionalField::Specialisations,
        OptionalField::Photo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OptionalField::Email => "email",
            OptionalField::Phone => "phone",
            OptionalField::Address => "address",
            OptionalField::Specialisations => "specialisations",
            OptionalField::Photo => "photo",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            OptionalField::Email => "Indirizzo e-mail",
            OptionalField::Phone => "Telefono",
            OptionalField::Address => "Indirizzo di residenza",
            OptionalField::Specialisations => "Specializzazioni",
            OptionalField::Photo => "Fotografia",
        }
    }
}

/// What the public Albo shows of a member: each field is `Some` only if the law makes it public
/// (configured list) or the member consented to it. Nothing else leaves the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublicView {
    pub registration_number: Option<String>,
    pub registration_date: Option<String>,
    pub surname: Option<String>,
    pub name: Option<String>,
    pub birth_date: Option<String>,
    pub section: Option<String>,
    pub sectors: Option<String>,
    pub special_lists: Option<String>,
    pub domicile: Option<String>,
    pub pec: Option<String>,
    pub status: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub specialisations: Option<String>,
    /// URL of the approved photo.
    pub photo: Option<String>,
}

/// The facts a public view is built from.
pub struct PublicFacts<'a> {
    pub registration_number: Option<i32>,
    pub registration_date: Option<Date>,
    pub surname: &'a str,
    pub name: &'a str,
    pub birth_date: Date,
    pub section_name: &'a str,
    pub sector_names: Vec<&'a str>,
    pub special_list_names: Vec<&'a str>,
    pub domicile: String,
    pub pec: &'a str,
    pub status: Status,
    pub email: &'a str,
    pub phone: &'a str,
    pub address: String,
    pub specialisations: &'a str,
    pub consents: &'a [String],
    pub has_photo: bool,
}

fn non_empty(s: impl Into<String>) -> Option<String> {
    let s = s.into();
    (!s.trim().is_empty()).then_some(s)
}

pub fn italian_date(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

pub fn public_view(f: &PublicFacts<'_>, public_fields: &[String]) -> PublicView {
    let public = |name: &str| public_fields.iter().any(|p| p == name);
    let consented = |field: OptionalField| f.consents.iter().any(|c| c == field.as_str());
    PublicView {
        registration_number: public("registration_number")
            .then(|| f.registration_number.map(|n| n.to_string()))
            .flatten(),
        registration_date: public("registration_date")
            .then(|| f.registration_date.map(italian_date))
            .flatten(),
        surname: public("surname").then(|| f.surname.to_string()),
        name: public("name").then(|| f.name.to_string()),
        birth_date: public("birth_date").then(|| italian_date(f.birth_date)),
        section: public("section").then(|| f.section_name.to_string()),
        sectors: public("sectors")
            .then(|| non_empty(f.sector_names.join(", ")))
            .flatten(),
        special_lists: public("special_lists")
            .then(|| non_empty(f.special_list_names.join("; ")))
            .flatten(),
        domicile: public("domicile")
            .then(|| non_empty(f.domicile.clone()))
            .flatten(),
        pec: public("pec").then(|| non_empty(f.pec)).flatten(),
        status: public("status").then(|| f.status.label().to_string()),
        email: consented(OptionalField::Email)
            .then(|| non_empty(f.email))
            .flatten(),
        phone: consented(OptionalField::Phone)
            .then(|| non_empty(f.phone))
            .flatten(),
        address: consented(OptionalField::Address)
            .then(|| non_empty(f.address.clone()))
            .flatten(),
        specialisations: consented(OptionalField::Specialisations)
            .then(|| non_empty(f.specialisations))
            .flatten(),
        photo: match (
            consented(OptionalField::Photo) && f.has_photo,
            f.registration_number,
        ) {
            (true, Some(n)) => Some(format!("/albo/{n}/foto")),
            _ => None,
        },
    }
}

/// "Via Roma 1, 34100 Trieste (TS)".
pub fn format_address(street: &str, cap: &str, municipality: &str, province: &str) -> String {
    let mut place = [cap.trim(), municipality.trim()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if !province.trim().is_empty() && !place.is_empty() {
        place = format!("{place} ({})", province.trim());
    }
    [street.trim(), place.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fields a member may ask to change through a request, and the PEC (changed by its own request).
pub const CONTACT_FIELDS: &[&str] = &[
    "residence_address",
    "residence_cap",
    "residence_municipality",
    "residence_province",
    "domicile_address",
    "domicile_cap",
    "domicile_municipality",
    "domicile_province",
    "email",
    "phone",
    "specialisations",
    "pec",
];

#[cfg(test)]
mod tests;
