//! Back-office pages of the protocol register: search, registration by hand, detail, annulment,
//! documents and the daily registers.

use axum::extract::{Multipart, Path, Query, RawForm};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::model::{Correspondent, Direction, Document, Dossier, NewRegistration};
use super::repo::Filter;
use super::service;
use super::views::*;
use crate::auth::{Decision, Permission};
use crate::error::{AppError, AppResult, FieldError};
use crate::format::{rome_date, rome_datetime};
use crate::members::model::parse_date;
use crate::web::multipart;
use crate::web::{Ctx, download};

const PAGE: i64 = 50;

fn classes(ctx: &Ctx) -> Vec<(String, String)> {
    ctx.state
        .config
        .protocol
        .classes
        .iter()
        .map(|c| (c.code.clone(), format!("{} {}", c.code, c.name)))
        .collect()
}

fn directions() -> Vec<(&'static str, &'static str)> {
    Direction::ALL.iter().map(|d| (d.as_str(), d.label())).collect()
}

fn allowed(ctx: &Ctx, p: Permission) -> bool {
    ctx.user
        .as_ref()
        .is_some_and(|u| u.principal().decide(p) == Decision::Allow)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    anno: String,
    numero: String,
    dal: String,
    al: String,
    corrispondente: String,
    oggetto: String,
    classifica: String,
    verso: String,
    pagina: Option<i64>,
}

impl SearchQuery {
    fn link(&self, page: i64) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("anno", &self.anno),
            ("numero", &self.numero),
            ("dal", &self.dal),
            ("al", &self.al),
            ("corrispondente", &self.corrispondente),
            ("oggetto", &self.oggetto),
            ("classifica", &self.classifica),
            ("verso", &self.verso),
        ] {
            if !v.trim().is_empty() {
                q.append_pair(k, v.trim());
            }
        }
        q.append_pair("pagina", &page.to_string());
        format!("/backoffice/protocollo?{}", q.finish())
    }

    fn filter(&self) -> Result<Filter, Vec<FieldError>> {
        let mut errors = vec![];
        let int = number_field;
        let date = |field: &'static str, label: &str, v: &str, errors: &mut Vec<FieldError>| {
            if v.trim().is_empty() {
                return None;
            }
            parse_date(v).or_else(|| {
                errors.push(FieldError::new(
                    field,
                    format!("{label}: data non valida, usa gg/mm/aaaa."),
                ));
                None
            })
        };
        let f = Filter {
            year: int("anno", "Anno", &self.anno, &mut errors),
            number: int("numero", "Numero", &self.numero, &mut errors),
            from: date("dal", "Dal", &self.dal, &mut errors),
            to: date("al", "Al", &self.al, &mut errors),
            correspondent: self.corrispondente.trim().to_string(),
            subject: self.oggetto.trim().to_string(),
            classification: self.classifica.trim().to_string(),
            direction: Direction::parse(self.verso.trim())
                .map(|d| d.as_str().to_string())
                .unwrap_or_default(),
            ..Default::default()
        };
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }
}

/// A search field of digits (a year, a protocol number, leading zeros allowed); empty is `None`.
fn number_field(field: &'static str, label: &str, v: &str, errors: &mut Vec<FieldError>) -> Option<i32> {
    let v = v.trim().trim_start_matches('0');
    if v.is_empty() {
        return None;
    }
    v.parse::<i32>().ok().or_else(|| {
        errors.push(FieldError::new(field, format!("{label}: scrivi solo cifre.")));
        None
    })
}

/// `GET /backoffice/protocollo`: search by number, dates, correspondent, subject, classification.
pub async fn list(ctx: Ctx, Query(q): Query<SearchQuery>) -> AppResult<Response> {
    let page = q.pagina.unwrap_or(1).max(1);
    let (rows, errors) = match q.filter() {
        Ok(f) => (
            service::search(&ctx.state, &f, PAGE + 1, (page - 1) * PAGE).await?,
            vec![],
        ),
        Err(e) => (vec![], e),
    };
    let has_next = rows.len() as i64 > PAGE;
    let lines = rows
        .into_iter()
        .take(PAGE as usize)
        .map(|r| Line {
            id: r.id,
            key: format!("{}/{:07}", r.year, r.number),
            at: rome_datetime(r.registered_at),
            direction: Direction::parse(&r.direction).map(|d| d.label()).unwrap_or(""),
            correspondent: r.correspondent_name,
            subject: r.subject,
            classification: r.classification,
            annulled: r.annulled_at.is_some(),
        })
        .collect();
    Ok(ListPage {
        layout: ctx.layout("Protocollo").await?,
        classes: classes(&ctx),
        directions: directions(),
        rows: lines,
        errors,
        can_write: allowed(&ctx, Permission::ProtocolWrite),
        next_link: has_next.then(|| q.link(page + 1)),
        prev_link: (page > 1).then(|| q.link(page - 1)),
        q: SearchForm {
            anno: q.anno,
            numero: q.numero,
            dal: q.dal,
            al: q.al,
            corrispondente: q.corrispondente,
            oggetto: q.oggetto,
            classifica: q.classifica,
            verso: q.verso,
        },
    }
    .into_response())
}

