//! The members import kind: the register of an order as the previous system or a spreadsheet has it,
//! with each member's current status (and so a status history: application, registration, then
//! suspension or cancellation). Natural keys: codice fiscale, then registration number.
//!
//! Rules (decisions of this module):
//! - a new codice fiscale is a new member, created with the registration number and date of the file
//!   (the registration counter then follows the highest number);
//! - an existing member may get contacts, addresses, degree and sectors from the file; an empty cell
//!   leaves the stored value alone;
//! - identity (surname, name, sex, birth date and place), section, registration number and date and
//!   status are protected: a row that would change them is rejected with a message saying where to
//!   change them (the member's sheet, a council decision), never applied silently.

use async_trait::async_trait;
use sqlx::PgConnection;
use time::Date;

use super::cf::{CodiceFiscale, Sex};
use super::model::{CancellationReason, Status, italian_date, search_key};
use super::repo::{self, ImportUpdate, ImportedEvent, ImportedMember, MemberData, MemberRow};
use super::service::validate_new;
use crate::config::AlboConfig;
use crate::error::AppResult;
use crate::import::{ApplyCtx, CellError, FieldSpec, Kind, KindName, Mapped, Outcome, values};

macro_rules! field {
    ($key:literal, $label:literal, $required:literal, [$($syn:literal),*]) => {
        FieldSpec { key: $key, label: $label, required: $required, synonyms: &[$($syn),*] }
    };
}

