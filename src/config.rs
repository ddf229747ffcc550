//! Configuration: `config/default.toml` (embedded), an optional file, then environment overrides.
//! Every setting is validated at start; a wrong one stops the start with one line naming it.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;
use url::Url;

/// The defaults, compiled in so that the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

mod ledger;
mod oidc;
mod payments;
mod protocol;
mod spid;
mod video;
pub use ledger::LedgerConfig;
pub use oidc::{FederationConfig, OidcConfig, OidcProviderConfig, TrustMark};
pub use payments::{AnnualFee, PaymentsConfig, Reduction};
pub use protocol::ProtocolConfig;
pub use spid::{SPID_ATTRIBUTES, SpidConfig};
pub use video::VideoConfig;

/// Sections whose keys can be overridden as `ORDO_<SECTION>_<KEY>`.
const SECTIONS: &[&str] = &[
    "database", "log", "tls", "http", "session", "security", "smtp", "order", "albo", "protocol", "spid",
    "cns", "payments", "ledger", "video",
];

/// Fields of a member the public Albo may show without consent (the list is configurable).
pub const PUBLIC_FIELD_NAMES: &[&str] = &[
    "surname",
    "name",
    "registration_number",
    "registration_date",
    "section",
    "sectors",
    "domicile",
    "pec",
    "status",
    "special_lists",
    "birth_date",
];

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub bind: String,
    pub base_url: String,
    /// "on" (default) or "off": rate limits of public pages. "off" exists for benchmarks only.
    pub rate_limits: String,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub tls: TlsConfig,
    pub http: HttpConfig,
    pub session: SessionConfig,
    pub security: SecurityConfig,
    pub smtp: SmtpConfig,
    pub order: OrderConfig,
    pub albo: AlboConfig,
    pub protocol: ProtocolConfig,
    pub spid: SpidConfig,
    pub cns: CnsConfig,
    pub oidc: OidcConfig,
    pub payments: PaymentsConfig,
    pub ledger: LedgerConfig,
    pub video: VideoConfig,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CodeName {
    pub code: String,
    pub name: String,
}

