//! The SAML messages we send: SP metadata, AuthnRequest, LogoutRequest, LogoutResponse, and the two
//! bindings (HTTP-Redirect: deflated, signed query; HTTP-POST: embedded signature in a form).

use std::io::Write;

use askama::Template;
use base64::Engine;
use time::OffsetDateTime;
use time::macros::format_description;

use super::Sp;
use super::idp::BINDING_REDIRECT;
use crate::config::Config;

pub const SIG_ALG: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// A fresh message ID: an NCName (starts with `_`), 128 random bits.
pub fn new_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("_{}", hex::encode(bytes))
}

/// SAML's xs:dateTime in UTC, whole seconds.
pub fn instant(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

pub fn class_ref(level: u8) -> String {
    format!("https://www.spid.gov.it/SpidL{level}")
}

#[derive(Template)]
#[template(path = "sso/probe.xml")]
struct Probe<'a> {
    id: &'a str,
    cert: &'a str,
}

/// A tiny document signed once at start, so that a broken key or xmlsec shows before serving.
pub fn probe_document(cert: &str) -> String {
    Probe { id: "_probe", cert }.render().unwrap_or_default()
}

#[derive(Template)]
#[template(path = "sso/metadata.xml")]
struct Metadata<'a> {
    id: String,
    entity_id: &'a str,
    cert: &'a str,
    acs_url: &'a str,
    slo_url: &'a str,
    service_name: &'a str,
    attributes: &'a [String],
    org_name: &'a str,
    org_display: &'a str,
    org_url: &'a str,
    public: bool,
    ipa_code: &'a str,
    vat_number: &'a str,
    fiscal_code: &'a str,
    email: &'a str,
    telephone: &'a str,
}

/// The signed SP metadata (Avviso SPID n. 29 v3: signing key, ACS index 0, attribute set 0,
/// Organization and a ContactPerson "other" with the spid: extensions).
pub fn metadata(sp: &Sp, config: &Config) -> anyhow::Result<String> {
    let c = &config.spid;
    let org_url = if c.organization_url.trim().is_empty() {
        config.base_url.as_str()
    } else {
        c.organization_url.trim()
    };
    let fiscal_code = if c.fiscal_code.trim().is_empty() {
        config.order.fiscal_code.as_str()
    } else {
        c.fiscal_code.trim()
    };
    let xml = Metadata {
        id: new_id(),
        entity_id: &sp.entity_id,
        cert: &sp.cert_b64,
        acs_url: &sp.acs_url,
        slo_url: &sp.slo_url,
        service_name: &c.service_name,
        attributes: &c.attributes,
        org_name: &config.order.name,
        org_display: &config.order.short_name,
        org_url,
        public: c.public,
        ipa_code: c.ipa_code.trim(),
        vat_number: c.vat_number.trim(),
        fiscal_code,
        email: c.contact_email.trim(),
        telephone: c.contact_telephone.trim(),
    }
    .render()?;
    sp.sign(&xml)
}

#[derive(Template)]
#[template(path = "sso/authn_request.xml")]
struct AuthnRequestXml<'a> {
    id: &'a str,
    instant: String,
    destination: &'a str,
    entity_id: &'a str,
    force_authn: bool,
    comparison: &'a str,
    class_ref: String,
    embedded_signature: bool,
    cert: &'a str,
}

#[derive(Template)]
#[template(path = "sso/logout_request.xml")]
struct LogoutRequestXml<'a> {
    id: &'a str,
    instant: String,
    destination: &'a str,
    entity_id: &'a str,
    name_qualifier: &'a str,
    name_id: &'a str,
    session_index: &'a str,
    embedded_signature: bool,
    cert: &'a str,
}

#[derive(Template)]
#[template(path = "sso/logout_response.xml")]
struct LogoutResponseXml<'a> {
    id: &'a str,
    instant: String,
    destination: &'a str,
    in_response_to: &'a str,
    entity_id: &'a str,
    embedded_signature: bool,
    cert: &'a str,
}

/// How a message reaches the IdP.
#[derive(Debug)]
pub enum Outgoing {
    /// A 302 to this URL (HTTP-Redirect binding).
    Redirect(String),
    /// An auto-submitted form (HTTP-POST binding).
    Post {
        action: String,
        field: &'static str,
        value: String,
        relay_state: String,
    },
}

/// `SAMLRequest` or `SAMLResponse`.
#[derive(Clone, Copy)]
pub enum Kind {
    Request,
    Response,
}