/// The columns a members file may have. Keys are those of the member's data, so the register's own
/// checks name the same fields.
pub const FIELDS: &[FieldSpec] = &[
    field!(
        "fiscal_code",
        "Codice fiscale",
        true,
        [
            "cf",
            "cod fiscale",
            "codice fisc",
            "c f",
            "fiscal code",
            "tax code",
            "tax id"
        ]
    ),
    field!(
        "surname",
        "Cognome",
        true,
        ["surname", "last name", "family name"]
    ),
    field!("name", "Nome", true, ["first name", "given name", "nome proprio"]),
    field!("sex", "Sesso", false, ["genere", "gender", "sex", "m f"]),
    field!(
        "birth_date",
        "Data di nascita",
        false,
        [
            "data nascita",
            "nato il",
            "nata il",
            "birth date",
            "date of birth",
            "dob"
        ]
    ),
    field!(
        "birth_place",
        "Luogo di nascita",
        true,
        [
            "luogo nascita",
            "comune di nascita",
            "comune nascita",
            "nato a",
            "nata a",
            "birth place",
            "place of birth"
        ]
    ),
    field!(
        "birth_province",
        "Provincia di nascita",
        false,
        ["prov nascita", "provincia nascita", "birth province"]
    ),
    field!("section", "Sezione", true, ["sezione albo", "section"]),
    field!("sectors", "Settori", false, ["settore", "sectors", "sector"]),
    field!(
        "registration_number",
        "Numero di iscrizione",
        false,
        [
            "numero iscrizione",
            "n iscrizione",
            "nr iscrizione",
            "num iscrizione",
            "matricola",
            "numero",
            "registration number",
            "number"
        ]
    ),
    field!(
        "registration_date",
        "Data di iscrizione",
        false,
        [
            "data iscrizione",
            "iscritto dal",
            "iscritta dal",
            "registration date"
        ]
    ),
    field!(
        "status",
        "Stato",
        false,
        ["stato iscrizione", "posizione", "status"]
    ),
    field!(
        "status_date",
        "Data dello stato",
        false,
        [
            "data stato",
            "decorrenza",
            "data decorrenza",
            "data cancellazione",
            "data sospensione",
            "status date"
        ]
    ),
    field!(
        "status_reason",
        "Motivo",
        false,
        [
            "motivo stato",
            "motivo cancellazione",
            "motivo sospensione",
            "causale",
            "reason"
        ]
    ),
    field!(
        "resolution_number",
        "Delibera",
        false,
        [
            "numero delibera",
            "n delibera",
            "delibera consiglio",
            "resolution"
        ]
    ),
    field!(
        "email",
        "E-mail",
        false,
        [
            "email",
            "mail",
            "posta elettronica",
            "indirizzo email",
            "e mail address"
        ]
    ),
    field!(
        "pec",
        "PEC",
        false,
        [
            "posta elettronica certificata",
            "indirizzo pec",
            "certified email"
        ]
    ),
    field!(
        "phone",
        "Telefono",
        false,
        ["tel", "cellulare", "cell", "phone", "mobile"]
    ),
    field!(
        "residence_address",
        "Indirizzo di residenza",
        false,
        ["indirizzo", "indirizzo residenza", "via", "residenza", "address"]
    ),
    field!(
        "residence_cap",
        "CAP di residenza",
        false,
        ["cap", "cap residenza", "zip", "postcode", "postal code"]
    ),
    field!(
        "residence_municipality",
        "Comune di residenza",
        false,
        ["comune", "comune residenza", "citta", "city", "town"]
    ),
    field!(
        "residence_province",
        "Provincia di residenza",
        false,
        ["provincia", "prov", "provincia residenza", "province"]
    ),
    field!(
        "domicile_address",
        "Indirizzo del domicilio professionale",
        false,
        ["indirizzo domicilio", "domicilio", "indirizzo studio"]
    ),
    field!(
        "domicile_cap",
        "CAP del domicilio",
        false,
        ["cap domicilio", "cap studio"]
    ),
    field!(
        "domicile_municipality",
        "Comune del domicilio",
        false,
        ["comune domicilio", "comune studio"]
    ),
    field!(
        "domicile_province",
        "Provincia del domicilio",
        false,
        ["provincia domicilio", "prov domicilio"]
    ),
    field!(
        "degree_class",
        "Laurea",
        false,
        ["classe laurea", "titolo di studio", "degree"]
    ),
    field!(
        "degree_university",
        "Università",
        false,
        ["universita", "ateneo", "university"]
    ),
    field!(
        "degree_year",
        "Anno di laurea",
        false,
        ["anno laurea", "degree year"]
    ),
    field!(
        "state_exam_year",
        "Anno dell'esame di Stato",
        false,
        ["anno esame di stato", "anno abilitazione", "esame di stato"]
    ),
    field!(
        "state_exam_seat",
        "Sede dell'esame di Stato",
        false,
        ["sede esame", "sede abilitazione"]
    ),
    field!(
        "specialisations",
        "Specializzazioni",
        false,
        ["specializzazione", "competenze", "specialisations"]
    ),
];

/// Fields an import may change on an existing member.
const UPDATABLE: &[&str] = &[
    "birth_province",
    "residence_address",
    "residence_cap",
    "residence_municipality",
    "residence_province",
    "domicile_address",
    "domicile_cap",
    "domicile_municipality",
    "domicile_province",
    "email",
    "pec",
    "phone",
    "degree_class",
    "degree_university",
    "degree_year",
    "state_exam_year",
    "state_exam_seat",
    "specialisations",
    "sectors",
];

pub struct MembersKind {
    pub albo: AlboConfig,
    pub today: Date,
}

/// A valid row.
pub struct Record {
    data: MemberData,
    birth_date: Date,
    registration: Option<(i32, Date)>,
    status: Status,
    status_date: Option<Date>,
    status_reason: String,
    resolution_number: String,
    /// Updatable fields that have a value in the file.
    present: Vec<&'static str>,
}

fn parse_sex(s: &str) -> Option<&'static str> {
    match s.to_lowercase().as_str() {
        "m" | "maschio" | "maschile" | "male" | "uomo" => Some("M"),
        "f" | "femmina" | "femminile" | "female" | "donna" => Some("F"),
        _ => None,
    }
}

