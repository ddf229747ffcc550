//! Page structs of the import screen.

use askama::Template;
use askama_web::WebTemplate;

use crate::web::Layout;

pub struct JobLine {
    pub id: i64,
    pub kind: &'static str,
    pub file_name: String,
    pub created: String,
    pub who: String,
    pub state: &'static str,
    pub outcome: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/imports.html")]
pub struct ImportsPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub kinds: Vec<(&'static str, &'static str)>,
    pub kind: String,
    pub error: Option<String>,
    pub jobs: Vec<JobLine>,
}

/// One field in the mapping form.
pub struct FieldChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub required: bool,
    /// The chosen column, if any.
    pub column: Option<usize>,
}

impl FieldChoice {
    pub fn is(&self, column: &usize) -> bool {
        self.column == Some(*column)
    }
}

pub struct PreviewLine {
    pub line: u64,
    pub values: Vec<String>,
    pub errors: Vec<String>,
}

pub struct ErrorLine {
    pub line: u64,
    pub column: String,
    pub message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/import_job.html")]
pub struct JobPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub id: i64,
    pub kind: &'static str,
    pub file_name: String,
    pub size: String,
    pub sha256: String,
    pub encoding: String,
    pub delimiter: &'static str,
    pub total_rows: i32,
    pub state: &'static str,
    pub running: bool,
    pub editable: bool,
    pub processed_rows: i32,
    pub headers: Vec<(usize, String)>,
    pub fields: Vec<FieldChoice>,
    pub mapping_problem: Option<String>,
    /// Labels of the mapped fields, in field order, and the preview rows with those fields' values.
    pub preview_labels: Vec<&'static str>,
    pub preview: Vec<PreviewLine>,
    pub modes: Vec<(&'static str, &'static str)>,
    pub mode: String,
    pub verdict: Option<String>,
    pub counts: Option<String>,
    pub failure: Option<String>,
    pub errors: Vec<ErrorLine>,
    pub more_errors: bool,
    pub has_rejected: bool,
    pub started: String,
    pub finished: String,
}
