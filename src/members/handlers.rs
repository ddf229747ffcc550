//! Pages of the register: the public Albo, the back office (search, sheet, status, export) and the
//! member's own page in the portal.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, RawForm, RawQuery};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::model::{
    CancellationReason, EventKind, OptionalField, Status, StatusChange, optional_date, parse_date, search_key,
};
use super::service::{self, Filter};
use super::views::*;
use crate::error::{AppError, AppResult, FieldError};

use crate::config::CodeName;
use crate::web::Ctx;

mod export;
pub use export::{export_csv, export_pdf};

fn opt(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The non-empty filters of a search as a query string, with the page if given.
fn query_string(fields: &[(&str, &Option<String>)], page: Option<i64>) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        if let Some(v) = opt(v) {
            s.append_pair(k, &v);
        }
    }
    if let Some(p) = page {
        s.append_pair("pagina", &p.to_string());
    }
    s.finish()
}

// --- public Albo ------------------------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AlboQuery {
    pub q: Option<String>,
    pub numero: Option<String>,
    pub sezione: Option<String>,
    pub settore: Option<String>,
    pub comune: Option<String>,
    pub pagina: Option<i64>,
}

impl AlboQuery {
    fn filter(&self) -> Result<Filter, FieldError> {
        let number =
            match opt(&self.numero) {
                None => None,
                Some(n) => Some(n.parse::<i32>().map_err(|_| {
                    FieldError::new("numero", "Il numero d'iscrizione è fatto di sole cifre.")
                })?),
            };
        Ok(Filter {
            name_prefix: opt(&self.q).map(|q| search_key(&q)).filter(|k| !k.is_empty()),
            registration_number: number,
            section: opt(&self.sezione),
            sector: opt(&self.settore),
            municipality: opt(&self.comune).map(|c| c.to_lowercase()),
            ..Default::default()
        })
    }

    /// The query string of this search at another page.
    fn page_link(&self, page: i64) -> String {
        let fields = [
            ("q", &self.q),
            ("numero", &self.numero),
            ("sezione", &self.sezione),
            ("settore", &self.settore),
            ("comune", &self.comune),
        ];
        format!("/albo?{}", query_string(&fields, Some(page)))
    }
}

#[tracing::instrument(skip_all)]
pub async fn albo(ctx: Ctx, RawQuery(raw): RawQuery, Query(q): Query<AlboQuery>) -> AppResult<Response> {
    ctx.state.check_public_rate(ctx.client_ip)?;
    // Anonymous visitors all get the same page for the same query: reuse it for a few seconds.
    let cache = &ctx.state.caches.public_pages;
    let key = (ctx.user.is_none() && cache.enabled()).then(|| raw.unwrap_or_default());
    if let Some((status, body)) = key.as_deref().and_then(|k| cache.get(k)) {
        return Ok(html(status, body));
    }
    let albo = &ctx.state.config.albo;
    let page = q.pagina.unwrap_or(0).clamp(0, 10_000);
    let searched = [&q.q, &q.numero, &q.sezione, &q.settore, &q.comune]
        .iter()
        .any(|v| opt(v).is_some());
    let (lines, more, error) = match q.filter() {
        Ok(filter) if searched => {
            let (lines, more) = service::public_search(&ctx.state, filter, page).await?;
            (lines, more, None)
        }
        Ok(_) => (vec![], false, None),
        Err(e) => (vec![], false, Some(e.message)),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page_view = AlboPage {
        layout: ctx.layout("Albo degli iscritti").await?,
        sections: CodeName::pairs(&albo.sections),
        sectors: CodeName::pairs(&albo.sectors),
        municipalities: service::municipalities(&ctx.state).await?,
        searched,
        error,
        prev_link: (page > 0).then(|| q.page_link(page - 1)),
        next_link: more.then(|| q.page_link(page + 1)),
        page: page + 1,
        lines,
        q: q.clone(),
    };
    // Rendered into a buffer sized for a full page: growing it step by step costs more than the page.
    let mut body = String::with_capacity(32 * 1024);
    page_view.render_into(&mut body).map_err(AppError::internal)?;
    let body = axum::body::Bytes::from(body);
    if let Some(k) = key {
        cache.put(k, status.as_u16(), body.clone());
    }
    Ok(html(status.as_u16(), body))
}

fn html(status: u16, body: axum::body::Bytes) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

pub async fn albo_member(ctx: Ctx, Path(number): Path<String>) -> AppResult<Response> {
    ctx.state.check_public_rate(ctx.client_ip)?;
    let number: i32 = number.parse().map_err(|_| AppError::NotFound)?;
    let view = service::public_detail(&ctx.state, number).await?;
    let title = format!(
        "{} {}",
        view.surname.clone().unwrap_or_default(),
        view.name.clone().unwrap_or_default()
    );
    Ok(AlboMemberPage {
        layout: ctx.layout(title.trim().to_string()).await?,
        view,
    }
    .into_response())
}

/// `GET /albo/{numero}/foto`: the approved photo, only with the member's consent.
pub async fn albo_photo(ctx: Ctx, Path(number): Path<String>) -> AppResult<Response> {
    ctx.state.check_public_rate(ctx.client_ip)?;
    let number: i32 = number.parse().map_err(|_| AppError::NotFound)?;
    let bytes = service::public_photo(&ctx.state, number).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        bytes,
    )
        .into_response())
}