fn parse_status(s: &str) -> Option<Status> {
    let n = crate::import::columns::normalise(s);
    match n.as_str() {
        "iscritto" | "iscritta" | "attivo" | "attiva" | "active" | "registered" => Some(Status::Active),
        "sospeso" | "sospesa" | "suspended" => Some(Status::Suspended),
        "cancellato" | "cancellata" | "cancelled" | "canceled" | "radiato" | "radiata" => {
            Some(Status::Cancelled)
        }
        "richiedente" | "domanda" | "inattesa" | "applicant" => Some(Status::Applicant),
        _ => Status::parse(s),
    }
}

fn parse_reason(s: &str) -> Option<CancellationReason> {
    let n = crate::import::columns::normalise(s);
    CancellationReason::ALL
        .into_iter()
        .find(|r| {
            let label = crate::import::columns::normalise(r.label());
            n == r.as_str().replace('_', "") || n == label || (n.len() >= 5 && label.starts_with(&n))
        })
        .or(match n.as_str() {
            "dimissioni" | "dimissionivolontarie" | "rinuncia" => Some(CancellationReason::Resignation),
            "trasferimento" | "trasferito" | "trasferita" => Some(CancellationReason::TransferOut),
            "decesso" | "deceduto" | "deceduta" | "morte" => Some(CancellationReason::Death),
            "morosita" | "moroso" | "morosa" => Some(CancellationReason::Arrears),
            "disciplinare" | "radiazione" => Some(CancellationReason::Disciplinary),
            _ => None,
        })
}

/// A section or sector given by code or by name.
fn code_of(list: &[crate::config::CodeName], value: &str) -> Option<String> {
    let n = crate::import::columns::normalise(value);
    list.iter()
        .find(|c| c.code.eq_ignore_ascii_case(value) || crate::import::columns::normalise(&c.name) == n)
        .map(|c| c.code.clone())
}

impl MembersKind {
    fn row_to_data(&self, row: &Mapped<'_>, errors: &mut Vec<CellError>) -> MemberData {
        let t = |k: &str| row.text(k).to_string();
        let year = |k: &'static str, errors: &mut Vec<CellError>| -> Option<i32> {
            if !row.has(k) {
                return None;
            }
            match values::integer(row.text(k)) {
                Ok(y) => i32::try_from(y).ok(),
                Err(m) => {
                    errors.push(CellError::new(k, m));
                    None
                }
            }
        };
        let section = if row.has("section") {
            code_of(&self.albo.sections, row.text("section")).unwrap_or_else(|| {
                let known: Vec<String> = self
                    .albo
                    .sections
                    .iter()
                    .map(|s| format!("{} ({})", s.code, s.name))
                    .collect();
                errors.push(CellError::new(
                    "section",
                    format!(
                        "sezione «{}» sconosciuta: usa {}.",
                        row.text("section"),
                        known.join(", ")
                    ),
                ));
                String::new()
            })
        } else {
            String::new()
        };
        let mut sectors = vec![];
        for s in row
            .text("sectors")
            .split([',', ';', '|', '/'])
            .map(values::clean)
            .filter(|s| !s.is_empty())
        {
            match code_of(&self.albo.sectors, s) {
                Some(code) if !sectors.contains(&code) => sectors.push(code),
                Some(_) => {}
                None => errors.push(CellError::new("sectors", format!("settore «{s}» sconosciuto."))),
            }
        }
        MemberData {
            fiscal_code: row.text("fiscal_code").to_uppercase(),
            surname: t("surname"),
            name: t("name"),
            sex: String::new(),
            birth_date: None,
            birth_place: t("birth_place"),
            birth_province: row.text("birth_province").to_uppercase(),
            citizenship: "italiana".into(),
            residence_address: t("residence_address"),
            residence_cap: t("residence_cap"),
            residence_municipality: t("residence_municipality"),
            residence_province: row.text("residence_province").to_uppercase(),
            domicile_address: t("domicile_address"),
            domicile_cap: t("domicile_cap"),
            domicile_municipality: t("domicile_municipality"),
            domicile_province: row.text("domicile_province").to_uppercase(),
            workplace_name: String::new(),
            workplace_address: String::new(),
            workplace_municipality: String::new(),
            email: row.text("email").to_lowercase(),
            pec: row.text("pec").to_lowercase(),
            phone: t("phone"),
            section,
            degree_class: t("degree_class"),
            degree_university: t("degree_university"),
            degree_year: year("degree_year", errors),
            state_exam_year: year("state_exam_year", errors),
            state_exam_seat: t("state_exam_seat"),
            specialisations: t("specialisations"),
            sectors,
        }
    }

    fn date(row: &Mapped<'_>, key: &'static str, errors: &mut Vec<CellError>) -> Option<Date> {
        if !row.has(key) {
            return None;
        }
        values::date(row.text(key))
            .map_err(|m| errors.push(CellError::new(key, m)))
            .ok()
    }
}

