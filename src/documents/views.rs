//! Page structs of the documents: verification, the card, the member's documents and services.

use askama::Template;
use askama_web::WebTemplate;

use crate::error::FieldError;
use crate::web::Layout;

#[derive(Template, WebTemplate)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    pub layout: Layout,
    pub asked: String,
    pub found: bool,
    pub valid: bool,
    pub title: String,
    pub kind: String,
    pub issued: String,
    pub facts: Vec<(String, String)>,
    pub invalid_because: String,
}

impl VerifyPage {
    /// The form, with a message when `asked` is a code that matches no document.
    pub fn not_found(layout: Layout, asked: String) -> VerifyPage {
        VerifyPage {
            layout,
            asked,
            found: false,
            valid: false,
            title: String::new(),
            kind: String::new(),
            issued: String::new(),
            facts: vec![],
            invalid_because: String::new(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "portale/card.html")]
pub struct CardPage {
    pub layout: Layout,
    pub full_name: String,
    pub number: i32,
    pub section: String,
    pub sectors: String,
    pub since: String,
    pub photo_id: Option<i64>,
    pub code: String,
    pub qr_svg: String,
    pub order_name: String,
}

pub struct DocLine {
    pub id: i64,
    pub title: String,
    pub code: String,
    pub issued: String,
    pub status: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "portale/documents.html")]
pub struct DocumentsPage {
    pub layout: Layout,
    pub active: bool,
    pub cancellable: bool,
    pub documents: Vec<DocLine>,
    pub exemptions: Vec<String>,
    pub stamp_duty: String,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}