async fn new_page(ctx: &Ctx, f: NewForm, errors: Vec<FieldError>) -> AppResult<NewPage> {
    let dossiers = service::recent_dossiers(&ctx.state)
        .await?
        .into_iter()
        .map(|d| {
            (
                d.id,
                format!("{}/{} — {} ({})", d.year, d.id, d.subject, d.classification),
            )
        })
        .collect();
    Ok(NewPage {
        layout: ctx.layout("Nuova registrazione di protocollo").await?,
        f,
        classes: classes(ctx),
        directions: directions(),
        dossiers,
        csrf_token: ctx.csrf_token().await?,
        errors,
    })
}

/// `GET /backoffice/protocollo/nuova`
pub async fn new_form(ctx: Ctx) -> AppResult<Response> {
    let f = NewForm {
        direction: "in".into(),
        ..Default::default()
    };
    Ok(new_page(&ctx, f, vec![]).await?.into_response())
}

/// `POST /backoffice/protocollo` (multipart): a registration by hand with its documents.
pub async fn create(ctx: Ctx, headers: HeaderMap, multipart: Multipart) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let form = multipart::read(&headers, ctx.state.config.http.max_body_bytes, multipart).await?;
    let v = |k: &str| form.value(k).unwrap_or_default().to_string();
    let f = NewForm {
        direction: v("direction"),
        subject: v("subject"),
        correspondent: v("correspondent"),
        correspondent_cf: v("correspondent_cf"),
        correspondent_email: v("correspondent_email"),
        attachments_description: v("attachments_description"),
        classification: v("classification"),
        dossier: v("dossier"),
        dossier_subject: v("dossier_subject"),
    };
    let mut errors = vec![];
    let direction = Direction::parse(&f.direction).unwrap_or_else(|| {
        errors.push(FieldError::new(
            "direction",
            "Scegli il verso: in entrata, in uscita o interno.",
        ));
        Direction::In
    });
    let dossier = match f.dossier.as_str() {
        "" => Dossier::None,
        "new" => Dossier::New {
            subject: f.dossier_subject.clone(),
        },
        id => match id.parse::<i64>() {
            Ok(id) => Dossier::Existing(id),
            Err(_) => {
                errors.push(FieldError::new("dossier", "Fascicolo non valido."));
                Dossier::None
            }
        },
    };
    let documents: Vec<Document> = form
        .files("documents")
        .map(|u| {
            let name: String = u
                .file_name
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or("documento")
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect();
            let name = if name.trim().is_empty() {
                "documento".to_string()
            } else {
                name
            };
            Document::from_bytes(name, service::content_type_of(&u.bytes), u.bytes.clone())
        })
        .collect();
    let registration = NewRegistration {
        direction,
        correspondent: Correspondent {
            name: f.correspondent.clone(),
            fiscal_code: f.correspondent_cf.clone(),
            email: f.correspondent_email.clone(),
        },
        subject: f.subject.clone(),
        attachments_description: f.attachments_description.clone(),
        classification: f.classification.clone(),
        dossier,
        request_id: None,
        source: "manual",
        documents,
    };
    let result = if errors.is_empty() {
        service::register_alone(&ctx.state, &user.actor(), registration).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(r) => Ok(Redirect::to(&format!("/backoffice/protocollo/{}?ok=1", r.id)).into_response()),
        Err(AppError::Validation(errors)) => Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            new_page(&ctx, f, errors).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OkQuery {
    ok: Option<String>,
}

async fn detail_page(
    ctx: &Ctx,
    id: i64,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> AppResult<DetailPage> {
    let d = service::detail(&ctx.state, id).await?;
    let r = &d.row;
    let segnatura = service::segnatura_of(&ctx.state.config.protocol, r);
    Ok(DetailPage {
        layout: ctx.layout(format!("Protocollo n. {}", segnatura.key())).await?,
        id,
        key: segnatura.key(),
        stamp: segnatura.stamp(),
        at: rome_datetime(r.registered_at),
        direction: Direction::parse(&r.direction).map(|d| d.label()).unwrap_or(""),
        correspondent: r.correspondent_name.clone(),
        correspondent_cf: r.correspondent_cf.clone(),
        correspondent_email: r.correspondent_email.clone(),
        subject: r.subject.clone(),
        attachments_description: r.attachments_description.clone(),
        classification: format!(
            "{} {}",
            r.classification,
            ctx.state
                .config
                .protocol
                .class_name(&r.classification)
                .unwrap_or("")
        ),
        dossier: match (r.dossier_id, &r.dossier_subject) {
            (Some(id), Some(s)) => format!("n. {id} — {s}"),
            _ => String::new(),
        },
        request_id: r.request_id,
        source: r.source.clone(),
        registered_by: r.registered_by.clone().unwrap_or_else(|| "sistema".into()),
        documents: d
            .documents
            .iter()
            .map(|doc| DocumentLine {
                id: doc.id,
                name: doc.file_name.clone(),
                content_type: doc.content_type.clone(),
                size: doc.size_bytes,
                sha256: hex::encode(&doc.sha256),
            })
            .collect(),
        linked: d
            .linked
            .iter()
            .map(|(id, s, dir)| Linked {
                id: *id,
                key: s.key(),
                direction: Direction::parse(dir).map(|d| d.label()).unwrap_or(""),
            })
            .collect(),
        annulment: match (&r.annulled_at, &r.annulled_by, &r.annul_reason, &r.annul_act) {
            (Some(at), by, Some(reason), Some(act)) => Some((
                rome_date(*at),
                by.clone().unwrap_or_default(),
                reason.clone(),
                act.clone(),
            )),
            _ => None,
        },
        can_annul: allowed(ctx, Permission::ProtocolAnnul),
        csrf_token: ctx.csrf_token().await?,
        errors,
        notice,
    })
}

/// `GET /backoffice/protocollo/{id}`
pub async fn detail(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let notice = q.ok.map(|_| "Registrazione salvata.".to_string());
    Ok(detail_page(&ctx, id, vec![], notice).await?.into_response())
}

/// `POST /backoffice/protocollo/{id}/annulla`: reason and authorising act required.
pub async fn annul(ctx: Ctx, Path(id): Path<i64>, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    match service::annul(&ctx.state, &user.actor(), user.id, id, get("reason"), get("act")).await {
        Ok(()) => Ok(Redirect::to(&format!("/backoffice/protocollo/{id}")).into_response()),
        Err(AppError::Validation(errors)) => Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            detail_page(&ctx, id, errors, None).await?,
        )
            .into_response()),
        Err(AppError::Conflict(m)) => Ok((
            axum::http::StatusCode::CONFLICT,
            detail_page(&ctx, id, vec![FieldError::new("reason", m)], None).await?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

/// `GET /backoffice/protocollo/documenti/{id}`
pub async fn document(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let f = service::document(&ctx.state, id).await?;
    Ok(download::file(&f.file_name, &f.content_type, f.content))
}

/// `GET /backoffice/protocollo/{id}/segnatura.xml`: the signed XML segnatura (AgID 2021, annex 6),
/// as `Segnatura.xml` (the name annex 6 gives it in a PEC message); the reason on the page if refused.
pub async fn segnatura_xml(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    match service::segnatura_xml(&ctx.state, id).await {
        Ok(xml) => Ok(download::file(
            "Segnatura.xml",
            "application/xml",
            xml.into_bytes(),
        )),
        Err(AppError::Conflict(m)) => {
            let errors = vec![crate::error::FieldError::new("segnatura", m)];
            Ok((
                axum::http::StatusCode::CONFLICT,
                detail_page(&ctx, id, errors, None).await?,
            )
                .into_response())
        }
        Err(e) => Err(e),
    }
}

/// `GET /backoffice/protocollo/giornaliero`
pub async fn dailies(ctx: Ctx) -> AppResult<Response> {
    Ok(DailyPage {
        layout: ctx.layout("Registro giornaliero di protocollo").await?,
        days: super::daily::list(&ctx.state).await?,
    }
    .into_response())
}

/// `GET /backoffice/protocollo/giornaliero/{file}`: `2026-11-21.pdf` or `2026-11-21.csv`.
pub async fn daily_file(ctx: Ctx, Path(file): Path<String>) -> AppResult<Response> {
    let (day, ext) = file.rsplit_once('.').ok_or(AppError::NotFound)?;
    let day = time::Date::parse(day, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| AppError::NotFound)?;
    let (pdf, content_type) = match ext {
        "pdf" => (true, "application/pdf"),
        "csv" => (false, "text/csv; charset=utf-8"),
        _ => return Err(AppError::NotFound),
    };
    let bytes = super::daily::file(&ctx.state, day, pdf).await?;
    Ok(download::file(
        &format!("registro-giornaliero-{day}.{ext}"),
        content_type,
        bytes,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LegacyQuery {
    anno: String,
    numero: String,
    testo: String,
}

/// `GET /backoffice/protocollo/pregresso`: registrations of the previous system, as imported.
pub async fn legacy(ctx: Ctx, Query(q): Query<LegacyQuery>) -> AppResult<Response> {
    let mut errors = vec![];
    let int = number_field;
    let year = int("anno", "Anno", &q.anno, &mut errors);
    let number = int("numero", "Numero", &q.numero, &mut errors);
    let rows = if errors.is_empty() {
        super::legacy::search(&ctx.state.pool, year, number, q.testo.trim(), 200).await?
    } else {
        vec![]
    };
    Ok(LegacyPage {
        layout: ctx.layout("Protocollo pregresso").await?,
        anno: q.anno,
        numero: q.numero,
        testo: q.testo,
        errors,
        rows: rows
            .into_iter()
            .map(|r| LegacyLine {
                key: format!("{} {}/{:07}", r.register, r.year, r.number),
                date: crate::members::model::italian_date(r.registered_on),
                direction: Direction::parse(&r.direction).map(|d| d.label()).unwrap_or(""),
                correspondent: r.correspondent,
                subject: r.subject,
                classification: r.classification,
            })
            .collect(),
    }
    .into_response())
}
