//! Pages of the video-access registry: the back office (systems, access register, grants, footage
//! requests, retention, reports) and the public first-level notice.

use axum::extract::{Multipart, Path, Query, RawForm};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::model::Purpose;
use super::requests::{self, ExtractionInput, RequestInput};
use super::service::{self, GrantInput, SessionInput};
use super::views::*;
use crate::auth::{Decision, Permission};
use crate::error::{AppError, AppResult, FieldError};
use crate::web::{Ctx, download, multipart};

/// The fields of an urlencoded form (a name may repeat: check boxes).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn of(body: &[u8]) -> Fields {
        Fields(url::form_urlencoded::parse(body).into_owned().collect())
    }

    fn one(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

async fn system_lines(ctx: &Ctx) -> AppResult<Vec<SystemLine>> {
    Ok(service::systems(&ctx.state)
        .await?
        .iter()
        .map(SystemLine::from)
        .collect())
}

fn can(ctx: &Ctx) -> Can {
    let p = ctx.user.as_ref().map(|u| u.principal());
    let allows = |perm| p.as_ref().is_some_and(|p| p.decide(perm) == Decision::Allow);
    Can {
        operate: allows(Permission::VideoOperate),
        manage: allows(Permission::VideoManage),
    }
}

/// A validation error or a refused step becomes the page again with the messages (422 / 409).
fn refused(e: AppError) -> Result<(StatusCode, Vec<FieldError>), AppError> {
    match e {
        AppError::Validation(errors) => Ok((StatusCode::UNPROCESSABLE_ENTITY, errors)),
        AppError::Conflict(m) => Ok((StatusCode::CONFLICT, vec![FieldError::new("state", m)])),
        e => Err(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RegisterQuery {
    dal: Option<String>,
    al: Option<String>,
    operatore: Option<String>,
    impianto: Option<String>,
    ok: Option<String>,
}

/// The period of a register view or report: `dal`/`al` (dates, inclusive), default the last 30 days.
fn period(
    ctx: &Ctx,
    dal: Option<&str>,
    al: Option<&str>,
) -> (OffsetDateTime, OffsetDateTime, String, String) {
    let today = crate::format::rome_day(ctx.state.now());
    let parse = |s: Option<&str>| s.and_then(|s| service::form_date(s, "dal", "la data").ok());
    let to = parse(al).unwrap_or(today);
    let from = parse(dal).unwrap_or(to - time::Duration::days(30));
    let start = |d: time::Date| {
        service::rome_datetime(&format!("{d}T00:00"), "dal", "la data").unwrap_or(ctx.state.now())
    };
    let end = to.next_day().map(start).unwrap_or(ctx.state.now());
    (start(from), end, from.to_string(), to.to_string())
}

async fn home_page(
    ctx: &Ctx,
    q: &RegisterQuery,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> AppResult<HomePage> {
    let (from, to, f, t) = period(ctx, q.dal.as_deref(), q.al.as_deref());
    let user = q.operatore.as_deref().and_then(|s| s.parse().ok());
    let system = q.impianto.as_deref().and_then(|s| s.parse().ok());
    let accesses = service::accesses(&ctx.state, from, to, user, system).await?;
    Ok(HomePage {
        layout: ctx.layout("Videosorveglianza").await?,
        csrf_token: ctx.csrf_token().await?,
        can: can(ctx),
        systems: system_lines(ctx).await?,
        accesses: accesses.iter().map(AccessLine::from).collect(),
        operators: service::operators(&ctx.state)
            .await?
            .into_iter()
            .map(|(i, n, _)| (i, n, user == Some(i)))
            .collect(),
        filter_from: f,
        filter_to: t,
        filter_system: system,
        alerts: service::retention_alerts(&ctx.state).await?.len(),
        errors,
        notice,
    })
}

/// `GET /backoffice/videosorveglianza`: systems, the access register, the form to log a session.
pub async fn home(ctx: Ctx, Query(q): Query<RegisterQuery>) -> AppResult<Response> {
    let notice =
        q.ok.as_ref()
            .map(|id| format!("Sessione registrata nel registro degli accessi (n. {id})."));
    Ok(home_page(&ctx, &q, vec![], notice).await?.into_response())
}

/// `POST /backoffice/videosorveglianza/accessi`: logs a viewing session.
pub async fn log_session(ctx: Ctx, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let f = Fields::of(&body);
    let input = SessionInput {
        systems: f.all("systems"),
        session_start: f.one("session_start"),
        session_end: f.one("session_end"),
        footage_from: f.one("footage_from"),
        footage_to: f.one("footage_to"),
        purpose: f.one("purpose"),
    };
    match service::log_session(&ctx.state, &user, &input).await {
        Ok(id) => Ok(Redirect::to(&format!("/backoffice/videosorveglianza?ok={id}")).into_response()),
        Err(e) => {
            let (status, errors) = refused(e)?;
            Ok((
                status,
                home_page(&ctx, &RegisterQuery::default(), errors, None).await?,
            )
                .into_response())
        }
    }
}

async fn grants_page(ctx: &Ctx, errors: Vec<FieldError>, notice: Option<String>) -> AppResult<GrantsPage> {
    Ok(GrantsPage {
        layout: ctx.layout("Autorizzazioni degli operatori").await?,
        csrf_token: ctx.csrf_token().await?,
        can: can(ctx),
        systems: system_lines(ctx).await?,
        operators: service::operators(&ctx.state)
            .await?
            .into_iter()
            .map(|(i, n, e)| (i, format!("{n} ({e})")))
            .collect(),
        current: service::grants(&ctx.state, true)
            .await?
            .iter()
            .map(GrantLine::from)
            .collect(),
        history: service::grants(&ctx.state, false)
            .await?
            .iter()
            .map(GrantLine::from)
            .collect(),
        today: crate::format::rome_day(ctx.state.now()).to_string(),
        errors,
        notice,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OkQuery {
    ok: Option<String>,
}

/// `GET /backoffice/videosorveglianza/autorizzazioni`
pub async fn grants(ctx: Ctx, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let notice =
        q.ok.map(|n| format!("Registrati {n} atti di autorizzazione o revoca."));
    Ok(grants_page(&ctx, vec![], notice).await?.into_response())
}

/// `POST /backoffice/videosorveglianza/autorizzazioni`: grants or revokes.
pub async fn change_grant(ctx: Ctx, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let f = Fields::of(&body);
    let input = GrantInput {
        user_id: f.one("user_id"),
        systems: f.all("systems"),
        level: f.one("level"),
        effective_on: f.one("effective_on"),
        reason: f.one("reason"),
    };
    match service::change_grant(&ctx.state, &user, &input).await {
        Ok(n) => {
            Ok(Redirect::to(&format!("/backoffice/videosorveglianza/autorizzazioni?ok={n}")).into_response())
        }
        Err(e) => {
            let (status, errors) = refused(e)?;
            Ok((status, grants_page(&ctx, errors, None).await?).into_response())
        }
    }
}

async fn requests_page(ctx: &Ctx, errors: Vec<FieldError>) -> AppResult<RequestsPage> {
    Ok(RequestsPage {
        layout: ctx.layout("Richieste di accesso alle videoriprese").await?,
        csrf_token: ctx.csrf_token().await?,
        can: can(ctx),
        purposes: Purpose::ALL.iter().map(|p| (p.as_str(), p.label())).collect(),
        systems: system_lines(ctx).await?,
        requests: requests::list(&ctx.state)
            .await?
            .iter()
            .map(RequestLine::from)
            .collect(),
        errors,
        notice: None,
    })
}

/// `GET /backoffice/videosorveglianza/richieste`
pub async fn request_list(ctx: Ctx) -> AppResult<Response> {
    Ok(requests_page(&ctx, vec![]).await?.into_response())
}

/// `POST /backoffice/videosorveglianza/richieste` (multipart; CSRF token in the query string).
pub async fn submit_request(ctx: Ctx, headers: HeaderMap, form: Multipart) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let form = multipart::read(&headers, ctx.state.config.http.max_body_bytes, form).await?;
    let value = |n: &str| form.value(n).unwrap_or_default().to_string();
    let names: Vec<String> = form
        .fields
        .iter()
        .filter(|(k, _)| k == "person_name")
        .map(|(_, v)| v.clone())
        .collect();
    let roles: Vec<String> = form
        .fields
        .iter()
        .filter(|(k, _)| k == "person_role")
        .map(|(_, v)| v.clone())
        .collect();
    let input = RequestInput {
        purpose: value("purpose"),
        requester_name: value("requester_name"),
        requester_org: value("requester_org"),
        requester_email: value("requester_email"),
        motivation: value("motivation"),
        footage_from: value("footage_from"),
        footage_to: value("footage_to"),
        systems: form
            .fields
            .iter()
            .filter(|(k, _)| k == "systems")
            .map(|(_, v)| v.clone())
            .collect(),
        people: names
            .into_iter()
            .zip(roles.into_iter().chain(std::iter::repeat(String::new())))
            .collect(),
    };
    let uploads: Vec<_> = form.files("files").filter(|f| !f.bytes.is_empty()).collect();
    let result = match crate::requests::attachments::check("files", &uploads) {
        Ok(checked) => requests::submit(&ctx.state, &user, &input, checked).await,
        Err(errors) => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(id) => {
            Ok(Redirect::to(&format!("/backoffice/videosorveglianza/richieste/{id}?ok=1")).into_response())
        }
        Err(e) => {
            let (status, errors) = refused(e)?;
            Ok((status, requests_page(&ctx, errors).await?).into_response())
        }
    }
}

async fn request_page(
    ctx: &Ctx,
    id: i64,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> AppResult<RequestPage> {
    let d = requests::detail(&ctx.state, id).await?;
    let systems = service::systems(&ctx.state).await?;
    let r = &d.request;
    let purpose = Purpose::parse(&r.purpose);
    Ok(RequestPage {
        layout: ctx.layout(format!("Richiesta di videoriprese n. {id}")).await?,
        csrf_token: ctx.csrf_token().await?,
        can: can(ctx),
        r: RequestLine::from(r),
        frames_only: purpose.is_some_and(Purpose::frames_only),
        police: purpose.is_some_and(Purpose::is_police),
        motivation: r.motivation.clone(),
        footage: format!(
            "dal {} al {}",
            crate::format::rome_datetime(r.footage_from),
            crate::format::rome_datetime(r.footage_to)
        ),
        systems: systems
            .iter()
            .filter(|s| r.system_ids.contains(&s.id))
            .map(|s| format!("n. {} — {}", s.number, s.description))
            .collect(),
        people: d.people.clone(),
        attachments: d
            .attachments
            .iter()
            .map(|a| Attachment {
                id: a.id,
                name: a.file_name.clone(),
                size: a.size,
                sha256: hex::encode(&a.sha256),
            })
            .collect(),
        events: d
            .events
            .iter()
            .map(|e| Event {
                at: crate::format::rome_datetime(e.at),
                state: super::model::State::label_of(&e.state),
                by: e.actor_name.clone(),
                note: e.note.clone(),
            })
            .collect(),
        held_for: r.held_for.clone(),
        extraction: RequestPage::extraction_of(r),
        transfer: r
            .handed_sha256
            .as_ref()
            .map(|h| format!("{} — SHA-256 {}", r.encryption_method, hex::encode(h))),
        verbale_protocol: r.verbale_protocol.clone(),
        has_verbale: r.has_verbale,
        outcome: r.outcome.clone(),
        files_deleted_on: r
            .files_deleted_on
            .map(crate::members::model::italian_date)
            .unwrap_or_default(),
        today: crate::format::rome_day(ctx.state.now()).to_string(),
        errors,
        notice,
    })
}

/// `GET /backoffice/videosorveglianza/richieste/{id}`
pub async fn request_detail(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let notice = q.ok.map(|_| "Operazione registrata.".to_string());
    Ok(request_page(&ctx, id, vec![], notice).await?.into_response())
}

/// `POST /backoffice/videosorveglianza/richieste/{id}/decisione`: the manager authorises or refuses.
pub async fn decide(ctx: Ctx, Path(id): Path<i64>, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let f = Fields::of(&body);
    let authorise = match f.one("decision").as_str() {
        "authorise" => true,
        "refuse" => false,
        _ => {
            let errors = vec![FieldError::new(
                "decision",
                "Scegli se autorizzare o respingere la richiesta.",
            )];
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                request_page(&ctx, id, errors, None).await?,
            )
                .into_response());
        }
    };
    let result = requests::decide(
        &ctx.state,
        &user,
        id,
        authorise,
        &f.one("note"),
        &f.one("held_for"),
    )
    .await;
    after_step(&ctx, id, result).await
}

async fn after_step(ctx: &Ctx, id: i64, result: AppResult<()>) -> AppResult<Response> {
    match result {
        Ok(()) => {
            Ok(Redirect::to(&format!("/backoffice/videosorveglianza/richieste/{id}?ok=1")).into_response())
        }
        Err(e) => {
            let (status, errors) = refused(e)?;
            Ok((status, request_page(ctx, id, errors, None).await?).into_response())
        }
    }
}

/// `POST /backoffice/videosorveglianza/richieste/{id}/azione`: the officer's steps, by the field `step`
/// (`extract`, `verbale`, `outcome`, `delete_files`, `close`); not `action`, which would hide the
/// form's own action in the DOM.
pub async fn act(ctx: Ctx, Path(id): Path<i64>, RawForm(body): RawForm) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let f = Fields::of(&body);
    let state = &ctx.state;
    let result = match f.one("step").as_str() {
        "extract" => {
            let input = ExtractionInput {
                kind: f.one("extraction_kind"),
                masked: f.one("masked") == "1",
                files: f.one("files"),
                note: f.one("note"),
                encryption_method: f.one("encryption_method"),
                sha256: f.one("sha256"),
            };
            requests::extract(state, &user, id, &input).await
        }
        "verbale" => super::verbale::produce(state, &user, id).await.map(|_| ()),
        "outcome" => requests::outcome(state, &user, id, &f.one("outcome")).await,
        "delete_files" => requests::delete_files(state, &user, id, &f.one("deleted_on")).await,
        "close" => requests::close(state, &user, id).await,
        _ => {
            requests::detail(state, id).await?;
            Err(AppError::Validation(vec![FieldError::new(
                "step",
                "Operazione sconosciuta.",
            )]))
        }
    };
    after_step(&ctx, id, result).await
}

/// `GET /backoffice/videosorveglianza/richieste/{id}/verbale.pdf`
pub async fn verbale_pdf(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let pdf = requests::verbale_pdf(&ctx.state, id).await?;
    Ok(download::file(
        &format!("verbale-videoriprese-{id}.pdf"),
        "application/pdf",
        pdf,
    ))
}

/// `GET /backoffice/videosorveglianza/allegati/{id}`
pub async fn attachment(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let (name, content_type, bytes) = requests::attachment(&ctx.state, id).await?;
    Ok(download::file(&name, &content_type, bytes))
}

/// `GET /backoffice/videosorveglianza/conservazione`: the retention alerts.
pub async fn retention(ctx: Ctx) -> AppResult<Response> {
    let alerts = service::retention_alerts(&ctx.state).await?;
    Ok(RetentionPage {
        layout: ctx.layout("Conservazione delle videoriprese").await?,
        alerts: alerts.iter().map(AlertLine::from).collect(),
    }
    .into_response())
}

/// `GET /backoffice/videosorveglianza/report/{file}`: `accessi`, `richieste` or `conservazione`,
/// `.csv` or `.pdf`, for the period `dal`–`al`.
pub async fn report(
    ctx: Ctx,
    Path(file): Path<String>,
    Query(q): Query<RegisterQuery>,
) -> AppResult<Response> {
    let (name, ext) = file.rsplit_once('.').ok_or(AppError::NotFound)?;
    let (from, to, f, t) = period(&ctx, q.dal.as_deref(), q.al.as_deref());
    let report = super::report::build(&ctx.state, name, from, to, &f, &t).await?;
    let bytes = match ext {
        "csv" => report.csv()?,
        "pdf" => report.pdf(&ctx.state).await?,
        _ => return Err(AppError::NotFound),
    };
    let content_type = if ext == "csv" {
        "text/csv; charset=utf-8"
    } else {
        "application/pdf"
    };
    Ok(download::file(
        &format!("videosorveglianza-{name}-{f}-{t}.{ext}"),
        content_type,
        bytes,
    ))
}

/// `GET /videosorveglianza`: the first-level notice (Allegato C) and the camera sites. No personal data.
pub async fn public(ctx: Ctx) -> AppResult<Response> {
    ctx.state.check_public_rate(ctx.client_ip)?;
    let v = &ctx.state.config.video;
    Ok(PublicPage {
        layout: ctx.layout("Videosorveglianza").await?,
        controller: v.controller.clone(),
        dpo: v.dpo.clone(),
        retention_days: v.default_retention_days,
        purposes: v.purposes.clone(),
        full_notice: v.full_notice.clone(),
        rights_contact: v.rights_contact.clone(),
        police_access: v.police_access.clone(),
        sites: service::sites(&ctx.state)
            .await?
            .iter()
            .map(SiteLine::from)
            .collect(),
    }
    .into_response())
}
