//! Page structs of the account and login pages.

use askama::Template;
use askama_web::WebTemplate;

use crate::error::FieldError;
use crate::web::Layout;

/// One identity provider in the SPID button's list.
pub struct SsoChoice {
    pub href: String,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub email: String,
    /// The identity providers of the SPID button (empty: SPID off).
    pub spid_idps: Vec<SsoChoice>,
    /// OpenID Connect providers (CIE and others), one button each.
    pub oidc_providers: Vec<SsoChoice>,
    /// The smart-card login link (CNS/CRS on).
    pub cns: bool,
    pub next: String,
    pub error: Option<String>,
    pub notice: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/otp.html")]
pub struct OtpPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/totp_enrol.html")]
pub struct TotpEnrolPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub secret: String,
    pub secret_grouped: String,
    pub otpauth_uri: String,
    pub qr_png_base64: String,
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
    pub continue_to: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<&'static str>,
    pub second_factor: bool,
    pub unused_recovery_codes: i64,
    pub notice: Option<String>,
    pub field_errors: Vec<FieldError>,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/forgot.html")]
pub struct ForgotPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub sent: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/reset.html")]
pub struct ResetPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub token: String,
    pub valid: bool,
    pub field_errors: Vec<FieldError>,
}

pub struct UserLine {
    pub email: String,
    pub display_name: String,
    pub roles: String,
    pub second_factor: bool,
    pub disabled: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/users.html")]
pub struct UsersPage {
    pub layout: Layout,
    pub users: Vec<UserLine>,
}
