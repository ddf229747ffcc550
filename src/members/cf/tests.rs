//! Tests of the codice fiscale rules. Expected codes were computed with the independent
//! `python-codicefiscale` library (see `scripts/cf-samples`).

use super::*;
use std::collections::HashSet;
use time::macros::date;

const TODAY: Date = date!(2026 - 05 - 17);

fn cf(s: &str) -> CodiceFiscale {
    CodiceFiscale::parse(s).unwrap()
}

fn err(s: &str) -> CfError {
    CodiceFiscale::parse(s).unwrap_err()
}

fn bad(position: usize, found: char) -> CfError {
    CfError::Character { position, found }
}

/// The first 15 characters plus the right check character.
fn with_check(first15: &str) -> String {
    format!("{first15}{}", check_character(first15.as_bytes()))
}

// --- parse: normalisation and every CfError variant -----------------------------------------

#[test]
fn parse_trims_removes_spaces_and_upper_cases() {
    let code = cf("  rssmra 85d12 l424w\t");
    assert_eq!(code.as_str(), "RSSMRA85D12L424W");
    assert_eq!(code.to_string(), "RSSMRA85D12L424W");
    assert_eq!("RSSMRA85D12L424W".parse::<CodiceFiscale>().unwrap(), code);
    assert_eq!(CodiceFiscale::example(), code);
}

#[test]
fn empty_input_is_refused() {
    assert_eq!(err(""), CfError::Empty);
    assert_eq!(err("  \t "), CfError::Empty);
}

#[test]
fn wrong_length_is_refused_and_counts_characters_not_bytes() {
    assert_eq!(err("RSSMRA85D12L424"), CfError::Length { found: 15 });
    assert_eq!(err("RSSMRA85D12L424WW"), CfError::Length { found: 17 });
    assert_eq!(err("ÈSSMRA85D12L424"), CfError::Length { found: 15 });
}

#[test]
fn a_digit_in_a_letter_position_is_refused() {
    assert_eq!(err("R5SMRA85D12L424W"), bad(2, '5'));
    // The first character of the place code is always a letter.
    assert_eq!(err("RSSMRA85D120424W"), bad(12, '0'));
    // The check character too.
    assert_eq!(err("RSSMRA85D12L4244"), bad(16, '4'));
}

#[test]
fn only_omocodia_letters_may_replace_digits() {
    // A is not an omocodia letter (the ten are L M N P Q R S T U V).
    assert_eq!(err("RSSMRAA5D12L424W"), bad(7, 'A'));
    assert_eq!(err("RSSMRA85D12L4W4W"), bad(14, 'W'));
    for letter in ['K', 'O', 'W', 'X', 'Y', 'Z'] {
        let code = format!("RSSMRA85D12L42{letter}W");
        assert_eq!(err(&code), bad(15, letter));
    }
}

#[test]
fn a_non_ascii_character_is_refused() {
    assert_eq!(err("RSSMRÀ85D12L424W"), bad(6, 'À'));
    assert_eq!(err("RSSMRA85D12L424-"), bad(16, '-'));
}

#[test]
fn month_letter_must_be_one_of_the_twelve() {
    for (i, m) in "ABCDEHLMPRST".chars().enumerate() {
        let code = cf(&with_check(&format!("RSSMRA85{m}12L424")));
        assert_eq!(code.birth_month() as usize, i + 1);
    }
    for m in "FGIJKNOQUVWXYZ".chars() {
        assert_eq!(err(&format!("RSSMRA85{m}12L424W")), CfError::Month { found: m });
    }
}

#[test]
fn day_must_be_1_to_31_or_41_to_71() {
    for day in [1, 15, 31, 41, 55, 71] {
        assert!(CodiceFiscale::parse(&with_check(&format!("RSSMRA85D{day:02}L424"))).is_ok());
    }
    for day in [0, 32, 39, 40, 72, 80, 99] {
        assert_eq!(
            err(&format!("RSSMRA85D{day:02}L424W")),
            CfError::Day { found: day }
        );
    }
    // Omocodia letters are decoded before the check: "QL" is 40.
    assert_eq!(err("RSSMRA85DQLL424W"), CfError::Day { found: 40 });
}

#[test]
fn check_character_is_verified() {
    // Values from python-codicefiscale.
    for good in [
        "RSSMRA85D12L424W",
        "BNCFNC05A45H501L",
        "DLCNCL99T31F205S",
        "DNGMRA00B69Z112K",
        "FOXLAX50A01E098E",
        "DLLGFR72L15L483A",
        "VRDGPP26R10H501V",
    ] {
        assert_eq!(cf(good).as_str(), good);
    }
    assert_eq!(
        err("RSSMRA85D12L424A"),
        CfError::CheckCharacter {
            expected: 'W',
            found: 'A'
        }
    );
    // One mistyped character elsewhere shows up as a wrong check character.
    assert_eq!(
        err("RSSMRA85D13L424W"),
        CfError::CheckCharacter {
            expected: check_character(b"RSSMRA85D13L424"),
            found: 'W'
        }
    );
}

