//! The guided application for registration (and for registration by transfer from another order):
//! one page of numbered steps that works on a phone, with the required attachment.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Multipart;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::service::{self, Transfer};
use crate::error::{AppError, AppResult, FieldError};
use crate::members::MemberData;
use crate::members::model::parse_date;
use crate::web::multipart::{self, Form};
use crate::web::{Ctx, Layout};

#[derive(Template, WebTemplate)]
#[template(path = "portale/enrolment.html")]
pub struct EnrolmentPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
    pub sections: Vec<(String, String)>,
    pub sectors: Vec<(String, String)>,
    pub values: Vec<(String, String)>,
    pub fees: String,
}

impl EnrolmentPage {
    pub fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    pub fn checked(&self, name: &str, value: &str) -> bool {
        self.values.iter().any(|(k, v)| k == name && v == value)
    }
}

async fn page(ctx: &Ctx, errors: Vec<FieldError>, values: Vec<(String, String)>) -> AppResult<EnrolmentPage> {
    let albo = &ctx.state.config.albo;
    let p = &ctx.state.config.payments;
    Ok(EnrolmentPage {
        layout: ctx.layout("Domanda di iscrizione all'Albo").await?,
        csrf_token: ctx.csrf_token().await?,
        errors,
        sections: crate::config::CodeName::pairs(&albo.sections),
        sectors: crate::config::CodeName::pairs(&albo.sectors),
        values,
        fees: format!(
            "tassa di iscrizione {} e imposta di bollo {} (per il trasferimento solo l'imposta di bollo)",
            crate::format::euro(p.registration_fee),
            crate::format::euro(p.stamp_duty)
        ),
    })
}

/// `GET /portale/iscrizione`
pub async fn form(ctx: Ctx) -> AppResult<Response> {
    Ok(page(&ctx, vec![], vec![]).await?.into_response())
}

fn data_of(form: &Form) -> MemberData {
    let v = |name: &str| form.value(name).unwrap_or_default().trim().to_string();
    let year = |name: &str| v(name).parse::<i32>().ok();
    MemberData {
        fiscal_code: v("fiscal_code").to_uppercase(),
        surname: v("surname"),
        name: v("name"),
        sex: v("sex"),
        birth_date: parse_date(&v("birth_date")),
        birth_place: v("birth_place"),
        birth_province: v("birth_province").to_uppercase(),
        citizenship: v("citizenship"),
        residence_address: v("residence_address"),
        residence_cap: v("residence_cap"),
        residence_municipality: v("residence_municipality"),
        residence_province: v("residence_province").to_uppercase(),
        email: v("email"),
        pec: v("pec"),
        phone: v("phone"),
        section: v("section"),
        degree_class: v("degree_class"),
        degree_university: v("degree_university"),
        degree_year: year("degree_year"),
        state_exam_year: year("state_exam_year"),
        state_exam_seat: v("state_exam_seat"),
        sectors: form
            .fields
            .iter()
            .filter(|(k, _)| k == "sectors")
            .map(|(_, v)| v.clone())
            .collect(),
        ..MemberData::default()
    }
}

/// `POST /portale/iscrizione` (multipart; the CSRF token travels in the query string).
pub async fn submit(ctx: Ctx, headers: HeaderMap, multipart: Multipart) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let form = multipart::read(&headers, ctx.state.config.http.max_body_bytes, multipart).await?;
    let data = data_of(&form);
    let values = form.fields.clone();
    let mut errors = vec![];
    if data.email.is_empty() {
        errors.push(FieldError::new(
            "email",
            "Indica un indirizzo e-mail per le comunicazioni.",
        ));
    }
    if data.degree_class.is_empty() || data.degree_university.is_empty() || data.degree_year.is_none() {
        errors.push(FieldError::new(
            "degree_class",
            "Indica la laurea: classe, università e anno di conseguimento.",
        ));
    }
    if data.state_exam_year.is_none() {
        errors.push(FieldError::new(
            "state_exam_year",
            "Indica l'anno dell'esame di Stato.",
        ));
    }
    let transfer = (form.value("mode") == Some("transfer")).then(|| Transfer {
        from_order: form.value("from_order").unwrap_or_default().trim().to_string(),
        from_number: form.value("from_number").unwrap_or_default().trim().to_string(),
        from_date: parse_date(form.value("from_date").unwrap_or_default()),
    });
    let result = if errors.is_empty() {
        let files = form
            .files
            .into_iter()
            .filter(|f| f.field == "attachments" && !f.bytes.is_empty())
            .collect();
        service::submit_enrolment(&ctx.state, &user, data, transfer, files).await
    } else {
        Err(AppError::Validation(errors))
    };
    let (status, errors) = match result {
        Ok(id) => return Ok(Redirect::to(&format!("/portale/richieste?ok={id}")).into_response()),
        Err(AppError::Validation(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Err(AppError::Conflict(m)) => (StatusCode::CONFLICT, vec![FieldError::new("request", m)]),
        Err(e) => return Err(e),
    };
    Ok((status, page(&ctx, errors, values).await?).into_response())
}
