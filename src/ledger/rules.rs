//! The rules of the order's accounting regulation (seed 004; SPEC §6), pure: each check answers with
//! the reason, in Italian, when it refuses. The services of the ledger call them inside the
//! transaction that writes, with the figures they read under lock.

use rust_decimal::Decimal;
use time::{Date, Month};

use crate::config::LedgerConfig;
use crate::format::euro;

/// Who authorises an expenditure commitment (impegno).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    Treasurer,
    President,
    Council,
}

impl Authority {
    pub fn label(self) -> &'static str {
        match self {
            Authority::Treasurer => "dal Tesoriere",
            Authority::President => "dal Presidente",
            Authority::Council => "dal Consiglio con delibera",
        }
    }
}

/// Who must authorise an impegno of this amount: below `treasurer_limit` the treasurer, below
/// `president_limit` the president, otherwise the council.
pub fn authority_for(config: &LedgerConfig, amount: Decimal) -> Authority {
    if amount < config.treasurer_limit {
        Authority::Treasurer
    } else if amount < config.president_limit {
        Authority::President
    } else {
        Authority::Council
    }
}

/// How an impegno is being authorised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorisation {
    Treasurer,
    President,
    /// By the president for an urgent expense above the president's limit: valid at once, to be
    /// ratified by the council (the ratification stays pending and visible).
    PresidentUrgent {
        reason: String,
    },
    /// A council resolution, e.g. "delibera n. 12 del 03/02/2026".
    Council {
        resolution: String,
    },
}

/// Whether `auth` may authorise an impegno of `amount`. A higher authority may always authorise
/// what a lower one could.
pub fn check_authorisation(
    config: &LedgerConfig,
    amount: Decimal,
    auth: &Authorisation,
) -> Result<(), String> {
    if amount <= Decimal::ZERO {
        return Err("L'importo dell'impegno deve essere maggiore di zero.".into());
    }
    let needed = authority_for(config, amount);
    let refused = || {
        Err(format!(
            "Un impegno di {} va autorizzato {}: il Tesoriere autorizza impegni inferiori a {}, il \
             Presidente inferiori a {}.",
            euro(amount),
            needed.label(),
            euro(config.treasurer_limit),
            euro(config.president_limit)
        ))
    };
    match auth {
        Authorisation::Treasurer if needed == Authority::Treasurer => Ok(()),
        Authorisation::Treasurer => refused(),
        Authorisation::President if needed != Authority::Council => Ok(()),
        Authorisation::President => refused(),
        Authorisation::PresidentUrgent { reason } if reason.trim().is_empty() => {
            Err("Per un impegno urgente del Presidente indica il motivo dell'urgenza: il Consiglio dovrà ratificarlo.".into())
        }
        Authorisation::PresidentUrgent { .. } => Ok(()),
        Authorisation::Council { resolution } if resolution.trim().is_empty() => {
            Err("Indica la delibera del Consiglio (numero e data) che autorizza l'impegno.".into())
        }
        Authorisation::Council { .. } => Ok(()),
    }
}

/// Never above what the chapter still has.
pub fn check_availability(available: Decimal, amount: Decimal, chapter: &str) -> Result<(), String> {
    if amount > available {
        Err(format!(
            "Disponibilità insufficiente sul capitolo {chapter}: restano {}, l'operazione chiede {}.",
            euro(available),
            euro(amount)
        ))
    } else {
        Ok(())
    }
}

/// The economic nature of a title: what the equilibrium and the variation rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nature {
    Current,
    Capital,
    Loans,
    Giro,
}

/// Revenue titles I–V: contributive and other current revenue, capital, loans, giro items.
pub fn revenue_nature(title: u8) -> Option<Nature> {
    match title {
        1 | 2 => Some(Nature::Current),
        3 => Some(Nature::Capital),
        4 => Some(Nature::Loans),
        5 => Some(Nature::Giro),
        _ => None,
    }
}