#[test]
fn every_error_has_an_italian_message() {
    let errors = [
        CfError::Empty,
        CfError::Length { found: 15 },
        bad(7, 'A'),
        bad(2, '5'),
        CfError::Month { found: 'F' },
        CfError::Day { found: 35 },
        CfError::CheckCharacter {
            expected: 'X',
            found: 'Y',
        },
        CfError::SurnameWithoutLetters,
        CfError::NameWithoutLetters,
        CfError::PlaceCode { found: "L42".into() },
    ];
    let messages: HashSet<String> = errors.iter().map(CfError::message).collect();
    assert_eq!(messages.len(), errors.len());
    assert_eq!(
        CfError::CheckCharacter {
            expected: 'X',
            found: 'Y'
        }
        .message(),
        "Il carattere di controllo dovrebbe essere «X», non «Y»: controlla di aver copiato bene il codice fiscale."
    );
    assert!(CfError::Length { found: 15 }.message().contains("15"));
    assert!(bad(7, 'A').message().contains("una cifra"));
    assert!(bad(2, '5').message().contains("una lettera"));
    assert!(CfError::Day { found: 5 }.message().contains("non 05"));
    assert_eq!(CfError::Empty.to_string(), CfError::Empty.message());
}

// --- decoding -------------------------------------------------------------------------------

#[test]
fn decodes_sex_date_and_place() {
    let man = cf("RSSMRA85D12L424W");
    assert_eq!(man.sex(), Sex::M);
    assert_eq!(
        (man.birth_year_2(), man.birth_month(), man.birth_day()),
        (85, 4, 12)
    );
    assert_eq!(man.birth_date(TODAY), Some(date!(1985 - 04 - 12)));
    assert_eq!(man.place_code(), "L424");
    assert!(!man.is_omocode());
}

#[test]
fn day_over_40_means_female() {
    let woman = cf("BNCFNC05A45H501L");
    assert_eq!(woman.sex(), Sex::F);
    assert_eq!(woman.birth_day(), 5);
    assert_eq!(woman.birth_date(TODAY), Some(date!(2005 - 01 - 05)));
    let last_day = cf(&with_check("RSSMRA85D71L424"));
    assert_eq!((last_day.sex(), last_day.birth_day()), (Sex::F, 31));
}

#[test]
fn century_is_chosen_so_that_the_date_is_not_in_the_future() {
    assert_eq!(
        cf("VRDGPP26R10H501V").birth_date(TODAY),
        Some(date!(1926 - 10 - 10))
    );
    assert_eq!(
        cf("VRDGPP26A10H501O").birth_date(TODAY),
        Some(date!(2026 - 01 - 10))
    );
    // Born today: not in the future.
    let today = cf(&with_check("VRDGPP26E17H501"));
    assert_eq!(today.birth_date(TODAY), Some(TODAY));
    let tomorrow = cf(&with_check("VRDGPP26E18H501"));
    assert_eq!(tomorrow.birth_date(TODAY), Some(date!(1926 - 05 - 18)));
    assert_eq!(
        cf("DLCNCL99T31F205S").birth_date(TODAY),
        Some(date!(1999 - 12 - 31))
    );
    // The same code read in 1999 is a person of the 20th century.
    let y2000 = cf("RSSMRA00B69L424N");
    assert_eq!(y2000.birth_date(TODAY), Some(date!(2000 - 02 - 29)));
    assert_eq!(
        y2000.birth_date(date!(2099 - 01 - 01)),
        Some(date!(2000 - 02 - 29))
    );
}

#[test]
fn impossible_dates_give_none() {
    let feb31 = cf(&with_check("RSSMRA85B31L424"));
    assert_eq!(feb31.birth_date(TODAY), None);
    let apr31 = cf(&with_check("RSSMRA85D31L424"));
    assert_eq!(apr31.birth_date(TODAY), None);
    let feb29_85 = cf(&with_check("RSSMRA85B29L424"));
    assert_eq!(feb29_85.birth_date(TODAY), None);
    // 29 February 2000 exists, 29 February 1900 does not.
    let feb29_00 = cf("RSSMRA00B69L424N");
    assert_eq!(feb29_00.birth_date(date!(1999 - 06 - 01)), None);
}

