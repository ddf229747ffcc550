//! CSV exports for spreadsheet users: UTF-8 with BOM, `,` or `;`, and cells that a spreadsheet would
//! run as a formula (starting with = + - @, or a control character such as tab or CR) neutralised
//! with a leading apostrophe (OWASP "CSV injection").

/// Field separator of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    Comma,
    Semicolon,
}

impl Separator {
    pub fn from_param(p: Option<&str>) -> Separator {
        match p {
            Some("comma") | Some(",") => Separator::Comma,
            _ => Separator::Semicolon,
        }
    }

    fn byte(self) -> u8 {
        match self {
            Separator::Comma => b',',
            Separator::Semicolon => b';',
        }
    }
}

/// A cell as it may safely reach a spreadsheet.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some(c) if matches!(c, '=' | '+' | '-' | '@') || c.is_control() => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// Writes header and rows as CSV bytes (with BOM).
pub fn to_csv(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
    sep: Separator,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(sep.byte())
            .from_writer(&mut out);
        w.write_record(header).map_err(|e| e.to_string())?;
        for row in rows {
            w.write_record(row.iter().map(|c| neutralise(c)))
                .map_err(|e| e.to_string())?;
        }
        w.flush().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_and_control_characters_are_neutralised() {
        assert_eq!(
            neutralise("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(neutralise("+39 333"), "'+39 333");
        assert_eq!(neutralise("-2+3"), "'-2+3");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("\tcmd"), "'\tcmd");
        assert_eq!(neutralise("\rcmd"), "'\rcmd");
        assert_eq!(neutralise("Rossi"), "Rossi");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn bom_separator_and_quoting() {
        let bytes = to_csv(
            &["a", "b"],
            vec![vec!["x;y".into(), "=1+1".into()]],
            Separator::Semicolon,
        )
        .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert_eq!(text.trim_start_matches('\u{feff}'), "a;b\n\"x;y\";'=1+1\n");
        let bytes = to_csv(&["a"], vec![vec!["è".into()]], Separator::Comma).unwrap();
        assert!(String::from_utf8(bytes).unwrap().ends_with("a\nè\n"));
    }
}
