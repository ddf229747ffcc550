//! An imported row against the register: the member it becomes, the protected fields it would
//! change, the update it brings.

use time::Date;

use super::super::model::{Status, italian_date, search_key};
use super::super::repo::{ImportUpdate, ImportedEvent, ImportedMember, MemberRow};
use super::Record;
use super::fields::parse_reason;
use crate::import::CellError;

/// The member a new row becomes, with the history its status implies. The previous system's history
/// is not in the file: a registered member's history starts with the registration (the application
/// date is not known), an applicant's with the application.
pub(super) fn imported(r: &Record, today: Date) -> ImportedMember<'_> {
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
pub(super) fn protected_changes(r: &Record, m: &MemberRow) -> Vec<CellError> {
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
pub(super) fn changes(r: &Record, m: &MemberRow) -> (ImportUpdate, Vec<&'static str>) {
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
