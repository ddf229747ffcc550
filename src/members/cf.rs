//! The Italian codice fiscale of a natural person (DM 23/12/1976, DPR 605/1973): parsing,
//! validation, decoding and computation. Pure: no I/O, no clock (`today` is a parameter).
//!
//! Layout of the 16 characters (0-based):
//! `0..3` surname code, `3..6` name code, `6..8` year, `8` month letter, `9..11` day (+40 for
//! women), `11..15` Belfiore code of the place of birth, `15` check character. The seven digit
//! positions (6, 7, 9, 10, 12, 13, 14) may hold the omocodia letters `L M N P Q R S T U V` in
//! place of `0`–`9`: the Agenzia delle Entrate issues such codes when two people would get the same.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

/// Sex as encoded in the codice fiscale (the day of birth plus 40 for women).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    M,
    F,
}

/// A valid codice fiscale of a person: always 16 upper-case ASCII characters, check character
/// verified. It keeps the omocodia letters as written (use [`CodiceFiscale::place_code`] and the
/// date accessors for the decoded values).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodiceFiscale(String);

/// Why a string is not a valid codice fiscale (or why one cannot be computed).
/// Positions are 1-based, as a person counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CfError {
    Empty,
    Length {
        found: usize,
    },
    Character {
        position: usize,
        found: char,
    },
    Month {
        found: char,
    },
    Day {
        found: u8,
    },
    CheckCharacter {
        expected: char,
        found: char,
    },
    /// `compute` only: the surname has no letters at all.
    SurnameWithoutLetters,
    /// `compute` only: the first name has no letters at all.
    NameWithoutLetters,
    /// `compute` only: the place code is not a letter followed by three digits.
    PlaceCode {
        found: String,
    },
}

impl CfError {
    pub fn message(&self) -> String {
        match self {
            CfError::Empty => "Inserisci il codice fiscale.".to_owned(),
            CfError::Length { found } => format!(
                "Il codice fiscale è lungo 16 caratteri, qui ce ne sono {found}: controlla di averlo copiato per intero."
            ),
            CfError::Character { position, found } => {
                let expected = if DIGIT_POSITIONS.contains(&(position.wrapping_sub(1))) {
                    "una cifra (o una delle lettere L, M, N, P, Q, R, S, T, U, V dei codici omocodici)"
                } else {
                    "una lettera"
                };
                format!(
                    "Il {position}° carattere del codice fiscale («{found}») non è valido: in quella posizione ci va {expected}."
                )
            }
            CfError::Month { found } => format!(
                "La lettera del mese di nascita (9° carattere) dovrebbe essere una fra A, B, C, D, E, H, L, M, P, R, S, T, non «{found}»."
            ),
            CfError::Day { found } => format!(
                "Il giorno di nascita (10° e 11° carattere) dovrebbe essere fra 01 e 31, o fra 41 e 71 per le donne, non {found:02}."
            ),
            CfError::CheckCharacter { expected, found } => format!(
                "Il carattere di controllo dovrebbe essere «{expected}», non «{found}»: controlla di aver copiato bene il codice fiscale."
            ),
            CfError::SurnameWithoutLetters => "Il cognome deve contenere almeno una lettera.".to_owned(),
            CfError::NameWithoutLetters => "Il nome deve contenere almeno una lettera.".to_owned(),
            CfError::PlaceCode { found } => format!(
                "Il codice catastale del luogo di nascita è una lettera seguita da tre cifre (per esempio L424), non «{found}»."
            ),
        }
    }
}

impl fmt::Display for CfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for CfError {}

/// Positions (0-based) that hold a digit or an omocodia letter.
const DIGIT_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];
/// The omocodia letters, standing for 0..=9.
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";
/// Month letters, January to December.
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";
/// Check-character values of the characters in odd (1st, 3rd, …) positions, for A..=Z;
/// the digits 0..=9 take the values of A..=J.
const ODD_VALUES: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

fn is_digit_position(i: usize) -> bool {
    DIGIT_POSITIONS.contains(&i)
}