/// Expenditure titles I–IV: current, capital, repayment of loans, giro items.
pub fn expenditure_nature(title: u8) -> Option<Nature> {
    match title {
        1 => Some(Nature::Current),
        2 => Some(Nature::Capital),
        3 => Some(Nature::Loans),
        4 => Some(Nature::Giro),
        _ => None,
    }
}

/// One side of a budget variation (storno) between expenditure chapters.
#[derive(Debug, Clone)]
pub struct VariationSide<'a> {
    pub chapter: &'a str,
    pub nature: Nature,
    /// The residui of the chapter rather than its competence allocation.
    pub residui: bool,
}

/// A variation decided by the council on `date`: not in December unless exceptional (with the reason);
/// never between residui and competenza; from current to capital expenditure yes, from capital to
/// current no; a resolution reference and a reason always.
pub fn check_variation(
    date: Date,
    resolution: &str,
    reason: &str,
    exceptional: Option<&str>,
    from: &VariationSide<'_>,
    to: &VariationSide<'_>,
) -> Result<(), Vec<String>> {
    let mut errors = vec![];
    if resolution.trim().is_empty() {
        errors.push("Indica la delibera del Consiglio che approva la variazione.".to_string());
    }
    if reason.trim().is_empty() {
        errors.push("Indica il motivo della variazione.".to_string());
    }
    if date.month() == Month::December {
        match exceptional.map(str::trim) {
            Some(why) if !why.is_empty() => {}
            _ => errors.push(
                "A dicembre non si fanno variazioni di bilancio, salvo casi eccezionali da motivare."
                    .to_string(),
            ),
        }
    }
    if from.residui != to.residui {
        errors.push(format!(
            "Non si può stornare tra residui e competenza (capitolo {} → capitolo {}).",
            from.chapter, to.chapter
        ));
    }
    if from.nature == Nature::Capital && to.nature == Nature::Current {
        errors.push(format!(
            "Le spese in conto capitale non possono finanziare spese correnti (capitolo {} → capitolo {}).",
            from.chapter, to.chapter
        ));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Spending in the provisional budget (esercizio provvisorio): only in its first `max_months` months,
/// and each month at most 1/12 of the chapter's last approved allocation.
pub fn check_provisional(
    config: &LedgerConfig,
    date: Date,
    last_allocation: Decimal,
    spent_this_month: Decimal,
    amount: Decimal,
    chapter: &str,
) -> Result<(), String> {
    if u8::from(date.month()) > config.provisional_max_months {
        return Err(format!(
            "L'esercizio provvisorio dura al massimo {} mesi: dopo, senza bilancio approvato, non si spende.",
            config.provisional_max_months
        ));
    }
    let twelfth = (last_allocation / Decimal::from(12)).round_dp(2);
    if spent_this_month + amount > twelfth {
        return Err(format!(
            "In esercizio provvisorio il capitolo {chapter} può spendere al mese al massimo un dodicesimo \
             dell'ultimo stanziamento ({}): nel mese sono già impegnati {}, l'operazione chiede {}.",
            euro(twelfth),
            euro(spent_this_month),
            euro(amount)
        ));
    }
    Ok(())
}

/// A petty-cash expense: at most `petty_cash_max_expense` each, within the year's fund.
pub fn check_petty_cash(
    config: &LedgerConfig,
    spent_this_year: Decimal,
    amount: Decimal,
) -> Result<(), String> {
    if amount <= Decimal::ZERO {
        return Err("L'importo della spesa deve essere maggiore di zero.".into());
    }
    if amount > config.petty_cash_max_expense {
        return Err(format!(
            "Con la cassa economale si pagano spese fino a {}: questa è di {}.",
            euro(config.petty_cash_max_expense),
            euro(amount)
        ));
    }
    if spent_this_year + amount > config.petty_cash_fund {
        return Err(format!(
            "Il fondo di cassa economale dell'anno ({}) non basta: spesi {}, la spesa è di {}.",
            euro(config.petty_cash_fund),
            euro(spent_this_year),
            euro(amount)
        ));
    }
    Ok(())
}

/// Nothing may be charged to a closed year.
pub fn check_open_year(year: i32, closed: bool) -> Result<(), String> {
    if closed {
        Err(format!(
            "L'esercizio {year} è chiuso: non si possono più imputare operazioni a quell'anno."
        ))
    } else {
        Ok(())
    }
}

/// The budget's equilibrium before approval: current revenue minus current expenditure (the reserve
/// fund included) never negative, and no presumed final deficit.
pub fn check_equilibrium(
    presumed_result: Decimal,
    current_revenue: Decimal,
    current_expenditure: Decimal,
    total_revenue: Decimal,
    total_expenditure: Decimal,
) -> Result<(), Vec<String>> {
    let mut errors = vec![];
    if current_revenue - current_expenditure < Decimal::ZERO {
        errors.push(format!(
            "Equilibrio di parte corrente non rispettato: entrate correnti {} meno spese correnti {} = {}.",
            euro(current_revenue),
            euro(current_expenditure),
            euro(current_revenue - current_expenditure)
        ));
    }
    let final_result = presumed_result + total_revenue - total_expenditure;
    if final_result < Decimal::ZERO {
        errors.push(format!(
            "Il bilancio presenta un disavanzo finale presunto di {}: avanzo presunto {} + entrate {} − spese {}.",
            euro(-final_result),
            euro(presumed_result),
            euro(total_revenue),
            euro(total_expenditure)
        ));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// A supplier's or debtor's code, when given: an Italian VAT number (partita IVA: 11 digits, the last
/// the Luhn-style check digit of the Agenzia delle Entrate) or a codice fiscale (format and check
/// character, by the register's own parser).
pub fn check_party_code(code: &str) -> Result<(), String> {
    if code.is_empty() {
        return Ok(());
    }
    if code.len() == 11 && code.bytes().all(|b| b.is_ascii_digit()) {
        let digits: Vec<u32> = code.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = digits[..10]
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                if i % 2 == 0 {
                    d
                } else if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            })
            .sum();
        return if (10 - sum % 10) % 10 == digits[10] {
            Ok(())
        } else {
            Err(format!(
                "Partita IVA {code}: la cifra di controllo non corrisponde."
            ))
        };
    }
    crate::members::cf::CodiceFiscale::parse(code)
        .map(|_| ())
        .map_err(|e| format!("Partita IVA o codice fiscale {code}: {}", e.message()))
}

/// An IBAN, when given: country, length and check digits (ISO 13616, by `iban_validate`).
pub fn check_iban(iban: &str) -> Result<(), String> {
    if iban.is_empty() {
        return Ok(());
    }
    iban.parse::<iban::Iban>()
        .map(|_| ())
        .map_err(|_| format!("IBAN {iban} non valido: controlla paese, lunghezza e cifre di controllo."))
}

/// An earmarked fund (a grant with its CUP) is spent only as far as it has been assessed, and never
/// assessed beyond the grant.
pub fn check_fund(
    fund: &str,
    granted: Decimal,
    assessed: Decimal,
    committed: Decimal,
    side_revenue: bool,
    amount: Decimal,
) -> Result<(), String> {
    if side_revenue && assessed + amount > granted {
        return Err(format!(
            "Il finanziamento {fund} è di {}: già accertati {}, non se ne possono accertare altri {}.",
            euro(granted),
            euro(assessed),
            euro(amount)
        ));
    }
    if !side_revenue && committed + amount > assessed {
        return Err(format!(
            "Sul finanziamento vincolato {fund} sono accertati {} e già impegnati {}: un impegno di {} supera le somme accertate.",
            euro(assessed),
            euro(committed),
            euro(amount)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
