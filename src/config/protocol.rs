//! The `[protocol]` settings: the register's codes, the titolario, the classification of pratiche and
//! the time of the daily register.

use serde::Deserialize;

use super::{CodeName, ConfigError, bad};

#[derive(Debug, Clone, Deserialize)]
pub struct ProtocolConfig {
    pub administration_code: String,
    pub aoo_code: String,
    pub register_code: String,
    pub classes: Vec<CodeName>,
    /// Request kind → classification code.
    pub request_classes: std::collections::BTreeMap<String, String>,
    pub daily_register_at: String,
    /// The AOO's seal (PEM key and certificate) that signs the XML segnatura; empty: no XML segnatura.
    pub seal_key_path: String,
    pub seal_cert_path: String,
}

impl ProtocolConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let p = self;
        for (name, value) in [
            ("protocol.administration_code", &p.administration_code),
            ("protocol.aoo_code", &p.aoo_code),
            ("protocol.register_code", &p.register_code),
        ] {
            let ok = (1..=16).contains(&value.len())
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return Err(bad(name, "must be 1-16 letters, digits, _ or -"));
            }
        }
        let mut codes = std::collections::HashSet::new();
        for c in &p.classes {
            let well_formed = !c.code.is_empty()
                && c.code
                    .split('.')
                    .all(|part| !part.is_empty() && part.chars().all(|ch| ch.is_ascii_alphanumeric()));
            if !well_formed || c.name.trim().is_empty() || !codes.insert(c.code.as_str()) {
                return Err(bad(
                    "protocol.classes",
                    format!(
                        "entry \"{}\" needs a unique dotted code (e.g. 2.3) and a name",
                        c.code
                    ),
                ));
            }
            if let Some(parent) = Self::parent_of(&c.code)
                && !codes.contains(parent)
            {
                return Err(bad(
                    "protocol.classes",
                    format!(
                        "entry \"{}\" comes before its parent \"{parent}\" (list parents first)",
                        c.code
                    ),
                ));
            }
        }
        if codes.is_empty() {
            return Err(bad("protocol.classes", "must list at least one entry"));
        }
        for (kind, code) in &p.request_classes {
            if !codes.contains(code.as_str()) {
                return Err(bad(
                    "protocol.request_classes",
                    format!("{kind} = \"{code}\" is not in protocol.classes"),
                ));
            }
        }
        if p.daily_time().is_none() {
            return Err(bad("protocol.daily_register_at", "must be a time like 00:30"));
        }
        Ok(())
    }

    /// The parent of a dotted classification code ("2.3" → "2").
    pub fn parent_of(code: &str) -> Option<&str> {
        code.rsplit_once('.').map(|(p, _)| p)
    }

    pub fn class_name(&self, code: &str) -> Option<&str> {
        self.classes
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.name.as_str())
    }

    pub fn class_for_request(&self, kind: &str) -> &str {
        self.request_classes
            .get(kind)
            .map(String::as_str)
            .unwrap_or("2.5")
    }

    /// (hour, minute) of the daily register job.
    pub fn daily_time(&self) -> Option<(u8, u8)> {
        let (h, m) = self.daily_register_at.split_once(':')?;
        let (h, m) = (h.parse::<u8>().ok()?, m.parse::<u8>().ok()?);
        (h < 24 && m < 60 && self.daily_register_at.len() == 5).then_some((h, m))
    }
}
