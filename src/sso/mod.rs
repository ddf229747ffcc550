//! Single sign-on: SPID and any SAML2 IdP ([`saml`]), people matched by codice fiscale
//! ([`service::resolve_user`]).

pub mod cli;
pub mod cns;
pub mod handlers;
pub mod oidc;
mod repo;
pub mod saml;
pub mod service;
pub mod slo;
mod views;

pub use service::Identity;

/// The single sign-on buttons of the login page (empty lists when a method is off).
pub struct LoginChoices {
    pub spid: Vec<crate::auth::views::SsoChoice>,
    pub oidc: Vec<crate::auth::views::SsoChoice>,
    pub cns: bool,
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The SPID IdPs (by name) and OIDC providers to offer, their links carrying `next`.
pub fn login_choices(state: &crate::state::AppState, next: Option<&str>) -> LoginChoices {
    use crate::auth::views::SsoChoice;
    let next_param = |sep: char| {
        next.map(|n| format!("{sep}next={}", encode(n)))
            .unwrap_or_default()
    };
    let mut spid: Vec<SsoChoice> = state
        .spid
        .as_deref()
        .map(|sp| {
            sp.idps
                .values()
                .map(|idp| SsoChoice {
                    href: format!("/spid/login?idp={}{}", encode(&idp.entity_id), next_param('&')),
                    name: idp.name.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    spid.sort_by_key(|a| a.name.to_lowercase());
    let oidc = state
        .oidc
        .as_deref()
        .map(|o| {
            o.providers
                .iter()
                .map(|p| SsoChoice {
                    href: format!("/oidc/{}/login{}", p.config.name, next_param('?')),
                    name: p.config.label.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    LoginChoices {
        spid,
        oidc,
        cns: state.cns.is_some(),
    }
}
