//! The home page and the landing pages of the portal and the back office.

use askama::Template;
use askama_web::WebTemplate;

use crate::error::AppResult;
use crate::web::{Ctx, Layout};

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
}

pub async fn home(ctx: Ctx) -> AppResult<HomePage> {
    Ok(HomePage {
        layout: ctx.layout("Home").await?,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/index.html")]
pub struct BackofficeHome {
    pub layout: Layout,
    pub display_name: String,
    pub roles: Vec<&'static str>,
    pub can_read_audit: bool,
    pub can_manage_users: bool,
    pub can_read_members: bool,
    pub can_handle_requests: bool,
    pub can_read_protocol: bool,
    pub can_read_payments: bool,
    pub can_read_ledger: bool,
    pub can_import: bool,
    pub can_read_video: bool,
}

pub async fn backoffice_home(ctx: Ctx) -> AppResult<BackofficeHome> {
    use crate::auth::{Decision, Permission};
    let user = ctx.require_user()?;
    let p = user.principal();
    Ok(BackofficeHome {
        display_name: user.display_name.clone(),
        roles: user.roles.iter().map(|r| r.label()).collect(),
        can_read_audit: p.decide(Permission::AuditRead) == Decision::Allow,
        can_manage_users: p.decide(Permission::UsersManage) == Decision::Allow,
        can_read_members: p.decide(Permission::MembersRead) == Decision::Allow,
        can_handle_requests: p.decide(Permission::RequestsManage) == Decision::Allow,
        can_read_protocol: p.decide(Permission::ProtocolRead) == Decision::Allow,
        can_read_payments: p.decide(Permission::PaymentsRead) == Decision::Allow,
        can_read_ledger: p.decide(Permission::LedgerRead) == Decision::Allow,
        can_import: p.decide(Permission::Import) == Decision::Allow,
        can_read_video: p.decide(Permission::VideoRead) == Decision::Allow,
        layout: ctx.layout("Back office").await?,
    })
}