#[async_trait]
impl Kind for MembersKind {
    type Record = Record;

    fn name(&self) -> KindName {
        KindName::Members
    }

    fn parse(&self, row: &Mapped<'_>) -> Result<Record, Vec<CellError>> {
        let mut errors = vec![];
        let mut data = self.row_to_data(row, &mut errors);
        let cf = CodiceFiscale::parse(&data.fiscal_code).ok();
        // Sex and birth date may be left to the codice fiscale.
        data.sex = if row.has("sex") {
            parse_sex(row.text("sex")).map(str::to_string).unwrap_or_else(|| {
                errors.push(CellError::new(
                    "sex",
                    format!("«{}»: scrivi M o F.", row.text("sex")),
                ));
                String::new()
            })
        } else {
            match cf.as_ref().map(CodiceFiscale::sex) {
                Some(Sex::M) => "M".into(),
                Some(Sex::F) => "F".into(),
                None => String::new(),
            }
        };
        data.birth_date = if row.has("birth_date") {
            Self::date(row, "birth_date", &mut errors)
        } else {
            cf.as_ref().and_then(|cf| cf.birth_date(self.today))
        };
        let registration_number = if row.has("registration_number") {
            values::integer_between(
                row.text("registration_number"),
                1,
                9_999_999,
                "il numero di iscrizione",
            )
            .map_err(|m| errors.push(CellError::new("registration_number", m)))
            .ok()
        } else {
            None
        };
        let registration_date = Self::date(row, "registration_date", &mut errors);
        let status_date = Self::date(row, "status_date", &mut errors);
        let status = if row.has("status") {
            parse_status(row.text("status")).unwrap_or_else(|| {
                errors.push(CellError::new(
                    "status",
                    format!(
                        "stato «{}» sconosciuto: usa iscritto, sospeso, cancellato o richiedente.",
                        row.text("status")
                    ),
                ));
                Status::Active
            })
        } else if registration_number.is_some() {
            Status::Active
        } else {
            Status::Applicant
        };
        let registration = match (status, registration_number, registration_date) {
            (Status::Applicant, None, None) => None,
            (Status::Applicant, _, _) => {
                errors.push(CellError::new(
                    "registration_number",
                    "un richiedente non ha ancora numero né data di iscrizione.",
                ));
                None
            }
            (_, Some(n), Some(d)) => Some((n, d)),
            (_, None, _) if !row.has("registration_number") => {
                errors.push(CellError::new(
                    "registration_number",
                    format!(
                        "manca il numero di iscrizione, necessario per chi è «{}».",
                        status.label()
                    ),
                ));
                None
            }
            (_, _, None) if !row.has("registration_date") => {
                errors.push(CellError::new(
                    "registration_date",
                    format!(
                        "manca la data di iscrizione, necessaria per chi è «{}».",
                        status.label()
                    ),
                ));
                None
            }
            _ => None,
        };
        if let Some((_, d)) = registration {
            if d > self.today {
                errors.push(CellError::new(
                    "registration_date",
                    "la data di iscrizione non può essere futura.",
                ));
            }
            if data.birth_date.is_some_and(|b| d <= b) {
                errors.push(CellError::new(
                    "registration_date",
                    "la data di iscrizione precede la nascita.",
                ));
            }
        }
        let status_reason = row.text("status_reason").to_string();
        match status {
            Status::Suspended | Status::Cancelled => {
                match (status_date, registration) {
                    (None, _) if !row.has("status_date") => errors.push(CellError::new(
                        "status_date",
                        format!("indica da quando l'iscritto è «{}».", status.label()),
                    )),
                    (Some(s), Some((_, r))) if s < r => errors.push(CellError::new(
                        "status_date",
                        "la data dello stato precede l'iscrizione.",
                    )),
                    (Some(s), _) if s > self.today => errors.push(CellError::new(
                        "status_date",
                        "la data dello stato non può essere futura.",
                    )),
                    _ => {}
                }
                if status == Status::Cancelled && parse_reason(&status_reason).is_none() {
                    errors.push(CellError::new(
                        "status_reason",
                        format!(
                            "motivo della cancellazione «{status_reason}» non riconosciuto: usa dimissioni, trasferimento, decesso, morosità o provvedimento disciplinare."
                        ),
                    ));
                }
            }
            Status::Active | Status::Applicant => {}
        }
        match validate_new(&data, &self.albo, self.today) {
            Ok((cf, birth_date)) if errors.is_empty() => {
                data.fiscal_code = cf.as_str().to_string();
                data.surname = data.surname.trim().to_string();
                data.name = data.name.trim().to_string();
                let present = UPDATABLE.iter().copied().filter(|k| row.has(k)).collect();
                Ok(Record {
                    data,
                    birth_date,
                    registration,
                    status,
                    status_date,
                    status_reason,
                    resolution_number: row.text("resolution_number").to_string(),
                    present,
                })
            }
            Ok(_) => Err(errors),
            Err(field_errors) => {
                for e in field_errors {
                    // The register's checks speak in sentences; keep them, lower-cased after the column.
                    if !errors.iter().any(|x| x.field == e.field) {
                        errors.push(CellError::new(e.field, e.message));
                    }
                }
                Err(errors)
            }
        }
    }

