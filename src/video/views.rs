//! Page structs of the video-access registry, and the rows as pages show them (dates in Europe/Rome).

use askama::Template;
use askama_web::WebTemplate;

use super::model::{ExtractionKind, Level, Purpose, State};
use super::repo::{AccessRow, GrantRow, SiteRow, SystemRow};
use super::request_repo::{AlertRow, RequestRow};
use crate::error::FieldError;
use crate::format::{rome_date, rome_datetime};
use crate::web::Layout;

pub struct SystemLine {
    pub id: i64,
    pub number: i32,
    pub description: String,
    pub site: String,
    pub cameras: String,
    pub zoom: String,
    pub retention: String,
    pub notice: String,
}

impl From<&SystemRow> for SystemLine {
    fn from(s: &SystemRow) -> Self {
        let mut cameras = vec![];
        if s.ptz_cameras > 0 {
            cameras.push(format!("{} brandeggiabili", s.ptz_cameras));
        }
        if s.fixed_cameras > 0 {
            cameras.push(format!("{} fisse", s.fixed_cameras));
        }
        let media = match (s.video, s.audio) {
            (true, true) => "video e audio",
            (true, false) => "video",
            (false, true) => "audio",
            _ => "",
        };
        SystemLine {
            id: s.id,
            number: s.number,
            description: s.description.clone(),
            site: match (&s.site_code, &s.site_name) {
                (Some(c), Some(n)) => format!("{c} — {n}"),
                _ => String::new(),
            },
            cameras: format!("{} ({media})", cameras.join(", ")),
            zoom: [&s.optical_zoom, &s.digital_zoom]
                .iter()
                .zip(["ottico", "digitale"])
                .filter(|(z, _)| !z.is_empty())
                .map(|(z, k)| format!("{k} {z}"))
                .collect::<Vec<_>>()
                .join(", "),
            retention: format!("{} giorni", s.retention_days),
            notice: s.public_notice.clone(),
        }
    }
}

pub struct SiteLine {
    pub code: String,
    pub name: String,
    pub position: String,
    pub cameras: i32,
}

impl From<&SiteRow> for SiteLine {
    fn from(s: &SiteRow) -> Self {
        SiteLine {
            code: s.code.clone(),
            name: s.name.clone(),
            position: match (s.latitude, s.longitude) {
                (Some(a), Some(o)) => format!("{a}, {o}"),
                _ => String::new(),
            },
            cameras: s.cameras,
        }
    }
}

pub struct GrantLine {
    pub user: String,
    pub system: String,
    pub level: &'static str,
    pub effective_on: String,
    pub reason: String,
    pub decided_by: String,
    pub decided_at: String,
}

impl From<&GrantRow> for GrantLine {
    fn from(g: &GrantRow) -> Self {
        GrantLine {
            user: g.user_name.clone(),
            system: format!("n. {} — {}", g.system_number, g.system_description),
            level: Level::label_of(g.level.as_deref()),
            effective_on: crate::members::model::italian_date(g.effective_on),
            reason: g.reason.clone(),
            decided_by: g.decided_by_name.clone(),
            decided_at: rome_datetime(g.decided_at),
        }
    }
}

pub struct AccessLine {
    pub id: i64,
    pub user: String,
    pub session: String,
    pub minutes: i64,
    pub footage: String,
    pub systems: String,
    pub purpose: String,
    pub extracted: bool,
    pub request_id: Option<i64>,
}

