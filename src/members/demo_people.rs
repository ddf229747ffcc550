//! Deterministic, realistic people for the demo order (engineers in Trieste). Pure: the i-th
//! person depends on `i` alone, no RNG state, no I/O.
//!
//! Distinct codici fiscali by construction, not by collision checks: `i` is mapped through a
//! permutation of `0..DISTINCT_PEOPLE` (a small Feistel network with cycle-walking) onto a tuple
//! (birth date, surname, sex, first name). Every surname in the list has its own three-letter code
//! and so does every first name of each sex (a unit test checks this), so two different tuples
//! always give two different codes, whatever the place of birth. The other details (places,
//! address, phone…) come from a splitmix64 hash of `i`.

use std::fmt::Write as _;

use time::{Date, Duration, macros::date};

use super::cf::{CodiceFiscale, Sex, compute};

mod data;
use data::{
    FEMALE_NAMES, MALE_NAMES, MOBILE_PREFIXES, PLACES, STREETS, SURNAMES, TRIESTE_CAPS, TRIESTE_STREETS,
};

/// A made-up person; the codice fiscale matches the personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoPerson {
    pub surname: String,
    pub name: String,
    pub sex: Sex,
    pub birth_date: Date,
    /// The comune (or, for people born abroad, the country) of birth.
    pub birth_place: &'static str,
    /// Province abbreviation, "EE" for people born abroad.
    pub birth_province: &'static str,
    pub birth_place_code: &'static str,
    pub cf: CodiceFiscale,
    pub residence_municipality: &'static str,
    pub residence_province: &'static str,
    pub residence_address: String,
    pub residence_cap: &'static str,
    pub email: String,
    pub pec: Option<String>,
    pub phone: Option<String>,
}

/// The i-th person of the demo sequence: the same `i` always gives the same person. Codici fiscali
/// are distinct for every `i` below [`DISTINCT_PEOPLE`] (about 178 million); past that the
/// sequence of identities repeats, though e-mail addresses stay distinct.
pub fn person(i: u64) -> DemoPerson {
    let mut key = permute(i % DISTINCT_PEOPLE);
    let day = key % BIRTH_DAYS;
    key /= BIRTH_DAYS;
    let surname = SURNAMES[(key % SURNAMES.len() as u64) as usize];
    key /= SURNAMES.len() as u64;
    let sex = if key & 1 == 0 { Sex::M } else { Sex::F };
    key /= 2;
    let names = if sex == Sex::M { &MALE_NAMES } else { &FEMALE_NAMES };
    let name = names[(key % names.len() as u64) as usize];
    let birth_date = FIRST_BIRTH_DATE
        .checked_add(Duration::days(day as i64))
        .unwrap_or(FIRST_BIRTH_DATE);

    // Independent draws for the details: the n-th is a hash of (i, n).
    let draw = |n: u64, modulus: u64| splitmix64(i ^ splitmix64(n ^ DETAIL_SALT)) % modulus.max(1);
    let birth = pick(draw(0, BIRTH_WEIGHT_TOTAL), |p| p.birth_weight);
    let residence = pick(draw(1, RESIDENCE_WEIGHT_TOTAL), |p| p.residence_weight);
    let cf = compute(surname, name, birth_date, sex, birth.code).unwrap_or_else(|_| CodiceFiscale::example());

    let streets: &[&str] = if residence.code == TRIESTE {
        &TRIESTE_STREETS
    } else {
        &STREETS
    };
    let street = streets[draw(2, streets.len() as u64) as usize];
    let number = draw(3, 120) + 1;
    let cap = residence
        .caps
        .get(draw(4, residence.caps.len() as u64) as usize)
        .copied()
        .unwrap_or(TRIESTE_CAPS[0]);

    let mut email = String::with_capacity(48);
    push_ascii_lower(name, &mut email);
    email.push('.');
    push_ascii_lower(surname, &mut email);
    let _ = write!(email, "{i}");
    let local_len = email.len();
    let pec = (draw(5, 100) < 70).then(|| format!("{}@ingpec.eu", &email[..local_len]));
    email.push_str("@esempio.it");
    let phone = (draw(6, 100) < 60).then(|| {
        let prefix = MOBILE_PREFIXES[draw(7, MOBILE_PREFIXES.len() as u64) as usize];
        let rest = draw(8, 10_000_000);
        format!("+39 {prefix} {:03} {:04}", rest / 10_000, rest % 10_000)
    });

    DemoPerson {
        surname: surname.to_owned(),
        name: name.to_owned(),
        sex,
        birth_date,
        birth_place: birth.name,
        birth_province: birth.province,
        birth_place_code: birth.code,
        cf,
        residence_municipality: residence.name,
        residence_province: residence.province,
        residence_address: format!("{street} {number}"),
        residence_cap: cap,
        email,
        pec,
        phone,
    }
}

