//! Page structs of the payments.

use askama::Template;
use askama_web::WebTemplate;

use super::repo::PositionRow;
use crate::error::FieldError;
use crate::web::Layout;

pub struct PositionLine {
    pub id: i64,
    pub member: String,
    pub fiscal_code: String,
    pub kind: &'static str,
    pub description: String,
    pub amount: String,
    pub notice_code: String,
    pub due: String,
    pub paid: bool,
    pub paid_on: String,
    pub request_id: Option<i64>,
}

impl From<&PositionRow> for PositionLine {
    fn from(p: &PositionRow) -> Self {
        PositionLine {
            id: p.id,
            member: p.member_name.clone(),
            fiscal_code: p.fiscal_code.clone(),
            kind: super::service::Kind::label_of(&p.kind),
            description: p.description.clone(),
            amount: crate::format::euro(p.amount),
            notice_code: super::pagopa::NoticeCode::parse(&p.notice_code)
                .map(|n| n.grouped())
                .unwrap_or_else(|_| p.notice_code.clone()),
            due: crate::members::model::italian_date(p.due_date),
            paid: p.receipt_id.is_some(),
            paid_on: p.paid_at.map(crate::format::rome_date).unwrap_or_default(),
            request_id: p.request_id,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "portale/payments.html")]
pub struct MyPaymentsPage {
    pub layout: Layout,
    pub positions: Vec<PositionLine>,
}

pub struct ReportLine {
    pub line: usize,
    pub notice_code: String,
    pub outcome: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/payments.html")]
pub struct PaymentsPage {
    pub layout: Layout,
    pub positions: Vec<PositionLine>,
    pub unpaid_only: bool,
    pub year: i32,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
    pub report: Vec<ReportLine>,
}

#[derive(Template, WebTemplate)]
#[template(path = "backoffice/arrears.html")]
pub struct ArrearsPage {
    pub layout: Layout,
    pub positions: Vec<PositionLine>,
    pub total: String,
}