    fn keys(&self, r: &Record) -> Vec<(&'static str, String)> {
        let mut keys = vec![("fiscal_code", r.data.fiscal_code.clone())];
        if let Some((n, _)) = r.registration {
            keys.push(("registration_number", n.to_string()));
        }
        keys
    }

    fn preview(&self, r: &Record) -> Vec<String> {
        let d = &r.data;
        let date = |d: Option<Date>| d.map(italian_date).unwrap_or_default();
        let year = |y: Option<i32>| y.map(|y| y.to_string()).unwrap_or_default();
        FIELDS
            .iter()
            .map(|f| match f.key {
                "fiscal_code" => d.fiscal_code.clone(),
                "surname" => d.surname.clone(),
                "name" => d.name.clone(),
                "sex" => d.sex.clone(),
                "birth_date" => italian_date(r.birth_date),
                "birth_place" => d.birth_place.clone(),
                "birth_province" => d.birth_province.clone(),
                "section" => d.section.clone(),
                "sectors" => d.sectors.join(", "),
                "registration_number" => r.registration.map(|(n, _)| n.to_string()).unwrap_or_default(),
                "registration_date" => date(r.registration.map(|(_, d)| d)),
                "status" => r.status.label().to_string(),
                "status_date" => date(r.status_date),
                "status_reason" => r.status_reason.clone(),
                "resolution_number" => r.resolution_number.clone(),
                "email" => d.email.clone(),
                "pec" => d.pec.clone(),
                "phone" => d.phone.clone(),
                "residence_address" => d.residence_address.clone(),
                "residence_cap" => d.residence_cap.clone(),
                "residence_municipality" => d.residence_municipality.clone(),
                "residence_province" => d.residence_province.clone(),
                "domicile_address" => d.domicile_address.clone(),
                "domicile_cap" => d.domicile_cap.clone(),
                "domicile_municipality" => d.domicile_municipality.clone(),
                "domicile_province" => d.domicile_province.clone(),
                "degree_class" => d.degree_class.clone(),
                "degree_university" => d.degree_university.clone(),
                "degree_year" => year(d.degree_year),
                "state_exam_year" => year(d.state_exam_year),
                "state_exam_seat" => d.state_exam_seat.clone(),
                "specialisations" => d.specialisations.clone(),
                _ => String::new(),
            })
            .collect()
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        ctx: &ApplyCtx<'_>,
        batch: &[Record],
        write: bool,
    ) -> AppResult<Vec<Outcome>> {
        let codes: Vec<String> = batch.iter().map(|r| r.data.fiscal_code.clone()).collect();
        let numbers: Vec<i32> = batch
            .iter()
            .filter_map(|r| r.registration.map(|(n, _)| n))
            .collect();
        let existing = repo::existing_for_import(conn, &codes, &numbers).await?;
        let by_cf = |cf: &str| existing.iter().find(|m| m.fiscal_code == cf);
        let by_number = |n: i32| existing.iter().find(|m| m.registration_number == Some(n));

        let mut outcomes = Vec::with_capacity(batch.len());
        let mut new_rows = vec![];
        let mut updates = vec![];
        for r in batch {
            let number_owner = r.registration.and_then(|(n, _)| by_number(n));
            let outcome = match by_cf(&r.data.fiscal_code) {
                None => match number_owner {
                    Some(other) => Outcome::Rejected(vec![CellError::new(
                        "registration_number",
                        format!(
                            "il numero di iscrizione {} è già di un altro iscritto (codice fiscale {}).",
                            other.registration_number.unwrap_or_default(),
                            other.fiscal_code
                        ),
                    )]),
                    None => {
                        new_rows.push(r);
                        Outcome::New
                    }
                },
                Some(m) => {
                    let mut problems = protected_changes(r, m);
                    if let Some(other) = number_owner.filter(|o| o.id != m.id) {
                        problems.push(CellError::new(
                            "registration_number",
                            format!(
                                "il numero di iscrizione {} è già di un altro iscritto (codice fiscale {}).",
                                other.registration_number.unwrap_or_default(),
                                other.fiscal_code
                            ),
                        ));
                    }
                    if !problems.is_empty() {
                        Outcome::Rejected(problems)
                    } else {
                        let (update, changed) = changes(r, m);
                        if changed.is_empty() {
                            Outcome::Unchanged
                        } else {
                            updates.push((
                                m.id,
                                update,
                                r.data.sectors.clone(),
                                changed.contains(&"sectors"),
                            ));
                            Outcome::Updated(changed)
                        }
                    }
                }
            };
            outcomes.push(outcome);
        }
        if write {
            let rows: Vec<ImportedMember<'_>> = new_rows.iter().map(|r| imported(r, self.today)).collect();
            let note = format!("Importazione n. {}", ctx.job_id);
            repo::insert_imported(conn, &rows, ctx.now, ctx.actor.id, &note).await?;
            for (id, update, sectors, sectors_changed) in updates {
                repo::update_imported(conn, id, &update, ctx.now).await?;
                if sectors_changed {
                    repo::set_sectors(conn, id, &sectors).await?;
                }
            }
        }
        Ok(outcomes)
    }

