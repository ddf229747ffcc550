//! Italian formatting: dates `gg/mm/aaaa` in Europe/Rome.

use time::OffsetDateTime;
use time::macros::format_description;
use time_tz::{OffsetDateTimeExt, timezones};

/// `22/11/2026 14:05` in Europe/Rome.
pub fn rome_datetime(t: OffsetDateTime) -> String {
    let local = t.to_timezone(timezones::db::europe::ROME);
    local
        .format(format_description!("[day]/[month]/[year] [hour]:[minute]"))
        .unwrap_or_else(|_| t.to_string())
}

/// `22/11/2026` in Europe/Rome.
pub fn rome_date(t: OffsetDateTime) -> String {
    let local = t.to_timezone(timezones::db::europe::ROME);
    local
        .format(format_description!("[day]/[month]/[year]"))
        .unwrap_or_else(|_| t.to_string())
}

/// The calendar year in Europe/Rome (the protocol numbering's year).
pub fn rome_year(t: OffsetDateTime) -> i32 {
    t.to_timezone(timezones::db::europe::ROME).year()
}

/// The calendar day in Europe/Rome.
pub fn rome_day(t: OffsetDateTime) -> time::Date {
    t.to_timezone(timezones::db::europe::ROME).date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn rome_time_with_daylight_saving() {
        // Winter: UTC+1.
        assert_eq!(rome_datetime(datetime!(2026-01-15 23:30 UTC)), "16/01/2026 00:30");
        // Summer: UTC+2.
        assert_eq!(rome_datetime(datetime!(2026-07-01 10:00 UTC)), "01/07/2026 12:00");
        assert_eq!(rome_date(datetime!(2026-12-31 23:30 UTC)), "01/01/2027");
        assert_eq!(rome_year(datetime!(2026-12-31 22:59:59 UTC)), 2026);
        assert_eq!(rome_year(datetime!(2026-12-31 23:00:00 UTC)), 2027);
    }
}

/// An amount as Italians write it: "1.234,56 €".
pub fn euro(amount: rust_decimal::Decimal) -> String {
    let rounded = amount.round_dp(2);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let text = format!("{:.2}", rounded.abs());
    let (int, dec) = text.split_once('.').unwrap_or((text.as_str(), "00"));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    format!("{}{grouped},{dec} €", if negative { "-" } else { "" })
}

#[cfg(test)]
mod euro_tests {
    use rust_decimal::Decimal;

    #[test]
    fn italian_amounts() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        assert_eq!(super::euro(d("16")), "16,00 €");
        assert_eq!(super::euro(d("1234.5")), "1.234,50 €");
        assert_eq!(super::euro(d("1000000")), "1.000.000,00 €");
        assert_eq!(super::euro(d("0.01")), "0,01 €");
        assert_eq!(super::euro(d("-90")), "-90,00 €");
    }
}
