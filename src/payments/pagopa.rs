//! pagoPA identifiers: notice code (codice avviso), IUV, check digits and the QR code payload.
//!
//! Sources: PagoPA/AgID "Specifiche attuative dei codici identificativi di versamento, riversamento e
//! rendicontazione" (SACI), § "Numero avviso e codice IUV nel caso di pagamenti attivati presso i PSP"
//! (Tabella 2, schemi NAV.0-NAV.3 / IUV.0-IUV.3), and the pagoPA "Avviso di pagamento" guide
//! (Allegato 2, "Dati per il pagamento": Rata unica, Codice QR). Pure code, no I/O.

use std::fmt;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Length of the creditor entity's fiscal code (codice fiscale numerico dell'ente).
pub const ORDER_CF_LEN: usize = 11;

const NOTICE_LEN: usize = 18;
const SEPARATORS: [char; 3] = [' ', '.', '-'];
/// Largest IUV base for aux digit 3 (13 digits).
const MAX_IUV_BASE: u64 = 9_999_999_999_999;
/// Largest amount in cents: 999.999.999,99 euro, 11 digits (the QR code's maximum length).
const MAX_CENTS: u64 = 99_999_999_999;

/// Why a pagoPA identifier or amount is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagoPaError {
    #[error("Codice avviso: è vuoto.")]
    NoticeEmpty,
    #[error(
        "Codice avviso: carattere non ammesso «{found}» in posizione {position}: sono ammesse solo cifre, \
         eventualmente separate da spazi, punti o trattini."
    )]
    NoticeInvalidCharacter { found: char, position: usize },
    #[error("Codice avviso: spazi, punti e trattini sono ammessi solo tra una cifra e l'altra.")]
    NoticeMisplacedSeparator,
    #[error("Codice avviso: deve avere 18 cifre (ne ha {0}).")]
    NoticeLength(usize),
    #[error("Codice avviso: la prima cifra (aux digit) deve essere 0, 1, 2 o 3 (è {0}).")]
    NoticeAuxDigit(u8),
    #[error(
        "Codice avviso: le ultime due cifre (di controllo) sono errate: dovrebbero essere {expected}, \
         sono {found}. Controlla di aver copiato bene il codice."
    )]
    NoticeCheckDigits { expected: String, found: String },
    #[error("Codice di segregazione: deve essere un numero da 0 a 99 (è {0}).")]
    SegregationCode(u8),
    #[error("IUV base: deve avere al massimo 13 cifre (è {0}).")]
    IuvBase(u64),
    #[error("Calcolo delle cifre di controllo: il numero di partenza è vuoto.")]
    CheckInputEmpty,
    #[error(
        "Calcolo delle cifre di controllo: il numero di partenza deve avere solo cifre (contiene «{0}»)."
    )]
    CheckInputNotDigit(char),
    #[error("Importo: deve essere maggiore di zero (è {0}).")]
    AmountNotPositive(String),
    #[error("Importo: può avere al massimo due decimali (è {0}).")]
    AmountTooManyDecimals(String),
    #[error("Importo: non può superare 999.999.999,99 euro (è {0}).")]
    AmountTooLarge(String),
    #[error("Importo in centesimi per il codice QR: deve essere da 1 a 99999999999 (è {0}).")]
    QrAmount(u64),
    #[error("Codice fiscale dell'ente creditore: deve avere 11 cifre (ne ha {0}).")]
    OrderFiscalCodeLength(usize),
    #[error("Codice fiscale dell'ente creditore: deve contenere solo cifre (contiene «{0}»).")]
    OrderFiscalCodeNotDigit(char),
}

/// An 18-digit pagoPA notice code (codice avviso / numero avviso), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeCode(String);

