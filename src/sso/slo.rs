//! SAML single logout at `/spid/slo`: our LogoutRequest when a SPID user logs out, the IdP's
//! LogoutResponse to it, and the IdP's own LogoutRequest (which ends the person's sessions here).
//! Every incoming message must be signed by the IdP: in the query (HTTP-Redirect) or embedded
//! (HTTP-POST).

use std::io::Read;

use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::handlers::{SSO_LOGOUT_KEY, outgoing_response, sp};
use super::saml::messages::{self, LogoutParams};
use super::saml::xml::{SAML, SAMLP, first_child, is, text_of};
use super::saml::{Idp, Sp};
use crate::error::{AppError, AppResult};
use crate::web::Ctx;

/// Kept in the session after a SPID login, for the LogoutRequest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogoutInfo {
    pub idp: String,
    pub name_id: String,
    pub session_index: String,
}

const PENDING_SLO_KEY: &str = "slo_pending";

/// After the local logout of a SPID session: the LogoutRequest to the IdP, if it has an SLO
/// endpoint. The new (anonymous) session remembers the request's ID for the response.
pub async fn start(ctx: &Ctx, info: LogoutInfo) -> AppResult<Option<Response>> {
    let Some(sp) = ctx.state.spid.as_deref() else {
        return Ok(None);
    };
    let Some(idp) = sp.idp(&info.idp) else {
        return Ok(None);
    };
    let Some((binding, location)) = idp.slo_endpoint() else {
        return Ok(None);
    };
    let id = messages::new_id();
    let outgoing = messages::logout_request(
        sp,
        &LogoutParams {
            id: &id,
            now: ctx.state.now(),
            binding,
            destination: location,
            name_qualifier: &idp.entity_id,
            name_id: &info.name_id,
            session_index: &info.session_index,
        },
    )
    .map_err(AppError::internal)?;
    ctx.session.insert(PENDING_SLO_KEY, id).await?;
    Ok(Some(outgoing_response(ctx, outgoing).await?))
}

fn bad(reason: &str) -> AppError {
    tracing::warn!(reason, "single logout message refused");
    AppError::BadRequest("Il messaggio di disconnessione non è valido.".into())
}

/// The raw (still percent-encoded) value of a query parameter.
fn raw_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then_some(v)
    })
}

fn decoded(raw: &str) -> String {
    url::form_urlencoded::parse(format!("v={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Checks the HTTP-Redirect signature (SAML bindings §3.4.4.1: over the parameters as received).
fn verify_query(idp: &Idp, query: &str, field: &str) -> Result<(), AppError> {
    let message = raw_param(query, field).ok_or_else(|| bad("no message"))?;
    let sig_alg = raw_param(query, "SigAlg").ok_or_else(|| bad("unsigned redirect message"))?;
    let signature = raw_param(query, "Signature").ok_or_else(|| bad("unsigned redirect message"))?;
    let mut signed = format!("{field}={message}");
    if let Some(relay) = raw_param(query, "RelayState") {
        signed.push_str(&format!("&RelayState={relay}"));
    }
    signed.push_str(&format!("&SigAlg={sig_alg}"));
    let digest = match decoded(sig_alg).as_str() {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => openssl::hash::MessageDigest::sha256(),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => openssl::hash::MessageDigest::sha384(),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => openssl::hash::MessageDigest::sha512(),
        _ => return Err(bad("signature algorithm not accepted")),
    };
    let signature = base64::engine::general_purpose::STANDARD
        .decode(decoded(signature).as_bytes())
        .map_err(|_| bad("signature not base64"))?;
    for der in &idp.certs {
        let ok = (|| -> Result<bool, openssl::error::ErrorStack> {
            let key = openssl::x509::X509::from_der(der)?.public_key()?;
            let mut v = openssl::sign::Verifier::new(digest, &key)?;
            v.update(signed.as_bytes())?;
            v.verify(&signature)
        })()
        .unwrap_or(false);
        if ok {
            return Ok(());
        }
    }
    Err(bad("redirect signature not valid for the IdP"))
}

fn inflate(b64: &str) -> Result<String, AppError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.split_whitespace().collect::<String>().as_bytes())
        .map_err(|_| bad("message not base64"))?;
    let mut out = String::new();
    flate2::read::DeflateDecoder::new(&bytes[..])
        .take(256 * 1024)
        .read_to_string(&mut out)
        .map_err(|_| bad("message not deflated"))?;
    Ok(out)
}

/// The IdP that issued a message (by its Issuer), if configured.
fn issuer_idp<'s>(sp: &'s Sp, xml: &str) -> Result<&'s Idp, AppError> {
    let doc = super::saml::xml::parse(xml).map_err(|_| bad("not XML"))?;
    let issuer = first_child(doc.root_element(), SAML, "Issuer")
        .map(|i| text_of(i).trim().to_string())
        .unwrap_or_default();
    sp.idp(&issuer).ok_or_else(|| bad("unknown issuer"))
}

