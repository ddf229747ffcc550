//! The documents about a member: the membership card (re-issued when what it shows changes), the
//! self-certification (at once, from the portal) and the certificate (issued on a pratica).

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::service::{self, DocKind, Issued, NewDocument};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::members::MemberRow;
use crate::members::model::italian_date;
use crate::members::service as members;
use crate::state::AppState;

fn full_name(m: &MemberRow) -> String {
    format!("{} {}", m.name, m.surname)
}

fn birth(m: &MemberRow) -> String {
    let born = if m.sex == "F" { "nata" } else { "nato" };
    let province = if m.birth_province.is_empty() {
        String::new()
    } else {
        format!(" ({})", m.birth_province)
    };
    format!(
        "{born} a {}{province} il {}",
        m.birth_place,
        italian_date(m.birth_date)
    )
}

fn sectors(config: &Config, m: &MemberRow) -> String {
    m.sectors
        .iter()
        .map(|s| members::sector_name(&config.albo, s))
        .collect::<Vec<_>>()
        .join(", ")
}

fn section(config: &Config, m: &MemberRow) -> String {
    members::section_name(&config.albo, &m.section).to_string()
}

/// The registration (number, since) of an active member; documents of membership need it.
fn registration(m: &MemberRow) -> AppResult<(i32, String)> {
    match (m.status.as_str(), m.registration_number, m.registration_date) {
        ("active", Some(n), Some(d)) => Ok((n, italian_date(d))),
        _ => Err(AppError::Conflict(
            "Il documento è disponibile solo per chi è iscritto all'Albo e non è sospeso.".into(),
        )),
    }
}

fn membership_facts(config: &Config, m: &MemberRow, number: i32, since: &str) -> Vec<(String, String)> {
    vec![
        ("Intestatario".into(), format!("{} {}", m.surname, m.name)),
        ("Numero di iscrizione".into(), number.to_string()),
        ("Sezione".into(), section(config, m)),
        ("Iscritto dal".into(), since.to_string()),
    ]
}

fn place(config: &Config) -> String {
    // "Via Esempio 1, 34100 Trieste (TS)" → "Trieste"
    let address = &config.order.address;
    let tail = address.rsplit(',').next().unwrap_or(address).trim();
    let no_cap = tail.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
    no_cap.split(" (").next().unwrap_or(no_cap).trim().to_string()
}

/// What the card shows, hashed: a new card is issued when it changes.
fn card_fingerprint(config: &Config, m: &MemberRow) -> String {
    let shown = json!([
        m.surname,
        m.name,
        m.fiscal_code,
        m.registration_number,
        m.section,
        sectors(config, m),
        m.photo_id
    ]);
    hex::encode(Sha256::digest(shown.to_string().as_bytes()))
}

/// The member's current card: the stored one while what it shows is unchanged, otherwise a new one
/// (the old is revoked as replaced). In the caller's transaction.
pub async fn card(
    conn: &mut PgConnection,
    state: &AppState,
    now: OffsetDateTime,
    m: &MemberRow,
) -> AppResult<i64> {
    let config = &state.config;
    let (number, since) = registration(m)?;
    let fingerprint = card_fingerprint(config, m);
    let current = service::current_card(conn, m.id).await?;
    if let Some((id, _, fp)) = &current
        && *fp == fingerprint
    {
        return Ok(*id);
    }
    if let Some((old, _, _)) = current {
        service::revoke(
            conn,
            old,
            now,
            "Sostituita da una tessera aggiornata (dati o fotografia cambiati).",
        )
        .await?;
    }
    let mut files = vec![];
    if let Some(photo) = m.photo_id {
        if let Some(jpeg) = members::photo_jpeg(conn, photo).await? {
            files.push(("photo.jpg".to_string(), jpeg));
        }
    }
    let doc = NewDocument {
        kind: DocKind::Card,
        member_id: Some(m.id),
        title: format!("Tessera di iscrizione n. {number}"),
        facts: membership_facts(config, m, number, &since),
        fingerprint,
        data: json!({
            "person": { "full_name": full_name(m), "fiscal_code": m.fiscal_code, "birth_date": italian_date(m.birth_date) },
            "number": number, "section": section(config, m), "sectors": sectors(config, m), "since": since,
            "photo": if files.is_empty() { None } else { Some("photo.jpg") },
            "date": crate::format::rome_date(now),
        }),
        files,
        segnatura: None,
        request_id: None,
        protocol_registration_id: None,
        payment_position_id: None,
        ledger_entry_id: None,
        issued_by: None,
    };
    Ok(service::issue(conn, state, now, doc).await?.id)
}

/// A self-certification of membership (DPR 445/2000 art. 46), issued at once.
pub async fn self_certification(
    conn: &mut PgConnection,
    state: &AppState,
    now: OffsetDateTime,
    m: &MemberRow,
    user_id: i64,
) -> AppResult<Issued> {
    let config = &state.config;
    let (number, since) = registration(m)?;
    let residence = format!(
        "{} {} ({}), {}",
        m.residence_cap, m.residence_municipality, m.residence_province, m.residence_address
    );
    let doc = NewDocument {
        kind: DocKind::SelfCertification,
        member_id: Some(m.id),
        title: "Dichiarazione sostitutiva di certificazione di iscrizione all'Albo".into(),
        facts: membership_facts(config, m, number, &since),
        fingerprint: String::new(),
        data: json!({
            "person": { "full_name": full_name(m), "birth": birth(m), "fiscal_code": m.fiscal_code, "residence": residence.trim() },
            "number": number, "section": section(config, m), "sectors": sectors(config, m), "since": since,
            "place": place(config), "date": crate::format::rome_date(now),
        }),
        files: vec![],
        segnatura: None,
        request_id: None,
        protocol_registration_id: None,
        payment_position_id: None,
        ledger_entry_id: None,
        issued_by: Some(user_id),
    };
    service::issue(conn, state, now, doc).await
}

/// The certificate of membership for a pratica: rendered with the code it will be stored under and
/// the segnatura of its outgoing registration. `stamp` says how the stamp duty was dealt with.
pub fn certificate(
    config: &Config,
    now: OffsetDateTime,
    m: &MemberRow,
    stamp: &str,
    request_id: i64,
) -> AppResult<NewDocument> {
    let (number, since) = registration(m)?;
    let title = if m.sex == "F" {
        "la dott.ssa ing."
    } else {
        "il dott. ing."
    };
    let mut facts = membership_facts(config, m, number, &since);
    facts.push(("Imposta di bollo".into(), stamp.to_string()));
    Ok(NewDocument {
        kind: DocKind::Certificate,
        member_id: Some(m.id),
        title: "Certificato di iscrizione all'Albo".into(),
        facts,
        fingerprint: String::new(),
        data: json!({
            "person": { "title": title, "full_name": full_name(m), "birth": birth(m), "fiscal_code": m.fiscal_code,
                        "enrolled": if m.sex == "F" { "iscritta" } else { "iscritto" } },
            "number": number, "section": section(config, m), "sectors": sectors(config, m), "since": since,
            "stamp": stamp, "place": place(config), "date": crate::format::rome_date(now),
        }),
        files: vec![],
        segnatura: None,
        request_id: Some(request_id),
        protocol_registration_id: None,
        payment_position_id: None,
        ledger_entry_id: None,
        issued_by: None,
    })
}