    fn tables(&self) -> &'static [&'static str] {
        // The tables the import and the register's triggers read while a batch is written, with the
        // columns they look up by (status events are only appended, never read back).
        &[
            "members (id, fiscal_code, registration_number)",
            "member_sectors (member_id)",
        ]
    }

    async fn finish(&self, conn: &mut PgConnection) -> AppResult<()> {
        repo::raise_registration_counter(conn).await?;
        Ok(())
    }
}

/// The member a new row becomes, with the history its status implies. The previous system's history
/// is not in the file: a registered member's history starts with the registration (the application
/// date is not known), an applicant's with the application.
fn imported(r: &Record, today: Date) -> ImportedMember<'_> {
    let reg_date = r.registration.map(|(_, d)| d);
    let mut events = vec![];
    match reg_date {
        Some(d) => events.push(ImportedEvent {
            kind: "registration",
            status_after: "active",
            effective_date: d,
            reason: String::new(),
            resolution_number: if r.status == Status::Active {
                r.resolution_number.clone()
            } else {
                String::new()
            },
        }),
        None => events.push(ImportedEvent {
            kind: "application",
            status_after: "applicant",
            effective_date: r.status_date.unwrap_or(today),
            reason: String::new(),
            resolution_number: String::new(),
        }),
    }
    let last = match r.status {
        Status::Suspended => Some(("suspension", r.status_reason.clone())),
        Status::Cancelled => Some((
            "cancellation",
            parse_reason(&r.status_reason)
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
        )),
        _ => None,
    };
    if let Some((kind, reason)) = last {
        events.push(ImportedEvent {
            kind,
            status_after: r.status.as_str(),
            effective_date: r.status_date.or(reg_date).unwrap_or(r.birth_date),
            reason,
            resolution_number: r.resolution_number.clone(),
        });
    }
    let d = &r.data;
    ImportedMember {
        data: d,
        birth_date: r.birth_date,
        registration: r.registration,
        status: r.status.as_str(),
        events,
        search_key: search_key(&format!("{} {}", d.surname, d.name)),
        search_key_alt: search_key(&format!("{} {}", d.name, d.surname)),
    }
}

