//! Page structs of the pratiche.

use askama::Template;
use askama_web::WebTemplate;

use super::model::{Action, Kind, State, actions_from, field_label};
use super::service::Detail;
use crate::error::FieldError;
use crate::format::rome_datetime;
use crate::web::Layout;

pub struct ChangeLine {
    pub label: String,
    pub before: String,
    pub after: String,
}

pub struct AttachmentView {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub sha256: String,
}

pub struct MessageView {
    pub from_staff: bool,
    pub author: String,
    pub at: String,
    pub body: String,
    pub attachments: Vec<AttachmentView>,
}

fn size(bytes: i32) -> String {
    if bytes < 1024 * 1024 {
        format!("{} kB", (bytes + 1023) / 1024)
    } else {
        format!("{:.1} MB", bytes as f64 / 1_048_576.0).replace('.', ",")
    }
}

pub struct HistoryLine {
    pub state: &'static str,
    pub at: String,
    pub by: String,
    pub note: String,
}

/// One request as shown to staff or to the member.
pub struct RequestView {
    pub id: i64,
    pub kind: &'static str,
    pub subject: String,
    pub member: String,
    pub state: &'static str,
    pub is_open: bool,
    pub submitted: String,
    pub changes: Vec<ChangeLine>,
    pub pec_mode: String,
    pub pec: String,
    pub photo_id: Option<i64>,
    pub history: Vec<HistoryLine>,
    pub actions: Vec<(&'static str, &'static str)>,
    pub is_message: bool,
    pub messages: Vec<MessageView>,
    pub protocols: Vec<crate::protocol::service::ProtocolRef>,
    pub needs_resolution: bool,
    pub positions: Vec<crate::payments::handlers::PositionLine>,
    pub stamp_text: String,
}

impl RequestView {
    pub fn from(d: &Detail) -> RequestView {
        let r = &d.request;
        let state = State::parse(&r.state).unwrap_or(State::Closed);
        let kind = Kind::parse(&r.kind).unwrap_or(Kind::Message);
        let messages = d
            .messages
            .iter()
            .map(|m| MessageView {
                from_staff: m.from_staff,
                author: m.author_name.clone(),
                at: rome_datetime(m.at),
                body: m.body.clone(),
                attachments: d
                    .attachments
                    .iter()
                    .filter(|a| a.message_id == m.id)
                    .map(|a| AttachmentView {
                        id: a.id,
                        name: a.file_name.clone(),
                        size: size(a.size_bytes),
                        sha256: hex::encode(&a.sha256),
                    })
                    .collect(),
            })
            .collect();
        let changes = r.payload["changes"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|c| ChangeLine {
                        label: field_label(c["field"].as_str().unwrap_or_default()).to_string(),
                        before: c["before"].as_str().unwrap_or_default().to_string(),
                        after: c["after"].as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        RequestView {
            id: r.id,
            kind: kind.label(),
            subject: r.subject.clone(),
            member: r.member_name.clone(),
            state: state.label(),
            is_open: state.is_open(),
            submitted: rome_datetime(r.submitted_at),
            changes,
            pec_mode: r.payload["mode"].as_str().unwrap_or_default().to_string(),
            pec: r.payload["pec"].as_str().unwrap_or_default().to_string(),
            photo_id: r.payload["photo_id"].as_i64(),
            history: d
                .events
                .iter()
                .map(|e| HistoryLine {
                    state: State::parse(&e.to_state).map(|s| s.label()).unwrap_or(""),
                    at: rome_datetime(e.at),
                    by: e.by_email.clone().unwrap_or_default(),
                    note: e.note.clone(),
                })
                .collect(),
            actions: actions_from(kind, state)
                .into_iter()
                .map(|a: Action| (a.as_str(), a.label()))
                .collect(),
            is_message: kind == Kind::Message,
            messages,
            protocols: d.protocols.clone(),
            needs_resolution: kind.needs_resolution(),
            positions: d
                .positions
                .iter()
                .map(crate::payments::handlers::PositionLine::from)
                .collect(),
            stamp_text: r.payload["stamp_text"].as_str().unwrap_or_default().to_string(),
        }
    }
}

pub struct InboxLine {
    pub id: i64,
    pub kind: &'static str,
    pub member: String,
    pub submitted: String,
    pub age_days: i64,
    pub state: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/requests.html")]
pub struct InboxPage {
    pub layout: Layout,
    pub lines: Vec<InboxLine>,
    pub all: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/request.html")]
pub struct RequestPage {
    pub layout: Layout,
    pub r: RequestView,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}

pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portale/requests.html")]
pub struct MyRequestsPage {
    pub layout: Layout,
    pub has_member: bool,
    pub requests: Vec<RequestView>,
    pub fields: Vec<Field>,
    pub current_pec: String,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "portale/messages.html")]
pub struct MyMessagesPage {
    pub layout: Layout,
    pub has_member: bool,
    pub threads: Vec<RequestView>,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
    pub subject: String,
    pub body: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portale/thread.html")]
pub struct ThreadPage {
    pub layout: Layout,
    pub r: RequestView,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}