impl From<&AccessRow> for AccessLine {
    fn from(a: &AccessRow) -> Self {
        AccessLine {
            id: a.id,
            user: a.user_name.clone(),
            session: format!(
                "{} – {}",
                rome_datetime(a.session_start),
                rome_datetime(a.session_end)
            ),
            minutes: (a.session_end - a.session_start).whole_minutes(),
            footage: format!(
                "{} – {}",
                rome_datetime(a.footage_from),
                rome_datetime(a.footage_to)
            ),
            systems: a
                .systems
                .iter()
                .map(|n| format!("n. {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            purpose: a.purpose.clone(),
            extracted: a.extracted,
            request_id: a.request_id,
        }
    }
}

pub struct RequestLine {
    pub id: i64,
    pub purpose: &'static str,
    pub requester: String,
    pub received: String,
    pub protocol: String,
    pub state: &'static str,
    pub state_code: String,
}

impl From<&RequestRow> for RequestLine {
    fn from(r: &RequestRow) -> Self {
        RequestLine {
            id: r.id,
            purpose: Purpose::label_of(&r.purpose),
            requester: if r.requester_org.is_empty() {
                r.requester_name.clone()
            } else {
                format!("{} ({})", r.requester_name, r.requester_org)
            },
            received: rome_datetime(r.created_at),
            protocol: r.request_protocol.clone(),
            state: State::label_of(&r.state),
            state_code: r.state.clone(),
        }
    }
}

pub struct AlertLine {
    pub request_id: i64,
    pub what: &'static str,
    pub requester: String,
    pub purpose: &'static str,
    pub state: &'static str,
    pub due: String,
    pub raised: String,
}

impl From<&AlertRow> for AlertLine {
    fn from(a: &AlertRow) -> Self {
        AlertLine {
            request_id: a.request_id,
            what: if a.kind == "footage_pending" {
                "Riprese richieste oltre il periodo di conservazione, richiesta ancora da evadere"
            } else {
                "File estratti conservati oltre il periodo di conservazione: cancellarli"
            },
            requester: a.requester_name.clone(),
            purpose: Purpose::label_of(&a.purpose),
            state: State::label_of(&a.state),
            due: rome_date(a.due),
            raised: a.raised_at.map(rome_datetime).unwrap_or_default(),
        }
    }
}

/// Flags of what the person may do, for the forms shown.
pub struct Can {
    pub operate: bool,
    pub manage: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "video/index.html")]
pub struct HomePage {
    pub layout: Layout,
    pub csrf_token: String,
    pub can: Can,
    pub systems: Vec<SystemLine>,
    pub accesses: Vec<AccessLine>,
    /// (id, name, chosen in the filter)
    pub operators: Vec<(i64, String, bool)>,
    pub filter_from: String,
    pub filter_to: String,
    pub filter_system: Option<i64>,
    pub alerts: usize,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "video/grants.html")]
pub struct GrantsPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub can: Can,
    pub systems: Vec<SystemLine>,
    pub operators: Vec<(i64, String)>,
    pub current: Vec<GrantLine>,
    pub history: Vec<GrantLine>,
    pub today: String,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "video/requests.html")]
pub struct RequestsPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub can: Can,
    pub purposes: Vec<(&'static str, &'static str)>,
    pub systems: Vec<SystemLine>,
    pub requests: Vec<RequestLine>,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}

pub struct Attachment {
    pub id: i64,
    pub name: String,
    pub size: i32,
    pub sha256: String,
}

pub struct Event {
    pub at: String,
    pub state: &'static str,
    pub by: String,
    pub note: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "video/request.html")]
pub struct RequestPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub can: Can,
    pub r: RequestLine,
    pub frames_only: bool,
    pub police: bool,
    pub motivation: String,
    pub footage: String,
    pub systems: Vec<String>,
    pub people: Vec<(String, String)>,
    pub attachments: Vec<Attachment>,
    pub events: Vec<Event>,
    pub held_for: String,
    pub extraction: Option<String>,
    pub transfer: Option<String>,
    pub verbale_protocol: Option<String>,
    pub has_verbale: bool,
    pub outcome: String,
    pub files_deleted_on: String,
    pub today: String,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}

impl RequestPage {
    pub fn extraction_of(r: &RequestRow) -> Option<String> {
        let kind = r.extraction_kind.as_deref()?;
        Some(format!(
            "{} file ({}){}, il {}{}",
            r.extracted_files.unwrap_or(0),
            ExtractionKind::label_of(kind),
            if r.third_parties_masked == Some(true) {
                ", terzi oscurati"
            } else {
                ""
            },
            r.extracted_at.map(rome_datetime).unwrap_or_default(),
            if r.extraction_note.is_empty() {
                String::new()
            } else {
                format!(" — {}", r.extraction_note)
            }
        ))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "video/retention.html")]
pub struct RetentionPage {
    pub layout: Layout,
    pub alerts: Vec<AlertLine>,
}

#[derive(Template, WebTemplate)]
#[template(path = "video/public.html")]
pub struct PublicPage {
    pub layout: Layout,
    pub controller: String,
    pub dpo: String,
    pub retention_days: u16,
    pub purposes: Vec<String>,
    pub full_notice: String,
    pub rights_contact: String,
    pub police_access: String,
    pub sites: Vec<SiteLine>,
}