#[test]
fn omocodes_parse_and_decode_like_their_base() {
    let base = cf("RSSMRA85D12L424W");
    // Variants from python-codicefiscale: one digit replaced, and all seven.
    for omocode in [
        "RSSMRA85D12L42QT",
        "RSSMRA85D1NL424L",
        "RSSMRAU5D12L424T",
        "RSSMRAURDMNLQNQK",
    ] {
        let code = cf(omocode);
        assert!(code.is_omocode(), "{omocode}");
        assert_eq!(code.as_str(), omocode, "omocodia letters are kept as written");
        assert_eq!(code.birth_date(TODAY), base.birth_date(TODAY));
        assert_eq!(code.place_code(), "L424");
        assert_eq!(code.sex(), Sex::M);
        assert_ne!(code, base);
    }
    let woman = cf("BNCFNCLRAQRHRLMF");
    assert_eq!(
        (woman.sex(), woman.birth_date(TODAY)),
        (Sex::F, Some(date!(2005 - 01 - 05)))
    );
    assert_eq!(woman.place_code(), "H501");
}

// --- surname and name codes -----------------------------------------------------------------

#[test]
fn surname_code_takes_consonants_then_vowels_then_x() {
    for (surname, code) in [
        ("Rossi", "RSS"),
        ("Bianchi", "BNC"),
        ("Fo", "FOX"),
        ("Re", "REX"),
        ("Ai", "AIX"),
        ("O", "OXX"),
        ("Wu", "WUX"),
        ("Yu", "YUX"),
        ("Canù", "CNA"),
    ] {
        assert_eq!(surname_code(surname).unwrap(), code, "{surname}");
    }
}

#[test]
fn accents_apostrophes_and_spaces_are_ignored() {
    for (surname, code) in [
        ("D'Angelo", "DNG"),
        ("D’Angelo", "DNG"),
        ("De Luca", "DLC"),
        ("Dell'Acqua", "DLL"),
        ("Nicolò", "NCL"),
        ("Àlvaro", "LVR"),
        ("Škerlavaj", "SKR"),
        ("Straßer", "STR"),
        ("  rossi  ", "RSS"),
    ] {
        assert_eq!(surname_code(surname).unwrap(), code, "{surname}");
    }
    assert_eq!(name_code("Zoë").unwrap(), "ZOE");
    assert_eq!(name_code("Nicolò").unwrap(), "NCL");
}

#[test]
fn name_code_with_four_or_more_consonants_takes_the_first_third_and_fourth() {
    for (name, code) in [
        ("Francesca", "FNC"),
        ("Gianfranco", "GFR"),
        ("Roberta", "RRT"),
        ("Maria Grazia", "MGR"),
        ("Massimiliano", "MSM"),
        ("Cristina", "CST"),
        // Three consonants or fewer: as for surnames.
        ("Marco", "MRC"),
        ("Mario", "MRA"),
        ("Pier Luigi", "PLG"),
        ("Anna", "NNA"),
        ("Ugo", "GUO"),
        ("Al", "LAX"),
        ("Eo", "EOX"),
    ] {
        assert_eq!(name_code(name).unwrap(), code, "{name}");
    }
}

#[test]
fn compute_builds_the_code() {
    let code = compute("Rossi", "Mario", date!(1985 - 04 - 12), Sex::M, "L424").unwrap();
    assert_eq!(code.as_str(), "RSSMRA85D12L424W");
    let code = compute("Bianchi", "Francesca", date!(2005 - 01 - 05), Sex::F, " h501 ").unwrap();
    assert_eq!(code.as_str(), "BNCFNC05A45H501L");
    let code = compute("D'Angelo", "Maria", date!(2000 - 02 - 29), Sex::F, "Z112").unwrap();
    assert_eq!(code.as_str(), "DNGMRA00B69Z112K");
    let code = compute("Dell'Acqua", "Gianfranco", date!(1972 - 07 - 15), Sex::M, "L483").unwrap();
    assert_eq!(code.as_str(), "DLLGFR72L15L483A");
    assert!(!code.is_omocode());
}

#[test]
fn compute_refuses_names_without_letters_and_bad_place_codes() {
    let d = date!(1985 - 04 - 12);
    assert_eq!(
        compute(" '- ", "Mario", d, Sex::M, "L424"),
        Err(CfError::SurnameWithoutLetters)
    );
    assert_eq!(
        compute("Rossi", "123", d, Sex::M, "L424"),
        Err(CfError::NameWithoutLetters)
    );
    for bad in ["", "L42", "L4244", "4244", "L4Q4", "LÀ24"] {
        assert_eq!(
            compute("Rossi", "Mario", d, Sex::M, bad),
            Err(CfError::PlaceCode {
                found: bad.to_owned()
            }),
            "{bad}"
        );
    }
}

// --- mismatches -----------------------------------------------------------------------------

fn mario() -> Declared<'static> {
    Declared {
        surname: "Rossi",
        name: "Mario",
        birth_date: date!(1985 - 04 - 12),
        sex: Sex::M,
        place_code: Some("L424"),
    }
}

