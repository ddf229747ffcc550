//! Columns → fields: the fields a kind of import knows, recognised from the header by name and by
//! synonyms (Italian and English), adjustable in the page or with a mapping file for the CLI.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// A field an import kind fills.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub key: &'static str,
    pub label: &'static str,
    pub required: bool,
    /// Other header names it goes by (compared without case, accents, spaces and punctuation).
    pub synonyms: &'static [&'static str],
}

/// Field key → position of the column in the file (0-based).
pub type Mapping = BTreeMap<String, usize>;

/// "N. Iscrizione " → "niscrizione": what header names are compared by.
pub fn normalise(header: &str) -> String {
    deunicode::deunicode(header)
        .to_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// Each field gets the first column whose name is its label, its key or one of its synonyms; a column
/// serves one field only.
pub fn auto_map(fields: &[FieldSpec], headers: &[String]) -> Mapping {
    let normalised: Vec<String> = headers.iter().map(|h| normalise(h)).collect();
    let mut mapping = Mapping::new();
    for f in fields {
        let names: Vec<String> = [f.label, f.key]
            .iter()
            .chain(f.synonyms)
            .map(|n| normalise(n))
            .collect();
        let taken: Vec<usize> = mapping.values().copied().collect();
        if let Some(i) = normalised
            .iter()
            .enumerate()
            .position(|(i, h)| !taken.contains(&i) && !h.is_empty() && names.contains(h))
        {
            mapping.insert(f.key.to_string(), i);
        }
    }
    mapping
}

/// Checks a mapping against the header: every required field mapped, positions inside the header,
/// no column used twice. The message names what is missing and what the file has.
pub fn check(fields: &[FieldSpec], headers: &[String], mapping: &Mapping) -> Result<(), String> {
    let mut problems = vec![];
    for (key, &i) in mapping {
        let Some(f) = fields.iter().find(|f| f.key == key) else {
            problems.push(format!("il campo «{key}» non esiste"));
            continue;
        };
        if i >= headers.len() {
            problems.push(format!("la colonna scelta per «{}» non c'è nel file", f.label));
        }
    }
    let mut used: Vec<usize> = mapping.values().copied().collect();
    used.sort_unstable();
    if used.windows(2).any(|w| w[0] == w[1]) {
        problems.push("una colonna è associata a più campi".into());
    }
    let missing: Vec<String> = fields
        .iter()
        .filter(|f| f.required && !mapping.contains_key(f.key))
        .map(|f| format!("«{}»", f.label))
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "mancano le colonne obbligatorie {} (colonne trovate nel file: {})",
            missing.join(", "),
            headers
                .iter()
                .map(|h| format!("«{h}»"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; ") + ".")
    }
}

/// A mapping file for the CLI:
///
/// ```toml
/// [columns]
/// fiscal_code = "C.F."
/// surname = "Cognome e nome"
/// ```
///
/// Fields it names take the named column; the others keep the automatic choice.
#[derive(Debug, Deserialize)]
struct MappingFile {
    #[serde(default)]
    columns: BTreeMap<String, String>,
}

pub fn from_file(fields: &[FieldSpec], headers: &[String], path: &Path) -> Result<Mapping, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("il file di mappatura {} non si legge: {e}", path.display()))?;
    let file: MappingFile =
        toml_from(&text).map_err(|e| format!("il file di mappatura {} non è valido: {e}", path.display()))?;
    let mut mapping = auto_map(fields, headers);
    for (key, header) in file.columns {
        if !fields.iter().any(|f| f.key == key) {
            let known: Vec<&str> = fields.iter().map(|f| f.key).collect();
            return Err(format!(
                "il file di mappatura nomina il campo «{key}», che non esiste (campi: {})",
                known.join(", ")
            ));
        }
        let wanted = normalise(&header);
        let Some(i) = headers.iter().position(|h| normalise(h) == wanted) else {
            return Err(format!(
                "il file di mappatura associa «{key}» alla colonna «{header}», che non c'è nel file"
            ));
        };
        mapping.retain(|_, &mut v| v != i);
        mapping.insert(key, i);
    }
    Ok(mapping)
}

fn toml_from(text: &str) -> Result<MappingFile, String> {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(text))
        .extract()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[FieldSpec] = &[
        FieldSpec {
            key: "fiscal_code",
            label: "Codice fiscale",
            required: true,
            synonyms: &["cf", "tax code"],
        },
        FieldSpec {
            key: "surname",
            label: "Cognome",
            required: true,
            synonyms: &["last name"],
        },
        FieldSpec {
            key: "email",
            label: "E-mail",
            required: false,
            synonyms: &["mail"],
        },
    ];

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn headers_are_recognised_in_italian_and_english() {
        let h = headers(&["C.F.", " COGNOME ", "Mail"]);
        let m = auto_map(FIELDS, &h);
        assert_eq!(m.get("fiscal_code"), Some(&0));
        assert_eq!(m.get("surname"), Some(&1));
        assert_eq!(m.get("email"), Some(&2));
        assert_eq!(check(FIELDS, &h, &m), Ok(()));
        let h = headers(&["Tax code", "Last name"]);
        assert_eq!(auto_map(FIELDS, &h).len(), 2);
    }

    #[test]
    fn a_wrong_header_names_what_is_missing() {
        let h = headers(&["Nominativo", "Indirizzo"]);
        let m = auto_map(FIELDS, &h);
        let e = check(FIELDS, &h, &m).unwrap_err();
        assert!(e.contains("«Codice fiscale», «Cognome»"), "{e}");
        assert!(e.contains("«Nominativo», «Indirizzo»"), "{e}");
    }

    #[test]
    fn a_mapping_file_overrides_the_automatic_choice() {
        let dir = std::env::temp_dir().join(format!("ordo-map-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.toml");
        std::fs::write(&path, "[columns]\nsurname = \"Nominativo\"\n").unwrap();
        let h = headers(&["CF", "Nominativo"]);
        let m = from_file(FIELDS, &h, &path).unwrap();
        assert_eq!((m.get("fiscal_code"), m.get("surname")), (Some(&0), Some(&1)));
        std::fs::write(&path, "[columns]\nsurnam = \"Nominativo\"\n").unwrap();
        assert!(from_file(FIELDS, &h, &path).unwrap_err().contains("«surnam»"));
        std::fs::write(&path, "[columns]\nsurname = \"Ragione sociale\"\n").unwrap();
        assert!(
            from_file(FIELDS, &h, &path)
                .unwrap_err()
                .contains("«Ragione sociale»")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
