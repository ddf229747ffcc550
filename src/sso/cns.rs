//! CNS/CRS smart-card login: a TLS client certificate, either received by ordo itself (it terminates
//! TLS and asks the browser for a certificate) or passed by a trusted reverse proxy in a header (only
//! from `http.trusted_proxies`). Either way the certificate is judged here, by rustls' WebPKI verifier:
//! chain to a configured CA, validity at our clock's time, revocation by the configured CRLs; the
//! TLS layer itself only checks that the browser holds the card's key.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context;
use axum::http::HeaderMap;
use rustls::DistinguishedName;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};

use super::service::fiscal_code_of;
use crate::config::Config;

/// The certificate chain the browser presented in the TLS handshake (end entity first).
#[derive(Debug, Clone)]
pub struct PeerCertificates(pub Vec<Vec<u8>>);

/// The card verifier, loaded at start from `cns.ca_bundle_path` and `cns.crl_paths`.
#[derive(Debug)]
pub struct Cns {
    verifier: Arc<dyn ClientCertVerifier>,
}

/// The holder of a verified card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardHolder {
    pub fiscal_code: String,
    pub name: String,
    pub surname: String,
    pub issuer: String,
}

impl Cns {
    pub fn load(config: &Config) -> anyhow::Result<Option<Cns>> {
        let c = &config.cns;
        if !c.enabled {
            return Ok(None);
        }
        let mut roots = rustls::RootCertStore::empty();
        let cas = CertificateDer::pem_file_iter(&c.ca_bundle_path)
            .with_context(|| format!("cns.ca_bundle_path: cannot read {}", c.ca_bundle_path))?
            .collect::<Result<Vec<_>, _>>()
            .context("cns.ca_bundle_path: not a PEM certificate bundle")?;
        let (added, _) = roots.add_parsable_certificates(cas);
        if added == 0 {
            anyhow::bail!(
                "cns.ca_bundle_path: no usable CA certificate in {}",
                c.ca_bundle_path
            );
        }
        let mut crls = Vec::new();
        for path in &c.crl_paths {
            let bytes = std::fs::read(path).with_context(|| format!("cns.crl_paths: cannot read {path}"))?;
            match CertificateRevocationListDer::from_pem_slice(&bytes) {
                Ok(crl) => crls.push(crl),
                Err(_) => crls.push(CertificateRevocationListDer::from(bytes)),
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .with_crls(crls)
            .only_check_end_entity_revocation()
            // Cards of a CA without a configured CRL are accepted (their status is unknown here).
            .allow_unknown_revocation_status()
            .allow_unauthenticated()
            .build()
            .context("cns: cannot build the certificate verifier (CA bundle or CRL unusable)")?;
        Ok(Some(Cns { verifier }))
    }

    /// Judges a presented chain at time `now`: the holder, or what is wrong, in Italian.
    pub fn verify(&self, chain: &[Vec<u8>], now: time::OffsetDateTime) -> Result<CardHolder, String> {
        let Some((end_entity, intermediates)) = chain.split_first() else {
            return Err(
                "Il browser non ha presentato alcun certificato: inserisci la carta nel lettore e riprova."
                    .into(),
            );
        };
        let end_entity = CertificateDer::from(end_entity.clone());
        let intermediates: Vec<CertificateDer> = intermediates
            .iter()
            .map(|c| CertificateDer::from(c.clone()))
            .collect();
        let at =
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.unix_timestamp().max(0) as u64));
        if let Err(e) = self.verifier.verify_client_cert(&end_entity, &intermediates, at) {
            tracing::warn!(error = %e, "smart-card certificate refused");
            return Err(message_for(&e));
        }
        holder(&end_entity).ok_or_else(|| {
            "Il certificato della carta non riporta un codice fiscale leggibile: non può essere usato per l'accesso.".into()
        })
    }
}