#[test]
fn matching_data_gives_no_mismatch() {
    let code = cf("RSSMRA85D12L424W");
    assert!(code.mismatches(&mario()).is_empty());
    let mut declared = mario();
    declared.place_code = None;
    assert!(code.mismatches(&declared).is_empty());
    declared.place_code = Some(" l424 ");
    assert!(code.mismatches(&declared).is_empty());
    // Omocodes are compared through their decoded values.
    assert!(cf("RSSMRAURDMNLQNQK").mismatches(&mario()).is_empty());
}

#[test]
fn each_kind_of_mismatch_is_reported() {
    let code = cf("RSSMRA85D12L424W");
    let check = |change: &dyn Fn(&mut Declared<'static>), expected: &[Mismatch]| {
        let mut declared = mario();
        change(&mut declared);
        assert_eq!(code.mismatches(&declared), expected, "{declared:?}");
    };
    // "Russo" would pass: it shares "RSS" with "Rossi".
    check(&|d| d.surname = "Verdi", &[Mismatch::Surname]);
    check(&|d| d.surname = "'", &[Mismatch::Surname]);
    check(&|d| d.name = "Marco", &[Mismatch::Name]);
    check(&|d| d.birth_date = date!(1985 - 04 - 13), &[Mismatch::BirthDate]);
    check(&|d| d.birth_date = date!(1985 - 05 - 12), &[Mismatch::BirthDate]);
    check(&|d| d.birth_date = date!(1986 - 04 - 12), &[Mismatch::BirthDate]);
    check(&|d| d.sex = Sex::F, &[Mismatch::Sex]);
    check(&|d| d.place_code = Some("H501"), &[Mismatch::Place]);
    let all = [
        Mismatch::Surname,
        Mismatch::Name,
        Mismatch::BirthDate,
        Mismatch::Sex,
        Mismatch::Place,
    ];
    let other = cf("BNCFNC05A45H501L");
    assert_eq!(other.mismatches(&mario()), all);
}

#[test]
fn mismatch_messages_are_italian_and_distinct() {
    let all = [
        Mismatch::Surname,
        Mismatch::Name,
        Mismatch::BirthDate,
        Mismatch::Sex,
        Mismatch::Place,
    ];
    let messages: HashSet<String> = all.iter().map(Mismatch::message).collect();
    assert_eq!(messages.len(), all.len());
    assert_eq!(
        Mismatch::BirthDate.message(),
        "Il codice fiscale non corrisponde alla data di nascita indicata."
    );
}

// --- serde ----------------------------------------------------------------------------------

#[test]
fn serializes_as_a_string_and_deserializes_through_parse() {
    let code = cf("RSSMRA85D12L424W");
    assert_eq!(serde_json::to_string(&code).unwrap(), "\"RSSMRA85D12L424W\"");
    let back: CodiceFiscale = serde_json::from_str("\" rssmra85d12l424w \"").unwrap();
    assert_eq!(back, code);
    let bad = serde_json::from_str::<CodiceFiscale>("\"RSSMRA85D12L424A\"").unwrap_err();
    assert!(bad.to_string().contains("carattere di controllo"), "{bad}");
}

// --- independent check against python-codicefiscale ------------------------------------------

#[test]
fn agrees_with_python_codicefiscale_samples() {
    let csv = include_str!("../../../tests/data/cf_samples.csv");
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let (mut rows, mut omocodes) = (0, 0);
    for line in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(';').collect();
        assert_eq!(fields.len(), 7, "{line}");
        let [surname, name, sex, birth, place, code, omocode] = fields[..] else {
            unreachable!()
        };
        let sex = if sex == "F" { Sex::F } else { Sex::M };
        let birth_date = Date::parse(birth, format).unwrap();
        let computed = compute(surname, name, birth_date, sex, place).unwrap();
        assert_eq!(computed.as_str(), code, "{line}");
        let parsed = cf(code);
        assert_eq!(parsed.birth_date(TODAY), Some(birth_date), "{line}");
        let declared = Declared {
            surname,
            name,
            birth_date,
            sex,
            place_code: Some(place),
        };
        assert!(parsed.mismatches(&declared).is_empty(), "{line}");
        if !omocode.is_empty() {
            let variant = cf(omocode);
            assert!(variant.is_omocode(), "{line}");
            assert_eq!(variant.birth_date(TODAY), Some(birth_date), "{line}");
            assert_eq!(variant.place_code(), place, "{line}");
            assert_eq!(variant.sex(), sex, "{line}");
            assert!(variant.mismatches(&declared).is_empty(), "{line}");
            omocodes += 1;
        }
        rows += 1;
    }
    assert!(rows >= 200 && omocodes >= 40, "{rows} rows, {omocodes} omocodes");
}
