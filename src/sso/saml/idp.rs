//! Identity providers, read from the metadata files in `spid.idp_metadata_dir` (the SPID registry's
//! files saved by the operator, or any SAML2 IdP). Nothing is downloaded: the directory is the trust.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};

use super::xml::{MD, children, first_child, text_of};

pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

#[derive(Debug, Clone)]
pub struct Idp {
    pub entity_id: String,
    pub name: String,
    /// DER certificates the IdP signs with.
    pub certs: Vec<Vec<u8>>,
    /// SingleSignOnService locations by binding.
    pub sso: BTreeMap<String, String>,
    /// SingleLogoutService locations by binding.
    pub slo: BTreeMap<String, String>,
    /// SingleLogoutService ResponseLocation by binding, where it differs.
    pub slo_response: BTreeMap<String, String>,
}

impl Idp {
    /// Where to send an AuthnRequest, preferring HTTP-Redirect (a plain link, no script).
    pub fn sso_endpoint(&self) -> Option<(&str, &str)> {
        [BINDING_REDIRECT, BINDING_POST]
            .into_iter()
            .find_map(|b| self.sso.get(b).map(|l| (b, l.as_str())))
    }

    pub fn slo_response_location(&self, binding: &str) -> Option<&str> {
        self.slo_response.get(binding).map(String::as_str)
    }

    pub fn slo_endpoint(&self) -> Option<(&str, &str)> {
        [BINDING_REDIRECT, BINDING_POST]
            .into_iter()
            .find_map(|b| self.slo.get(b).map(|l| (b, l.as_str())))
    }
}

/// Every IdP of every `*.xml` file in `dir` (EntityDescriptor or EntitiesDescriptor), by entityID.
pub fn load_dir(dir: &Path) -> anyhow::Result<BTreeMap<String, Idp>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the IdP metadata directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .collect();
    files.sort();
    let mut idps = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read IdP metadata {}", file.display()))?;
        for idp in parse(&text).with_context(|| format!("IdP metadata {}", file.display()))? {
            idps.insert(idp.entity_id.clone(), idp);
        }
    }
    if idps.is_empty() {
        bail!(
            "no identity provider found in {} (*.xml metadata files)",
            dir.display()
        );
    }
    Ok(idps)
}

/// The IdPs described by one metadata document.
pub fn parse(text: &str) -> anyhow::Result<Vec<Idp>> {
    let doc = super::xml::parse(text)?;
    let mut out = Vec::new();
    for entity in doc.descendants().filter(|n| {
        n.is_element() && n.tag_name().namespace() == Some(MD) && n.tag_name().name() == "EntityDescriptor"
    }) {
        let Some(desc) = first_child(entity, MD, "IDPSSODescriptor") else {
            continue;
        };
        let entity_id = entity
            .attribute("entityID")
            .unwrap_or_default()
            .trim()
            .to_string();
        if entity_id.is_empty() {
            bail!("an EntityDescriptor has no entityID");
        }
        let mut certs = Vec::new();
        for kd in children(desc, MD, "KeyDescriptor") {
            if kd.attribute("use").is_some_and(|u| u != "signing") {
                continue;
            }
            for cert in kd
                .descendants()
                .filter(|n| n.is_element() && n.tag_name().name() == "X509Certificate")
            {
                let b64: String = text_of(cert).split_whitespace().collect();
                use base64::Engine;
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .with_context(|| format!("{entity_id}: a signing certificate is not base64"))?;
                openssl::x509::X509::from_der(&der)
                    .with_context(|| format!("{entity_id}: a signing certificate is not X.509"))?;
                certs.push(der);
            }
        }
        if certs.is_empty() {
            bail!("{entity_id}: no signing certificate");
        }
        let endpoints = |name: &str| -> BTreeMap<String, String> {
            children(desc, MD, name)
                .filter_map(|e| {
                    Some((
                        e.attribute("Binding")?.to_string(),
                        e.attribute("Location")?.to_string(),
                    ))
                })
                .collect()
        };
        let sso = endpoints("SingleSignOnService");
        if sso.is_empty() {
            bail!("{entity_id}: no SingleSignOnService");
        }
        let name = first_child(entity, MD, "Organization")
            .and_then(|org| {
                let names: Vec<_> = children(org, MD, "OrganizationDisplayName").collect();
                names
                    .iter()
                    .find(|n| n.attribute((super::xml::XML_NS, "lang")) == Some("it"))
                    .or(names.first())
                    .map(|n| text_of(*n).trim().to_string())
            })
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| entity_id.clone());
        out.push(Idp {
            entity_id,
            name,
            certs,
            sso,
            slo: endpoints("SingleLogoutService"),
            slo_response: children(desc, MD, "SingleLogoutService")
                .filter_map(|e| {
                    Some((
                        e.attribute("Binding")?.to_string(),
                        e.attribute("ResponseLocation")?.to_string(),
                    ))
                })
                .collect(),
        });
    }
    Ok(out)
}