pub async fn incoming_redirect(ctx: &Ctx, query: &str) -> AppResult<Response> {
    let sp = sp(ctx)?;
    let (field, xml) = if let Some(raw) = raw_param(query, "SAMLResponse") {
        ("SAMLResponse", inflate(&decoded(raw))?)
    } else if let Some(raw) = raw_param(query, "SAMLRequest") {
        ("SAMLRequest", inflate(&decoded(raw))?)
    } else {
        return Err(bad("neither SAMLRequest nor SAMLResponse"));
    };
    let idp = issuer_idp(sp, &xml)?;
    verify_query(idp, query, field)?;
    let relay = raw_param(query, "RelayState").map(decoded).unwrap_or_default();
    handle(ctx, sp, idp, &xml, &relay).await
}

pub async fn incoming_post(ctx: &Ctx, request: &str, response: &str, relay: &str) -> AppResult<Response> {
    let sp = sp(ctx)?;
    let b64 = if !response.is_empty() { response } else { request };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.split_whitespace().collect::<String>().as_bytes())
        .map_err(|_| bad("message not base64"))?;
    let xml = String::from_utf8(bytes).map_err(|_| bad("message not UTF-8"))?;
    let idp = issuer_idp(sp, &xml)?;
    let certs: Vec<samael::crypto::CertificateDer> = idp
        .certs
        .iter()
        .map(|c| samael::crypto::CertificateDer::from(c.clone()))
        .collect();
    use samael::crypto::CryptoProvider;
    let signed =
        samael::crypto::Crypto::reduce_xml_to_signed(&xml, &certs, samael::crypto::ReduceMode::default())
            .map_err(|_| bad("embedded signature not valid for the IdP"))?;
    handle(ctx, sp, idp, &signed, relay).await
}

async fn handle(ctx: &Ctx, sp: &Sp, idp: &Idp, xml: &str, relay: &str) -> AppResult<Response> {
    let doc = super::saml::xml::parse(xml).map_err(|_| bad("not XML"))?;
    let root = doc.root_element();
    if root.attribute("Destination").is_some_and(|d| d != sp.slo_url) {
        return Err(bad("Destination is not our SLO endpoint"));
    }
    if is(root, SAMLP, "LogoutResponse") {
        let pending: Option<String> = ctx.session.get(PENDING_SLO_KEY).await?;
        if pending.as_deref() != root.attribute("InResponseTo") {
            return Err(bad("LogoutResponse to no request of this session"));
        }
        ctx.session.remove_value(PENDING_SLO_KEY).await?;
        return Ok(Redirect::to("/login?ok=logout").into_response());
    }
    if !is(root, SAMLP, "LogoutRequest") {
        return Err(bad("not a logout message"));
    }
    let name_id = first_child(root, SAML, "NameID")
        .map(|n| text_of(n).trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad("LogoutRequest without NameID"))?;
    let request_id = root.attribute("ID").unwrap_or_default().to_string();
    let ended =
        super::repo::end_sessions_of_name_id(&mut *ctx.state.pool.acquire().await?, &idp.entity_id, &name_id)
            .await?;
    tracing::info!(idp = %idp.entity_id, ended, "IdP-initiated single logout");
    let (binding, location) = idp
        .slo_endpoint()
        .ok_or_else(|| bad("IdP without SLO endpoint"))?;
    let location = idp.slo_response_location(binding).unwrap_or(location).to_string();
    let outgoing = messages::logout_response(sp, binding, &location, &request_id, relay, ctx.state.now())
        .map_err(AppError::internal)?;
    ctx.session.remove_value(SSO_LOGOUT_KEY).await?;
    outgoing_response(ctx, outgoing).await
}
