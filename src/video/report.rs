//! Reports of the registry (CSV and PDF): accesses by operator and system over a period, requests
//! by purpose and outcome, and the retention alerts.

use time::OffsetDateTime;

use super::model::{Purpose, State};
use super::{request_repo, requests, service};
use crate::error::{AppError, AppResult};
use crate::export::{Separator, to_csv};
use crate::state::AppState;

pub struct Report {
    pub title: String,
    pub subtitle: String,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// The report named `name` (`accessi`, `richieste`, `conservazione`) for [from, to).
pub async fn build(
    state: &AppState,
    name: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
    from_text: &str,
    to_text: &str,
) -> AppResult<Report> {
    let day = |s: &str| {
        service::form_date(s, "dal", "la data")
            .map(crate::members::model::italian_date)
            .unwrap_or_default()
    };
    let subtitle = format!("Dal {} al {}", day(from_text), day(to_text));
    Ok(match name {
        "accessi" => {
            let mut conn = state.pool.acquire().await?;
            let totals = super::repo::access_totals(&mut conn, from, to).await?;
            Report {
                title: "Accessi alle immagini per operatore e impianto".into(),
                subtitle,
                header: vec![
                    "Operatore",
                    "Impianto",
                    "Descrizione",
                    "Sessioni",
                    "Minuti",
                    "Con estrazione",
                ],
                rows: totals
                    .iter()
                    .map(|t| {
                        vec![
                            t.user_name.clone(),
                            t.system_number.to_string(),
                            t.system_description.clone(),
                            t.sessions.to_string(),
                            t.minutes.to_string(),
                            t.extractions.to_string(),
                        ]
                    })
                    .collect(),
            }
        }
        "richieste" => Report {
            title: "Richieste di accesso alle videoriprese per finalità ed esito".into(),
            subtitle,
            header: vec!["Finalità", "Esito o stato", "Richieste"],
            rows: requests::totals(state, from, to)
                .await?
                .iter()
                .map(|(p, s, n)| {
                    vec![
                        Purpose::label_of(p).to_string(),
                        State::label_of(s).to_string(),
                        n.to_string(),
                    ]
                })
                .collect(),
        },
        "conservazione" => {
            let mut conn = state.pool.acquire().await?;
            let alerts = request_repo::retention_alerts(&mut conn, state.now()).await?;
            Report {
                title: "Videoriprese oltre il periodo di conservazione".into(),
                subtitle: format!("Situazione al {}", crate::format::rome_datetime(state.now())),
                header: vec![
                    "Richiesta",
                    "Segnalazione",
                    "Richiedente",
                    "Finalità",
                    "Stato",
                    "Scaduta il",
                ],
                rows: alerts
                    .iter()
                    .map(|a| {
                        let line = super::views::AlertLine::from(a);
                        vec![
                            a.request_id.to_string(),
                            line.what.to_string(),
                            line.requester,
                            line.purpose.to_string(),
                            line.state.to_string(),
                            line.due,
                        ]
                    })
                    .collect(),
            }
        }
        _ => return Err(AppError::NotFound),
    })
}

impl Report {
    pub fn csv(&self) -> AppResult<Vec<u8>> {
        to_csv(&self.header, self.rows.clone(), Separator::Semicolon).map_err(AppError::internal)
    }

    pub async fn pdf(&self, state: &AppState) -> AppResult<Vec<u8>> {
        let data = serde_json::json!({
            "order": state.config.order.name,
            "title": self.title,
            "subtitle": self.subtitle,
            "generated": crate::format::rome_datetime(state.now()),
            "header": self.header,
            "rows": self.rows,
        });
        crate::pdf::render_blocking(include_str!("../../templates/pdf/table.typ"), data).await
    }
}
