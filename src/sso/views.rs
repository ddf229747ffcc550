//! Page structs of single sign-on.

use askama::Template;
use askama_web::WebTemplate;

use crate::web::Layout;

/// The HTTP-POST binding: a form to the IdP, submitted by /static/js/auto-submit.js (or by hand).
#[derive(Template, WebTemplate)]
#[template(path = "sso/post_binding.html")]
pub struct PostBindingPage {
    pub layout: Layout,
    pub action: String,
    pub field: &'static str,
    pub value: String,
    pub relay_state: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "sso/refused.html")]
pub struct RefusedPage {
    pub layout: Layout,
    pub message: String,
}
