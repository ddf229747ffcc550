//! The `[payments]` settings: pagoPA codes, fees and their reductions, the stamp duty and the legal
//! exemptions from it.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{ConfigError, bad};

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentsConfig {
    /// Segregation code (codice di segregazione, 2 digits) the intermediary gave the order: the first
    /// two digits of every IUV (aux digit 3).
    pub segregation_code: u8,
    /// Days from the creation of a position to its due date (fees paid with a request).
    pub due_days: i64,
    /// Due date of the annual fee, "MM-DD" of its year.
    pub annual_due: String,
    pub stamp_duty: Decimal,
    pub registration_fee: Decimal,
    /// Annual fee by section; an entry with a year applies to that year only and wins over the
    /// entry without.
    pub annual_fees: Vec<AnnualFee>,
    /// Reductions of the annual fee, e.g. for the first years of registration. The largest applies.
    pub reductions: Vec<Reduction>,
    /// Legal exemptions from the stamp duty a member may declare on a certificate request.
    pub stamp_exemptions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AnnualFee {
    #[serde(default)]
    pub year: Option<i32>,
    pub section: String,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Reduction {
    pub label: String,
    /// Applies while the member is in the first `first_years` calendar years of registration.
    pub first_years: i32,
    pub percent: Decimal,
}

impl PaymentsConfig {
    pub(super) fn validate(&self, sections: &[String]) -> Result<(), ConfigError> {
        if self.segregation_code > 99 {
            return Err(bad("payments.segregation_code", "must be two digits (0-99)"));
        }
        if self.annual_due_parts().is_none() {
            return Err(bad("payments.annual_due", "must be MM-DD, e.g. 03-31"));
        }
        if !(1..=365).contains(&self.due_days) {
            return Err(bad("payments.due_days", "must be between 1 and 365"));
        }
        for (name, v) in [
            ("payments.stamp_duty", self.stamp_duty),
            ("payments.registration_fee", self.registration_fee),
        ] {
            if v <= Decimal::ZERO || v.scale() > 2 {
                return Err(bad(
                    name,
                    "must be a positive amount in euro with at most 2 decimals",
                ));
            }
        }
        for f in &self.annual_fees {
            if !sections.contains(&f.section) {
                return Err(bad(
                    "payments.annual_fees",
                    format!("unknown section \"{}\"", f.section),
                ));
            }
            if f.amount <= Decimal::ZERO || f.amount.scale() > 2 {
                return Err(bad(
                    "payments.annual_fees",
                    "amounts must be positive, at most 2 decimals",
                ));
            }
        }
        for r in &self.reductions {
            if r.first_years < 1 || r.percent <= Decimal::ZERO || r.percent > Decimal::ONE_HUNDRED {
                return Err(bad(
                    "payments.reductions",
                    format!("\"{}\": first_years ≥ 1 and 0 < percent ≤ 100", r.label),
                ));
            }
        }
        if self.stamp_exemptions.iter().any(|e| e.trim().is_empty()) {
            return Err(bad("payments.stamp_exemptions", "entries must not be empty"));
        }
        Ok(())
    }

    /// (month, day) of the annual fee's due date.
    pub fn annual_due_parts(&self) -> Option<(u8, u8)> {
        let (m, d) = self.annual_due.split_once('-')?;
        let (m, d) = (m.parse::<u8>().ok()?, d.parse::<u8>().ok()?);
        ((1..=12).contains(&m) && (1..=31).contains(&d) && self.annual_due.len() == 5).then_some((m, d))
    }

    /// The annual fee of a section in a year, before reductions.
    pub fn annual_fee(&self, year: i32, section: &str) -> Option<Decimal> {
        let of_section = || self.annual_fees.iter().filter(|f| f.section == section);
        of_section()
            .find(|f| f.year == Some(year))
            .or_else(|| of_section().find(|f| f.year.is_none()))
            .map(|f| f.amount)
    }
}