impl CodeName {
    /// (code, name) pairs, as the forms' select boxes list them.
    pub fn pairs(list: &[CodeName]) -> Vec<(String, String)> {
        list.iter().map(|c| (c.code.clone(), c.name.clone())).collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct AlboConfig {
    pub sections: Vec<CodeName>,
    pub sectors: Vec<CodeName>,
    pub special_lists: Vec<CodeName>,
    pub public_fields: Vec<String>,
    pub page_size: i64,
    pub public_requests_per_minute: u32,
    /// Seconds a rendered public search page is reused for anonymous visitors (0: off).
    pub public_cache_seconds: u64,
}

impl DatabaseConfig {
    /// The pool size: the setting, or with 0 twice the CPU cores (at least 4). More connections than
    /// PostgreSQL can run at once only queue inside it: on 2 cores 4 serve the public Albo ~20 %
    /// faster than 10.
    pub fn pool_size(&self) -> u32 {
        if self.max_connections > 0 {
            return self.max_connections;
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(2);
        (2 * cores).max(4)
    }
}

/// `[cns]`: smart-card (CNS/CRS) login by TLS client certificate.
#[derive(Debug, Clone, Deserialize)]
pub struct CnsConfig {
    pub enabled: bool,
    pub ca_bundle_path: String,
    pub crl_paths: Vec<String>,
    /// Header in which a trusted reverse proxy passes the certificate (URL-encoded PEM).
    pub header: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogConfig {
    pub format: String,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TlsConfig {
    pub cert_path: String,
    pub key_path: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpConfig {
    pub max_body_bytes: usize,
    pub request_timeout_seconds: u64,
    pub trusted_proxies: Vec<IpAddr>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionConfig {
    pub idle_timeout_minutes: i64,
    pub absolute_lifetime_hours: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecurityConfig {
    pub account_failures_before_lockout: i32,
    pub ip_failures_before_lockout: i32,
    pub max_lockout_seconds: i64,
    pub password_reset_minutes: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: String,
    pub username: String,
    pub password: String,
    pub from: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderConfig {
    pub name: String,
    pub short_name: String,
    pub tagline: String,
    pub fiscal_code: String,
    pub address: String,
    pub email: String,
    pub pec: String,
    pub logo_path: String,
    pub primary_color: String,
    pub demo: bool,
}

/// A configuration error: one line, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

fn bad(setting: &str, problem: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("setting `{setting}`: {problem}"))
}

impl Config {
    /// Loads defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Like [`Config::load`] with an explicit environment (tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "configuration file {} not found",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let mut overrides = figment::value::Dict::new();
        for (name, raw) in env {
            if let Some(key) = env_key(&name) {
                // Text settings stay text (a numeric-looking password is still a password); others are
                // parsed like TOML values (numbers, booleans, arrays).
                let value = match figment.find_value(&key) {
                    Ok(figment::value::Value::String(..)) => figment::value::Value::from(raw),
                    _ => parse_env_value(&raw),
                };
                insert_dotted(&mut overrides, &key, value);
            }
        }
        figment = figment.merge(figment::providers::Serialized::defaults(overrides));
        let config: Config = figment.extract().map_err(|e| {
            let setting = e.path.join(".");
            let detail = e.kind.to_string();
            if setting.is_empty() {
                ConfigError(detail)
            } else {
                bad(&setting, detail)
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.bind_addr()?;
        let url = Url::parse(&self.base_url).map_err(|e| bad("base_url", e))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad("base_url", "must be an http:// or https:// address"));
        }
        if url.path() != "/" || url.query().is_some() {
            return Err(bad("base_url", "must have no path or query"));
        }
        if self.database.url.trim().is_empty() {
            return Err(bad(
                "database.url",
                "missing: set DATABASE_URL (postgres://user@host:port/db)",
            ));
        }
        if !self.database.url.starts_with("postgres://") && !self.database.url.starts_with("postgresql://") {
            return Err(bad("database.url", "must start with postgres://"));
        }
        if self.database.max_connections > 1000 {
            return Err(bad(
                "database.max_connections",
                "must be 0 (automatic) or at most 1000",
            ));
        }
        if self.albo.public_cache_seconds > 3600 {
            return Err(bad("albo.public_cache_seconds", "must be at most 3600"));
        }
        if !matches!(self.log.format.as_str(), "human" | "json") {
            return Err(bad("log.format", "must be \"human\" or \"json\""));
        }
        if self.tls.cert_path.is_empty() != self.tls.key_path.is_empty() {
            return Err(bad("tls.cert_path", "tls.cert_path and tls.key_path go together"));
        }
        for (name, value) in [
            ("session.idle_timeout_minutes", self.session.idle_timeout_minutes),
            (
                "session.absolute_lifetime_hours",
                self.session.absolute_lifetime_hours,
            ),
            ("security.max_lockout_seconds", self.security.max_lockout_seconds),
            (
                "security.password_reset_minutes",
                self.security.password_reset_minutes,
            ),
        ] {
            if value <= 0 {
                return Err(bad(name, "must be greater than 0"));
            }
        }
        if self.security.account_failures_before_lockout <= 0 {
            return Err(bad(
                "security.account_failures_before_lockout",
                "must be greater than 0",
            ));
        }
        if self.security.ip_failures_before_lockout <= 0 {
            return Err(bad(
                "security.ip_failures_before_lockout",
                "must be greater than 0",
            ));
        }
        if self.http.max_body_bytes < 1024 {
            return Err(bad("http.max_body_bytes", "must be at least 1024"));
        }
        if self.http.request_timeout_seconds == 0 {
            return Err(bad("http.request_timeout_seconds", "must be greater than 0"));
        }
        if !matches!(self.smtp.tls.as_str(), "none" | "starttls" | "tls") {
            return Err(bad("smtp.tls", "must be \"none\", \"starttls\" or \"tls\""));
        }
        if self.smtp.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(bad(
                "smtp.from",
                "not a valid mailbox (e.g. \"ordo <noreply@example.org>\")",
            ));
        }
        if !is_hex_color(&self.order.primary_color) {
            return Err(bad("order.primary_color", "must be a colour like #0b4f8a"));
        }
        if !matches!(self.rate_limits.as_str(), "on" | "off") {
            return Err(bad("rate_limits", "must be \"on\" or \"off\""));
        }
        for (name, list) in [
            ("albo.sections", &self.albo.sections),
            ("albo.sectors", &self.albo.sectors),
            ("albo.special_lists", &self.albo.special_lists),
        ] {
            if name != "albo.special_lists" && list.is_empty() {
                return Err(bad(name, "must list at least one entry"));
            }
            let mut codes = std::collections::HashSet::new();
            for item in list {
                if item.code.trim().is_empty()
                    || item.name.trim().is_empty()
                    || !codes.insert(item.code.as_str())
                {
                    return Err(bad(
                        name,
                        format!("entry \"{}\" needs a unique code and a name", item.code),
                    ));
                }
            }
        }
        if let Some(f) = self
            .albo
            .public_fields
            .iter()
            .find(|f| !PUBLIC_FIELD_NAMES.contains(&f.as_str()))
        {
            return Err(bad(
                "albo.public_fields",
                format!("unknown field \"{f}\" (known: {})", PUBLIC_FIELD_NAMES.join(", ")),
            ));
        }
        if !(1..=200).contains(&self.albo.page_size) {
            return Err(bad("albo.page_size", "must be between 1 and 200"));
        }
        if self.albo.public_requests_per_minute == 0 {
            return Err(bad("albo.public_requests_per_minute", "must be greater than 0"));
        }
        if self.order.name.trim().is_empty() {
            return Err(bad("order.name", "must not be empty"));
        }
        self.protocol.validate()?;
        let sections: Vec<String> = self.albo.sections.iter().map(|s| s.code.clone()).collect();
        self.payments.validate(&sections)?;
        self.ledger.validate()?;
        let classes: Vec<String> = self.protocol.classes.iter().map(|c| c.code.clone()).collect();
        self.video.validate(&classes)?;
        self.spid.validate()?;
        self.oidc.validate()?;
        if self.cns.enabled && self.cns.ca_bundle_path.trim().is_empty() {
            return Err(bad("cns.ca_bundle_path", "required when cns.enabled is true"));
        }
        if axum::http::HeaderName::from_bytes(self.cns.header.as_bytes()).is_err() {
            return Err(bad("cns.header", "not a valid HTTP header name"));
        }
        if !self.order.logo_path.is_empty() && !Path::new(&self.order.logo_path).is_file() {
            return Err(bad(
                "order.logo_path",
                format!("file {} not found", self.order.logo_path),
            ));
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind
            .parse()
            .map_err(|_| bad("bind", format!("\"{}\" is not an address:port", self.bind)))
    }

    /// True when people reach ordo over HTTPS: secure cookies, HSTS.
    pub fn is_https(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// The base URL without a trailing slash, for building links.
    pub fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    pub fn tls_paths(&self) -> Option<(PathBuf, PathBuf)> {
        (!self.tls.cert_path.is_empty()).then(|| {
            (
                PathBuf::from(&self.tls.cert_path),
                PathBuf::from(&self.tls.key_path),
            )
        })
    }

    pub fn rate_limits_on(&self) -> bool {
        self.rate_limits == "on"
    }

    pub fn session_cookie_name(&self) -> &'static str {
        if self.is_https() {
            "__Host-ordo_session"
        } else {
            "ordo_session"
        }
    }
}

/// Maps an environment variable to a dotted setting name, or None if it is not ours.
fn env_key(name: &str) -> Option<String> {
    match name {
        "DATABASE_URL" => return Some("database.url".into()),
        "ORDO_BIND" => return Some("bind".into()),
        "ORDO_BASE_URL" => return Some("base_url".into()),
        "ORDO_RATE_LIMITS" => return Some("rate_limits".into()),
        _ => {}
    }
    let rest = name.strip_prefix("ORDO_")?.to_ascii_lowercase();
    SECTIONS.iter().find_map(|section| {
        rest.strip_prefix(section)
            .and_then(|r| r.strip_prefix('_'))
            .filter(|key| !key.is_empty())
            .map(|key| format!("{section}.{key}"))
    })
}

fn insert_dotted(dict: &mut figment::value::Dict, key: &str, value: figment::value::Value) {
    match key.split_once('.') {
        None => {
            dict.insert(key.to_string(), value);
        }
        Some((section, rest)) => {
            let entry = dict
                .entry(section.to_string())
                .or_insert_with(|| figment::value::Value::from(figment::value::Dict::new()));
            if let figment::value::Value::Dict(_, inner) = entry {
                inner.insert(rest.to_string(), value);
            }
        }
    }
}

/// Environment values are strings; numbers, booleans and arrays are recognised like figment's Env does.
fn parse_env_value(raw: &str) -> figment::value::Value {
    raw.parse::<figment::value::Value>()
        .unwrap_or_else(|_| figment::value::Value::from(raw.to_string()))
}

fn is_hex_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_plus_database_url_load() {
        let c = Config::load_from(None, env(&[("DATABASE_URL", "postgres://x@localhost/db")])).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.session.idle_timeout_minutes, 30);
        assert_eq!(c.session.absolute_lifetime_hours, 12);
        assert_eq!(c.session_cookie_name(), "ordo_session");
    }

    #[test]
    fn missing_database_url_names_the_setting() {
        let e = Config::load_from(None, env(&[])).unwrap_err().to_string();
        assert!(e.contains("database.url"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn env_overrides_sections_and_types() {
        let c = Config::load_from(
            None,
            env(&[
                ("DATABASE_URL", "postgres://x@localhost/db"),
                ("ORDO_BIND", "0.0.0.0:9000"),
                ("ORDO_BASE_URL", "https://albo.example.org"),
                ("ORDO_SMTP_HOST", "mail.example.org"),
                ("ORDO_SMTP_PORT", "2525"),
                ("ORDO_SESSION_IDLE_TIMEOUT_MINUTES", "5"),
                ("ORDO_ORDER_DEMO", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(c.bind_addr().unwrap().port(), 9000);
        assert_eq!(c.smtp.host, "mail.example.org");
        assert_eq!(c.smtp.port, 2525);
        assert_eq!(c.session.idle_timeout_minutes, 5);
        assert!(!c.order.demo);
        assert_eq!(c.session_cookie_name(), "__Host-ordo_session");
    }

    #[test]
    fn wrong_values_name_the_setting() {
        for (var, val, setting) in [
            ("ORDO_BIND", "nonsense", "bind"),
            ("ORDO_SMTP_PORT", "abc", "smtp.port"),
            ("ORDO_BASE_URL", "ftp://x", "base_url"),
            ("ORDO_LOG_FORMAT", "xml", "log.format"),
            ("ORDO_ORDER_PRIMARY_COLOR", "blue", "order.primary_color"),
            (
                "ORDO_SESSION_IDLE_TIMEOUT_MINUTES",
                "0",
                "session.idle_timeout_minutes",
            ),
        ] {
            let e = Config::load_from(None, env(&[("DATABASE_URL", "postgres://x@h/d"), (var, val)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(setting), "{var}={val}: {e}");
        }
    }

    #[test]
    fn env_arrays_and_numeric_looking_strings() {
        let c = Config::load_from(
            None,
            env(&[
                ("DATABASE_URL", "postgres://x@localhost/db"),
                ("ORDO_HTTP_TRUSTED_PROXIES", "[\"127.0.0.1\", \"::1\"]"),
                ("ORDO_SMTP_PASSWORD", "123456"),
            ]),
        )
        .unwrap();
        assert_eq!(c.http.trusted_proxies.len(), 2);
        assert_eq!(c.smtp.password, "123456");
    }

    #[test]
    fn missing_config_file_is_reported() {
        let e = Config::load_from(Some(Path::new("/nonexistent/ordo.toml")), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/ordo.toml"), "{e}");
    }
}