const DETAIL_SALT: u64 = 0x6f72_646f_6465_6d6f;
const FIRST_BIRTH_DATE: Date = date!(1950 - 01 - 01);
/// Days from 1 January 1950 to 31 December 2000, both included.
const BIRTH_DAYS: u64 = 18_628;
/// How many people have distinct identities (birth date × surname × sex × name).
pub const DISTINCT_PEOPLE: u64 = BIRTH_DAYS * SURNAMES.len() as u64 * 2 * MALE_NAMES.len() as u64;
const HALF_BITS: u32 = 14;
const HALF_MASK: u64 = (1 << HALF_BITS) - 1;
const _: () = assert!(DISTINCT_PEOPLE <= 1 << (2 * HALF_BITS));
const ROUND_KEYS: [u64; 4] = [
    0x9e37_79b9_7f4a_7c15,
    0xbf58_476d_1ce4_e5b9,
    0x94d0_49bb_1331_11eb,
    0x2545_f491_4f6c_dd1d,
];

/// The splitmix64 finaliser: a good 64-bit integer hash.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A permutation of `0..2^28` (four Feistel rounds).
fn feistel(x: u64) -> u64 {
    let (mut left, mut right) = (x >> HALF_BITS & HALF_MASK, x & HALF_MASK);
    for key in ROUND_KEYS {
        let next = left ^ (splitmix64(right ^ key) & HALF_MASK);
        left = right;
        right = next;
    }
    left << HALF_BITS | right
}

/// A permutation of `0..DISTINCT_PEOPLE` (cycle-walking the Feistel permutation), for `x` in it.
fn permute(x: u64) -> u64 {
    let mut y = feistel(x);
    while y >= DISTINCT_PEOPLE {
        y = feistel(y);
    }
    y
}

/// Appends the lower-case ASCII letters of `s`: "Dell'Acqua" → "dellacqua", "Nicolò" → "nicolo".
fn push_ascii_lower(s: &str, out: &mut String) {
    for c in s.chars() {
        let folded = match c {
            'à' | 'á' => 'a',
            'è' | 'é' => 'e',
            'ì' | 'í' => 'i',
            'ò' | 'ó' => 'o',
            'ù' | 'ú' => 'u',
            c if c.is_ascii_alphabetic() => c.to_ascii_lowercase(),
            _ => continue,
        };
        out.push(folded);
    }
}

struct Place {
    name: &'static str,
    province: &'static str,
    code: &'static str,
    /// Postal codes of the comune (empty for countries).
    caps: &'static [&'static str],
    birth_weight: u64,
    residence_weight: u64,
}

const TRIESTE: &str = "L424";

fn pick(mut ticket: u64, weight: fn(&Place) -> u64) -> &'static Place {
    for place in &PLACES {
        let w = weight(place);
        if ticket < w {
            return place;
        }
        ticket -= w;
    }
    &PLACES[0]
}

const fn total(places: &[Place], birth: bool) -> u64 {
    let (mut sum, mut i) = (0, 0);
    while i < places.len() {
        sum += if birth {
            places[i].birth_weight
        } else {
            places[i].residence_weight
        };
        i += 1;
    }
    sum
}

const BIRTH_WEIGHT_TOTAL: u64 = total(&PLACES, true);
const RESIDENCE_WEIGHT_TOTAL: u64 = total(&PLACES, false);

#[cfg(test)]
mod tests {
    use super::super::cf::{Declared, name_code, surname_code};
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_same_index_gives_the_same_person() {
        for i in [0, 1, 2, 999, 123_456, u64::MAX] {
            assert_eq!(person(i), person(i));
        }
        assert_ne!(person(0), person(1));
    }

    #[test]
    fn codes_in_the_lists_are_distinct_so_identities_give_distinct_codici_fiscali() {
        let surnames: HashSet<String> = SURNAMES.iter().map(|s| surname_code(s).unwrap()).collect();
        assert_eq!(surnames.len(), SURNAMES.len());
        for names in [&MALE_NAMES, &FEMALE_NAMES] {
            let codes: HashSet<String> = names.iter().map(|n| name_code(n).unwrap()).collect();
            assert_eq!(codes.len(), names.len());
        }
        assert_eq!(
            FIRST_BIRTH_DATE.checked_add(Duration::days(BIRTH_DAYS as i64 - 1)),
            Some(date!(2000 - 12 - 31))
        );
    }

