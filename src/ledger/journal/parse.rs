//! The journal's file: its columns (Italian headers, in any order, unknown ones refused), its kinds of
//! row, and the cells as spreadsheets write them — amounts `1.234,56` or `1234.56`, dates `gg/mm/aaaa`
//! or `aaaa-mm-gg`, yes/no flags. `;` or `,`, UTF-8 with or without BOM (or Windows-1252); lines
//! starting with `#` are comments.

use std::collections::HashMap;

use rust_decimal::Decimal;
use time::Date;

use crate::import::{text, values};

/// Every column a journal may have; only `tipo` is required in the header.
pub const COLUMNS: [&str; 27] = [
    "tipo",
    "rif",
    "rif_padre",
    "data",
    "esercizio",
    "parte",
    "titolo",
    "categoria",
    "capitolo",
    "denominazione",
    "fondo_riserva",
    "importo",
    "importo_cassa",
    "capitolo_a",
    "delibera",
    "motivo",
    "eccezionale",
    "soggetto",
    "codice_fiscale",
    "iban",
    "cig",
    "cup",
    "scadenza",
    "autorizzazione",
    "urgenza",
    "documento",
    "ultima",
];

/// What a row does: each kind is one service of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Year,
    OpeningCash,
    Chapter,
    Allocation,
    Approval,
    Provisional,
    Variation,
    Assessment,
    Collection,
    Commitment,
    Liquidation,
    Payment,
    Close,
    Fund,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Year,
        Kind::OpeningCash,
        Kind::Chapter,
        Kind::Allocation,
        Kind::Approval,
        Kind::Provisional,
        Kind::Variation,
        Kind::Assessment,
        Kind::Collection,
        Kind::Commitment,
        Kind::Liquidation,
        Kind::Payment,
        Kind::Close,
        Kind::Fund,
    ];

    /// The name in the `tipo` column.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Year => "esercizio",
            Kind::OpeningCash => "fondo_cassa",
            Kind::Chapter => "capitolo",
            Kind::Allocation => "stanziamento",
            Kind::Approval => "approvazione",
            Kind::Provisional => "provvisorio",
            Kind::Variation => "variazione",
            Kind::Assessment => "accertamento",
            Kind::Collection => "riscossione",
            Kind::Commitment => "impegno",
            Kind::Liquidation => "liquidazione",
            Kind::Payment => "pagamento",
            Kind::Close => "chiusura",
            Kind::Fund => "fondo_vincolato",
        }
    }

    pub fn parse(cell: &str) -> Option<Kind> {
        let s = cell.trim().to_lowercase().replace([' ', '-'], "_");
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// One row of the journal: its line in the file and its cells by column.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    cells: HashMap<&'static str, String>,
}

impl Row {
    /// The cell, trimmed; empty when the column is missing.
    pub fn text(&self, column: &str) -> &str {
        self.cells.get(column).map(|c| values::clean(c)).unwrap_or("")
    }

    pub fn required(&self, column: &str) -> Result<&str, String> {
        match self.text(column) {
            "" => Err(format!(
                "La colonna «{column}» è obbligatoria per questo tipo di riga."
            )),
            v => Ok(v),
        }
    }

    pub fn amount(&self, column: &str) -> Result<Decimal, String> {
        values::decimal(self.required(column)?).map_err(|m| format!("Colonna «{column}»: {m}"))
    }

    pub fn amount_or(&self, column: &str, default: Decimal) -> Result<Decimal, String> {
        match self.text(column) {
            "" => Ok(default),
            _ => self.amount(column),
        }
    }

    pub fn date(&self, column: &str) -> Result<Date, String> {
        values::date(self.required(column)?).map_err(|m| format!("Colonna «{column}»: {m}"))
    }

    /// The financial year: the `esercizio` column, else the year of `data`.
    pub fn year(&self) -> Result<i32, String> {
        match self.text("esercizio") {
            "" if !self.text("data").is_empty() => Ok(self.date("data")?.year()),
            "" => Err("Indica l'esercizio (colonna «esercizio») o la data dell'operazione.".into()),
            y => values::integer_between(y, 2000, 2100, "L'esercizio"),
        }
    }

    /// sì / no (also s, x, 1, vero; n, 0, falso; empty is no).
    pub fn flag(&self, column: &str) -> Result<bool, String> {
        match self.text(column).to_lowercase().as_str() {
            "sì" | "si" | "s" | "x" | "1" | "vero" | "true" => Ok(true),
            "" | "no" | "n" | "0" | "falso" | "false" => Ok(false),
            v => Err(format!("Colonna «{column}»: «{v}» non è sì o no.")),
        }
    }