fn message_for(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "Il certificato della carta è scaduto.".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "Il certificato della carta non è ancora valido.".into()
        }
        rustls::Error::InvalidCertificate(C::Revoked) => {
            "Il certificato della carta è stato revocato.".into()
        }
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "Il certificato della carta non è stato emesso da un ente certificatore riconosciuto.".into()
        }
        _ => "Il certificato della carta non è valido.".into(),
    }
}

/// The codice fiscale and name in a CNS/CRS certificate: subject serialNumber (`TINIT-…`, `IT:…`) or
/// the commonName `CF/serial.hash` of the CNS profile; givenName and surname.
fn holder(der: &[u8]) -> Option<CardHolder> {
    use openssl::nid::Nid;
    let cert = openssl::x509::X509::from_der(der).ok()?;
    let field = |name: &openssl::x509::X509NameRef, nid: Nid| -> String {
        name.entries_by_nid(nid)
            .next()
            .map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
            .unwrap_or_default()
    };
    let subject = cert.subject_name();
    let serial = field(subject, Nid::SERIALNUMBER);
    let cn = field(subject, Nid::COMMONNAME);
    let fiscal_code = [
        serial.trim_start_matches("IT:").to_string(),
        serial,
        cn.split('/').next().unwrap_or("").to_string(),
    ]
    .iter()
    .find_map(|candidate| fiscal_code_of(candidate))?;
    Some(CardHolder {
        fiscal_code,
        name: field(subject, Nid::GIVENNAME),
        surname: field(subject, Nid::SURNAME),
        issuer: field(cert.issuer_name(), Nid::COMMONNAME),
    })
}

/// The chain passed by the reverse proxy: URL-encoded PEM (nginx `$ssl_client_escaped_cert`).
pub fn from_proxy_header(headers: &HeaderMap, header: &str) -> Option<Vec<Vec<u8>>> {
    let raw = headers.get(header)?.to_str().ok()?;
    let pem = percent_encoding::percent_decode_str(raw).decode_utf8().ok()?;
    let chain: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .map(|c| c.as_ref().to_vec())
        .collect();
    (!chain.is_empty()).then_some(chain)
}

/// The TLS-level verifier: asks for a certificate (optional), checks that the browser holds its key,
/// and lets the application judge the chain (so a bad card gets a page, not a broken connection).
#[derive(Debug)]
struct AskForCard(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for AskForCard {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The server's TLS configuration: its certificate, and with CNS on the request for a card.
pub fn tls_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    cns: Option<&Cns>,
) -> anyhow::Result<rustls::ServerConfig> {
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .context("tls.cert_path: not a PEM certificate")?;
    let key =
        rustls::pki_types::PrivateKeyDer::from_pem_slice(key_pem).context("tls.key_path: not a PEM key")?;
    let builder = rustls::ServerConfig::builder();
    let builder = match cns {
        Some(cns) => builder.with_client_cert_verifier(Arc::new(AskForCard(cns.verifier.clone()))),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .context("tls: certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Wraps axum-server's rustls acceptor: each connection's requests carry the presented chain.
#[derive(Clone)]
pub struct CardAcceptor(pub axum_server::tls_rustls::RustlsAcceptor);

type BoxFuture<T> = Pin<Box<dyn Future<Output = std::io::Result<T>> + Send>>;

impl<I, S> axum_server::accept::Accept<I, S> for CardAcceptor
where
    axum_server::tls_rustls::RustlsAcceptor: axum_server::accept::Accept<
            I,
            S,
            Stream = tokio_rustls::server::TlsStream<I>,
            Service = S,
            Future: Send + 'static,
        >,
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = tokio_rustls::server::TlsStream<I>;
    type Service = tower_http::add_extension::AddExtension<S, PeerCertificates>;
    type Future = BoxFuture<(Self::Stream, Self::Service)>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let inner = self.0.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = inner.await?;
            let chain = stream
                .get_ref()
                .1
                .peer_certificates()
                .map(|certs| certs.iter().map(|c| c.as_ref().to_vec()).collect())
                .unwrap_or_default();
            let service = tower_http::add_extension::AddExtension::new(service, PeerCertificates(chain));
            Ok((stream, service))
        })
    }
}
