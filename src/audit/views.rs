use askama::Template;
use askama_web::WebTemplate;

use crate::web::Layout;

pub struct EntryLine {
    pub seq: i64,
    pub recorded_at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub details: String,
    pub hash_prefix: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub entries: Vec<EntryLine>,
    pub intact: bool,
    pub verification: String,
    pub older: Option<i64>,
}