/// Differences in fields an import may not change.
fn protected_changes(r: &Record, m: &MemberRow) -> Vec<CellError> {
    let mut out = vec![];
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    let mut protect = |field: &'static str, stored: String, file: String, where_: &str| {
        out.push(CellError::new(
            field,
            format!(
                "nell'Albo è «{stored}», nel file «{file}»: non si cambia con un'importazione ({where_})."
            ),
        ));
    };
    let sheet = "si corregge dalla scheda dell'iscritto";
    if !same(&r.data.surname, &m.surname) {
        protect("surname", m.surname.clone(), r.data.surname.clone(), sheet);
    }
    if !same(&r.data.name, &m.name) {
        protect("name", m.name.clone(), r.data.name.clone(), sheet);
    }
    if r.data.sex != m.sex {
        protect("sex", m.sex.clone(), r.data.sex.clone(), sheet);
    }
    if r.birth_date != m.birth_date {
        protect(
            "birth_date",
            italian_date(m.birth_date),
            italian_date(r.birth_date),
            sheet,
        );
    }
    if !same(&r.data.birth_place, &m.birth_place) {
        protect(
            "birth_place",
            m.birth_place.clone(),
            r.data.birth_place.clone(),
            sheet,
        );
    }
    let decision = "serve una delibera, registrata dal back office";
    if r.data.section != m.section {
        protect("section", m.section.clone(), r.data.section.clone(), decision);
    }
    if let Some((n, d)) = r.registration {
        if m.registration_number != Some(n) {
            let stored = m
                .registration_number
                .map(|n| n.to_string())
                .unwrap_or_else(|| "nessuno".into());
            protect("registration_number", stored, n.to_string(), decision);
        } else if m.registration_date != Some(d) {
            let stored = m.registration_date.map(italian_date).unwrap_or_default();
            protect("registration_date", stored, italian_date(d), decision);
        }
    }
    if r.status.as_str() != m.status {
        let stored = Status::parse(&m.status).map(|s| s.label()).unwrap_or("?");
        protect(
            "status",
            stored.to_string(),
            r.status.label().to_string(),
            decision,
        );
    }
    out
}

