//! OpenID Connect relying party for CIE (CieID) and any other OIDC provider in `[[oidc.providers]]`:
//! authorization code with PKCE (S256), state and nonce; client authentication `private_key_jwt`
//! (RFC 7523 client assertion) or a client secret; optionally a signed request object (RFC 9101), as
//! the CIE/SPID OIDC rules want. Discovery, token exchange and ID-token verification (signature,
//! issuer, audience, expiry, nonce) are the `openidconnect` crate's; the JWTs we sign are josekit's.

use std::collections::HashMap;

use anyhow::Context;
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::JwtPayload;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::config::{Config, OidcProviderConfig};

/// Every claim of the ID token beyond the standard ones (the fiscal code's claim among them).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct OtherClaims(HashMap<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

type Fields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type Client = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub struct Provider {
    pub config: OidcProviderConfig,
    metadata: OnceCell<CoreProviderMetadata>,
}

/// The relying party as loaded at start (no network: providers are discovered at first use).
pub struct Oidc {
    pub providers: Vec<Provider>,
    key_pem: Vec<u8>,
    kid: String,
    /// The key userinfo responses are encrypted to (public part in the JWKS with use "enc").
    enc_key_pem: Vec<u8>,
    redirect_uri: String,
    http: openidconnect::reqwest::Client,
}

/// What the browser's session must keep between login and callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowSecret {
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What a verified ID token says.
#[derive(Debug, Clone)]
pub struct Claims {
    pub subject: String,
    pub fiscal_code: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<String>,
}

/// Sets a JWT time claim to `now` (the app's clock) plus `seconds`, in whole seconds (josekit would
/// write `iat` with a fraction, which some federation implementations refuse).
fn set_time(
    payload: &mut JwtPayload,
    claim: &str,
    now: time::OffsetDateTime,
    seconds: u64,
) -> anyhow::Result<()> {
    let value = now.unix_timestamp().max(0) as u64 + seconds;
    payload.set_claim(claim, Some(serde_json::Value::from(value)))?;
    Ok(())
}

