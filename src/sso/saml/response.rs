//! Checking a SAML Response (SPID technical rules, "Response" and "Assertion" tables): xmlsec reduces
//! the document to what the IdP's certificate really signed (samael's `reduce_xml_to_signed`, which
//! defeats signature-wrapping), then every rule is checked on that part only. Pure: no I/O.

use std::collections::BTreeMap;

use base64::Engine;
use roxmltree::Node;
use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Idp;
use super::xml::{DS, SAML, SAMLP, children, first_child, is, text_of};

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// A SAMLResponse larger than this is refused before any parsing.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Why a response was refused: `reason` goes to the log, `spid_code` (AgID error table) to the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub spid_code: Option<u16>,
}

fn refuse(reason: impl Into<String>) -> Refusal {
    Refusal {
        reason: reason.into(),
        spid_code: None,
    }
}

/// What the envelope says before anything is verified: which request it answers and whether the
/// IdP reports a failure (those responses are often unsigned and carry no assertion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub in_response_to: String,
    pub issuer: String,
    /// `Some(code)` when the status is not Success; the code is AgID's "ErrorCode nrNN" if given.
    pub failure: Option<Option<u16>>,
}

/// What the ACS expects of a response.
pub struct Expected<'a> {
    pub request_id: &'a str,
    /// When the request was sent: nothing may claim to be older.
    pub request_at: OffsetDateTime,
    pub acs_url: &'a str,
    pub audience: &'a str,
    pub min_level: u8,
    pub now: OffsetDateTime,
    pub skew: time::Duration,
}

/// A verified authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub assertion_id: String,
    pub issuer: String,
    pub name_id: String,
    pub name_qualifier: String,
    pub session_index: String,
    pub level: u8,
    pub attributes: BTreeMap<String, String>,
    /// Until when the assertion could be replayed (kept in the replay table until then).
    pub valid_until: OffsetDateTime,
}

/// Base64 → XML text, with the size limit.
pub fn decode(b64: &str) -> Result<String, Refusal> {
    if b64.len() > MAX_RESPONSE_BYTES * 4 / 3 + 4 {
        return Err(refuse("SAMLResponse too large"));
    }
    let compact: String = b64.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| refuse("SAMLResponse is not base64"))?;
    String::from_utf8(bytes).map_err(|_| refuse("SAMLResponse is not UTF-8"))
}

fn status_failure(resp: Node) -> Option<Option<u16>> {
    let code = first_child(resp, SAMLP, "Status")
        .and_then(|s| first_child(s, SAMLP, "StatusCode"))
        .and_then(|c| c.attribute("Value"));
    if code == Some(SUCCESS) {
        return None;
    }
    let message = first_child(resp, SAMLP, "Status")
        .and_then(|s| first_child(s, SAMLP, "StatusMessage"))
        .map(text_of)
        .unwrap_or_default();
    Some(spid_error_code(&message))
}