/// The update an existing member gets, and the fields it changes.
fn changes(r: &Record, m: &MemberRow) -> (ImportUpdate, Vec<&'static str>) {
    let d = &r.data;
    let mut u = ImportUpdate::default();
    let mut changed = vec![];
    for &k in &r.present {
        let (file, stored): (String, String) = match k {
            "birth_province" => (d.birth_province.clone(), m.birth_province.clone()),
            "residence_address" => (d.residence_address.clone(), m.residence_address.clone()),
            "residence_cap" => (d.residence_cap.clone(), m.residence_cap.clone()),
            "residence_municipality" => (d.residence_municipality.clone(), m.residence_municipality.clone()),
            "residence_province" => (d.residence_province.clone(), m.residence_province.clone()),
            "domicile_address" => (d.domicile_address.clone(), m.domicile_address.clone()),
            "domicile_cap" => (d.domicile_cap.clone(), m.domicile_cap.clone()),
            "domicile_municipality" => (d.domicile_municipality.clone(), m.domicile_municipality.clone()),
            "domicile_province" => (d.domicile_province.clone(), m.domicile_province.clone()),
            "email" => (d.email.clone(), m.email.clone()),
            "pec" => (d.pec.clone(), m.pec.clone()),
            "phone" => (d.phone.clone(), m.phone.clone()),
            "degree_class" => (d.degree_class.clone(), m.degree_class.clone()),
            "degree_university" => (d.degree_university.clone(), m.degree_university.clone()),
            "degree_year" => (format!("{:?}", d.degree_year), format!("{:?}", m.degree_year)),
            "state_exam_year" => (
                format!("{:?}", d.state_exam_year),
                format!("{:?}", m.state_exam_year),
            ),
            "state_exam_seat" => (d.state_exam_seat.clone(), m.state_exam_seat.clone()),
            "specialisations" => (d.specialisations.clone(), m.specialisations.clone()),
            "sectors" => {
                let mut a = d.sectors.clone();
                a.sort();
                (a.join(","), m.sectors.join(","))
            }
            _ => continue,
        };
        if file == stored {
            continue;
        }
        changed.push(k);
        let v = Some(file);
        match k {
            "birth_province" => u.birth_province = v,
            "residence_address" => u.residence_address = v,
            "residence_cap" => u.residence_cap = v,
            "residence_municipality" => u.residence_municipality = v,
            "residence_province" => u.residence_province = v,
            "domicile_address" => u.domicile_address = v,
            "domicile_cap" => u.domicile_cap = v,
            "domicile_municipality" => u.domicile_municipality = v,
            "domicile_province" => u.domicile_province = v,
            "email" => u.email = v,
            "pec" => u.pec = v,
            "phone" => u.phone = v,
            "degree_class" => u.degree_class = v,
            "degree_university" => u.degree_university = v,
            "degree_year" => u.degree_year = d.degree_year,
            "state_exam_year" => u.state_exam_year = d.state_exam_year,
            "state_exam_seat" => u.state_exam_seat = v,
            "specialisations" => u.specialisations = v,
            _ => {}
        }
    }
    (u, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_reasons_in_the_words_of_old_systems() {
        assert_eq!(parse_status("Iscritto"), Some(Status::Active));
        assert_eq!(parse_status("CANCELLATA"), Some(Status::Cancelled));
        assert_eq!(parse_status("suspended"), Some(Status::Suspended));
        assert_eq!(parse_status("boh"), None);
        assert_eq!(parse_reason("Morosità"), Some(CancellationReason::Arrears));
        assert_eq!(parse_reason("dimissioni"), Some(CancellationReason::Resignation));
        assert_eq!(
            parse_reason("Trasferimento ad altro Ordine"),
            Some(CancellationReason::TransferOut)
        );
        assert_eq!(
            parse_reason("transfer_out"),
            Some(CancellationReason::TransferOut)
        );
        assert_eq!(parse_reason(""), None);
        assert_eq!(parse_sex("Femmina"), Some("F"));
        assert_eq!(parse_sex("x"), None);
    }
}
