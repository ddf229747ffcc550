//! Page structs of the protocol register.

use askama::Template;
use askama_web::WebTemplate;

use super::daily::DailyView;
use crate::error::FieldError;
use crate::web::Layout;

pub struct Line {
    pub id: i64,
    pub key: String,
    pub at: String,
    pub direction: &'static str,
    pub correspondent: String,
    pub subject: String,
    pub classification: String,
    pub annulled: bool,
}

#[derive(Default)]
pub struct SearchForm {
    pub anno: String,
    pub numero: String,
    pub dal: String,
    pub al: String,
    pub corrispondente: String,
    pub oggetto: String,
    pub classifica: String,
    pub verso: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/protocol.html")]
pub struct ListPage {
    pub layout: Layout,
    pub q: SearchForm,
    pub classes: Vec<(String, String)>,
    pub directions: Vec<(&'static str, &'static str)>,
    pub rows: Vec<Line>,
    pub errors: Vec<FieldError>,
    pub can_write: bool,
    pub next_link: Option<String>,
    pub prev_link: Option<String>,
}

#[derive(Default)]
pub struct NewForm {
    pub direction: String,
    pub subject: String,
    pub correspondent: String,
    pub correspondent_cf: String,
    pub correspondent_email: String,
    pub attachments_description: String,
    pub classification: String,
    pub dossier: String,
    pub dossier_subject: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/protocol_new.html")]
pub struct NewPage {
    pub layout: Layout,
    pub f: NewForm,
    pub classes: Vec<(String, String)>,
    pub directions: Vec<(&'static str, &'static str)>,
    pub dossiers: Vec<(i64, String)>,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
}

pub struct DocumentLine {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i32,
    pub sha256: String,
}

pub struct Linked {
    pub id: i64,
    pub key: String,
    pub direction: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/protocol_detail.html")]
pub struct DetailPage {
    pub layout: Layout,
    pub id: i64,
    pub key: String,
    pub stamp: String,
    pub at: String,
    pub direction: &'static str,
    pub correspondent: String,
    pub correspondent_cf: String,
    pub correspondent_email: String,
    pub subject: String,
    pub attachments_description: String,
    pub classification: String,
    pub dossier: String,
    pub request_id: Option<i64>,
    pub source: String,
    pub registered_by: String,
    pub documents: Vec<DocumentLine>,
    pub linked: Vec<Linked>,
    pub annulment: Option<(String, String, String, String)>,
    pub can_annul: bool,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/protocol_daily.html")]
pub struct DailyPage {
    pub layout: Layout,
    pub days: Vec<DailyView>,
}

pub struct LegacyLine {
    pub key: String,
    pub date: String,
    pub direction: &'static str,
    pub correspondent: String,
    pub subject: String,
    pub classification: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/protocol_legacy.html")]
pub struct LegacyPage {
    pub layout: Layout,
    pub anno: String,
    pub numero: String,
    pub testo: String,
    pub errors: Vec<FieldError>,
    pub rows: Vec<LegacyLine>,
}
