//! `ordo spid keygen`: the service provider's key and self-signed certificate as Avviso SPID n. 29 v3
//! ("SPID certificates", public or private sector) wants them: RSA 3072, SHA-256; subject with
//! commonName, organizationName, organizationIdentifier (PA:IT-<IPA code> or VATIT-/CF:IT-), uri
//! (the entityID), countryName IT, localityName; basicConstraints CA:FALSE; keyUsage (critical)
//! digitalSignature + nonRepudiation; certificatePolicies agIDcert + spid-public-sp / spid-private-sp.

use std::path::Path;

use anyhow::{Context, bail};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509Builder, X509Extension, X509NameBuilder};

use crate::config::Config;

/// The organizationIdentifier of the subject, by sector.
pub fn organization_identifier(config: &Config) -> anyhow::Result<String> {
    let c = &config.spid;
    if c.public {
        if c.ipa_code.trim().is_empty() {
            bail!("set spid.ipa_code (the order's code in the IPA index) for a public-sector certificate");
        }
        Ok(format!("PA:IT-{}", c.ipa_code.trim()))
    } else if !c.vat_number.trim().is_empty() {
        let vat = c.vat_number.trim().trim_start_matches("IT");
        Ok(format!("VATIT-{vat}"))
    } else if !c.fiscal_code.trim().is_empty() {
        Ok(format!("CF:IT-{}", c.fiscal_code.trim()))
    } else {
        bail!("set spid.vat_number or spid.fiscal_code for a private-sector certificate")
    }
}

/// Writes `key` (PEM, mode 0600) and `cert` (PEM). Refuses to overwrite an existing key.
pub fn generate(config: &Config, entity_id: &str, key: &Path, cert: &Path, days: u32) -> anyhow::Result<()> {
    if key.exists() {
        bail!(
            "{} exists: move it away first (a new key needs a new AgID registration)",
            key.display()
        );
    }
    let rsa = Rsa::generate(3072)?;
    let pkey = PKey::from_rsa(rsa)?;

    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, &config.order.short_name)?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, &config.order.name)?;
    name.append_entry_by_text("organizationIdentifier", &organization_identifier(config)?)?;
    // uri (2.5.4.83): the entityID.
    name.append_entry_by_text("2.5.4.83", entity_id)?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "IT")?;
    name.append_entry_by_nid(Nid::LOCALITYNAME, config.spid.locality.trim())?;
    let name = name.build();

    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = Asn1Integer::from_bn(&serial)?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(&pkey)?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(days)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    b.append_extension(BasicConstraints::new().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .non_repudiation()
            .build()?,
    )?;
    let sector_policy = if config.spid.public {
        "1.3.76.16.4.2.1"
    } else {
        "1.3.76.16.4.3.1"
    };
    #[allow(deprecated)] // the typed builders do not cover certificatePolicies
    // OpenSSL parses certificatePolicies only with a configuration database, even an empty one.
    let conf = openssl::conf::Conf::new(openssl::conf::ConfMethod::default())?;
    #[allow(deprecated)]
    let policies = X509Extension::new_nid(
        Some(&conf),
        Some(&b.x509v3_context(None, Some(&conf))),
        Nid::CERTIFICATE_POLICIES,
        &format!("1.3.76.16.6, {sector_policy}"),
    )?;
    b.append_extension(policies)?;
    b.sign(&pkey, MessageDigest::sha256())?;
    let x509 = b.build();

    write_private(key, &pkey.private_key_to_pem_pkcs8()?)
        .with_context(|| format!("cannot write {}", key.display()))?;
    std::fs::write(cert, x509.to_pem()?).with_context(|| format!("cannot write {}", cert.display()))?;
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(bytes)
    }
    #[cfg(not(unix))]
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        f.write_all(bytes)
    }
}