// --- back office ------------------------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct BackofficeQuery {
    pub q: Option<String>,
    pub numero: Option<String>,
    pub stato: Option<String>,
    pub sezione: Option<String>,
    pub settore: Option<String>,
    pub comune: Option<String>,
    pub dal: Option<String>,
    pub al: Option<String>,
    pub pec: Option<String>,
    pub pagina: Option<i64>,
    pub separatore: Option<String>,
}

impl BackofficeQuery {
    fn filter(&self) -> Result<Filter, Vec<FieldError>> {
        let mut errors = vec![];
        let from = optional_date("dal", self.dal.as_deref().unwrap_or(""), &mut errors);
        let to = optional_date("al", self.al.as_deref().unwrap_or(""), &mut errors);
        let number = opt(&self.numero).and_then(|n| {
            n.parse::<i32>()
                .map_err(|_| {
                    errors.push(FieldError::new(
                        "numero",
                        "Il numero d'iscrizione è fatto di sole cifre.",
                    ))
                })
                .ok()
        });
        let statuses = match opt(&self.stato) {
            None => vec![],
            Some(s) => match Status::parse(&s) {
                Some(st) => vec![st.as_str().to_string()],
                None => {
                    errors.push(FieldError::new("stato", "Stato sconosciuto."));
                    vec![]
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Filter {
            name_prefix: opt(&self.q).map(|q| search_key(&q)).filter(|k| !k.is_empty()),
            registration_number: number,
            section: opt(&self.sezione),
            sector: opt(&self.settore),
            municipality: opt(&self.comune).map(|c| c.to_lowercase()),
            statuses,
            registered_from: from,
            registered_to: to,
            has_pec: match opt(&self.pec).as_deref() {
                Some("si") => Some(true),
                Some("no") => Some(false),
                _ => None,
            },
        })
    }

    fn query_string(&self, page: Option<i64>) -> String {
        let fields = [
            ("q", &self.q),
            ("numero", &self.numero),
            ("stato", &self.stato),
            ("sezione", &self.sezione),
            ("settore", &self.settore),
            ("comune", &self.comune),
            ("dal", &self.dal),
            ("al", &self.al),
            ("pec", &self.pec),
        ];
        query_string(&fields, page)
    }
}

const BACKOFFICE_PAGE: i64 = 50;

pub async fn list(ctx: Ctx, Query(q): Query<BackofficeQuery>) -> AppResult<Response> {
    let albo = &ctx.state.config.albo;
    let page = q.pagina.unwrap_or(0).clamp(0, 100_000);
    let (rows, more, total, errors) = match q.filter() {
        Ok(f) => {
            let (rows, more) =
                service::search(&ctx.state, &f, BACKOFFICE_PAGE, page * BACKOFFICE_PAGE).await?;
            (rows, more, service::count(&ctx.state, &f).await?, vec![])
        }
        Err(errors) => (vec![], false, 0, errors),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let view = MembersListPage {
        layout: ctx.layout("Iscritti").await?,
        statuses: Status::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        sections: CodeName::pairs(&albo.sections),
        sectors: CodeName::pairs(&albo.sectors),
        rows: rows
            .into_iter()
            .map(|r| MemberLine {
                id: r.id,
                number: r.registration_number.map(|n| n.to_string()).unwrap_or_default(),
                name: format!("{} {}", r.surname, r.name),
                fiscal_code: r.fiscal_code,
                section: service::section_name(albo, &r.section).to_string(),
                municipality: r.domicile_municipality,
                status: Status::parse(&r.status).map(|s| s.label()).unwrap_or(""),
                pec: r.pec,
            })
            .collect(),
        total,
        errors,
        export_link: format!("/backoffice/iscritti/export.csv?{}", q.query_string(None)),
        export_pdf_link: format!("/backoffice/iscritti/export.pdf?{}", q.query_string(None)),
        prev_link: (page > 0).then(|| format!("/backoffice/iscritti?{}", q.query_string(Some(page - 1)))),
        next_link: more.then(|| format!("/backoffice/iscritti?{}", q.query_string(Some(page + 1)))),
        q,
    };
    Ok((status, view).into_response())
}

async fn sheet_page(
    ctx: &Ctx,
    id: i64,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> AppResult<MemberSheetPage> {
    let user = ctx.require_user()?;
    let sheet = service::sheet(&ctx.state, user, id).await?;
    let can_edit =
        user.principal().decide(crate::auth::Permission::MembersWrite) == crate::auth::Decision::Allow;
    Ok(MemberSheetPage::new(
        ctx.layout(format!("{} {}", sheet.member.surname, sheet.member.name))
            .await?,
        &ctx.state.config.albo,
        sheet,
        can_edit,
        ctx.csrf_token().await?,
        errors,
        notice,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OkQuery {
    ok: Option<String>,
}

pub async fn sheet(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let notice = q.ok.as_deref().map(|_| "Stato aggiornato.".to_string());
    Ok(sheet_page(&ctx, id, vec![], notice).await?.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    kind: String,
    effective_date: String,
    until_date: String,
    reason: String,
    resolution_number: String,
    resolution_date: String,
    protocol_number: String,
    note: String,
}

pub async fn change_status(ctx: Ctx, Path(id): Path<i64>, Form(f): Form<StatusForm>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let mut errors = vec![];
    let kind = EventKind::parse(&f.kind);
    if kind.is_none() || kind == Some(EventKind::Application) {
        errors.push(FieldError::new("kind", "Scegli l'operazione."));
    }
    let effective = parse_date(&f.effective_date);
    if effective.is_none() {
        errors.push(FieldError::new(
            "effective_date",
            "Indica la data di decorrenza (gg/mm/aaaa).",
        ));
    }
    let until = optional_date("until_date", &f.until_date, &mut errors);
    let resolution_date = optional_date("resolution_date", &f.resolution_date, &mut errors);
    let result = match (kind, effective, errors.is_empty()) {
        (Some(kind), Some(effective_date), true) => {
            let reason = if kind == EventKind::TransferOut {
                CancellationReason::TransferOut.as_str().to_string()
            } else {
                f.reason
            };
            service::change_status(
                &ctx.state,
                &user,
                id,
                StatusChange {
                    kind,
                    effective_date,
                    until_date: until,
                    reason,
                    resolution_number: f.resolution_number,
                    resolution_date,
                    protocol_number: f.protocol_number,
                    note: f.note,
                },
            )
            .await
        }
        _ => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/backoffice/iscritti/{id}?ok=stato")).into_response()),
        Err(AppError::Validation(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            sheet_page(&ctx, id, errors, None).await?,
        )
            .into_response()),
        Err(AppError::Conflict(message)) => Ok((
            StatusCode::CONFLICT,
            sheet_page(&ctx, id, vec![FieldError::new("kind", message)], None).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

// --- portal -----------------------------------------------------------------------------------

pub async fn portal(ctx: Ctx, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let user = ctx.require_user()?;
    let mine = service::mine(&ctx.state, user).await?;
    let notice = match q.ok.as_deref() {
        Some("consensi") => Some("Preferenze sulla pubblicazione salvate.".to_string()),
        Some("sede") => Some("Sede di lavoro aggiornata.".to_string()),
        _ => None,
    };
    Ok(PortalPage::new(
        ctx.layout("Area iscritti").await?,
        &ctx.state.config.albo,
        user.display_name.clone(),
        mine,
        ctx.csrf_token().await?,
        notice,
        vec![],
    )
    .into_response())
}

/// Checkboxes: one `consent` pair per ticked field (serde_urlencoded cannot collect repeats).
pub async fn set_consents(ctx: Ctx, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let mut granted = vec![];
    for (k, v) in url::form_urlencoded::parse(&body) {
        if k == "consent" {
            match OptionalField::parse(&v) {
                Some(f) => granted.push(f),
                None => return Err(AppError::BadRequest(format!("Campo «{v}» sconosciuto."))),
            }
        }
    }
    service::set_consents(&ctx.state, &user, &granted).await?;
    Ok(Redirect::to("/portale?ok=consensi").into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct WorkplaceForm {
    workplace_name: String,
    workplace_address: String,
    workplace_municipality: String,
}

pub async fn set_workplace(ctx: Ctx, Form(f): Form<WorkplaceForm>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    match service::set_workplace(
        &ctx.state,
        &user,
        &f.workplace_name,
        &f.workplace_address,
        &f.workplace_municipality,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/portale?ok=sede").into_response()),
        Err(AppError::Validation(errors)) => {
            let mine = service::mine(&ctx.state, &user).await?;
            let page = PortalPage::new(
                ctx.layout("Area iscritti").await?,
                &ctx.state.config.albo,
                user.display_name.clone(),
                mine,
                ctx.csrf_token().await?,
                None,
                errors,
            );
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e),
    }
}
