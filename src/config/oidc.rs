//! The `[oidc]` settings: the relying party's key and the OpenID Connect providers (CIE and others).

use serde::Deserialize;

use super::{ConfigError, bad};

#[derive(Debug, Clone, Deserialize)]
pub struct OidcConfig {
    /// PEM RSA key for `private_key_jwt` and signed request objects (public part at /oidc/jwks.json).
    pub key_path: String,
    /// PEM RSA key userinfo responses are encrypted to (CIE, SPID); public part in /oidc/jwks.json.
    pub enc_key_path: String,
    pub providers: Vec<OidcProviderConfig>,
    pub federation: FederationConfig,
}

/// `[oidc.federation]`: the relying party's Entity Configuration (SPID/CIE OIDC Federation).
#[derive(Debug, Clone, Deserialize)]
pub struct FederationConfig {
    /// Serve `/.well-known/openid-federation`.
    pub enabled: bool,
    /// Empty: `<base_url>/` (the entity id is where `.well-known/openid-federation` is served).
    pub entity_id: String,
    /// The superiors (Trust Anchor or intermediate) that registered this relying party.
    pub authority_hints: Vec<String>,
    /// Trust marks issued to this relying party: `{ id = "...", trust_mark = "<JWT>" }`.
    pub trust_marks: Vec<TrustMark>,
    pub contacts: Vec<String>,
    pub policy_uri: String,
    /// Validity of each issued Entity Configuration.
    pub lifetime_hours: i64,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct TrustMark {
    pub id: String,
    pub trust_mark: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OidcProviderConfig {
    /// Short name in the login URL (`/oidc/<name>/login`); "cie" for CieID.
    pub name: String,
    /// The button's text.
    pub label: String,
    pub issuer: String,
    pub client_id: String,
    /// Only for client_secret_basic / client_secret_post (set it from the environment or a private file).
    pub client_secret: String,
    /// private_key_jwt, client_secret_basic or client_secret_post.
    pub auth_method: String,
    pub scopes: Vec<String>,
    pub acr_values: String,
    pub prompt: String,
    /// Send the authorization parameters also as a signed request object (CIE/SPID OIDC).
    pub request_object: bool,
    /// The ID-token claim holding the codice fiscale.
    pub fiscal_code_claim: String,
    /// The assurance level a login through this provider counts as (2+: no TOTP code for staff).
    pub level: u8,
}

impl Default for OidcProviderConfig {
    fn default() -> Self {
        OidcProviderConfig {
            name: String::new(),
            label: String::new(),
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            auth_method: "private_key_jwt".into(),
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            acr_values: String::new(),
            prompt: String::new(),
            request_object: false,
            fiscal_code_claim: "https://attributes.eid.gov.it/fiscal_number".into(),
            level: 2,
        }
    }
}

impl OidcConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let f = &self.federation;
        if f.enabled {
            if self.key_path.trim().is_empty() {
                return Err(bad(
                    "oidc.key_path",
                    "required by oidc.federation (the entity's keys)",
                ));
            }
            if f.authority_hints.is_empty() {
                return Err(bad(
                    "oidc.federation.authority_hints",
                    "name at least one superior (the Trust Anchor)",
                ));
            }
            if !(1..=720).contains(&f.lifetime_hours) {
                return Err(bad("oidc.federation.lifetime_hours", "must be between 1 and 720"));
            }
        }
        let mut names = std::collections::HashSet::new();
        for p in &self.providers {
            let ok_name = !p.name.is_empty()
                && p.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !ok_name || !names.insert(p.name.as_str()) {
                return Err(bad(
                    "oidc.providers",
                    format!("\"{}\" needs a unique name of a-z, 0-9, - or _", p.name),
                ));
            }
            let what = |field: &str| format!("oidc.providers ({}).{field}", p.name);
            if url::Url::parse(&p.issuer)
                .map(|u| !matches!(u.scheme(), "http" | "https"))
                .unwrap_or(true)
            {
                return Err(bad(&what("issuer"), "must be an http(s) URL"));
            }
            if p.client_id.trim().is_empty() {
                return Err(bad(&what("client_id"), "required"));
            }
            if !matches!(
                p.auth_method.as_str(),
                "private_key_jwt" | "client_secret_basic" | "client_secret_post"
            ) {
                return Err(bad(
                    &what("auth_method"),
                    "private_key_jwt, client_secret_basic or client_secret_post",
                ));
            }
            if p.auth_method != "private_key_jwt" && p.client_secret.is_empty() {
                return Err(bad(&what("client_secret"), "required by this auth_method"));
            }
            if !(1..=3).contains(&p.level) {
                return Err(bad(&what("level"), "must be 1, 2 or 3"));
            }
            if p.label.trim().is_empty() {
                return Err(bad(&what("label"), "required (the button's text)"));
            }
        }
        Ok(())
    }
}
