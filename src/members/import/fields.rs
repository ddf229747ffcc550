//! The columns of a members file and how their words are read (sex, status, cancellation reason,
//! section and sector by code or name).

use super::super::model::{CancellationReason, Status};
use crate::import::FieldSpec;

macro_rules! field {
    ($key:literal, $label:literal, $required:literal, [$($syn:literal),*]) => {
        FieldSpec { key: $key, label: $label, required: $required, synonyms: &[$($syn),*] }
    };
}

/// The columns a members file may have. Keys are those of the member's data, so the register's own
/// checks name the same fields.
pub const FIELDS: &[FieldSpec] = &[
    field!(
        "fiscal_code",
        "Codice fiscale",
        true,
        [
            "cf",
            "cod fiscale",
            "codice fisc",
            "c f",
            "fiscal code",
            "tax code",
            "tax id"
        ]
    ),
    field!(
        "surname",
        "Cognome",
        true,
        ["surname", "last name", "family name"]
    ),
    field!("name", "Nome", true, ["first name", "given name", "nome proprio"]),
    field!("sex", "Sesso", false, ["genere", "gender", "sex", "m f"]),
    field!(
        "birth_date",
        "Data di nascita",
        false,
        [
            "data nascita",
            "nato il",
            "nata il",
            "birth date",
            "date of birth",
            "dob"
        ]
    ),
    field!(
        "birth_place",
        "Luogo di nascita",
        true,
        [
            "luogo nascita",
            "comune di nascita",
            "comune nascita",
            "nato a",
            "nata a",
            "birth place",
            "place of birth"
        ]
    ),
    field!(
        "birth_province",
        "Provincia di nascita",
        false,
        ["prov nascita", "provincia nascita", "birth province"]
    ),
    field!("section", "Sezione", true, ["sezione albo", "section"]),
    field!("sectors", "Settori", false, ["settore", "sectors", "sector"]),
    field!(
        "registration_number",
        "Numero di iscrizione",
        false,
        [
            "numero iscrizione",
            "n iscrizione",
            "nr iscrizione",
            "num iscrizione",
            "matricola",
            "numero",
            "registration number",
            "number"
        ]
    ),
    field!(
        "registration_date",
        "Data di iscrizione",
        false,
        [
            "data iscrizione",
            "iscritto dal",
            "iscritta dal",
            "registration date"
        ]
    ),
    field!(
        "status",
        "Stato",
        false,
        ["stato iscrizione", "posizione", "status"]
    ),
    field!(
        "status_date",
        "Data dello stato",
        false,
        [
            "data stato",
            "decorrenza",
            "data decorrenza",
            "data cancellazione",
            "data sospensione",
            "status date"
        ]
    ),
    field!(
        "status_reason",
        "Motivo",
        false,
        [
            "motivo stato",
            "motivo cancellazione",
            "motivo sospensione",
            "causale",
            "reason"
        ]
    ),
    field!(
        "resolution_number",
        "Delibera",
        false,
        [
            "numero delibera",
            "n delibera",
            "delibera consiglio",
            "resolution"
        ]
    ),
    field!(
        "email",
        "E-mail",
        false,
        [
            "email",
            "mail",
            "posta elettronica",
            "indirizzo email",
            "e mail address"
        ]
    ),
    field!(
        "pec",
        "PEC",
        false,
        [
            "posta elettronica certificata",
            "indirizzo pec",
            "certified email"
        ]
    ),
    field!(
        "phone",
        "Telefono",
        false,
        ["tel", "cellulare", "cell", "phone", "mobile"]
    ),
    field!(
        "residence_address",
        "Indirizzo di residenza",
        false,
        ["indirizzo", "indirizzo residenza", "via", "residenza", "address"]
    ),
    field!(
        "residence_cap",
        "CAP di residenza",
        false,
        ["cap", "cap residenza", "zip", "postcode", "postal code"]
    ),
    field!(
        "residence_municipality",
        "Comune di residenza",
        false,
        ["comune", "comune residenza", "citta", "city", "town"]
    ),
    field!(
        "residence_province",
        "Provincia di residenza",
        false,
        ["provincia", "prov", "provincia residenza", "province"]
    ),
    field!(
        "domicile_address",
        "Indirizzo del domicilio professionale",
        false,
        ["indirizzo domicilio", "domicilio", "indirizzo studio"]
    ),
    field!(
        "domicile_cap",
        "CAP del domicilio",
        false,
        ["cap domicilio", "cap studio"]
    ),
    field!(
        "domicile_municipality",
        "Comune del domicilio",
        false,
        ["comune domicilio", "comune studio"]
    ),
    field!(
        "domicile_province",
        "Provincia del domicilio",
        false,
        ["provincia domicilio", "prov domicilio"]
    ),
    field!(
        "degree_class",
        "Laurea",
        false,
        ["classe laurea", "titolo di studio", "degree"]
    ),
    field!(
        "degree_university",
        "Università",
        false,
        ["universita", "ateneo", "university"]
    ),
    field!(
        "degree_year",
        "Anno di laurea",
        false,
        ["anno laurea", "degree year"]
    ),
    field!(
        "state_exam_year",
        "Anno dell'esame di Stato",
        false,
        ["anno esame di stato", "anno abilitazione", "esame di stato"]
    ),
    field!(
        "state_exam_seat",
        "Sede dell'esame di Stato",
        false,
        ["sede esame", "sede abilitazione"]
    ),
    field!(
        "specialisations",
        "Specializzazioni",
        false,
        ["specializzazione", "competenze", "specialisations"]
    ),
];

