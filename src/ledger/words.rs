//! An amount in Italian words, as receipts write it next to the figures: the euros in words (the
//! `italian_numbers` crate), the cents as a fraction — "milleuno/00", "sedici/50", "zero/01".

use rust_decimal::Decimal;

/// "milleduecentotrentaquattro/56" for 1234.56. Refused for negative amounts and beyond the hundreds of
/// billions (no receipt of an order reaches them).
pub fn amount_in_words(amount: Decimal) -> Result<String, String> {
    let amount = amount.round_dp(2);
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err("Importo negativo: non si scrive in lettere.".into());
    }
    let euros = amount.trunc();
    let cents = ((amount - euros) * Decimal::ONE_HUNDRED).trunc();
    let euros: u64 = euros
        .try_into()
        .map_err(|_| "Importo troppo grande per essere scritto in lettere.".to_string())?;
    let cents: u64 = cents
        .try_into()
        .map_err(|_| "Centesimi non validi.".to_string())?;
    if euros > 999_999_999_999 {
        return Err("Importo troppo grande per essere scritto in lettere.".into());
    }
    // Integers below 2^53 are exact as f64: the crate's argument type, not a computation on money.
    let words = italian_numbers::cardinal_converter(euros as f64, false).map_err(|e| e.to_string())?;
    Ok(format!("{}/{cents:02}", words.replace(' ', "")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> String {
        amount_in_words(s.parse().expect("decimal")).expect("words")
    }

    #[test]
    fn tricky_amounts() {
        assert_eq!(w("0.01"), "zero/01");
        assert_eq!(w("1000"), "mille/00");
        assert_eq!(w("1001"), "milleuno/00");
        assert_eq!(w("21"), "ventuno/00");
        assert_eq!(w("28"), "ventotto/00");
        assert_eq!(w("100000"), "centomila/00");
        assert_eq!(w("1000000.00"), "unmilione/00");
        assert_eq!(w("16.50"), "sedici/50");
        assert_eq!(w("1234.56"), "milleduecentotrentaquattro/56");
        assert_eq!(w("2000000"), "duemilioni/00");
        assert!(amount_in_words("-1".parse().expect("decimal")).is_err());
    }
}