impl Kind {
    fn field(self) -> &'static str {
        match self {
            Kind::Request => "SAMLRequest",
            Kind::Response => "SAMLResponse",
        }
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Deflates, encodes and signs a message for the HTTP-Redirect binding: the signature covers
/// `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as sent (SAML bindings §3.4.4.1).
pub fn redirect_url(
    sp: &Sp,
    location: &str,
    kind: Kind,
    xml: &str,
    relay_state: &str,
) -> anyhow::Result<String> {
    let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflater.write_all(xml.as_bytes())?;
    let deflated = deflater.finish()?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(deflated);
    let mut query = format!("{}={}", kind.field(), form_encode(&encoded));
    if !relay_state.is_empty() {
        query.push_str(&format!("&RelayState={}", form_encode(relay_state)));
    }
    query.push_str(&format!("&SigAlg={}", form_encode(SIG_ALG)));
    let signature = sp.sign_query(&query)?;
    let sep = if location.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{location}{sep}{query}&Signature={}",
        form_encode(&signature)
    ))
}

fn outgoing(
    sp: &Sp,
    binding: &str,
    location: &str,
    kind: Kind,
    render: impl Fn(bool) -> anyhow::Result<String>,
    relay_state: &str,
) -> anyhow::Result<Outgoing> {
    if binding == BINDING_REDIRECT {
        Ok(Outgoing::Redirect(redirect_url(
            sp,
            location,
            kind,
            &render(false)?,
            relay_state,
        )?))
    } else {
        let signed = sp.sign(&render(true)?)?;
        Ok(Outgoing::Post {
            action: location.to_string(),
            field: kind.field(),
            value: base64::engine::general_purpose::STANDARD.encode(signed),
            relay_state: relay_state.to_string(),
        })
    }
}

pub struct AuthnParams<'a> {
    pub id: &'a str,
    pub now: OffsetDateTime,
    pub binding: &'a str,
    pub destination: &'a str,
    pub level: u8,
    pub comparison: &'a str,
    pub relay_state: &'a str,
}

/// A signed AuthnRequest for the IdP's SSO endpoint. ForceAuthn above level 1 (SPID rules).
pub fn authn_request(sp: &Sp, p: &AuthnParams) -> anyhow::Result<Outgoing> {
    let render = |embedded_signature: bool| -> anyhow::Result<String> {
        Ok(AuthnRequestXml {
            id: p.id,
            instant: instant(p.now),
            destination: p.destination,
            entity_id: &sp.entity_id,
            force_authn: p.level > 1,
            comparison: p.comparison,
            class_ref: class_ref(p.level),
            embedded_signature,
            cert: &sp.cert_b64,
        }
        .render()?)
    };
    outgoing(sp, p.binding, p.destination, Kind::Request, render, p.relay_state)
}

pub struct LogoutParams<'a> {
    pub id: &'a str,
    pub now: OffsetDateTime,
    pub binding: &'a str,
    pub destination: &'a str,
    pub name_qualifier: &'a str,
    pub name_id: &'a str,
    pub session_index: &'a str,
}

pub fn logout_request(sp: &Sp, p: &LogoutParams) -> anyhow::Result<Outgoing> {
    let render = |embedded_signature: bool| -> anyhow::Result<String> {
        Ok(LogoutRequestXml {
            id: p.id,
            instant: instant(p.now),
            destination: p.destination,
            entity_id: &sp.entity_id,
            name_qualifier: p.name_qualifier,
            name_id: p.name_id,
            session_index: p.session_index,
            embedded_signature,
            cert: &sp.cert_b64,
        }
        .render()?)
    };
    outgoing(sp, p.binding, p.destination, Kind::Request, render, "")
}

pub fn logout_response(
    sp: &Sp,
    binding: &str,
    destination: &str,
    in_response_to: &str,
    relay_state: &str,
    now: OffsetDateTime,
) -> anyhow::Result<Outgoing> {
    let id = new_id();
    let render = |embedded_signature: bool| -> anyhow::Result<String> {
        Ok(LogoutResponseXml {
            id: &id,
            instant: instant(now),
            destination,
            in_response_to,
            entity_id: &sp.entity_id,
            embedded_signature,
            cert: &sp.cert_b64,
        }
        .render()?)
    };
    outgoing(sp, binding, destination, Kind::Response, render, relay_state)
}