/// The value of a digit position: `'0'..='9'` or an omocodia letter. Only called on validated codes.
fn digit_value(c: u8) -> u8 {
    if c.is_ascii_digit() {
        c - b'0'
    } else {
        OMOCODIA.iter().position(|&l| l == c).map_or(0, |p| p as u8)
    }
}

/// The check character of the first 15 characters (upper-case ASCII letters and digits).
fn check_character(first15: &[u8]) -> char {
    let sum: u32 = first15
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let index = usize::from(if c.is_ascii_digit() { c - b'0' } else { c - b'A' });
            if i % 2 == 0 {
                ODD_VALUES[index % 26]
            } else {
                index as u32
            }
        })
        .sum();
    char::from(b'A' + (sum % 26) as u8)
}

impl CodiceFiscale {
    /// Parses what a person typed: trims, removes inner spaces, upper-cases, then checks length,
    /// the kind of character in each position (omocodia included), month, day and check character.
    pub fn parse(raw: &str) -> Result<CodiceFiscale, CfError> {
        let cleaned: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if cleaned.is_empty() {
            return Err(CfError::Empty);
        }
        let found = cleaned.chars().count();
        if found != 16 {
            return Err(CfError::Length { found });
        }
        for (i, c) in cleaned.chars().enumerate() {
            let ok = if is_digit_position(i) {
                c.is_ascii_digit() || (c.is_ascii() && OMOCODIA.contains(&(c as u8)))
            } else {
                c.is_ascii_uppercase()
            };
            if !ok {
                return Err(CfError::Character {
                    position: i + 1,
                    found: c,
                });
            }
        }
        // Past this point the string is 16 ASCII bytes.
        let bytes = cleaned.as_bytes();
        if !MONTHS.contains(&bytes[8]) {
            return Err(CfError::Month {
                found: char::from(bytes[8]),
            });
        }
        let day = digit_value(bytes[9]) * 10 + digit_value(bytes[10]);
        if !(1..=31).contains(&day) && !(41..=71).contains(&day) {
            return Err(CfError::Day { found: day });
        }
        let expected = check_character(&bytes[..15]);
        let found = char::from(bytes[15]);
        if expected != found {
            return Err(CfError::CheckCharacter { expected, found });
        }
        Ok(CodiceFiscale(cleaned))
    }

