//! GDPR art. 15 and 20: a person downloads everything ordo keeps about them, as JSON and as PDF.

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::AppResult;
use crate::web::Ctx;
use crate::{members, requests};

/// Everything ordo keeps about the person logged in: account, register entry with history and
/// consents, requests with their histories.
async fn personal_data(ctx: &Ctx) -> AppResult<Value> {
    let user = ctx.require_user()?.clone();
    let member = members::service::export_mine(&ctx.state, &user).await?;
    let requests: Vec<Value> = match requests::service::mine(&ctx.state, &user).await? {
        Some((_, details)) => details
            .iter()
            .map(|d| {
                json!({
                    "id": d.request.id,
                    "kind": d.request.kind,
                    "subject": d.request.subject,
                    "state": d.request.state,
                    "submitted_at": d.request.submitted_at,
                    "content": d.request.payload,
                    "history": d.events.iter().map(|e| json!({
                        "state": e.to_state, "at": e.at, "by": e.by_email, "note": e.note,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
        None => vec![],
    };
    let body = json!({
        "generated_at": ctx.state.now(),
        "controller": ctx.state.config.order.name,
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "roles": user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "second_factor": user.second_factor,
        },
        "register": member,
        "requests": requests,
    });
    members::service::record_self_export(&ctx.state, &user).await?;
    Ok(body)
}

/// `GET /portale/i-miei-dati.json` (GDPR art. 20: a machine-readable copy).
pub async fn my_data(ctx: Ctx) -> AppResult<Response> {
    let body = personal_data(&ctx).await?;
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment; filename=\"i-miei-dati.json\""),
    );
    Ok(response)
}

/// Italian labels of the keys of the personal-data export; others are shown as they are.
const LABELS: &[(&str, &str)] = &[
    ("email", "E-mail"),
    ("display_name", "Nome visualizzato"),
    ("roles", "Ruoli"),
    ("second_factor", "Verifica in due passaggi attiva"),
    ("fiscal_code", "Codice fiscale"),
    ("surname", "Cognome"),
    ("name", "Nome"),
    ("sex", "Sesso"),
    ("birth_date", "Data di nascita"),
    ("birth_place", "Luogo di nascita"),
    ("birth_province", "Provincia di nascita"),
    ("citizenship", "Cittadinanza"),
    ("residence_address", "Residenza: indirizzo"),
    ("residence_cap", "Residenza: CAP"),
    ("residence_municipality", "Residenza: comune"),
    ("residence_province", "Residenza: provincia"),
    ("domicile_address", "Domicilio professionale: indirizzo"),
    ("domicile_cap", "Domicilio professionale: CAP"),
    ("domicile_municipality", "Domicilio professionale: comune"),
    ("domicile_province", "Domicilio professionale: provincia"),
    ("workplace_name", "Sede di lavoro"),
    ("workplace_address", "Sede di lavoro: indirizzo"),
    ("workplace_municipality", "Sede di lavoro: comune"),
    ("pec", "PEC"),
    ("phone", "Telefono"),
    ("section", "Sezione"),
    ("sectors", "Settori"),
    ("special_lists", "Elenchi speciali"),
    ("degree_class", "Classe di laurea"),
    ("degree_university", "Università"),
    ("degree_year", "Anno di laurea"),
    ("state_exam_year", "Anno dell'esame di Stato"),
    ("state_exam_seat", "Sede dell'esame di Stato"),
    ("specialisations", "Specializzazioni"),
    ("registration_number", "Numero di iscrizione"),
    ("registration_date", "Data di iscrizione"),
    ("status", "Stato"),
    ("public_consents", "Dati pubblicati nell'Albo con il tuo consenso"),
    ("kind", "Tipo"),
    ("subject", "Oggetto"),
    ("state", "Stato"),
    ("submitted_at", "Presentata il"),
    ("content", "Contenuto"),
    ("history", "Cronologia"),
    ("at", "Data"),
    ("by", "Da"),
    ("note", "Nota"),
];

fn label(key: &str) -> String {
    LABELS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| key.replace('_', " "))
}

/// Flattens a JSON value into (label, value) rows; nested objects and lists get a path.
fn flatten(prefix: &str, v: &Value, rows: &mut Vec<(String, String)>) {
    let join = |p: &str, k: String| if p.is_empty() { k } else { format!("{p} › {k}") };
    match v {
        Value::Null => {}
        Value::Object(map) => {
            for (k, x) in map {
                flatten(&join(prefix, label(k)), x, rows);
            }
        }
        Value::Array(items) if items.iter().all(|x| !x.is_object() && !x.is_array()) => {
            let text: Vec<String> = items.iter().map(scalar).collect();
            rows.push((prefix.to_string(), text.join(", ")));
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                flatten(&join(prefix, format!("n. {}", i + 1)), x, rows);
            }
        }
        other => rows.push((prefix.to_string(), scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "sì".into(),
        Value::Bool(false) => "no".into(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `GET /portale/i-miei-dati.pdf` (GDPR art. 15: a readable copy of the same data).
pub async fn my_data_pdf(ctx: Ctx) -> AppResult<Response> {
    let body = personal_data(&ctx).await?;
    let section = |title: &str, v: &Value| {
        let mut rows = vec![];
        flatten("", v, &mut rows);
        json!({ "title": title, "rows": rows.into_iter().map(|(k, v)| vec![k, v]).collect::<Vec<_>>() })
    };
    let register = &body["register"];
    let data = json!({
        "order": ctx.state.config.order.name,
        "title": "I miei dati personali",
        "person": body["account"]["display_name"],
        "generated": crate::format::rome_datetime(ctx.state.now()),
        "intro": format!(
            "Copia dei dati personali che {} tratta su di te (art. 15 del Regolamento UE 2016/679). \
             La stessa copia in formato leggibile da una macchina (art. 20) è il file i-miei-dati.json.",
            ctx.state.config.order.name
        ),
        "sections": [
            section("Account", &body["account"]),
            section("Posizione nell'Albo", &register["member"]),
            section("Storia dello stato di iscrizione", &register["status_history"]),
            section("Consensi", &register["consents"]),
            section("Richieste (pratiche)", &body["requests"]),
        ],
    });
    let pdf = crate::pdf::render_blocking(include_str!("../templates/pdf/personal_data.typ"), data).await?;
    Ok(crate::web::download::file(
        "i-miei-dati.pdf",
        "application/pdf",
        pdf,
    ))
}
