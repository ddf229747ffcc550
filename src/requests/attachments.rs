//! Attachments of the messages to and from the secretariat: PDF, JPEG or PNG, at most 10 MB each,
//! recognised by their content (the name and the browser's content type are not trusted) and stored
//! with their SHA-256. Pure.

use sha2::{Digest, Sha256};

use crate::error::FieldError;
use crate::web::multipart::Upload;

pub const MAX_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_PER_MESSAGE: usize = 5;
const MAX_NAME: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Jpeg,
    Png,
}

impl FileType {
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
        }
    }

    fn label(self) -> &'static str {
        match self {
            FileType::Pdf => "PDF",
            FileType::Jpeg => "JPEG",
            FileType::Png => "PNG",
        }
    }

    /// What the content is, by its magic numbers.
    pub fn sniff(bytes: &[u8]) -> Option<FileType> {
        match infer::get(bytes)?.mime_type() {
            "application/pdf" => Some(FileType::Pdf),
            "image/jpeg" => Some(FileType::Jpeg),
            "image/png" => Some(FileType::Png),
            _ => None,
        }
    }

    /// What the file name claims.
    fn from_extension(name: &str) -> Option<FileType> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "pdf" => Some(FileType::Pdf),
            "jpg" | "jpeg" => Some(FileType::Jpeg),
            "png" => Some(FileType::Png),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Checked {
    pub file_name: String,
    pub file_type: FileType,
    pub sha256: [u8; 32],
    pub bytes: Vec<u8>,
}

/// The last component of the name the browser sent (some send a whole Windows path), without
/// control characters, shortened to fit.
fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().count() <= MAX_NAME {
        return cleaned.to_string();
    }
    let ext = cleaned.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    let keep = MAX_NAME - ext.chars().count() - 1;
    format!("{}.{ext}", cleaned.chars().take(keep).collect::<String>())
}

fn mb(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / 1_048_576.0).replace('.', ",")
}

pub fn check(field: &'static str, uploads: &[&Upload]) -> Result<Vec<Checked>, Vec<FieldError>> {
    let mut errors = vec![];
    if uploads.len() > MAX_PER_MESSAGE {
        errors.push(FieldError::new(
            field,
            format!("Puoi allegare al massimo {MAX_PER_MESSAGE} file a un messaggio."),
        ));
    }
    let mut out = vec![];
    for upload in uploads {
        let name = clean_name(&upload.file_name);
        let shown = if name.is_empty() {
            "senza nome".to_string()
        } else {
            name.clone()
        };
        if upload.bytes.is_empty() {
            errors.push(FieldError::new(field, format!("Il file «{shown}» è vuoto.")));
            continue;
        }
        if upload.bytes.len() > MAX_BYTES {
            errors.push(FieldError::new(
                field,
                format!(
                    "Il file «{shown}» è troppo grande ({} MB): il massimo è 10 MB.",
                    mb(upload.bytes.len())
                ),
            ));
            continue;
        }
        let Some(file_type) = FileType::sniff(&upload.bytes) else {
            errors.push(FieldError::new(
                field,
                format!(
                    "Il file «{shown}» non è un PDF, un JPEG o un PNG: sono ammessi solo questi formati."
                ),
            ));
            continue;
        };
        match FileType::from_extension(&name) {
            Some(claimed) if claimed == file_type => {}
            Some(claimed) => {
                errors.push(FieldError::new(
                    field,
                    format!(
                        "Il file «{shown}» ha l'estensione di un {} ma il contenuto è un {}: scegli il file giusto o rinominalo.",
                        claimed.label(),
                        file_type.label()
                    ),
                ));
                continue;
            }
            None => {
                errors.push(FieldError::new(
                    field,
                    format!("Il file «{shown}» deve avere estensione .pdf, .jpg o .png."),
                ));
                continue;
            }
        }
        out.push(Checked {
            file_name: name,
            file_type,
            sha256: Sha256::digest(&upload.bytes).into(),
            bytes: upload.bytes.clone(),
        });
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
    ];
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0];

    fn up(name: &str, bytes: &[u8]) -> Upload {
        Upload {
            field: "files".into(),
            file_name: name.into(),
            bytes: bytes.to_vec(),
        }
    }

    fn one(name: &str, bytes: &[u8]) -> Result<Checked, String> {
        let u = up(name, bytes);
        check("files", &[&u])
            .map(|mut v| v.remove(0))
            .map_err(|e| e[0].message.clone())
    }

    #[test]
    fn accepts_pdf_jpeg_png_by_content_and_name() {
        assert_eq!(one("domanda.PDF", PDF).map(|c| c.file_type), Ok(FileType::Pdf));
        assert_eq!(one("foto.jpeg", JPEG).map(|c| c.file_type), Ok(FileType::Jpeg));
        assert_eq!(one("scansione.png", PNG).map(|c| c.file_type), Ok(FileType::Png));
        let c = one(r"C:\Documenti\ricevuta.pdf", PDF);
        assert_eq!(c.as_ref().map(|c| c.file_name.as_str()), Ok("ricevuta.pdf"));
        assert_eq!(
            c.map(|c| hex::encode(c.sha256)),
            Ok(hex::encode(Sha256::digest(PDF)))
        );
    }

    #[test]
    fn refuses_what_is_not_what_it_claims() {
        let m = one("foto.jpg", PDF).unwrap_err();
        assert!(
            m.contains("«foto.jpg»") && m.contains("JPEG") && m.contains("PDF"),
            "{m}"
        );
        let m = one("virus.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00").unwrap_err();
        assert!(m.contains("non è un PDF, un JPEG o un PNG"), "{m}");
        let m = one("note.txt", b"solo testo").unwrap_err();
        assert!(m.contains("non è un PDF"), "{m}");
        let m = one("senza-estensione", PDF).unwrap_err();
        assert!(m.contains("estensione"), "{m}");
        let m = one("vuoto.pdf", b"").unwrap_err();
        assert!(m.contains("vuoto"), "{m}");
    }

    #[test]
    fn refuses_more_than_ten_megabytes_and_too_many_files() {
        let mut big = PDF.to_vec();
        big.resize(MAX_BYTES + 1, b' ');
        let m = one("grande.pdf", &big).unwrap_err();
        assert!(m.contains("troppo grande (10,0 MB)"), "{m}");
        let mut exact = PDF.to_vec();
        exact.resize(MAX_BYTES, b' ');
        assert!(one("giusto.pdf", &exact).is_ok());
        let files: Vec<Upload> = (0..6).map(|i| up(&format!("f{i}.pdf"), PDF)).collect();
        let refs: Vec<&Upload> = files.iter().collect();
        let errors = check("files", &refs).unwrap_err();
        assert!(errors[0].message.contains("al massimo 5 file"));
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("../../etc/passwd.pdf"), "passwd.pdf");
        assert_eq!(clean_name("a\u{0}b\r\n.pdf"), "ab.pdf");
        let long = format!("{}.pdf", "x".repeat(300));
        let cleaned = clean_name(&long);
        assert_eq!(cleaned.chars().count(), MAX_NAME);
        assert!(cleaned.ends_with(".pdf"));
    }
}