/// Fields an import may change on an existing member.
pub(super) const UPDATABLE: &[&str] = &[
    "birth_province",
    "residence_address",
    "residence_cap",
    "residence_municipality",
    "residence_province",
    "domicile_address",
    "domicile_cap",
    "domicile_municipality",
    "domicile_province",
    "email",
    "pec",
    "phone",
    "degree_class",
    "degree_university",
    "degree_year",
    "state_exam_year",
    "state_exam_seat",
    "specialisations",
    "sectors",
];

pub(super) fn parse_sex(s: &str) -> Option<&'static str> {
    match s.to_lowercase().as_str() {
        "m" | "maschio" | "maschile" | "male" | "uomo" => Some("M"),
        "f" | "femmina" | "femminile" | "female" | "donna" => Some("F"),
        _ => None,
    }
}

pub(super) fn parse_status(s: &str) -> Option<Status> {
    let n = crate::import::columns::normalise(s);
    match n.as_str() {
        "iscritto" | "iscritta" | "attivo" | "attiva" | "active" | "registered" => Some(Status::Active),
        "sospeso" | "sospesa" | "suspended" => Some(Status::Suspended),
        "cancellato" | "cancellata" | "cancelled" | "canceled" | "radiato" | "radiata" => {
            Some(Status::Cancelled)
        }
        "richiedente" | "domanda" | "inattesa" | "applicant" => Some(Status::Applicant),
        _ => Status::parse(s),
    }
}

pub(super) fn parse_reason(s: &str) -> Option<CancellationReason> {
    let n = crate::import::columns::normalise(s);
    CancellationReason::ALL
        .into_iter()
        .find(|r| {
            let label = crate::import::columns::normalise(r.label());
            n == r.as_str().replace('_', "") || n == label || (n.len() >= 5 && label.starts_with(&n))
        })
        .or(match n.as_str() {
            "dimissioni" | "dimissionivolontarie" | "rinuncia" => Some(CancellationReason::Resignation),
            "trasferimento" | "trasferito" | "trasferita" => Some(CancellationReason::TransferOut),
            "decesso" | "deceduto" | "deceduta" | "morte" => Some(CancellationReason::Death),
            "morosita" | "moroso" | "morosa" => Some(CancellationReason::Arrears),
            "disciplinare" | "radiazione" => Some(CancellationReason::Disciplinary),
            _ => None,
        })
}

/// A section or sector given by code or by name.
pub(super) fn code_of(list: &[crate::config::CodeName], value: &str) -> Option<String> {
    let n = crate::import::columns::normalise(value);
    list.iter()
        .find(|c| c.code.eq_ignore_ascii_case(value) || crate::import::columns::normalise(&c.name) == n)
        .map(|c| c.code.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_reasons_in_the_words_of_old_systems() {
        assert_eq!(parse_status("Iscritto"), Some(Status::Active));
        assert_eq!(parse_status("CANCELLATA"), Some(Status::Cancelled));
        assert_eq!(parse_status("suspended"), Some(Status::Suspended));
        assert_eq!(parse_status("boh"), None);
        assert_eq!(parse_reason("Morosità"), Some(CancellationReason::Arrears));
        assert_eq!(parse_reason("dimissioni"), Some(CancellationReason::Resignation));
        assert_eq!(
            parse_reason("Trasferimento ad altro Ordine"),
            Some(CancellationReason::TransferOut)
        );
        assert_eq!(
            parse_reason("transfer_out"),
            Some(CancellationReason::TransferOut)
        );
        assert_eq!(parse_reason(""), None);
        assert_eq!(parse_sex("Femmina"), Some("F"));
        assert_eq!(parse_sex("x"), None);
    }
}