impl NoticeCode {
    /// Builds the notice code for aux digit 3: "3" + segregation code (2) + IUV base (13) + check digits (2).
    pub fn aux3(segregation_code: u8, iuv_base: u64) -> Result<NoticeCode, PagoPaError> {
        if segregation_code > 99 {
            return Err(PagoPaError::SegregationCode(segregation_code));
        }
        if iuv_base > MAX_IUV_BASE {
            return Err(PagoPaError::IuvBase(iuv_base));
        }
        let prefix = format!("3{segregation_code:02}{iuv_base:013}");
        let check = check_digits(&prefix)?;
        Ok(NoticeCode(prefix + &check))
    }

    /// Parses a notice code as typed or printed: digits, optionally separated by spaces, dots or dashes.
    /// Checks the length, the aux digit (0-3) and, for aux digits 0, 2 and 3, the check digits.
    pub fn parse(input: &str) -> Result<NoticeCode, PagoPaError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PagoPaError::NoticeEmpty);
        }
        let mut digits = String::with_capacity(NOTICE_LEN);
        let mut last_is_digit = false;
        for (index, c) in trimmed.chars().enumerate() {
            if c.is_ascii_digit() {
                digits.push(c);
                last_is_digit = true;
            } else if SEPARATORS.contains(&c) {
                // Separators only between digits: "-3020…" (a minus sign?) is refused.
                if digits.is_empty() {
                    return Err(PagoPaError::NoticeMisplacedSeparator);
                }
                last_is_digit = false;
            } else {
                let position = index + 1;
                return Err(PagoPaError::NoticeInvalidCharacter { found: c, position });
            }
        }
        if !last_is_digit {
            return Err(PagoPaError::NoticeMisplacedSeparator);
        }
        if digits.len() != NOTICE_LEN {
            return Err(PagoPaError::NoticeLength(digits.len()));
        }
        let aux = digits.as_bytes()[0] - b'0';
        match aux {
            1 => {}
            0 | 2 | 3 => {
                // NAV.0: aux + application code + base 13; NAV.2: aux + base 15; NAV.3: aux + segregation
                // code + base 13. In every case the check digits follow (and are computed on) the first 16.
                let (prefix, found) = digits.split_at(NOTICE_LEN - 2);
                let expected = check_digits(prefix)?;
                if expected != found {
                    let found = found.to_owned();
                    return Err(PagoPaError::NoticeCheckDigits { expected, found });
                }
            }
            _ => return Err(PagoPaError::NoticeAuxDigit(aux)),
        }
        Ok(NoticeCode(digits))
    }

    /// The 18 digits, without separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first digit (0, 1, 2 or 3).
    pub fn aux_digit(&self) -> u8 {
        self.0.as_bytes()[0] - b'0'
    }

    /// The IUV: aux 0 → the 15 digits after aux digit and application code; otherwise the 17 after the aux.
    pub fn iuv(&self) -> &str {
        let start = if self.aux_digit() == 0 { 3 } else { 1 };
        &self.0[start..]
    }

    /// Groups of four digits separated by a space, as printed on the notice: "3020 3200 2700 0002 51".
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(NOTICE_LEN + NOTICE_LEN / 4);
        for (index, c) in self.0.chars().enumerate() {
            if index > 0 && index % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }
}

impl fmt::Display for NoticeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two check digits of a decimal string of any length: the remainder of its division by 93, as 2 digits.
pub fn check_digits(prefix_digits: &str) -> Result<String, PagoPaError> {
    if prefix_digits.is_empty() {
        return Err(PagoPaError::CheckInputEmpty);
    }
    let mut remainder: u32 = 0;
    for c in prefix_digits.chars() {
        let Some(digit) = c.to_digit(10) else {
            return Err(PagoPaError::CheckInputNotDigit(c));
        };
        remainder = (remainder * 10 + digit) % 93;
    }
    Ok(format!("{remainder:02}"))
}

