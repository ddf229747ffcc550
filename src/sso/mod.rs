//! Single sign-on: SPID and any SAML2 IdP ([`saml`]), people matched by codice fiscale
//! ([`service::resolve_user`]).

pub mod cns;
pub mod handlers;
pub mod oidc;
mod repo;
pub mod saml;
pub mod service;
pub mod slo;
mod views;

pub use service::Identity;
