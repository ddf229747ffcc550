//! The SAML2 service provider of SPID (AgID technical rules, Avviso SPID n. 29 v3), also used for any
//! other SAML2 IdP whose metadata is configured. The documents we send (metadata, AuthnRequest,
//! LogoutRequest/Response) are askama templates signed by xmlsec through samael; the responses we
//! receive are reduced by xmlsec to their verified part and then checked field by field
//! ([`response`]).

pub mod idp;
pub mod keygen;
pub mod messages;
pub mod response;
pub mod spid_errors;
pub mod xml;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use samael::crypto::{Crypto, CryptoProvider};

use crate::config::Config;
pub use idp::Idp;

/// The SP's entityID: `spid.entity_id`, or `<base_url>/spid/metadata`.
pub fn entity_id(config: &Config) -> String {
    let configured = config.spid.entity_id.trim();
    if configured.is_empty() {
        format!("{}/spid/metadata", config.base())
    } else {
        configured.to_string()
    }
}

/// The service provider as loaded at start: keys, addresses, identity providers.
pub struct Sp {
    pub entity_id: String,
    pub acs_url: String,
    pub slo_url: String,
    pub key: PKey<Private>,
    key_der: Vec<u8>,
    /// The certificate, base64 DER (as in `<ds:X509Certificate>`).
    pub cert_b64: String,
    pub idps: BTreeMap<String, Idp>,
}

impl Sp {
    /// Loads the SP when `spid.enabled`; any unreadable file stops the start with its name.
    pub fn load(config: &Config) -> anyhow::Result<Option<Sp>> {
        let c = &config.spid;
        if !c.enabled {
            return Ok(None);
        }
        let key_pem = std::fs::read(&c.key_path)
            .with_context(|| format!("spid.key_path: cannot read {}", c.key_path))?;
        let key = PKey::private_key_from_pem(&key_pem).context("spid.key_path: not a PEM private key")?;
        let cert_pem = std::fs::read(&c.cert_path)
            .with_context(|| format!("spid.cert_path: cannot read {}", c.cert_path))?;
        let cert = X509::from_pem(&cert_pem).context("spid.cert_path: not a PEM certificate")?;
        if !cert.public_key()?.public_eq(&key) {
            anyhow::bail!("spid.cert_path: the certificate does not belong to spid.key_path");
        }
        let idps = idp::load_dir(Path::new(&c.idp_metadata_dir)).context("spid.idp_metadata_dir")?;
        let base = config.base();
        let sp = Sp {
            entity_id: entity_id(config),
            acs_url: format!("{base}/spid/acs"),
            slo_url: format!("{base}/spid/slo"),
            key_der: key.private_key_to_der()?,
            key,
            cert_b64: base64::engine::general_purpose::STANDARD.encode(cert.to_der()?),
            idps,
        };
        // First use of xmlsec from one thread, before the server's threads (it initialises globals).
        sp.sign(&messages::probe_document(&sp.cert_b64))
            .context("xmlsec cannot sign with spid.key_path")?;
        tracing::info!(entity_id = %sp.entity_id, idps = sp.idps.len(), "SPID service provider ready");
        Ok(Some(sp))
    }

    /// Signs a document holding one `<ds:Signature>` template (RSA-SHA256, SHA-256 digest, exc-c14n).
    pub fn sign(&self, xml: &str) -> anyhow::Result<String> {
        Crypto::sign_xml(xml, &self.key_der).map_err(|e| anyhow::anyhow!("XML signature failed: {e:?}"))
    }

    /// Signs the query string of an HTTP-Redirect binding message (RSA-SHA256 over the exact bytes).
    pub fn sign_query(&self, query: &str) -> anyhow::Result<String> {
        let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &self.key)?;
        signer.update(query.as_bytes())?;
        Ok(base64::engine::general_purpose::STANDARD.encode(signer.sign_to_vec()?))
    }

    pub fn idp(&self, entity_id: &str) -> Option<&Idp> {
        self.idps.get(entity_id)
    }
}