/// Converts an amount in euro to cents: it must be > 0, have at most 2 decimals and be ≤ 999.999.999,99.
pub fn amount_cents(amount: Decimal) -> Result<u64, PagoPaError> {
    let shown = || amount.normalize().to_string().replace('.', ",");
    if amount <= Decimal::ZERO {
        return Err(PagoPaError::AmountNotPositive(shown()));
    }
    if amount.normalize().scale() > 2 {
        return Err(PagoPaError::AmountTooManyDecimals(shown()));
    }
    if amount > Decimal::new(99_999_999_999, 2) {
        return Err(PagoPaError::AmountTooLarge(shown()));
    }
    amount
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|cents| cents.trunc().to_u64())
        .ok_or_else(|| PagoPaError::AmountTooLarge(shown()))
}

/// The string to encode in the notice's QR code: "PAGOPA|002|<notice code>|<entity fiscal code>|<cents>".
/// The amount is in euro cents, unpadded except to the spec's minimum of 2 characters (1 cent → "01").
pub fn qr_payload(notice: &NoticeCode, order_fiscal_code: &str, cents: u64) -> Result<String, PagoPaError> {
    if let Some(c) = order_fiscal_code.chars().find(|c| !c.is_ascii_digit()) {
        return Err(PagoPaError::OrderFiscalCodeNotDigit(c));
    }
    if order_fiscal_code.len() != ORDER_CF_LEN {
        return Err(PagoPaError::OrderFiscalCodeLength(order_fiscal_code.len()));
    }
    if cents == 0 || cents > MAX_CENTS {
        return Err(PagoPaError::QrAmount(cents));
    }
    let notice = notice.as_str();
    Ok(format!("PAGOPA|002|{notice}|{order_fiscal_code}|{cents:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn parse_err(s: &str) -> PagoPaError {
        NoticeCode::parse(s).unwrap_err()
    }

    // Published example, aux digit 3: pagopa/io-pagopa-commons, src/__tests__/pagopa.test.ts
    // (describe "QrCodeFromString"): "PAGOPA|002|302032002700000251|03334231200|11" (and "|01"), segregation
    // code 02, IUV base 0320027000002. Check: 3020320027000002 = 93 × 32476559430107 + 51 → "51".
    #[test]
    fn published_aux3_example() {
        assert_eq!(check_digits("3020320027000002").unwrap(), "51");
        let n = NoticeCode::parse("302032002700000251").unwrap();
        assert_eq!((n.aux_digit(), n.iuv()), (3, "02032002700000251"));
        assert_eq!(NoticeCode::aux3(2, 320_027_000_002).unwrap(), n);
        assert_eq!(n.grouped(), "3020 3200 2700 0002 51");
        let qr = qr_payload(&n, "03334231200", 11).unwrap();
        assert_eq!(qr, "PAGOPA|002|302032002700000251|03334231200|11");
        // One cent: two characters minimum ("Minimo 2, massimo 11 caratteri"), as in the same file.
        let qr = qr_payload(&n, "03334231200", 1).unwrap();
        assert_eq!(qr, "PAGOPA|002|302032002700000251|03334231200|01");
    }

    // Published example, aux digit 0: same file, "PAGOPA|002|001721265093769322|00087640256|10100000002":
    // application code 01, IUV base 7212650937693; 0017212650937693 = 93 × 185082268147 + 22 → "22".
    #[test]
    fn published_aux0_example() {
        assert_eq!(check_digits("0017212650937693").unwrap(), "22");
        let n = NoticeCode::parse("001721265093769322").unwrap();
        assert_eq!((n.aux_digit(), n.iuv()), (0, "721265093769322"));
        let qr = qr_payload(&n, "00087640256", 10_100_000_002).unwrap();
        assert_eq!(qr, "PAGOPA|002|001721265093769322|00087640256|10100000002");
    }

    // Published example: pagoPA "Avviso di pagamento" guide, Allegato 2 › Dati per il pagamento › Codice QR,
    // "Esempio": PAGOPA|002|000000000000000000|00000000000|9999. Aux 0; 0000000000000000 mod 93 = 0 → "00";
    // 99,99 euro = 9999 cents, not padded.
    #[test]
    fn published_qr_guide_example() {
        let n = NoticeCode::parse("000000000000000000").unwrap();
        let qr = qr_payload(&n, "00000000000", amount_cents(dec("99.99")).unwrap()).unwrap();
        assert_eq!(qr, "PAGOPA|002|000000000000000000|00000000000|9999");
    }

    // Aux digit 1 has no check digits: io-pagopa-commons, same file, "101234567890123456".
    // Aux digit 2: no published example with correct check digits was found (io-pagopa-commons'
    // "201234567890123422" is not checked there). Computed by hand per SACI schema IUV.2:
    // "2" + base 012345678901234 = 2012345678901234 = 93 × 21638125579583 + 15 → "15".
    #[test]
    fn aux1_and_aux2() {
        let n = NoticeCode::parse("101234567890123456").unwrap();
        assert_eq!((n.aux_digit(), n.iuv()), (1, "01234567890123456"));
        assert_eq!(check_digits("2012345678901234").unwrap(), "15");
        let n = NoticeCode::parse("201234567890123415").unwrap();
        assert_eq!((n.aux_digit(), n.iuv()), (2, "01234567890123415"));
        let err = parse_err("201234567890123422");
        assert!(matches!(err, PagoPaError::NoticeCheckDigits { .. }));
    }

    #[test]
    fn aux3_round_trip() {
        let cases = [(0, 0), (2, 1), (7, 123_456_789), (99, MAX_IUV_BASE)];
        for (seg, base) in cases.into_iter().chain([(45, 1_234_567_890_123)]) {
            let n = NoticeCode::aux3(seg, base).unwrap();
            assert_eq!(n.as_str().len(), 18);
            assert_eq!(&n.as_str()[1..3], format!("{seg:02}"));
            assert_eq!(NoticeCode::parse(n.as_str()).unwrap(), n);
            assert_eq!(NoticeCode::parse(&n.grouped()).unwrap(), n);
            assert_eq!(n.iuv(), &n.as_str()[1..]);
        }
        // 3000000000000000 mod 93 = 3.
        assert_eq!(NoticeCode::aux3(0, 0).unwrap().as_str(), "300000000000000003");
        assert_eq!(NoticeCode::aux3(100, 1), Err(PagoPaError::SegregationCode(100)));
        let too_big = MAX_IUV_BASE + 1;
        assert_eq!(NoticeCode::aux3(1, too_big), Err(PagoPaError::IuvBase(too_big)));
    }

    #[test]
    fn invalid_notice_codes() {
        use PagoPaError::*;
        let cases = [
            ("30203200270000025", NoticeLength(17)),
            ("3020320027000002510", NoticeLength(19)),
            ("   ", NoticeEmpty),
            ("444012345678901200", NoticeAuxDigit(4)),
            ("-302032002700000251", NoticeMisplacedSeparator),
            ("302032002700000251.", NoticeMisplacedSeparator),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_err(input), expected, "{input:?}");
        }
        let msg = |s: &str| parse_err(s).to_string();
        let want = "Codice avviso: deve avere 18 cifre (ne ha 17).";
        assert_eq!(msg("30203200270000025"), want);
        let want = "Codice avviso: carattere non ammesso «X» in posizione 18";
        assert!(msg("30203200270000025X").starts_with(want));
        assert!(msg("3020/3200/2700/0002/51").contains("«/» in posizione 5"));
        assert!(msg("３02032002700000251").contains("«３» in posizione 1")); // full-width digit
    }

    #[test]
    fn wrong_check_digits_refused() {
        let err = parse_err("302032002700000252");
        assert!(matches!(err, PagoPaError::NoticeCheckDigits { .. }));
        assert!(err.to_string().contains("dovrebbero essere 51, sono 52"));
        // io-pagopa-commons' "344012345678901233" is not checked there: 3440123456789012 mod 93 = 86.
        assert!(NoticeCode::parse("344012345678901233").is_err());
        assert!(NoticeCode::parse("302032002700000299").is_err()); // 93-99 are never a remainder
    }

    #[test]
    fn separators_accepted() {
        let n = NoticeCode::parse("302032002700000251").unwrap();
        let inputs = ["3020 3200 2700 0002 51", "3020.3200.2700.0002.51"];
        let more = ["3020-3200-2700-0002-51", " 3020  32002700000251\n"];
        for s in inputs.into_iter().chain(more) {
            assert_eq!(NoticeCode::parse(s).unwrap(), n);
        }
    }

    // The guide (Allegato 2 › Rata unica, AVVISO.CODICE): "22 caratteri spazi compresi", "Le cifre sono
    // raggruppate a gruppi di 4 separate da uno spazio".
    #[test]
    fn grouped_and_display() {
        let n = NoticeCode::aux3(1, 2_345_678_901_234).unwrap();
        let g = n.grouped();
        assert_eq!(g.len(), 22);
        assert_eq!(g, format!("3012 3456 7890 1234 {}", &n.as_str()[16..]));
        assert_eq!(n.to_string(), n.as_str());
    }

    #[test]
    fn check_digits_any_length() {
        // (10^100 - 1) mod 93 = 66, checked with Python's big integers: no overflow.
        let nines = "9".repeat(100);
        let cases = [("0", "00"), ("92", "92"), ("93", "00"), ("100", "07")];
        for (input, check) in cases.into_iter().chain([(nines.as_str(), "66")]) {
            assert_eq!(check_digits(input).unwrap(), check);
        }
        assert_eq!(check_digits(""), Err(PagoPaError::CheckInputEmpty));
        assert_eq!(check_digits("12a"), Err(PagoPaError::CheckInputNotDigit('a')));
    }

    #[test]
    fn amounts() {
        let ok = [("16", 1600), ("16.5", 1650), ("16.50", 1650), ("0.01", 1)];
        let more = [("1.000", 100), ("999999999.99", 99_999_999_999)];
        for (input, cents) in ok.into_iter().chain(more) {
            assert_eq!(amount_cents(dec(input)), Ok(cents), "{input}");
        }
        let msg = |s: &str| amount_cents(dec(s)).unwrap_err().to_string();
        assert_eq!(msg("0"), "Importo: deve essere maggiore di zero (è 0).");
        assert_eq!(msg("-1"), "Importo: deve essere maggiore di zero (è -1).");
        let want = "Importo: può avere al massimo due decimali (è 1,005).";
        assert_eq!(msg("1.005"), want);
        let want = "Importo: non può superare 999.999.999,99 euro (è 1000000000).";
        assert_eq!(msg("1000000000"), want);
        assert!(msg(&Decimal::MAX.to_string()).starts_with("Importo: non può superare"));
    }

    #[test]
    fn qr_payload_checks() {
        let n = NoticeCode::aux3(2, 320_027_000_002).unwrap();
        let qr = qr_payload(&n, "80012345678", 1650).unwrap();
        assert_eq!(qr, "PAGOPA|002|302032002700000251|80012345678|1650");
        let msg = |cf: &str, cents: u64| qr_payload(&n, cf, cents).unwrap_err().to_string();
        let want = "Codice fiscale dell'ente creditore: deve avere 11 cifre (ne ha 10).";
        assert_eq!(msg("8001234567", 1), want);
        assert!(msg("8001234567X", 1).contains("solo cifre (contiene «X»)"));
        assert_eq!(qr_payload(&n, "80012345678", 0), Err(PagoPaError::QrAmount(0)));
        assert!(qr_payload(&n, "80012345678", MAX_CENTS).is_ok());
        assert!(qr_payload(&n, "80012345678", MAX_CENTS + 1).is_err());
    }
}
