//! Each rule with an allowed and a refused case, at its boundaries (issue 8, acceptance 1).

use super::*;
use time::macros::date;

fn config() -> LedgerConfig {
    let env = vec![(
        "DATABASE_URL".to_string(),
        "postgres://unused@localhost/unused".to_string(),
    )];
    crate::config::Config::load_from(None, env)
        .expect("default config")
        .ledger
}

fn d(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

#[test]
fn who_authorises_an_impegno_at_the_thresholds() {
    let c = config();
    assert_eq!(authority_for(&c, d("2499.99")), Authority::Treasurer);
    assert_eq!(authority_for(&c, d("2500.00")), Authority::President);
    assert_eq!(authority_for(&c, d("4999.99")), Authority::President);
    assert_eq!(authority_for(&c, d("5000.00")), Authority::Council);

    let t = Authorisation::Treasurer;
    let p = Authorisation::President;
    assert!(check_authorisation(&c, d("2499.99"), &t).is_ok());
    let refused = check_authorisation(&c, d("2500.00"), &t).expect_err("above the treasurer");
    assert!(
        refused.contains("il Presidente") && refused.contains("2.500,00 €"),
        "{refused}"
    );
    assert!(check_authorisation(&c, d("4999.99"), &p).is_ok());
    assert!(
        check_authorisation(&c, d("2499.99"), &p).is_ok(),
        "a higher authority may"
    );
    let refused = check_authorisation(&c, d("5000.00"), &p).expect_err("above the president");
    assert!(refused.contains("Consiglio"), "{refused}");
    let council = Authorisation::Council {
        resolution: "delibera n. 12 del 03/02/2026".into(),
    };
    assert!(check_authorisation(&c, d("5000.00"), &council).is_ok());
    let no_act = Authorisation::Council {
        resolution: " ".into(),
    };
    assert!(check_authorisation(&c, d("5000.00"), &no_act).is_err());
    let urgent = Authorisation::PresidentUrgent {
        reason: "guasto all'impianto".into(),
    };
    assert!(
        check_authorisation(&c, d("12000"), &urgent).is_ok(),
        "urgent: ratification pending"
    );
    let urgent = Authorisation::PresidentUrgent {
        reason: String::new(),
    };
    assert!(check_authorisation(&c, d("12000"), &urgent).is_err());
    assert!(check_authorisation(&c, d("0"), &council).is_err());
}

#[test]
fn never_above_the_chapter_availability() {
    assert!(check_availability(d("100.00"), d("100.00"), "11.1").is_ok());
    let e = check_availability(d("100.00"), d("100.01"), "11.1").expect_err("above");
    assert!(
        e.contains("11.1") && e.contains("100,00 €") && e.contains("100,01 €"),
        "{e}"
    );
}

#[test]
fn variations_in_december_between_residui_and_from_capital() {
    let current = VariationSide {
        chapter: "11.1",
        nature: Nature::Current,
        residui: false,
    };
    let capital = VariationSide {
        chapter: "21.1",
        nature: Nature::Capital,
        residui: false,
    };
    let residui = VariationSide {
        chapter: "11.2",
        nature: Nature::Current,
        residui: true,
    };
    let ok = |date, exceptional| {
        check_variation(
            date,
            "delibera 30/2026",
            "maggiori spese postali",
            exceptional,
            &current,
            &capital,
        )
    };
    assert!(ok(date!(2026 - 11 - 30), None).is_ok(), "current → capital");
    let e = ok(date!(2026 - 12 - 15), None).expect_err("december");
    assert!(e[0].contains("dicembre"), "{e:?}");
    assert!(
        ok(
            date!(2026 - 12 - 15),
            Some("sentenza esecutiva da pagare entro l'anno")
        )
        .is_ok()
    );
    assert!(
        ok(date!(2026 - 12 - 15), Some("  ")).is_err(),
        "the exception needs its reason"
    );
    let e = check_variation(
        date!(2026 - 06 - 01),
        "delibera 30/2026",
        "x",
        None,
        &capital,
        &current,
    )
    .expect_err("capital → current");
    assert!(e[0].contains("conto capitale"), "{e:?}");
    let e = check_variation(
        date!(2026 - 06 - 01),
        "delibera 30/2026",
        "x",
        None,
        &residui,
        &current,
    )
    .expect_err("residui");
    assert!(e[0].contains("residui e competenza"), "{e:?}");
    let e = check_variation(date!(2026 - 06 - 01), "", "", None, &current, &capital)
        .expect_err("no act, no reason");
    assert_eq!(e.len(), 2);
}

#[test]
fn provisional_budget_twelfths_and_months() {
    let c = config();
    // Last allocation 12,000: 1,000 a month.
    assert!(check_provisional(&c, date!(2027 - 02 - 10), d("12000"), d("600"), d("400"), "11.1").is_ok());
    let e = check_provisional(
        &c,
        date!(2027 - 02 - 10),
        d("12000"),
        d("600"),
        d("400.01"),
        "11.1",
    )
    .expect_err("above 1/12");
    assert!(e.contains("dodicesimo") && e.contains("1.000,00 €"), "{e}");
    assert!(check_provisional(&c, date!(2027 - 03 - 31), d("12000"), d("0"), d("1"), "11.1").is_ok());
    let e = check_provisional(&c, date!(2027 - 04 - 01), d("12000"), d("0"), d("1"), "11.1")
        .expect_err("fourth month");
    assert!(e.contains("3 mesi"), "{e}");
}

#[test]
fn petty_cash_expense_and_fund() {
    let c = config();
    assert!(check_petty_cash(&c, d("0"), d("200.00")).is_ok());
    let e = check_petty_cash(&c, d("0"), d("200.01")).expect_err("above 200");
    assert!(e.contains("200,00 €") && e.contains("200,01 €"), "{e}");
    assert!(check_petty_cash(&c, d("2900"), d("100")).is_ok());
    assert!(
        check_petty_cash(&c, d("2900"), d("100.01")).is_err(),
        "the year's fund"
    );
}

#[test]
fn closed_years_and_equilibrium() {
    assert!(check_open_year(2026, false).is_ok());
    assert!(check_open_year(2025, true).expect_err("closed").contains("2025"));
    assert!(check_equilibrium(d("1000"), d("500000"), d("500000"), d("600000"), d("601000")).is_ok());
    let e = check_equilibrium(d("0"), d("499999.99"), d("500000"), d("600000"), d("600000"))
        .expect_err("current");
    assert!(e[0].contains("parte corrente"), "{e:?}");
    let e = check_equilibrium(d("-2000"), d("500000"), d("400000"), d("600000"), d("599000"))
        .expect_err("deficit");
    assert!(e[0].contains("disavanzo"), "{e:?}");
}

#[test]
fn supplier_codes_and_ibans() {
    // The VAT number of the Agenzia delle Entrate's own example and a codice fiscale.
    assert_eq!(check_party_code("07643520567"), Ok(()));
    assert_eq!(check_party_code("RSSMRA85T10A562S"), Ok(()));
    assert_eq!(check_party_code(""), Ok(()));
    assert!(
        check_party_code("07643520568")
            .unwrap_err()
            .contains("cifra di controllo")
    );
    assert!(check_party_code("RSSMRA85T10A562X").is_err());
    assert!(check_party_code("12345").is_err());
    // Banca d'Italia's example IBAN; one digit changed breaks the check digits.
    assert_eq!(check_iban("IT60X0542811101000000123456"), Ok(()));
    assert_eq!(check_iban(""), Ok(()));
    assert!(
        check_iban("IT60X0542811101000000123457")
            .unwrap_err()
            .contains("IBAN")
    );
}

#[test]
fn earmarked_funds_assessed_within_the_grant_and_spent_within_the_assessed() {
    let grant = d("100000.00");
    assert_eq!(
        check_fund("CUP", grant, d("90000.00"), d("0"), true, d("10000.00")),
        Ok(())
    );
    assert!(check_fund("CUP", grant, d("90000.00"), d("0"), true, d("10000.01")).is_err());
    assert_eq!(
        check_fund("CUP", grant, d("50000.00"), d("40000.00"), false, d("10000.00")),
        Ok(())
    );
    assert!(
        check_fund("CUP", grant, d("50000.00"), d("40000.00"), false, d("10000.01"))
            .unwrap_err()
            .contains("supera le somme accertate")
    );
}
