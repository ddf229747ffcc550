//! The `[video]` settings: the first-level notice of the video surveillance (seed 002, Allegato C),
//! the default retention of footage and the classification of what the registry protocols.

use serde::Deserialize;

use super::{ConfigError, bad};

#[derive(Debug, Clone, Deserialize)]
pub struct VideoConfig {
    /// Who records (titolare del trattamento), as the signs say it.
    pub controller: String,
    /// The data protection officer's contact (RPD/DPO).
    pub dpo: String,
    /// Days footage is kept unless a system says otherwise.
    pub default_retention_days: u16,
    /// The purposes of the surveillance, one line each.
    pub purposes: Vec<String>,
    /// Where the full notice is (web address, office).
    pub full_notice: String,
    /// How data subjects exercise their rights (art. 15-22 GDPR): address, e-mail, phone.
    pub rights_contact: String,
    /// Which police forces may access the footage, and on what basis (may be empty).
    pub police_access: String,
    /// Classification (titolario) of footage requests and verbali in the protocol register.
    pub classification: String,
    /// Minutes between two runs of the retention check in `ordo serve` (0: off).
    pub retention_check_minutes: u32,
}

impl VideoConfig {
    pub(super) fn validate(&self, classes: &[String]) -> Result<(), ConfigError> {
        if !(1..=365).contains(&self.default_retention_days) {
            return Err(bad("video.default_retention_days", "must be between 1 and 365"));
        }
        if self.controller.trim().is_empty() {
            return Err(bad("video.controller", "must not be empty"));
        }
        if !classes.iter().any(|c| c == &self.classification) {
            return Err(bad(
                "video.classification",
                format!("\"{}\" is not a code of protocol.classes", self.classification),
            ));
        }
        Ok(())
    }
}