impl Oidc {
    pub fn load(config: &Config) -> anyhow::Result<Option<Oidc>> {
        let c = &config.oidc;
        if c.providers.is_empty() && !c.federation.enabled {
            return Ok(None);
        }
        let key_pem = if c.key_path.trim().is_empty() {
            Vec::new()
        } else {
            std::fs::read(&c.key_path)
                .with_context(|| format!("oidc.key_path: cannot read {}", c.key_path))?
        };
        let needs_key = c
            .providers
            .iter()
            .any(|p| p.auth_method == "private_key_jwt" || p.request_object);
        let kid = if key_pem.is_empty() {
            if needs_key {
                anyhow::bail!("oidc.key_path: required by private_key_jwt and request objects");
            }
            String::new()
        } else {
            let key = openssl::pkey::PKey::private_key_from_pem(&key_pem)
                .context("oidc.key_path: not a PEM key")?;
            RS256
                .signer_from_pem(&key_pem)
                .context("oidc.key_path: not an RSA key")?;
            let public = key.public_key_to_der()?;
            base64_url(&Sha256::digest(public))
        };
        let enc_key_pem = if c.enc_key_path.trim().is_empty() {
            Vec::new()
        } else {
            let pem = std::fs::read(&c.enc_key_path)
                .with_context(|| format!("oidc.enc_key_path: cannot read {}", c.enc_key_path))?;
            josekit::jwe::RSA_OAEP
                .decrypter_from_pem(&pem)
                .context("oidc.enc_key_path: not an RSA key")?;
            pem
        };
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("cannot build the HTTP client for OIDC")?;
        Ok(Some(Oidc {
            providers: c
                .providers
                .iter()
                .map(|p| Provider {
                    config: p.clone(),
                    metadata: OnceCell::new(),
                })
                .collect(),
            key_pem,
            kid,
            enc_key_pem,
            redirect_uri: format!("{}/oidc/callback", config.base()),
            http,
        }))
    }

    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.config.name == name)
    }

    /// The relying party's Entity Configuration (OpenID Federation 1.0 as profiled by the SPID/CIE
    /// OIDC Federation rules): self-signed, with the RP metadata CIE and SPID providers read.
    pub fn entity_configuration(&self, config: &Config, now: time::OffsetDateTime) -> anyhow::Result<String> {
        let f = &config.oidc.federation;
        let base = config.base();
        let entity_id = if f.entity_id.trim().is_empty() {
            format!("{base}/")
        } else {
            f.entity_id.trim().to_string()
        };
        let contacts = if f.contacts.is_empty() {
            vec![config.order.email.clone()]
        } else {
            f.contacts.clone()
        };
        let policy_uri = if f.policy_uri.is_empty() {
            format!("{base}/")
        } else {
            f.policy_uri.clone()
        };
        let jwks = self.jwks()?;
        let mut payload = JwtPayload::new();
        payload.set_issuer(&entity_id);
        payload.set_subject(&entity_id);
        set_time(&mut payload, "iat", now, 0)?;
        set_time(&mut payload, "exp", now, (f.lifetime_hours.max(1) as u64) * 3600)?;
        let mut claims = serde_json::json!({
            "jwks": jwks,
            "authority_hints": f.authority_hints,
            "trust_marks": f.trust_marks,
            "metadata": {
                "federation_entity": {
                    "organization_name": config.order.name,
                    "homepage_uri": format!("{base}/"),
                    "policy_uri": policy_uri,
                    "logo_uri": format!("{base}/logo"),
                    "contacts": contacts,
                },
                "openid_relying_party": {
                    "client_id": entity_id,
                    "client_registration_types": ["automatic"],
                    "application_type": "web",
                    "client_name": config.order.short_name,
                    "organization_name": config.order.name,
                    "contacts": contacts,
                    "redirect_uris": [self.redirect_uri],
                    "response_types": ["code"],
                    "grant_types": ["authorization_code"],
                    "subject_type": "pairwise",
                    "id_token_signed_response_alg": "RS256",
                    "userinfo_signed_response_alg": "RS256",
                    "token_endpoint_auth_method": "private_key_jwt",
                    "userinfo_encrypted_response_alg": "RSA-OAEP",
                    "userinfo_encrypted_response_enc": "A256CBC-HS512",
                    "jwks": jwks,
                },
            },
        });
        if self.enc_key_pem.is_empty()
            && let Some(rp) = claims["metadata"]["openid_relying_party"].as_object_mut()
        {
            // Without an encryption key the provider must answer userinfo unencrypted.
            rp.remove("userinfo_encrypted_response_alg");
            rp.remove("userinfo_encrypted_response_enc");
        }
        if let serde_json::Value::Object(map) = claims {
            for (k, v) in map {
                payload.set_claim(&k, Some(v))?;
            }
        }
        self.sign(&payload, "entity-statement+jwt")
    }

    /// The public keys as a JWK Set (`/oidc/jwks.json`): `oidc.key_path` (use "sig") and, when set,
    /// `oidc.enc_key_path` (use "enc").
    pub fn jwks(&self) -> anyhow::Result<serde_json::Value> {
        let mut keys = Vec::new();
        if !self.key_pem.is_empty() {
            let mut jwk = RS256.key_pair_from_pem(&self.key_pem)?.to_jwk_public_key();
            jwk.set_key_id(&self.kid);
            jwk.set_key_use("sig");
            jwk.set_algorithm("RS256");
            keys.push(serde_json::Value::Object(jwk.into()));
        }
        if !self.enc_key_pem.is_empty() {
            let key = openssl::pkey::PKey::private_key_from_pem(&self.enc_key_pem)?;
            let mut jwk = RS256.key_pair_from_pem(&self.enc_key_pem)?.to_jwk_public_key();
            jwk.set_key_id(base64_url(&Sha256::digest(key.public_key_to_der()?)));
            jwk.set_key_use("enc");
            jwk.set_algorithm("RSA-OAEP");
            keys.push(serde_json::Value::Object(jwk.into()));
        }
        Ok(serde_json::json!({ "keys": keys }))
    }

    fn sign(&self, payload: &JwtPayload, typ: &str) -> anyhow::Result<String> {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&self.kid);
        let signer = RS256.signer_from_pem(&self.key_pem)?;
        Ok(josekit::jwt::encode_with_signer(payload, &header, &signer)?)
    }

    async fn client(&self, p: &Provider) -> anyhow::Result<Client> {
        let metadata = p
            .metadata
            .get_or_try_init(|| async {
                let issuer = IssuerUrl::new(p.config.issuer.clone())?;
                CoreProviderMetadata::discover_async(issuer, &self.http)
                    .await
                    .map_err(|e| anyhow::anyhow!("discovery of {} failed: {e}", p.config.issuer))
            })
            .await?
            .clone();
        let secret =
            (!p.config.client_secret.is_empty()).then(|| ClientSecret::new(p.config.client_secret.clone()));
        let client =
            Client::from_provider_metadata(metadata, ClientId::new(p.config.client_id.clone()), secret)
                .set_redirect_uri(RedirectUrl::new(self.redirect_uri.clone())?)
                .set_auth_type(if p.config.auth_method == "client_secret_basic" {
                    AuthType::BasicAuth
                } else {
                    AuthType::RequestBody
                });
        Ok(client)
    }

    /// The authorization URL for `p`, with its state and what the callback will need.
    pub async fn authorization(
        &self,
        p: &Provider,
        now: time::OffsetDateTime,
    ) -> anyhow::Result<(String, String, FlowSecret)> {
        let client = self.client(p).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random();
        let nonce = Nonce::new_random();
        let (state2, nonce2) = (state.clone(), nonce.clone());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || state2,
                move || nonce2,
            )
            .set_pkce_challenge(challenge.clone());
        for scope in p.config.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if !p.config.acr_values.is_empty() {
            request = request.add_extra_param("acr_values", p.config.acr_values.clone());
        }
        if !p.config.prompt.is_empty() {
            request = request.add_extra_param("prompt", p.config.prompt.clone());
        }
        if p.config.request_object {
            let mut payload = JwtPayload::new();
            payload.set_issuer(&p.config.client_id);
            payload.set_audience(vec![p.config.issuer.clone()]);
            set_time(&mut payload, "iat", now, 0)?;
            set_time(&mut payload, "exp", now, 300)?;
            payload.set_jwt_id(CsrfToken::new_random().secret());
            let mut scopes = vec!["openid".to_string()];
            scopes.extend(p.config.scopes.iter().filter(|s| s.as_str() != "openid").cloned());
            for (k, v) in [
                ("client_id", p.config.client_id.as_str()),
                ("response_type", "code"),
                ("scope", &scopes.join(" ")),
                ("redirect_uri", &self.redirect_uri),
                ("state", state.secret()),
                ("nonce", nonce.secret()),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("acr_values", &p.config.acr_values),
                ("prompt", &p.config.prompt),
            ] {
                if !v.is_empty() {
                    payload.set_claim(k, Some(serde_json::Value::String(v.to_string())))?;
                }
            }
            request = request.add_extra_param("request", self.sign(&payload, "oauth-authz-req+jwt")?);
        }
        let (url, _, _) = request.url();
        Ok((
            url.to_string(),
            state.secret().clone(),
            FlowSecret {
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
            },
        ))
    }

    /// Exchanges the code (with the PKCE verifier and the client authentication) and verifies the
    /// ID token (signature by the provider's keys, issuer, audience, expiry, nonce).
    pub async fn exchange(
        &self,
        p: &Provider,
        code: &str,
        secret: &FlowSecret,
        now: time::OffsetDateTime,
    ) -> anyhow::Result<Claims> {
        let client = self.client(p).await?;
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(secret.pkce_verifier.clone()));
        if p.config.auth_method == "private_key_jwt" {
            let token_url = client
                .token_uri()
                .map(|u| u.to_string())
                .context("the provider has no token endpoint")?;
            let mut payload = JwtPayload::new();
            payload.set_issuer(&p.config.client_id);
            payload.set_subject(&p.config.client_id);
            payload.set_audience(vec![token_url]);
            set_time(&mut payload, "iat", now, 0)?;
            set_time(&mut payload, "exp", now, 120)?;
            payload.set_jwt_id(CsrfToken::new_random().secret());
            let assertion = self.sign(&payload, "JWT")?;
            request = request
                .add_extra_param(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .add_extra_param("client_assertion", assertion);
        }
        let tokens = request
            .request_async(&self.http)
            .await
            .map_err(|e| anyhow::anyhow!("token request refused: {}", token_error(&e)))?;
        let id_token = tokens.id_token().context("the token response has no ID token")?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(secret.nonce.clone()))
            .map_err(|e| anyhow::anyhow!("ID token refused: {e}"))?;
        let other = &claims.additional_claims().0;
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
        let localized = |c: Option<&openidconnect::LocalizedClaim<openidconnect::EndUserGivenName>>| {
            c.and_then(|c| c.get(None)).map(|n| n.to_string())
        };
        let mut result = Claims {
            subject: claims.subject().to_string(),
            fiscal_code: text(other.get(&p.config.fiscal_code_claim)),
            given_name: localized(claims.given_name()).unwrap_or_default(),
            family_name: claims
                .family_name()
                .and_then(|c| c.get(None))
                .map(|n| n.to_string())
                .unwrap_or_default(),
            email: claims.email().map(|e| e.to_string()),
        };
        // CIE (and SPID) OIDC providers keep the attributes for the userinfo endpoint.
        if result.fiscal_code.is_none() {
            let access_token = openidconnect::OAuth2TokenResponse::access_token(&tokens)
                .secret()
                .clone();
            let info = self.userinfo(p, &access_token).await?;
            if info.get("sub").and_then(|v| v.as_str()) != Some(result.subject.as_str()) {
                anyhow::bail!("userinfo is about another subject than the ID token");
            }
            let get = |k: &str| info.get(k).and_then(|v| v.as_str()).map(str::to_string);
            result.fiscal_code = get(&p.config.fiscal_code_claim);
            if result.given_name.is_empty() {
                result.given_name = get("given_name").unwrap_or_default();
            }
            if result.family_name.is_empty() {
                result.family_name = get("family_name").unwrap_or_default();
            }
            result.email = result.email.or_else(|| get("email"));
        }
        Ok(result)
    }

    /// The userinfo claims: plain JSON, a JWT signed by the provider, or (CIE, SPID) that JWT
    /// encrypted to our `oidc.enc_key_path` key (RSA-OAEP / RSA-OAEP-256).
    async fn userinfo(
        &self,
        p: &Provider,
        access_token: &str,
    ) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
        let metadata = p.metadata.get().context("provider not discovered")?;
        let url = metadata
            .userinfo_endpoint()
            .context("no claims in the ID token and no userinfo endpoint")?
            .url()
            .clone();
        let response = self.http.get(url).bearer_auth(access_token).send().await?;
        if !response.status().is_success() {
            anyhow::bail!("userinfo answered {}", response.status());
        }
        let content_type = response
            .headers()
            .get(openidconnect::reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response.text().await?;
        if content_type.starts_with("application/json") {
            return Ok(serde_json::from_str(&body)?);
        }
        let mut jws = body.trim().to_string();
        if jws.split('.').count() == 5 {
            if self.enc_key_pem.is_empty() {
                anyhow::bail!("userinfo is encrypted but oidc.enc_key_path is not set");
            }
            let header = josekit::jwe::deserialize_compact(
                &jws,
                &josekit::jwe::RSA_OAEP.decrypter_from_pem(&self.enc_key_pem)?,
            )
            .or_else(|_| {
                josekit::jwe::deserialize_compact(
                    &jws,
                    &josekit::jwe::RSA_OAEP_256.decrypter_from_pem(&self.enc_key_pem)?,
                )
            })
            .context("userinfo cannot be decrypted with oidc.enc_key_path")?;
            jws = String::from_utf8(header.0).context("decrypted userinfo is not text")?;
        }
        // A JWS signed by one of the provider's keys.
        let jwks_url = metadata.jwks_uri().url().clone();
        let jwks = josekit::jwk::JwkSet::from_bytes(self.http.get(jwks_url).send().await?.bytes().await?)?;
        let kid = josekit::jwt::decode_header(&jws)?
            .claim("kid")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .context("signed userinfo without kid")?;
        let jwk = jwks
            .get(&kid)
            .into_iter()
            .next()
            .context("userinfo signed by an unknown key")?;
        let (payload, _) = josekit::jwt::decode_with_verifier(&jws, &RS256.verifier_from_jwk(jwk)?)
            .context("userinfo signature not valid")?;
        Ok(payload.claims_set().clone())
    }
}

fn token_error<RE: std::error::Error + 'static>(
    e: &openidconnect::RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>,
) -> String {
    match e {
        openidconnect::RequestTokenError::ServerResponse(r) => format!(
            "{} {}",
            r.error().as_ref(),
            r.error_description().cloned().unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
