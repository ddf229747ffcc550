//! What kind of text a file is: refused when it is binary, empty or UTF-16; otherwise its encoding
//! (UTF-8 with or without BOM, or Windows-1252 as Excel writes "CSV (separato da ;)"), its delimiter
//! and its number of records, all found in one streaming pass over the bytes.

use std::io::{self, Read};

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use sha2::{Digest, Sha256};

/// How much of the beginning of the file is looked at for the delimiter and for binary content.
const SNIFF_BYTES: usize = 64 * 1024;

/// What a file turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub encoding: &'static Encoding,
    pub bom: bool,
    pub delimiter: u8,
    /// Records after the header (empty lines not counted).
    pub records: u64,
    pub size: u64,
    pub sha256: [u8; 32],
}

impl Sniffed {
    pub fn encoding_label(&self) -> String {
        match (self.encoding == UTF_8, self.bom) {
            (true, true) => "UTF-8 (con BOM)".into(),
            (true, false) => "UTF-8".into(),
            _ => "Windows-1252 / ISO-8859-1".into(),
        }
    }

    pub fn delimiter_label(&self) -> &'static str {
        delimiter_label(self.delimiter)
    }
}

pub fn delimiter_label(d: u8) -> &'static str {
    match d {
        b';' => "punto e virgola (;)",
        b',' => "virgola (,)",
        b'\t' => "tabulazione",
        _ => "altro",
    }
}

/// Why a file cannot be imported at all (as opposed to single rows being rejected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("Il file è vuoto.")]
    Empty,
    #[error("Il file contiene solo l'intestazione: nessuna riga da importare.")]
    HeaderOnly,
    #[error(
        "Il file non è un CSV: {0}. Salvalo dal foglio di calcolo come «CSV (separato da ;)» o «CSV UTF-8»."
    )]
    Binary(String),
    #[error(
        "Il file è in UTF-16 («Testo Unicode»): salvalo dal foglio di calcolo come «CSV UTF-8» o «CSV (separato da ;)»."
    )]
    Utf16,
    #[error(
        "Non riconosco il separatore delle colonne: il file deve usare il punto e virgola, la virgola o la tabulazione."
    )]
    NoDelimiter,
    #[error("Intestazione non valida: {0}")]
    Header(String),
    #[error("Il file non è leggibile come CSV alla riga {line}: {message}")]
    Malformed { line: u64, message: String },
    #[error("Il file non si può leggere: {0}")]
    Io(String),
}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> Self {
        FileError::Io(e.to_string())
    }
}

/// A reader that hashes and checks UTF-8 validity of what passes through it.
struct Tap<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    /// Bytes of an incomplete UTF-8 sequence at the end of the last chunk.
    carry: Vec<u8>,
    utf8: bool,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        self.hasher.update(chunk);
        self.size += n as u64;
        if self.head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - self.head.len()).min(n);
            self.head.extend_from_slice(&chunk[..take]);
        }
        if self.utf8 {
            let mut bytes = std::mem::take(&mut self.carry);
            bytes.extend_from_slice(chunk);
            match std::str::from_utf8(&bytes) {
                Ok(_) => {}
                Err(e) if e.error_len().is_none() && n > 0 => {
                    // An incomplete sequence at the end: keep it for the next chunk.
                    self.carry = bytes[e.valid_up_to()..].to_vec();
                }
                Err(_) => self.utf8 = false,
            }
        }
        Ok(n)
    }
}

/// Looks at the whole file once. `open` is called twice: once to sniff the beginning, once to stream.
pub fn sniff<R: Read>(mut open: impl FnMut() -> io::Result<R>) -> Result<Sniffed, FileError> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    open()?.take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
    if head.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FileError::Empty);
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(FileError::Utf16);
    }
    if let Some(kind) = infer::get(&head) {
        let what = match kind.extension() {
            "xlsx" => "è un foglio Excel (.xlsx)".to_string(),
            "xls" => "è un foglio Excel (.xls)".to_string(),
            "ods" => "è un foglio OpenDocument (.ods)".to_string(),
            "zip" => "è un archivio ZIP".to_string(),
            "pdf" => "è un documento PDF".to_string(),
            ext => format!("è un file binario (.{ext})"),
        };
        return Err(FileError::Binary(what));
    }
    if head.contains(&0) {
        return Err(FileError::Binary("contiene dati binari".into()));
    }
    let bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    let delimiter = detect_delimiter(&head).ok_or(FileError::NoDelimiter)?;

    let mut tap = Tap {
        inner: open()?,
        hasher: Sha256::new(),
        size: 0,
        head: Vec::new(),
        carry: Vec::new(),
        utf8: true,
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(&mut tap);
    let mut record = csv::ByteRecord::new();
    let mut records = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {
                if !is_blank(record.iter()) {
                    records += 1;
                }
            }
            Ok(false) => break,
            Err(e) => return Err(malformed(&e)),
        }
    }
    drop(reader);
    let utf8 = tap.utf8 && tap.carry.is_empty();
    if records == 0 {
        return Err(FileError::HeaderOnly);
    }
    Ok(Sniffed {
        encoding: if utf8 || bom { UTF_8 } else { WINDOWS_1252 },
        bom,
        delimiter,
        records,
        size: tap.size,
        sha256: tap.hasher.finalize().into(),
    })
}

