//! Page structs of the register.

use askama::Template;
use askama_web::WebTemplate;

use super::handlers::{AlboQuery, BackofficeQuery};
use super::model::{
    CancellationReason, EventKind, OptionalField, PublicView, Status, format_address, italian_date,
};
use super::repo::MemberRow;
use super::service::{self, Mine, PublicLine, Sheet};
use crate::config::AlboConfig;
use crate::error::FieldError;
use crate::format::rome_datetime;
use crate::web::Layout;

#[derive(Template, WebTemplate)]
#[template(path = "albo/search.html")]
pub struct AlboPage {
    pub layout: Layout,
    pub q: AlboQuery,
    pub sections: Vec<(String, String)>,
    pub sectors: Vec<(String, String)>,
    pub municipalities: std::sync::Arc<Vec<String>>,
    pub searched: bool,
    pub error: Option<String>,
    pub lines: Vec<PublicLine>,
    pub page: i64,
    pub prev_link: Option<String>,
    pub next_link: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "albo/member.html")]
pub struct AlboMemberPage {
    pub layout: Layout,
    pub view: PublicView,
}

pub struct MemberLine {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub fiscal_code: String,
    pub section: String,
    pub municipality: String,
    pub status: &'static str,
    pub pec: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/members.html")]
pub struct MembersListPage {
    pub layout: Layout,
    pub q: BackofficeQuery,
    pub statuses: Vec<(&'static str, &'static str)>,
    pub sections: Vec<(String, String)>,
    pub sectors: Vec<(String, String)>,
    pub rows: Vec<MemberLine>,
    pub total: i64,
    pub errors: Vec<FieldError>,
    pub export_link: String,
    pub export_pdf_link: String,
    pub prev_link: Option<String>,
    pub next_link: Option<String>,
}

/// A labelled value of the member sheet.
pub struct Item {
    pub label: &'static str,
    pub value: String,
}

pub struct EventLine {
    pub kind: &'static str,
    pub status_after: &'static str,
    pub effective: String,
    pub until: String,
    pub reason: String,
    pub resolution: String,
    pub protocol_number: String,
    pub note: String,
    pub recorded: String,
}

pub struct ConsentLine {
    pub field: &'static str,
    pub granted: bool,
    pub source: String,
    pub at: String,
}

fn items(albo: &AlboConfig, m: &MemberRow) -> Vec<Item> {
    let v = |label: &'static str, value: String| Item { label, value };
    vec![
        v("Codice fiscale", m.fiscal_code.clone()),
        v("Cognome e nome", format!("{} {}", m.surname, m.name)),
        v("Sesso", m.sex.clone()),
        v(
            "Nascita",
            format!(
                "{} a {} {}",
                italian_date(m.birth_date),
                m.birth_place,
                if m.birth_province.is_empty() {
                    String::new()
                } else {
                    format!("({})", m.birth_province)
                }
            ),
        ),
        v("Cittadinanza", m.citizenship.clone()),
        v(
            "Residenza",
            format_address(
                &m.residence_address,
                &m.residence_cap,
                &m.residence_municipality,
                &m.residence_province,
            ),
        ),
        v(
            "Domicilio professionale",
            format_address(
                &m.domicile_address,
                &m.domicile_cap,
                &m.domicile_municipality,
                &m.domicile_province,
            ),
        ),
        v(
            "Sede di lavoro",
            [
                m.workplace_name.as_str(),
                m.workplace_address.as_str(),
                m.workplace_municipality.as_str(),
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
        ),
        v("E-mail", m.email.clone()),
        v("PEC", m.pec.clone()),
        v("Telefono", m.phone.clone()),
        v(
            "Numero d'iscrizione",
            m.registration_number
                .map(|n| n.to_string())
                .unwrap_or_else(|| "—".into()),
        ),
        v(
            "Data d'iscrizione",
            m.registration_date
                .map(italian_date)
                .unwrap_or_else(|| "—".into()),
        ),
        v("Sezione", service::section_name(albo, &m.section).to_string()),
        v(
            "Settori",
            m.sectors
                .iter()
                .map(|s| service::sector_name(albo, s))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        v(
            "Elenchi speciali",
            m.special_lists
                .iter()
                .map(|s| service::special_list_name(albo, s))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        v(
            "Laurea",
            [
                m.degree_class.clone(),
                m.degree_university.clone(),
                m.degree_year.map(|y| y.to_string()).unwrap_or_default(),
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        ),
        v(
            "Esame di Stato",
            [
                m.state_exam_year.map(|y| y.to_string()).unwrap_or_default(),
                m.state_exam_seat.clone(),
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        ),
        v("Specializzazioni", m.specialisations.clone()),
    ]
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/member_sheet.html")]
pub struct MemberSheetPage {
    pub layout: Layout,
    pub id: i64,
    pub status: &'static str,
    pub items: Vec<Item>,
    pub events: Vec<EventLine>,
    pub consents: Vec<ConsentLine>,
    pub can_edit: bool,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
    pub kinds: Vec<(&'static str, &'static str)>,
    pub reasons: Vec<(&'static str, &'static str)>,
    /// Verification of the personal data against the codice fiscale: empty when consistent.
    pub verification: Vec<String>,
}

/// What in the declared personal data does not match the codice fiscale.
pub fn verify_personal_data(m: &MemberRow) -> Vec<String> {
    use super::cf::{CodiceFiscale, Declared, Sex};
    let cf = match CodiceFiscale::parse(&m.fiscal_code) {
        Ok(cf) => cf,
        Err(e) => return vec![e.message()],
    };
    let sex = if m.sex == "F" { Sex::F } else { Sex::M };
    let declared = Declared {
        surname: &m.surname,
        name: &m.name,
        birth_date: m.birth_date,
        sex,
        place_code: None,
    };
    cf.mismatches(&declared).iter().map(|x| x.message()).collect()
}

impl MemberSheetPage {
    pub fn new(
        layout: Layout,
        albo: &AlboConfig,
        sheet: Sheet,
        can_edit: bool,
        csrf_token: String,
        errors: Vec<FieldError>,
        notice: Option<String>,
    ) -> Self {
        let m = &sheet.member;
        MemberSheetPage {
            layout,
            id: m.id,
            status: Status::parse(&m.status).map(|s| s.label()).unwrap_or(""),
            items: items(albo, m),
            events: sheet.events.iter().map(event_line).collect(),
            consents: sheet
                .consents
                .iter()
                .map(|c| ConsentLine {
                    field: OptionalField::parse(&c.field).map(|f| f.label()).unwrap_or(""),
                    granted: c.granted,
                    source: c.source.clone(),
                    at: rome_datetime(c.recorded_at),
                })
                .collect(),
            can_edit,
            csrf_token,
            errors,
            notice,
            verification: verify_personal_data(m),
            kinds: EventKind::ALL
                .iter()
                .filter(|k| **k != EventKind::Application)
                .map(|k| (k.as_str(), k.label()))
                .collect(),
            reasons: CancellationReason::ALL
                .iter()
                .map(|r| (r.as_str(), r.label()))
                .collect(),
        }
    }
}

fn event_line(e: &super::repo::EventRow) -> EventLine {
    EventLine {
        kind: EventKind::parse(&e.kind).map(|k| k.label()).unwrap_or(""),
        status_after: Status::parse(&e.status_after).map(|s| s.label()).unwrap_or(""),
        effective: italian_date(e.effective_date),
        until: e.until_date.map(italian_date).unwrap_or_default(),
        reason: CancellationReason::parse(&e.reason)
            .map(|r| r.label().to_string())
            .unwrap_or_else(|| e.reason.clone()),
        resolution: if e.resolution_number.is_empty() {
            String::new()
        } else {
            format!(
                "n. {} del {}",
                e.resolution_number,
                e.resolution_date.map(italian_date).unwrap_or_default()
            )
        },
        protocol_number: e.protocol_number.clone(),
        note: e.note.clone(),
        recorded: format!(
            "{} · {}",
            rome_datetime(e.recorded_at),
            e.recorded_by.clone().unwrap_or_else(|| "sistema".into())
        ),
    }
}

pub struct ConsentChoice {
    pub code: &'static str,
    pub label: &'static str,
    pub granted: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "portale/index.html")]
pub struct PortalPage {
    pub layout: Layout,
    pub display_name: String,
    pub has_member: bool,
    pub status: &'static str,
    pub items: Vec<Item>,
    pub events: Vec<EventLine>,
    pub consents: Vec<ConsentChoice>,
    pub workplace_name: String,
    pub workplace_address: String,
    pub workplace_municipality: String,
    pub csrf_token: String,
    pub notice: Option<String>,
    pub errors: Vec<FieldError>,
}

impl PortalPage {
    pub fn new(
        layout: Layout,
        albo: &AlboConfig,
        display_name: String,
        mine: Option<Mine>,
        csrf_token: String,
        notice: Option<String>,
        errors: Vec<FieldError>,
    ) -> Self {
        let (has_member, status, items_, events, consents, wp) = match &mine {
            Some(mine) => {
                let m = &mine.member;
                (
                    true,
                    Status::parse(&m.status).map(|s| s.label()).unwrap_or(""),
                    items(albo, m),
                    mine.events.iter().map(event_line).collect(),
                    OptionalField::ALL
                        .iter()
                        .map(|f| ConsentChoice {
                            code: f.as_str(),
                            label: f.label(),
                            granted: m.public_consents.iter().any(|c| c == f.as_str()),
                        })
                        .collect(),
                    (
                        m.workplace_name.clone(),
                        m.workplace_address.clone(),
                        m.workplace_municipality.clone(),
                    ),
                )
            }
            None => (false, "", vec![], vec![], vec![], Default::default()),
        };
        PortalPage {
            layout,
            display_name,
            has_member,
            status,
            items: items_,
            events,
            consents,
            workplace_name: wp.0,
            workplace_address: wp.1,
            workplace_municipality: wp.2,
            csrf_token,
            notice,
            errors,
        }
    }
}
