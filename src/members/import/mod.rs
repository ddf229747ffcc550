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

mod compare;
mod fields;

use async_trait::async_trait;
use sqlx::PgConnection;
use time::Date;

use super::cf::{CodiceFiscale, Sex};
use super::model::{Status, italian_date};
use super::repo::{self, ImportedMember, MemberData};
use super::service::validate_new;
use crate::config::AlboConfig;
use crate::error::AppResult;
use crate::import::{ApplyCtx, CellError, Kind, KindName, Mapped, Outcome, values};
use compare::{changes, imported, protected_changes};
pub use fields::FIELDS;
use fields::{UPDATABLE, code_of, parse_reason, parse_sex, parse_status};

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
