//! The `[spid]` settings: the SAML service provider of SPID (and of any other SAML IdP listed in the
//! metadata directory), its keys, the level asked and the public-sector fields of its metadata.

use serde::Deserialize;

use super::{ConfigError, bad};

#[derive(Debug, Clone, Deserialize)]
pub struct SpidConfig {
    /// Off: no SPID button, and the `/spid/*` routes answer 404.
    pub enabled: bool,
    /// Empty: `<base_url>/spid/metadata`.
    pub entity_id: String,
    /// PEM files of the SP's signing key and certificate (`ordo spid keygen` makes them).
    pub key_path: String,
    pub cert_path: String,
    /// A directory of IdP metadata files (`*.xml`, one EntityDescriptor or an EntitiesDescriptor
    /// each), read at start; nothing is downloaded.
    pub idp_metadata_dir: String,
    /// SPID level asked: 1, 2 or 3.
    pub level: u8,
    /// `minimum` (a higher level is welcome) or `exact`.
    pub comparison: String,
    /// Tolerated difference between our clock and the IdP's.
    pub clock_skew_seconds: i64,
    /// How long a sent AuthnRequest waits for its response.
    pub request_minutes: i64,
    /// Attributes asked (AttributeConsumingService index 0); fiscalNumber is required.
    pub attributes: Vec<String>,
    pub service_name: String,
    pub organization_url: String,
    /// Public administration (spid:Public, IPA code) or private (spid:Private, VAT number).
    pub public: bool,
    pub ipa_code: String,
    pub vat_number: String,
    pub fiscal_code: String,
    pub contact_email: String,
    pub contact_telephone: String,
    /// Municipality code (ISTAT/cadastral) and locality of the SP certificate.
    pub locality: String,
}

/// The attributes SPID defines (AgID technical rules, table of attributes).
pub const SPID_ATTRIBUTES: &[&str] = &[
    "spidCode",
    "name",
    "familyName",
    "placeOfBirth",
    "countyOfBirth",
    "dateOfBirth",
    "gender",
    "companyName",
    "registeredOffice",
    "fiscalNumber",
    "ivaCode",
    "idCard",
    "mobilePhone",
    "email",
    "address",
    "expirationDate",
    "digitalAddress",
    "domicileStreetAddress",
    "domicilePostalCode",
    "domicileMunicipality",
    "domicileProvince",
    "domicileNation",
];

impl SpidConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3).contains(&self.level) {
            return Err(bad("spid.level", "must be 1, 2 or 3"));
        }
        if !matches!(self.comparison.as_str(), "minimum" | "exact") {
            return Err(bad("spid.comparison", "must be \"minimum\" or \"exact\""));
        }
        if !(0..=600).contains(&self.clock_skew_seconds) {
            return Err(bad("spid.clock_skew_seconds", "must be between 0 and 600"));
        }
        if !(1..=120).contains(&self.request_minutes) {
            return Err(bad("spid.request_minutes", "must be between 1 and 120"));
        }
        if let Some(a) = self
            .attributes
            .iter()
            .find(|a| !SPID_ATTRIBUTES.contains(&a.as_str()))
        {
            return Err(bad("spid.attributes", format!("unknown SPID attribute \"{a}\"")));
        }
        if !self.attributes.iter().any(|a| a == "fiscalNumber") {
            return Err(bad(
                "spid.attributes",
                "must include fiscalNumber (people are matched by codice fiscale)",
            ));
        }
        if !self.enabled {
            return Ok(());
        }
        for (name, value) in [
            ("spid.key_path", &self.key_path),
            ("spid.cert_path", &self.cert_path),
            ("spid.idp_metadata_dir", &self.idp_metadata_dir),
            ("spid.contact_email", &self.contact_email),
        ] {
            if value.trim().is_empty() {
                return Err(bad(name, "required when spid.enabled is true"));
            }
        }
        if self.public && self.ipa_code.trim().is_empty() {
            return Err(bad(
                "spid.ipa_code",
                "required for a public administration (spid.public)",
            ));
        }
        if !self.public && self.vat_number.trim().is_empty() && self.fiscal_code.trim().is_empty() {
            return Err(bad(
                "spid.vat_number",
                "a private service provider needs spid.vat_number or spid.fiscal_code",
            ));
        }
        if self.contact_telephone.contains(' ') {
            return Err(bad("spid.contact_telephone", "no spaces (e.g. +390401234567)"));
        }
        Ok(())
    }
}