    /// The code of a fictitious "Mario Rossi" born in Trieste on 12 April 1985: a valid value for
    /// placeholders and for fallbacks that cannot happen.
    pub fn example() -> CodiceFiscale {
        CodiceFiscale("RSSMRA85D12L424W".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn byte(&self, i: usize) -> u8 {
        self.0.as_bytes().get(i).copied().unwrap_or(b'0')
    }

    fn day_field(&self) -> u8 {
        digit_value(self.byte(9)) * 10 + digit_value(self.byte(10))
    }

    pub fn sex(&self) -> Sex {
        if self.day_field() > 40 { Sex::F } else { Sex::M }
    }

    /// Day of birth, 1–31 (the +40 for women removed).
    pub fn birth_day(&self) -> u8 {
        let day = self.day_field();
        if day > 40 { day - 40 } else { day }
    }

    /// Month of birth, 1–12.
    pub fn birth_month(&self) -> u8 {
        MONTHS
            .iter()
            .position(|&m| m == self.byte(8))
            .map_or(1, |p| p as u8 + 1)
    }

    /// The last two digits of the year of birth, 0–99.
    pub fn birth_year_2(&self) -> u8 {
        digit_value(self.byte(6)) * 10 + digit_value(self.byte(7))
    }

    /// Full birth date: the century chosen so that the date is not after `today` (people are not
    /// born in the future) — e.g. "85" → 1985, "05" → 2005 when today is 2026. `None` if the day
    /// does not exist in that month and year (e.g. 31 February, 29 February 1900).
    pub fn birth_date(&self, today: Date) -> Option<Date> {
        let (yy, month, day) = (self.birth_year_2(), self.birth_month(), self.birth_day());
        let century = today.year() - today.year().rem_euclid(100);
        let mut year = century + i32::from(yy);
        if (year, month, day) > (today.year(), u8::from(today.month()), today.day()) {
            year -= 100;
        }
        let month = Month::try_from(month).ok()?;
        Date::from_calendar_date(year, month, day).ok()
    }

    /// The Belfiore (cadastral) code of the place of birth, omocodia letters turned back into
    /// digits (e.g. "L424"; "Z112" for Germany).
    pub fn place_code(&self) -> String {
        let mut code = String::with_capacity(4);
        code.push(char::from(self.byte(11)));
        for i in 12..15 {
            code.push(char::from(b'0' + digit_value(self.byte(i))));
        }
        code
    }

    /// Whether any digit position holds an omocodia letter.
    pub fn is_omocode(&self) -> bool {
        DIGIT_POSITIONS.iter().any(|&i| !self.byte(i).is_ascii_digit())
    }

    /// What does not match the declared data: surname code, name code, birth date (day, month and
    /// the last two digits of the year), sex, and birth place when `place_code` is given.
    /// Omocodes are compared through their decoded values.
    pub fn mismatches(&self, declared: &Declared<'_>) -> Vec<Mismatch> {
        let mut out = Vec::new();
        if three_letters(declared.surname, false).as_ref().map(|c| &c[..]) != self.0.as_bytes().get(0..3) {
            out.push(Mismatch::Surname);
        }
        if three_letters(declared.name, true).as_ref().map(|c| &c[..]) != self.0.as_bytes().get(3..6) {
            out.push(Mismatch::Name);
        }
        let date = declared.birth_date;
        if i32::from(self.birth_year_2()) != date.year().rem_euclid(100)
            || self.birth_month() != u8::from(date.month())
            || self.birth_day() != date.day()
        {
            out.push(Mismatch::BirthDate);
        }
        if self.sex() != declared.sex {
            out.push(Mismatch::Sex);
        }
        if let Some(place) = declared.place_code {
            if !place.trim().eq_ignore_ascii_case(&self.place_code()) {
                out.push(Mismatch::Place);
            }
        }
        out
    }
}

/// The personal data a codice fiscale is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Declared<'a> {
    pub surname: &'a str,
    pub name: &'a str,
    pub birth_date: Date,
    pub sex: Sex,
    /// Belfiore code of the place of birth, if known.
    pub place_code: Option<&'a str>,
}

/// A part of the codice fiscale that disagrees with the declared data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mismatch {
    Surname,
    Name,
    BirthDate,
    Sex,
    Place,
}

impl Mismatch {
    pub fn message(&self) -> String {
        let what = match self {
            Mismatch::Surname => "al cognome indicato",
            Mismatch::Name => "al nome indicato",
            Mismatch::BirthDate => "alla data di nascita indicata",
            Mismatch::Sex => "al sesso indicato",
            Mismatch::Place => "al luogo di nascita indicato",
        };
        format!("Il codice fiscale non corrisponde {what}.")
    }
}

impl fmt::Display for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CodiceFiscale {
    type Err = CfError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CodiceFiscale::parse(s)
    }
}

