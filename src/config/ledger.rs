//! The `[ledger]` settings: the figures of the order's accounting regulation (seed 004), with its
//! defaults.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{ConfigError, bad};

#[derive(Debug, Clone, Deserialize)]
pub struct LedgerConfig {
    /// An impegno below this the treasurer authorises.
    pub treasurer_limit: Decimal,
    /// Below this the president; from it on, a council resolution.
    pub president_limit: Decimal,
    /// Petty cash: the yearly fund and the largest single expense.
    pub petty_cash_fund: Decimal,
    pub petty_cash_max_expense: Decimal,
    /// Longest provisional budget (esercizio provvisorio), in months.
    pub provisional_max_months: u8,
    /// Revenue chapter (code) of each kind of pagoPA payment: a reconciled payment is recorded there
    /// as accertamento and riscossione, when the year's budget has that chapter.
    pub pagopa_chapters: std::collections::BTreeMap<String, String>,
}

impl LedgerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (name, v) in [
            ("ledger.treasurer_limit", self.treasurer_limit),
            ("ledger.president_limit", self.president_limit),
            ("ledger.petty_cash_fund", self.petty_cash_fund),
            ("ledger.petty_cash_max_expense", self.petty_cash_max_expense),
        ] {
            if v <= Decimal::ZERO || v.scale() > 2 {
                return Err(bad(
                    name,
                    "must be a positive amount in euro with at most 2 decimals",
                ));
            }
        }
        if self.treasurer_limit > self.president_limit {
            return Err(bad(
                "ledger.treasurer_limit",
                "must not exceed ledger.president_limit",
            ));
        }
        if self.petty_cash_max_expense > self.petty_cash_fund {
            return Err(bad(
                "ledger.petty_cash_max_expense",
                "must not exceed ledger.petty_cash_fund",
            ));
        }
        for kind in self.pagopa_chapters.keys() {
            if !["annual_fee", "registration_fee", "stamp_duty", "other"].contains(&kind.as_str()) {
                return Err(bad(
                    "ledger.pagopa_chapters",
                    format!("unknown payment kind \"{kind}\""),
                ));
            }
        }
        if !(1..=12).contains(&self.provisional_max_months) {
            return Err(bad("ledger.provisional_max_months", "must be between 1 and 12"));
        }
        Ok(())
    }
}