    #[test]
    fn permute_is_a_permutation() {
        let mut seen = HashSet::new();
        for x in 0..200_000 {
            let y = permute(x);
            assert!(y < DISTINCT_PEOPLE);
            assert!(seen.insert(y), "{x}");
        }
    }

    #[test]
    fn codici_fiscali_are_valid_and_match_the_person() {
        for i in 0..2_000 {
            let p = person(i);
            let parsed = CodiceFiscale::parse(p.cf.as_str()).unwrap();
            assert_eq!(parsed, p.cf);
            assert!(!p.cf.is_omocode());
            let declared = Declared {
                surname: &p.surname,
                name: &p.name,
                birth_date: p.birth_date,
                sex: p.sex,
                place_code: Some(p.birth_place_code),
            };
            assert_eq!(p.cf.mismatches(&declared), vec![], "{p:?}");
            assert!((date!(1950 - 01 - 01)..=date!(2000 - 12 - 31)).contains(&p.birth_date));
            assert_eq!(p.cf.birth_date(date!(2026 - 01 - 01)), Some(p.birth_date));
        }
    }

    #[test]
    fn codici_fiscali_and_emails_are_unique() {
        let (mut cfs, mut emails, mut pecs) = (HashSet::new(), HashSet::new(), HashSet::new());
        for i in 0..20_000 {
            let p = person(i);
            assert!(cfs.insert(p.cf.clone()), "{i}: {}", p.cf);
            assert!(emails.insert(p.email.clone()), "{i}: {}", p.email);
            if let Some(pec) = p.pec {
                assert!(pecs.insert(pec));
            }
        }
    }

    #[test]
    fn details_look_real() {
        let people: Vec<DemoPerson> = (0..10_000).map(person).collect();
        let share =
            |f: &dyn Fn(&DemoPerson) -> bool| people.iter().filter(|p| f(p)).count() * 100 / people.len();
        let pec = share(&|p| p.pec.is_some());
        let phone = share(&|p| p.phone.is_some());
        let trieste = share(&|p| p.residence_municipality == "Trieste");
        let women = share(&|p| p.sex == Sex::F);
        let abroad = share(&|p| p.birth_province == "EE");
        assert!((65..=75).contains(&pec), "{pec}% with PEC");
        assert!((55..=65).contains(&phone), "{phone}% with phone");
        assert!((55..=70).contains(&trieste), "{trieste}% living in Trieste");
        assert!((45..=55).contains(&women), "{women}% women");
        assert!((2..=6).contains(&abroad), "{abroad}% born abroad");
        for p in &people {
            assert!(
                p.email.is_ascii() && p.email == p.email.to_lowercase(),
                "{}",
                p.email
            );
            assert!(p.email.ends_with("@esempio.it"));
            if let Some(pec) = &p.pec {
                assert_eq!(pec.replace("@ingpec.eu", "@esempio.it"), p.email);
            }
            if let Some(phone) = &p.phone {
                assert_eq!(phone.len(), 16, "{phone}");
                assert!(phone.starts_with("+39 3"), "{phone}");
            }
            assert_eq!(p.residence_cap.len(), 5);
            assert_ne!(p.residence_province, "EE");
            assert!(
                p.residence_address
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_digit())
            );
            assert_eq!(p.cf.place_code(), p.birth_place_code);
        }
        let first = person(0);
        let lower = |s: &str| {
            let mut out = String::new();
            push_ascii_lower(s, &mut out);
            out
        };
        assert_eq!(
            first.email,
            format!("{}.{}0@esempio.it", lower(&first.name), lower(&first.surname))
        );
        assert_eq!(lower("Dell'Acqua"), "dellacqua");
        assert_eq!(lower("Nicolò"), "nicolo");
        assert_eq!(lower("De Luca"), "deluca");
    }

    #[test]
    fn a_hundred_thousand_people_are_quick() {
        let start = std::time::Instant::now();
        let n = (0..100_000).map(person).filter(|p| p.pec.is_some()).count();
        let elapsed = start.elapsed();
        assert!(n > 0);
        // Unoptimised test builds are ~10× slower than release; this only catches accidents.
        assert!(elapsed.as_secs() < 10, "{elapsed:?}");
    }
}