impl Serialize for CodiceFiscale {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CodiceFiscale {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        CodiceFiscale::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The letters of a non-ASCII character as upper-case ASCII: accents dropped (À → A, Š → S),
/// ligatures spelled out (Æ → AE, ß → SS); "" for anything that is not a letter (’, «, …).
fn fold_non_ascii(c: char) -> &'static str {
    match c.to_lowercase().next().unwrap_or(c) {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "A",
        'æ' => "AE",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "C",
        'ď' | 'đ' | 'ð' => "D",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "E",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "G",
        'ĥ' | 'ħ' => "H",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'i' => "I",
        'ĵ' => "J",
        'ķ' => "K",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "L",
        'ñ' | 'ń' | 'ņ' | 'ň' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "O",
        'œ' => "OE",
        'ŕ' | 'ŗ' | 'ř' => "R",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "S",
        'ß' => "SS",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "T",
        'þ' => "TH",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "U",
        'ŵ' => "W",
        'ý' | 'ÿ' | 'ŷ' => "Y",
        'ź' | 'ż' | 'ž' => "Z",
        _ => "",
    }
}

/// The three-letter code of a surname (`is_name == false`) or a first name: consonants, then
/// vowels, then X; a first name with four or more consonants takes the 1st, 3rd and 4th.
/// Y counts as a consonant; apostrophes, spaces and other non-letters are skipped.
/// `None` if there is no letter at all. Allocation-free: `compute` runs for every demo person.
fn three_letters(s: &str, is_name: bool) -> Option<[u8; 3]> {
    let (mut consonants, mut vowels) = ([0u8; 4], [0u8; 3]);
    let (mut nc, mut nv) = (0usize, 0usize);
    let mut add = |b: u8| {
        if matches!(b, b'A' | b'E' | b'I' | b'O' | b'U') {
            if let Some(slot) = vowels.get_mut(nv) {
                *slot = b;
            }
            nv += 1;
        } else {
            if let Some(slot) = consonants.get_mut(nc) {
                *slot = b;
            }
            nc += 1;
        }
    };
    for c in s.chars() {
        if c.is_ascii_alphabetic() {
            add(c.to_ascii_uppercase() as u8);
        } else if !c.is_ascii() {
            fold_non_ascii(c).bytes().for_each(&mut add);
        }
    }
    if nc + nv == 0 {
        return None;
    }
    let chosen: &[u8] = if is_name && nc >= 4 {
        consonants[1] = consonants[0];
        &consonants[1..4]
    } else {
        &consonants[..nc.min(3)]
    };
    let mut code = [b'X'; 3];
    for (slot, &b) in code.iter_mut().zip(chosen.iter().chain(&vowels[..nv.min(3)])) {
        *slot = b;
    }
    Some(code)
}

fn code_string(code: [u8; 3]) -> String {
    code.iter().map(|&b| char::from(b)).collect()
}

/// The three-letter surname code ("Rossi" → "RSS", "Fo" → "FOX", "D'Angelo" → "DNG").
pub fn surname_code(surname: &str) -> Result<String, CfError> {
    three_letters(surname, false)
        .map(code_string)
        .ok_or(CfError::SurnameWithoutLetters)
}

/// The three-letter name code: like the surname, except that a name with four or more
/// consonants takes the 1st, 3rd and 4th ("Francesca" → "FNC").
pub fn name_code(name: &str) -> Result<String, CfError> {
    three_letters(name, true)
        .map(code_string)
        .ok_or(CfError::NameWithoutLetters)
}

/// Builds the (non-omocode) codice fiscale for a person — used for demo data and tests.
/// `place_code` is a Belfiore code: a letter and three digits ("L424", "Z112"; any case).
pub fn compute(
    surname: &str,
    name: &str,
    birth_date: Date,
    sex: Sex,
    place_code: &str,
) -> Result<CodiceFiscale, CfError> {
    let place = place_code.trim().as_bytes();
    let place_ok =
        place.len() == 4 && place[0].is_ascii_alphabetic() && place[1..].iter().all(u8::is_ascii_digit);
    if !place_ok {
        return Err(CfError::PlaceCode {
            found: place_code.to_owned(),
        });
    }
    let surname = three_letters(surname, false).ok_or(CfError::SurnameWithoutLetters)?;
    let name = three_letters(name, true).ok_or(CfError::NameWithoutLetters)?;
    let yy = birth_date.year().rem_euclid(100) as u8;
    let day = birth_date.day() + if sex == Sex::F { 40 } else { 0 };
    let mut code = [0u8; 16];
    code[..3].copy_from_slice(&surname);
    code[3..6].copy_from_slice(&name);
    code[6] = b'0' + yy / 10;
    code[7] = b'0' + yy % 10;
    code[8] = MONTHS[usize::from(u8::from(birth_date.month()) - 1)];
    code[9] = b'0' + day / 10;
    code[10] = b'0' + day % 10;
    for (slot, b) in code[11..15].iter_mut().zip(place) {
        *slot = b.to_ascii_uppercase();
    }
    code[15] = check_character(&code[..15]) as u8;
    Ok(CodiceFiscale(code.iter().map(|&b| char::from(b)).collect()))
}

// The tests live in `cf/tests.rs` to keep this file short.
#[cfg(test)]
mod tests;