    /// `parte`: E (entrata) or U (uscita, spesa); `None` when empty.
    pub fn side(&self) -> Result<Option<&'static str>, String> {
        match self.text("parte").to_lowercase().as_str() {
            "" => Ok(None),
            "e" | "entrata" | "entrate" => Ok(Some("revenue")),
            "u" | "s" | "uscita" | "uscite" | "spesa" | "spese" => Ok(Some("expenditure")),
            v => Err(format!("Colonna «parte»: «{v}» non è E (entrata) o U (uscita).")),
        }
    }

    /// `titolo`: a roman numeral I–V or its number.
    pub fn title(&self) -> Result<i16, String> {
        let t = self.required("titolo")?.to_uppercase();
        let t = t.strip_prefix("TITOLO").unwrap_or(&t).trim();
        ["I", "II", "III", "IV", "V"]
            .iter()
            .position(|r| *r == t)
            .map(|i| i as i16 + 1)
            .or_else(|| t.parse::<i16>().ok())
            .ok_or_else(|| format!("Colonna «titolo»: «{t}» non è un titolo (da I a V)."))
    }
}

/// The rows of a journal file (blank lines and comments skipped) and the file's SHA-256; an error
/// when the file cannot be read as a journal at all (not a CSV, unknown columns, no `tipo`).
pub fn read(bytes: &[u8]) -> Result<(Vec<Row>, [u8; 32]), String> {
    let sniffed = text::sniff(|| Ok(bytes)).map_err(|e| e.to_string())?;
    let mut decoded = String::new();
    std::io::Read::read_to_string(&mut text::decoder(bytes, sniffed.encoding), &mut decoded)
        .map_err(|e| e.to_string())?;
    // Comments and blank lines become a lone delimiter (a blank record, skipped below) rather than
    // being skipped by the reader, whose record positions would then miss those lines.
    let delimiter = char::from(sniffed.delimiter).to_string();
    let lines: Vec<&str> = decoded
        .lines()
        .map(|l| {
            let t = l.trim();
            if t.is_empty() || t.starts_with('#') {
                delimiter.as_str()
            } else {
                l
            }
        })
        .collect();
    let text = lines.join("\n");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniffed.delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| text::malformed(&e).to_string())?
        .clone();
    let mut columns = vec![];
    for h in headers.iter() {
        let name = h.trim().trim_start_matches('\u{feff}').to_lowercase();
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) if columns.contains(&Some(*c)) => {
                return Err(format!("La colonna «{c}» compare due volte nell'intestazione."));
            }
            Some(c) => columns.push(Some(*c)),
            None if name.is_empty() => columns.push(None),
            None => {
                return Err(format!(
                    "Colonna sconosciuta «{}»: le colonne del giornale sono {}.",
                    h.trim(),
                    COLUMNS.join(", ")
                ));
            }
        }
    }
    if !columns.contains(&Some("tipo")) {
        return Err("Manca la colonna «tipo» nell'intestazione.".into());
    }
    let mut rows = vec![];
    for record in reader.records() {
        let record = record.map_err(|e| text::malformed(&e).to_string())?;
        if text::is_blank(record.iter()) {
            continue;
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let cells = columns
            .iter()
            .zip(record.iter())
            .filter_map(|(c, v)| c.map(|c| (c, v.to_string())))
            .collect();
        rows.push(Row { line, cells });
    }
    Ok((rows, sniffed.sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_bom_italian_amounts_and_comments() {
        let file = "\u{feff}tipo;rif;importo;data;parte;titolo\n# a comment, with; a \"quote\n\nimpegno;I1;1.234,56;15/06/2026;U;II\n# another\nimpegno;I2;1234.56;2026-06-15;e;3\n";
        let (rows, _) = read(file.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[1].line), (4, 6));
        assert_eq!(
            rows[0].amount("importo").unwrap(),
            "1234.56".parse::<Decimal>().unwrap()
        );
        assert_eq!(
            rows[1].amount("importo").unwrap(),
            "1234.56".parse::<Decimal>().unwrap()
        );
        assert_eq!(rows[0].date("data").unwrap(), rows[1].date("data").unwrap());
        assert_eq!(rows[0].year().unwrap(), 2026);
        assert_eq!((rows[0].title().unwrap(), rows[1].title().unwrap()), (2, 3));
        assert_eq!(rows[0].side().unwrap(), Some("expenditure"));
        assert_eq!(rows[1].side().unwrap(), Some("revenue"));
        assert!(rows[0].required("cig").is_err());
        assert_eq!(Kind::parse(rows[0].text("tipo")), Some(Kind::Commitment));
    }

    #[test]
    fn commas_and_refused_headers() {
        let (rows, _) = read(b"tipo,importo\nfondo_cassa,\"1.000,00\"\n").unwrap();
        assert_eq!(rows[0].amount("importo").unwrap(), Decimal::from(1000));
        assert!(
            read(b"tipo;importi\nimpegno;1\n")
                .unwrap_err()
                .contains("importi")
        );
        assert!(read(b"rif;importo\nx;1\n").unwrap_err().contains("tipo"));
    }
}
