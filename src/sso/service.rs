//! Single sign-on services: sending a SAML AuthnRequest, checking the response at the ACS, finishing
//! the login in the browser's own session, and matching the identity to a person by codice fiscale.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use super::repo::{self, NewRequest};
use super::saml::messages::{self, AuthnParams, Outgoing};
use super::saml::response::{self, Expected, Refusal};
use super::saml::{Sp, spid_errors};
use crate::audit::{self, Actor};
use crate::auth::repo as auth_repo;
use crate::auth::{Role, UserRow};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A person as an identity provider (or a smart card) vouches for them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Identity {
    /// "spid" (SAML), "cns", "oidc:<provider>".
    pub method: String,
    /// IdP entityID, OIDC issuer or certificate issuer.
    pub provider: String,
    pub fiscal_code: String,
    pub name: String,
    pub surname: String,
    pub email: Option<String>,
    /// Assurance level (SPID 1–3).
    pub level: u8,
    /// For single logout (SAML): NameID, its qualifier and the session index.
    #[serde(default)]
    pub name_id: String,
    #[serde(default)]
    pub session_index: String,
}

/// `TINIT-RSSMRA80A01H501U` (SPID's fiscalNumber) or a bare code → the codice fiscale, if well formed.
pub fn fiscal_code_of(raw: &str) -> Option<String> {
    let cf = raw.trim().trim_start_matches("TINIT-").to_ascii_uppercase();
    let ok = (cf.len() == 16 && cf.chars().all(|c| c.is_ascii_alphanumeric()))
        || (cf.len() == 11 && cf.chars().all(|c| c.is_ascii_digit()));
    ok.then_some(cf)
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A sent AuthnRequest: how it leaves, and the secret the sender's session keeps.
pub struct Started {
    pub outgoing: Outgoing,
    pub session_secret: String,
}

/// Builds and records a signed AuthnRequest for `idp_id`.
pub async fn start_saml(state: &AppState, sp: &Sp, idp_id: &str, next: Option<&str>) -> AppResult<Started> {
    let idp = sp.idp(idp_id).ok_or_else(|| {
        AppError::BadRequest("Il gestore di identità indicato non è tra quelli configurati.".into())
    })?;
    let (binding, location) = idp.sso_endpoint().ok_or_else(|| {
        AppError::BadRequest("Il gestore di identità non offre un punto di accesso utilizzabile.".into())
    })?;
    let c = &state.config.spid;
    let now = state.now();
    let id = messages::new_id();
    let session_secret = random_token();
    let relay_state = random_token()[..32].to_string();
    let outgoing = messages::authn_request(
        sp,
        &AuthnParams {
            id: &id,
            now,
            binding,
            destination: location,
            level: c.level,
            comparison: &c.comparison,
            relay_state: &relay_state,
        },
    )
    .map_err(AppError::internal)?;
    let mut conn = state.pool.acquire().await?;
    repo::insert_request(
        &mut conn,
        &NewRequest {
            id: &id,
            protocol: "saml",
            provider: &idp.entity_id,
            level: i16::from(c.level),
            comparison: &c.comparison,
            session_ref: &sha256_hex(&session_secret),
            next,
            secret: None,
            now,
            expires_at: now + time::Duration::minutes(c.request_minutes),
        },
    )
    .await?;
    Ok(Started {
        outgoing,
        session_secret,
    })
}

/// Why the ACS refused a response: logged with `reason`, shown with `message`.
#[derive(Debug)]
pub struct AcsRefusal {
    pub reason: String,
    pub message: String,
}

impl From<AppError> for AcsRefusal {
    fn from(e: AppError) -> Self {
        AcsRefusal {
            reason: format!("{e:?}"),
            message: "Non è stato possibile completare l'accesso. Riprova tra qualche minuto.".into(),
        }
    }
}

impl From<sqlx::Error> for AcsRefusal {
    fn from(e: sqlx::Error) -> Self {
        AppError::from(e).into()
    }
}

fn refused(r: Refusal) -> AcsRefusal {
    AcsRefusal {
        message: spid_errors::message(r.spid_code),
        reason: r.reason,
    }
}

fn plain(reason: &str) -> AcsRefusal {
    AcsRefusal {
        reason: reason.to_string(),
        message: spid_errors::message(None),
    }
}

/// The assertion consumer service: checks the response against its request (once, unexpired) and
/// records the verified identity. Returns the one-time completion token for the browser.
pub async fn consume_response(state: &AppState, sp: &Sp, saml_response: &str) -> Result<String, AcsRefusal> {
    let xml = response::decode(saml_response).map_err(refused)?;
    let envelope = response::envelope(&xml).map_err(refused)?;
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let request = repo::request_for_update(&mut tx, "saml", &envelope.in_response_to)
        .await?
        .ok_or_else(|| match envelope.failure {
            Some(code) => refused(Refusal {
                reason: "failure status for no request of ours".into(),
                spid_code: code,
            }),
            None => plain("unsolicited response: InResponseTo names no request of ours"),
        })?;
    if request.answered_at.is_some() {
        return Err(plain("the request was already answered (a replayed response?)"));
    }
    repo::mark_answered(&mut tx, &request.id, now).await?;
    if request.expires_at < now {
        tx.commit().await?;
        return Err(AcsRefusal {
            reason: "the request has expired".into(),
            message: "Il tempo per completare l'accesso è scaduto: ricomincia dalla pagina di accesso."
                .into(),
        });
    }
    let idp = match sp.idp(&request.provider) {
        Some(idp) => idp,
        None => {
            tx.commit().await?;
            return Err(plain("the request's IdP is no longer configured"));
        }
    };
    let skew = time::Duration::seconds(state.config.spid.clock_skew_seconds);
    let expected = Expected {
        request_id: &request.id,
        request_at: request.created_at,
        acs_url: &sp.acs_url,
        audience: &sp.entity_id,
        min_level: request.level.clamp(1, 3) as u8,
        now,
        skew,
    };
    // xmlsec verifies a response of a few KB in well under a millisecond: no need to leave the task.
    let verified = match response::verify(&xml, idp, &expected) {
        Ok(v) => v,
        Err(r) => {
            tx.commit().await?;
            return Err(refused(r));
        }
    };
    if !repo::first_use_of_assertion(
        &mut tx,
        &verified.issuer,
        &verified.assertion_id,
        now,
        verified.valid_until + skew,
    )
    .await?
    {
        tx.commit().await?;
        return Err(plain("assertion already used (replay)"));
    }
    let Some(fiscal_code) = verified
        .attributes
        .get("fiscalNumber")
        .and_then(|v| fiscal_code_of(v))
    else {
        tx.commit().await?;
        return Err(AcsRefusal {
            reason: "no usable fiscalNumber attribute".into(),
            message: "Il gestore di identità non ha fornito il codice fiscale, necessario per l'accesso."
                .into(),
        });
    };
    let identity = Identity {
        method: "spid".into(),
        provider: verified.issuer.clone(),
        fiscal_code,
        name: verified.attributes.get("name").cloned().unwrap_or_default(),
        surname: verified.attributes.get("familyName").cloned().unwrap_or_default(),
        email: verified
            .attributes
            .get("email")
            .filter(|e| e.contains('@'))
            .cloned(),
        level: verified.level,
        name_id: verified.name_id.clone(),
        session_index: verified.session_index.clone(),
    };
    let token = random_token();
    let identity_json = serde_json::to_value(&identity).map_err(AppError::internal)?;
    repo::set_identity(
        &mut tx,
        &request.id,
        &identity_json,
        &Sha256::digest(token.as_bytes()),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// Sends the person to an OIDC provider: returns the authorization URL and the session's secret.
pub async fn start_oidc(
    state: &AppState,
    oidc: &super::oidc::Oidc,
    name: &str,
    next: Option<&str>,
) -> AppResult<(String, String)> {
    let provider = oidc.provider(name).ok_or(AppError::NotFound)?;
    let (url, flow_state, secret) = oidc.authorization(provider, state.now()).await.map_err(|e| {
        tracing::error!(provider = name, error = %e, "OIDC provider unreachable or misconfigured");
        AppError::BadRequest("Il gestore di identità non risponde: riprova tra qualche minuto.".into())
    })?;
    let session_secret = random_token();
    let now = state.now();
    let mut conn = state.pool.acquire().await?;
    repo::insert_request(
        &mut conn,
        &NewRequest {
            id: &flow_state,
            protocol: "oidc",
            provider: name,
            level: i16::from(provider.config.level),
            comparison: "minimum",
            session_ref: &sha256_hex(&session_secret),
            next,
            secret: Some(serde_json::to_value(&secret).map_err(AppError::internal)?),
            now,
            expires_at: now + time::Duration::minutes(state.config.spid.request_minutes),
        },
    )
    .await?;
    Ok((url, session_secret))
}

/// The OIDC callback: the state names a request of this very session, sent once, still fresh; then
/// the code is exchanged and the ID token verified; the person is matched by codice fiscale.
pub async fn finish_oidc(
    state: &AppState,
    oidc: &super::oidc::Oidc,
    flow_state: &str,
    code: &str,
    session_secret: Option<&str>,
) -> Result<Completed, AcsRefusal> {
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let request = repo::request_for_update(&mut tx, "oidc", flow_state)
        .await?
        .ok_or_else(|| plain("OIDC callback with an unknown state"))?;
    if request.answered_at.is_some() {
        return Err(plain("OIDC state already used (a replayed callback?)"));
    }
    repo::mark_answered(&mut tx, &request.id, now).await?;
    tx.commit().await?;
    if session_secret.is_none_or(|s| sha256_hex(s) != request.session_ref) {
        return Err(AcsRefusal {
            reason: "OIDC callback for a request sent by another browser session".into(),
            message: "La risposta del gestore di identità non corrisponde a questa sessione del browser: ricomincia dalla pagina di accesso.".into(),
        });
    }
    if request.expires_at < now {
        return Err(plain("OIDC request expired"));
    }
    let provider = oidc
        .provider(&request.provider)
        .ok_or_else(|| plain("the request's OIDC provider is no longer configured"))?;
    let secret: super::oidc::FlowSecret = request
        .secret
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| plain("OIDC request without its nonce and verifier"))?;
    let claims = oidc
        .exchange(provider, code, &secret, now)
        .await
        .map_err(|e| plain(&e.to_string()))?;
    let Some(fiscal_code) = claims.fiscal_code.as_deref().and_then(fiscal_code_of) else {
        return Err(AcsRefusal {
            reason: format!("no usable {} claim", provider.config.fiscal_code_claim),
            message: "Il gestore di identità non ha fornito il codice fiscale, necessario per l'accesso."
                .into(),
        });
    };
    let identity = Identity {
        method: provider.config.name.clone(),
        provider: provider.config.issuer.clone(),
        fiscal_code,
        name: claims.given_name,
        surname: claims.family_name,
        email: claims.email,
        level: provider.config.level,
        name_id: claims.subject,
        session_index: String::new(),
    };
    let mut tx = state.pool.begin().await?;
    let user = resolve_user(&mut tx, state, &identity).await?;
    tx.commit().await?;
    Ok(Completed {
        user,
        identity,
        next: request.next,
    })
}

/// What a completed login hands to the web layer.
pub struct Completed {
    pub user: UserRow,
    pub identity: Identity,
    pub next: Option<String>,
}

/// Finishes the login in the browser that sent the request: the completion token must be fresh
/// and the session must hold the secret of that very request.
pub async fn complete(
    state: &AppState,
    token: &str,
    session_secret: Option<&str>,
) -> Result<Completed, AcsRefusal> {
    let now = state.now();
    let mut tx = state.pool.begin().await?;
    let request = repo::by_completion_for_update(&mut tx, &Sha256::digest(token.as_bytes()))
        .await?
        .ok_or_else(|| plain("unknown or already used completion token"))?;
    repo::mark_completed(&mut tx, &request.id, now).await?;
    let same_session = session_secret.is_some_and(|s| sha256_hex(s) == request.session_ref);
    if !same_session || request.completed_at.is_some() {
        tx.commit().await?;
        return Err(AcsRefusal {
            reason: "the response answers a request sent by another browser session".into(),
            message: "La risposta del gestore di identità non corrisponde a questa sessione del browser: ricomincia dalla pagina di accesso.".into(),
        });
    }
    if request
        .answered_at
        .is_none_or(|a| now - a > time::Duration::minutes(5))
    {
        tx.commit().await?;
        return Err(plain("completion too late"));
    }
    let identity: Identity = request
        .identity
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| plain("request without identity"))?;
    let user = resolve_user(&mut tx, state, &identity).await?;
    tx.commit().await?;
    Ok(Completed {
        user,
        identity,
        next: request.next,
    })
}

/// A smart-card login: the card's holder, matched like any other identity (level 2: card + PIN).
pub async fn login_card(state: &AppState, holder: &super::cns::CardHolder) -> AppResult<(UserRow, Identity)> {
    let identity = Identity {
        method: "cns".into(),
        provider: holder.issuer.clone(),
        fiscal_code: holder.fiscal_code.clone(),
        name: holder.name.clone(),
        surname: holder.surname.clone(),
        email: None,
        level: 2,
        name_id: String::new(),
        session_index: String::new(),
    };
    let mut tx = state.pool.begin().await?;
    let user = resolve_user(&mut tx, state, &identity).await?;
    tx.commit().await?;
    Ok((user, identity))
}

/// The account of the person with this codice fiscale: an account that already has it, or the
/// member with it (an account is made and linked), or a new applicant account.
pub async fn resolve_user(
    conn: &mut PgConnection,
    state: &AppState,
    identity: &Identity,
) -> AppResult<UserRow> {
    let now = state.now();
    let cf = &identity.fiscal_code;
    let display = format!("{} {}", identity.name.trim(), identity.surname.trim());
    let display = if display.trim().is_empty() {
        cf.clone()
    } else {
        display.trim().to_string()
    };
    let user_id = if let Some(id) = repo::user_by_fiscal_code(conn, cf).await? {
        id
    } else if let Some(member) = repo::member_by_fiscal_code(conn, cf).await? {
        match member.user_id {
            Some(id) => {
                repo::set_user_fiscal_code(conn, id, cf).await?;
                id
            }
            None => {
                let candidates = [
                    Some(member.email.clone()),
                    identity.email.clone(),
                    Some(member.pec.clone()),
                ];
                let email = fresh_email(conn, &candidates, cf).await?;
                let id = auth_repo::insert_sso_user(conn, &email, &member.display_name, cf, now).await?;
                auth_repo::grant_role(conn, id, Role::Member, now).await?;
                crate::members::service::link_user(conn, member.id, id).await?;
                audit::record(
                    conn,
                    now,
                    audit::Event {
                        actor: &Actor::user(id, &email),
                        action: "sso.account_linked",
                        entity: "user",
                        entity_id: Some(id.to_string()),
                        details: json!({ "member_id": member.id, "method": identity.method, "provider": identity.provider }),
                    },
                )
                .await?;
                id
            }
        }
    } else {
        let email = fresh_email(conn, std::slice::from_ref(&identity.email), cf).await?;
        let id = auth_repo::insert_sso_user(conn, &email, &display, cf, now).await?;
        auth_repo::grant_role(conn, id, Role::Applicant, now).await?;
        audit::record(
            conn,
            now,
            audit::Event {
                actor: &Actor::user(id, &email),
                action: "sso.account_created",
                entity: "user",
                entity_id: Some(id.to_string()),
                details: json!({ "role": "applicant", "method": identity.method, "provider": identity.provider }),
            },
        )
        .await?;
        id
    };
    let user = auth_repo::find_by_id(conn, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if user.disabled_at.is_some() {
        return Err(AppError::Forbidden);
    }
    Ok(user)
}

/// The first candidate address no other account uses, else a placeholder that cannot receive mail
/// (the person can set a real one in the account page).
async fn fresh_email(conn: &mut PgConnection, candidates: &[Option<String>], cf: &str) -> AppResult<String> {
    for c in candidates.iter().flatten() {
        let e = c.trim().to_lowercase();
        if e.contains('@')
            && crate::auth::model::Email::parse("email", &e).is_ok()
            && repo::email_free(conn, &e).await?
        {
            return Ok(e);
        }
    }
    Ok(format!("{}@sso.invalid", cf.to_lowercase()))
}

/// Gives an account its codice fiscale, so that its holder can log in with SPID, CIE or a card (staff
/// accounts are made by hand; members get theirs from the register).
pub async fn set_fiscal_code(conn: &mut PgConnection, user_id: i64, raw: &str) -> AppResult<String> {
    let cf = fiscal_code_of(raw).ok_or_else(|| {
        AppError::Validation(vec![crate::error::FieldError::new(
            "fiscal_code",
            "Il codice fiscale deve avere 16 caratteri (o 11 cifre).",
        )])
    })?;
    if repo::user_by_fiscal_code(conn, &cf).await?.is_some() {
        return Err(AppError::Validation(vec![crate::error::FieldError::new(
            "fiscal_code",
            "Questo codice fiscale è già associato a un altro account.",
        )]));
    }
    repo::set_user_fiscal_code(conn, user_id, &cf).await?;
    Ok(cf)
}
