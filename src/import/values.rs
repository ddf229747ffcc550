//! Cell values as spreadsheets write them: dates as `gg/mm/aaaa`, `aaaa-mm-gg` or Excel serial numbers,
//! numbers with a decimal comma, surrounding spaces. Each parser returns the Italian message that goes
//! into the row's rejection.

use rust_decimal::Decimal;
use time::{Date, Duration, Month};

/// A cell with surrounding spaces (and non-breaking spaces, which Excel leaves) removed, and without
/// the apostrophe our own exports put before a cell starting with = + - @ (so that the rejected-rows
/// file, once corrected, imports as it was).
pub fn clean(cell: &str) -> &str {
    let s = cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{a0}');
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => s,
    }
}

/// `gg/mm/aaaa` (also with `-` or `.`, one-digit day and month), `aaaa-mm-gg`, or an Excel serial date
/// (days since 30/12/1899, as a cell formatted as number shows a date; a time part is ignored).
pub fn date(cell: &str) -> Result<Date, String> {
    let s = clean(cell);
    let bad = || format!("«{s}» non è una data: scrivi gg/mm/aaaa o aaaa-mm-gg.");
    if let Some(serial) = excel_serial(s) {
        // 1900 is not a leap year, but Excel counts 29/02/1900 (serial 60): from 61 on, day 0 is 30/12/1899.
        let base = Date::from_calendar_date(1899, Month::December, 30).map_err(|_| bad())?;
        let days = if serial < 60 { serial + 1 } else { serial };
        return base.checked_add(Duration::days(days)).ok_or_else(bad);
    }
    let parts: Vec<&str> = s.split(['/', '-', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(bad());
    };
    let num = |p: &str| p.parse::<i32>().ok();
    let (year, month, day) = if a.len() == 4 {
        (num(a), num(b), num(c))
    } else if c.len() == 4 {
        (num(c), num(b), num(a))
    } else {
        return Err(bad());
    };
    let (Some(year), Some(month), Some(day)) = (year, month, day) else {
        return Err(bad());
    };
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| format!("«{s}»: il mese {month} non esiste."))?;
    let day = u8::try_from(day).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, day).map_err(|_| format!("«{s}»: questa data non esiste."))
}

/// An all-digit cell in the range of Excel dates (1 = 01/01/1900 … 2958465 = 31/12/9999), with an
/// optional fractional part (the time of day).
fn excel_serial(s: &str) -> Option<i64> {
    let int = s.split([',', '.']).next()?;
    let frac_ok = s[int.len()..]
        .get(1..)
        .is_none_or(|f| f.chars().all(|c| c.is_ascii_digit()));
    if int.is_empty() || !int.chars().all(|c| c.is_ascii_digit()) || !frac_ok {
        return None;
    }
    int.parse::<i64>().ok().filter(|n| (1..=2_958_465).contains(n))
}

/// A whole number; Italian thousands separators (`1.234`) are accepted.
pub fn integer(cell: &str) -> Result<i64, String> {
    let s = clean(cell);
    let digits = if is_grouped_thousands(s) {
        s.replace('.', "")
    } else {
        s.to_string()
    };
    digits
        .parse::<i64>()
        .map_err(|_| format!("«{s}» non è un numero intero."))
}

/// A whole number between `min` and `max`; `what` names it in the message ("il numero di iscrizione").
pub fn integer_between(cell: &str, min: i64, max: i64, what: &str) -> Result<i32, String> {
    let n = integer(cell)?;
    if (min..=max).contains(&n) {
        i32::try_from(n).map_err(|_| format!("{what}: {n} è fuori dall'intervallo ammesso."))
    } else {
        Err(format!("{what} va da {min} a {max}."))
    }
}

/// A decimal number written the Italian way (`1.234,56`, `12,5`) or the English way (`12.5`): a comma
/// is always the decimal separator; dots are thousands separators when they group digits by three
/// and no comma follows, otherwise the decimal point.
pub fn decimal(cell: &str) -> Result<Decimal, String> {
    let s = clean(cell).replace([' ', '\u{a0}', '€'], "");
    let normalised = if s.contains(',') {
        s.replace('.', "").replace(',', ".")
    } else if is_grouped_thousands(&s) {
        s.replace('.', "")
    } else {
        s.clone()
    };
    normalised
        .parse::<Decimal>()
        .map_err(|_| format!("«{s}» non è un importo: scrivi ad esempio 1.234,56."))
}

/// "1.234" or "12.345.678": digits grouped by three with dots (at least one dot).
fn is_grouped_thousands(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let mut groups = s.split('.');
    let Some(first) = groups.next() else {
        return false;
    };
    let rest: Vec<&str> = groups.collect();
    !rest.is_empty()
        && (1..=3).contains(&first.len())
        && first.chars().all(|c| c.is_ascii_digit())
        && rest
            .iter()
            .all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_in_every_spreadsheet_form() {
        assert_eq!(date("03/07/1985"), Ok(date!(1985 - 07 - 03)));
        assert_eq!(date(" 3/7/1985 "), Ok(date!(1985 - 07 - 03)));
        assert_eq!(date("03.07.1985"), Ok(date!(1985 - 07 - 03)));
        assert_eq!(date("1985-07-03"), Ok(date!(1985 - 07 - 03)));
        // Excel serials: 31231 is 03/07/1985; 1 is 01/01/1900; 61 is 01/03/1900.
        assert_eq!(date("31231"), Ok(date!(1985 - 07 - 03)));
        assert_eq!(date("1"), Ok(date!(1900 - 01 - 01)));
        assert_eq!(date("61"), Ok(date!(1900 - 03 - 01)));
        assert_eq!(date("45292,5"), Ok(date!(2024 - 01 - 01)));
        assert!(date("31/02/2020").unwrap_err().contains("non esiste"));
        assert!(date("03/13/2020").unwrap_err().contains("mese 13"));
        assert!(date("ieri").unwrap_err().contains("gg/mm/aaaa"));
        assert!(date("").is_err());
    }

    #[test]
    fn numbers_with_decimal_comma() {
        assert_eq!(decimal("1.234,56"), Ok(Decimal::new(123456, 2)));
        assert_eq!(decimal("12,5"), Ok(Decimal::new(125, 1)));
        assert_eq!(decimal("12.5"), Ok(Decimal::new(125, 1)));
        assert_eq!(decimal("€ 1.234"), Ok(Decimal::new(1234, 0)));
        assert_eq!(decimal("-0,01"), Ok(Decimal::new(-1, 2)));
        assert!(decimal("dodici").is_err());
        assert_eq!(integer(" 1.234 "), Ok(1234));
        assert_eq!(integer("784"), Ok(784));
        assert_eq!(clean(" '+39 040 123 "), "+39 040 123");
        assert_eq!(clean("'tra virgolette'"), "'tra virgolette'");
        assert!(integer("7,5").is_err());
    }
}