pub fn malformed(e: &csv::Error) -> FileError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let message = match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        csv::ErrorKind::Utf8 { .. } => "testo non valido nella codifica del file".into(),
        _ => "virgolette non chiuse o riga spezzata".into(),
    };
    FileError::Malformed { line, message }
}

/// Whether every cell of a record is blank (an empty line, or a line of only delimiters).
pub fn is_blank<'a, T: AsRef<[u8]> + ?Sized + 'a>(cells: impl IntoIterator<Item = &'a T>) -> bool {
    cells
        .into_iter()
        .all(|c| c.as_ref().iter().all(|b| b.is_ascii_whitespace()))
}

/// The delimiter that splits the header and the first rows into the same number (> 1) of columns
/// most consistently; `;` first, as Italian Excel writes it.
fn detect_delimiter(head: &[u8]) -> Option<u8> {
    let mut best: Option<(u8, usize, usize)> = None;
    for d in [b';', b',', b'\t'] {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(d)
            .flexible(true)
            .has_headers(false)
            .from_reader(head);
        let mut widths = vec![];
        for record in reader.byte_records().take(30) {
            match record {
                Ok(r) if !is_blank(r.iter()) => widths.push(r.len()),
                Ok(_) => {}
                // The sniffed prefix may end inside a quoted field.
                Err(_) => break,
            }
        }
        let Some(&header) = widths.first() else {
            continue;
        };
        if header < 2 {
            continue;
        }
        let consistent = widths.iter().filter(|&&w| w == header).count();
        if best.is_none_or(|(_, c, h)| consistent > c || (consistent == c && header > h)) {
            best = Some((d, consistent, header));
        }
    }
    best.map(|(d, _, _)| d)
}

/// The decoded text of a file, as a stream (BOM removed).
pub fn decoder<R: Read>(inner: R, encoding: &'static Encoding) -> impl Read {
    encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_override(true)
        .build(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff_bytes(b: &[u8]) -> Result<Sniffed, FileError> {
        sniff(|| Ok(b))
    }

    #[test]
    fn excel_semicolon_windows_1252() {
        let (bytes, _, _) = WINDOWS_1252.encode("Cognome;Nome\nNicolò;Attilà\n");
        let s = sniff_bytes(&bytes).unwrap();
        assert_eq!(
            (s.encoding, s.delimiter, s.records, s.bom),
            (WINDOWS_1252, b';', 1, false)
        );
        let mut text = String::new();
        decoder(&bytes[..], s.encoding).read_to_string(&mut text).unwrap();
        assert_eq!(text, "Cognome;Nome\nNicolò;Attilà\n");
    }

    #[test]
    fn utf8_with_bom_and_quoted_newlines() {
        let file = "\u{feff}a,b\n\"x\ny\",2\n\n3,4\n";
        let s = sniff_bytes(file.as_bytes()).unwrap();
        assert_eq!(
            (s.encoding, s.delimiter, s.records, s.bom),
            (UTF_8, b',', 2, true)
        );
        let mut text = String::new();
        decoder(file.as_bytes(), s.encoding)
            .read_to_string(&mut text)
            .unwrap();
        assert!(text.starts_with("a,b"));
    }

    #[test]
    fn tabs_and_refusals() {
        assert_eq!(sniff_bytes(b"a\tb\n1\t2\n").unwrap().delimiter, b'\t');
        assert_eq!(sniff_bytes(b""), Err(FileError::Empty));
        assert_eq!(sniff_bytes(b"  \n\n"), Err(FileError::Empty));
        assert_eq!(sniff_bytes(b"a;b\n"), Err(FileError::HeaderOnly));
        assert_eq!(sniff_bytes(b"solo una colonna\nx\n"), Err(FileError::NoDelimiter));
        assert_eq!(sniff_bytes(&[0xFF, 0xFE, b'a', 0]), Err(FileError::Utf16));
        assert!(matches!(
            sniff_bytes(b"PK\x03\x04\x14\x00\x06\x00"),
            Err(FileError::Binary(_))
        ));
        assert!(matches!(sniff_bytes(b"%PDF-1.7\n..."), Err(FileError::Binary(_))));
        assert!(matches!(
            sniff_bytes(b"a;b\n\x00\x01;2\n"),
            Err(FileError::Binary(_))
        ));
    }

    #[test]
    fn utf8_split_across_reads_is_still_utf8() {
        // A reader that returns one byte at a time splits every multi-byte character.
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let file = "a;b\nNicolò;Zoë\n".as_bytes();
        let s = sniff(|| Ok(OneByte(file))).unwrap();
        assert_eq!(s.encoding, UTF_8);
    }
}
