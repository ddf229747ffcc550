//! The data of the verbale (art. 9 d): what was asked, by whom, what was extracted and handed over,
//! how it was protected, and the protocol signature it is registered with.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::model::{ExtractionKind, Purpose, Step};
use super::repo::SystemRow;
use super::request_repo::{self as repo, RequestRow};
use super::requests::{begin_step, end_step};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::format::rome_datetime;
use crate::protocol::{self, Segnatura};
use crate::state::AppState;

/// Produces the verbale (art. 9 d) as PDF and protocols it (art. 9 e), with its segnatura printed on it.
pub async fn produce(state: &AppState, officer: &CurrentUser, id: i64) -> AppResult<String> {
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let (r, to) = begin_step(&mut tx, id, Step::Verbale).await?;
    let people = repo::people(&mut tx, id).await?;
    let systems = super::repo::systems(&mut tx).await?;
    let purpose = Purpose::parse(&r.purpose).ok_or_else(|| AppError::internal("unknown purpose"))?;
    let registration = protocol::NewRegistration {
        direction: protocol::Direction::Internal,
        correspondent: protocol::Correspondent {
            name: r.requester_name.clone(),
            fiscal_code: String::new(),
            email: r.requester_email.clone(),
        },
        subject: format!(
            "Verbale di estrazione di videoriprese — richiesta n. {id} (prot. {})",
            r.request_protocol
        ),
        attachments_description: String::new(),
        classification: state.config.video.classification.clone(),
        dossier: protocol::Dossier::None,
        request_id: None,
        source: "video",
        documents: vec![],
    };
    let mut pending = protocol::service::begin(
        &mut tx,
        &state.config.protocol,
        now,
        &officer.actor(),
        registration,
    )
    .await?;
    let segnatura = pending.segnatura().clone();
    let data = data(state, &r, purpose, &people, &systems, officer, &segnatura);
    let pdf =
        crate::pdf::render_blocking(include_str!("../../templates/pdf/video_verbale.typ"), data).await?;
    pending
        .add_document(
            &mut tx,
            protocol::Document::from_bytes(
                format!("verbale-videoriprese-{id}.pdf"),
                "application/pdf",
                pdf.clone(),
            ),
        )
        .await?;
    let registered = pending.finish(&mut tx, now, &officer.actor()).await?;
    let key = registered.segnatura.key();
    repo::set_verbale(&mut tx, id, registered.id, &key, &pdf).await?;
    let sha = hex::encode(Sha256::digest(&pdf));
    let details = json!({ "protocol": key, "sha256": sha });
    end_step(
        tx,
        state,
        officer,
        id,
        to,
        &format!("Verbale protocollato n. {key}"),
        details,
    )
    .await?;
    Ok(key)
}

pub fn data(
    state: &AppState,
    r: &RequestRow,
    purpose: Purpose,
    people: &[(String, String)],
    systems: &[SystemRow],
    officer: &CurrentUser,
    segnatura: &Segnatura,
) -> Value {
    let o = &state.config.order;
    let kind = r.extraction_kind.as_deref().unwrap_or_default();
    let release = match (purpose.frames_only(), ExtractionKind::parse(kind)) {
        (true, _) => "Rilascio limitato a singoli fotogrammi nei quali compare l'interessato, con oscuramento \
                      delle parti che riprendono terzi (art. 9, lettera c): nessun filmato integrale consegnato."
            .to_string(),
        (false, Some(ExtractionKind::Footage)) => "Consegnata copia dei filmati richiesti.".to_string(),
        _ => "Consegnati singoli fotogrammi.".to_string(),
    };
    json!({
        "order": o.name,
        "address": o.address,
        "title": "Verbale di estrazione e consegna di immagini di videosorveglianza",
        "segnatura": segnatura.stamp(),
        "protocol": segnatura.key(),
        "request": r.id,
        "request_protocol": r.request_protocol,
        "purpose": purpose.label(),
        "requester": if r.requester_org.is_empty() { r.requester_name.clone() }
                     else { format!("{} ({})", r.requester_name, r.requester_org) },
        "motivation": r.motivation,
        "people": people.iter().map(|(n, q)| format!("{n} — {q}")).collect::<Vec<_>>(),
        "footage": format!("dal {} al {}", rome_datetime(r.footage_from), rome_datetime(r.footage_to)),
        "systems": systems.iter().filter(|s| r.system_ids.contains(&s.id))
            .map(|s| format!("n. {} — {}", s.number, s.description)).collect::<Vec<_>>(),
        "kind": ExtractionKind::label_of(kind),
        "masked": r.third_parties_masked.unwrap_or(false),
        "release": release,
        "files": r.extracted_files.unwrap_or(0),
        "note": r.extraction_note,
        "encryption": r.encryption_method,
        "sha256": r.handed_sha256.as_deref().map(hex::encode).unwrap_or_default(),
        "extracted_at": r.extracted_at.map(rome_datetime).unwrap_or_default(),
        "officer": officer.display_name,
        "issued": rome_datetime(segnatura.registered_at),
    })
}