/// "ErrorCode nr19" → 19.
pub fn spid_error_code(message: &str) -> Option<u16> {
    let lower = message.to_ascii_lowercase();
    let at = lower.find("nr")?;
    let digits: String = lower[at + 2..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Reads the envelope of an unverified response.
pub fn envelope(xml: &str) -> Result<Envelope, Refusal> {
    let doc = super::xml::parse(xml).map_err(|e| refuse(format!("not well-formed XML: {e}")))?;
    let resp = doc.root_element();
    if !is(resp, SAMLP, "Response") {
        return Err(refuse("the document is not a samlp:Response"));
    }
    Ok(Envelope {
        in_response_to: resp.attribute("InResponseTo").unwrap_or_default().to_string(),
        issuer: first_child(resp, SAML, "Issuer")
            .map(|i| text_of(i).trim().to_string())
            .unwrap_or_default(),
        failure: status_failure(resp),
    })
}

fn time_attr(node: Node, name: &str, what: &str) -> Result<OffsetDateTime, Refusal> {
    let raw = node
        .attribute(name)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| refuse(format!("{what} {name} missing or empty")))?;
    OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .map_err(|_| refuse(format!("{what} {name} is not a UTC xs:dateTime: {raw}")))
}

fn issue_instant_ok(node: Node, what: &str, e: &Expected) -> Result<(), Refusal> {
    let t = time_attr(node, "IssueInstant", what)?;
    if t < e.request_at - e.skew {
        return Err(refuse(format!("{what} IssueInstant {t} is before the request")));
    }
    if t > e.now + e.skew {
        return Err(refuse(format!("{what} IssueInstant {t} is in the future")));
    }
    Ok(())
}

fn version_and_id(node: Node, what: &str) -> Result<String, Refusal> {
    if node.attribute("Version") != Some("2.0") {
        return Err(refuse(format!("{what} Version is not 2.0")));
    }
    node.attribute("ID")
        .filter(|id| !id.trim().is_empty())
        .map(str::to_string)
        .ok_or_else(|| refuse(format!("{what} ID missing or empty")))
}

fn issuer_ok(node: Node, what: &str, idp: &Idp, format_required: bool) -> Result<(), Refusal> {
    let issuer = first_child(node, SAML, "Issuer").ok_or_else(|| refuse(format!("{what} Issuer missing")))?;
    if text_of(issuer).trim() != idp.entity_id {
        return Err(refuse(format!("{what} Issuer is not {}", idp.entity_id)));
    }
    match issuer.attribute("Format") {
        Some(ENTITY) => Ok(()),
        None if !format_required => Ok(()),
        other => Err(refuse(format!("{what} Issuer Format is {other:?}, not entity"))),
    }
}

/// Verifies the signatures and every rule; returns the authentication or why it is refused.
pub fn verify(xml: &str, idp: &Idp, e: &Expected) -> Result<Verified, Refusal> {
    let envelope = envelope(xml)?;
    if let Some(code) = envelope.failure {
        return Err(Refusal {
            reason: "the IdP answered with a failure status".into(),
            spid_code: code,
        });
    }
    let certs: Vec<CertificateDer> = idp
        .certs
        .iter()
        .map(|c| CertificateDer::from(c.clone()))
        .collect();
    let allowed = [
        AllowedSignatureAlgorithm::RsaSha256,
        AllowedSignatureAlgorithm::RsaSha384,
        AllowedSignatureAlgorithm::RsaSha512,
        AllowedSignatureAlgorithm::EcdsaSha256,
    ];
    let signed = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &certs,
        ReduceMode::ValidateAndMarkNoAncestors,
        Some(&allowed),
    )
    .map_err(|err| refuse(format!("signature not valid for the IdP's certificates: {err:?}")))?;
    let doc = super::xml::parse(&signed).map_err(|err| refuse(format!("signed part unreadable: {err}")))?;
    let root = doc.root_element();
    let raw_doc = super::xml::parse(xml).map_err(|err| refuse(format!("not well-formed XML: {err}")))?;
    // The Response must be signed too (SPID): the verified part is rooted at the Response.
    if !is(root, SAMLP, "Response") {
        return Err(refuse("the Response is not signed by the IdP"));
    }
    let resp = root;
    let raw_assertions = children(raw_doc.root_element(), SAML, "Assertion").count();
    let assertions: Vec<Node> = children(resp, SAML, "Assertion").collect();
    if assertions.len() != 1 || raw_assertions != 1 {
        return Err(refuse(format!(
            "expected one signed Assertion, found {}",
            assertions.len()
        )));
    }
    let assertion = assertions[0];
    if first_child(assertion, DS, "Signature").is_none() {
        return Err(refuse("the Assertion is not signed"));
    }

    // Response.
    version_and_id(resp, "Response")?;
    issue_instant_ok(resp, "Response", e)?;
    if resp.attribute("InResponseTo") != Some(e.request_id) {
        return Err(refuse("Response InResponseTo does not match the request"));
    }
    if resp.attribute("Destination") != Some(e.acs_url) {
        return Err(refuse(format!("Response Destination is not {}", e.acs_url)));
    }
    issuer_ok(resp, "Response", idp, false)?;
    if status_failure(resp).is_some() {
        return Err(refuse("Response Status is not Success"));
    }

    // Assertion.
    let assertion_id = version_and_id(assertion, "Assertion")?;
    issue_instant_ok(assertion, "Assertion", e)?;
    issuer_ok(assertion, "Assertion", idp, true)?;

    let subject = first_child(assertion, SAML, "Subject").ok_or_else(|| refuse("Subject missing"))?;
    let name_id = first_child(subject, SAML, "NameID").ok_or_else(|| refuse("NameID missing"))?;
    let name_id_value = text_of(name_id).trim().to_string();
    if name_id_value.is_empty() {
        return Err(refuse("NameID empty"));
    }
    if name_id.attribute("Format") != Some(TRANSIENT) {
        return Err(refuse("NameID Format is not transient"));
    }
    let name_qualifier = name_id
        .attribute("NameQualifier")
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| refuse("NameID NameQualifier missing or empty"))?
        .to_string();
    let confirmation = first_child(subject, SAML, "SubjectConfirmation")
        .ok_or_else(|| refuse("SubjectConfirmation missing"))?;
    if confirmation.attribute("Method") != Some(BEARER) {
        return Err(refuse("SubjectConfirmation Method is not bearer"));
    }
    let data = first_child(confirmation, SAML, "SubjectConfirmationData")
        .ok_or_else(|| refuse("SubjectConfirmationData missing"))?;
    if data.attribute("Recipient") != Some(e.acs_url) {
        return Err(refuse("SubjectConfirmationData Recipient is not our ACS"));
    }
    if data.attribute("InResponseTo") != Some(e.request_id) {
        return Err(refuse(
            "SubjectConfirmationData InResponseTo does not match the request",
        ));
    }
    let scd_until = time_attr(data, "NotOnOrAfter", "SubjectConfirmationData")?;
    if scd_until <= e.now - e.skew {
        return Err(refuse("SubjectConfirmationData NotOnOrAfter has passed"));
    }

    let conditions =
        first_child(assertion, SAML, "Conditions").ok_or_else(|| refuse("Conditions missing"))?;
    let not_before = time_attr(conditions, "NotBefore", "Conditions")?;
    if not_before > e.now + e.skew {
        return Err(refuse("Conditions NotBefore is in the future"));
    }
    let not_after = time_attr(conditions, "NotOnOrAfter", "Conditions")?;
    if not_after <= e.now - e.skew {
        return Err(refuse("Conditions NotOnOrAfter has passed"));
    }
    let restriction = first_child(conditions, SAML, "AudienceRestriction")
        .ok_or_else(|| refuse("AudienceRestriction missing"))?;
    let audiences: Vec<String> = children(restriction, SAML, "Audience")
        .map(|a| text_of(a).trim().to_string())
        .collect();
    if !audiences.iter().any(|a| a == e.audience) {
        return Err(refuse(format!("Audience is not {}", e.audience)));
    }

    let statement =
        first_child(assertion, SAML, "AuthnStatement").ok_or_else(|| refuse("AuthnStatement missing"))?;
    let class_ref = first_child(statement, SAML, "AuthnContext")
        .and_then(|c| first_child(c, SAML, "AuthnContextClassRef"))
        .map(|c| text_of(c).trim().to_string())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| refuse("AuthnContextClassRef missing or empty"))?;
    let level = match class_ref.as_str() {
        "https://www.spid.gov.it/SpidL1" => 1,
        "https://www.spid.gov.it/SpidL2" => 2,
        "https://www.spid.gov.it/SpidL3" => 3,
        other => {
            return Err(refuse(format!(
                "AuthnContextClassRef {other} is not a SPID level"
            )));
        }
    };
    if level < e.min_level {
        return Err(Refusal {
            reason: format!("level SpidL{level} is lower than the SpidL{} asked", e.min_level),
            spid_code: None,
        });
    }

    let attribute_statement = first_child(assertion, SAML, "AttributeStatement")
        .ok_or_else(|| refuse("AttributeStatement missing"))?;
    let mut attributes = BTreeMap::new();
    for attribute in children(attribute_statement, SAML, "Attribute") {
        let name = attribute.attribute("Name").unwrap_or_default().to_string();
        let value = first_child(attribute, SAML, "AttributeValue")
            .map(|v| text_of(v).trim().to_string())
            .ok_or_else(|| refuse(format!("attribute {name} has no value")))?;
        attributes.insert(name, value);
    }
    if attributes.is_empty() {
        return Err(refuse("AttributeStatement has no attribute"));
    }

    Ok(Verified {
        assertion_id,
        issuer: idp.entity_id.clone(),
        name_id: name_id_value,
        name_qualifier,
        session_index: statement
            .attribute("SessionIndex")
            .unwrap_or_default()
            .to_string(),
        level,
        attributes,
        valid_until: not_after.max(scd_until),
    })
}
