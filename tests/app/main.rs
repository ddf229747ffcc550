//! The integration-test binary: HTTP behaviour of the whole app against a real PostgreSQL
//! (one fresh database per test, from DATABASE_URL; `scripts/test` provides it).

mod helpers;

mod audit;
mod cli;
mod cns;
mod documents;
mod errors;
mod import;
mod ledger;
mod ledger_controls;
mod ledger_journal;
mod ledger_operations;
mod ledger_pages;
mod login;
mod mail;
mod members;
mod messages;
mod oidc;
mod ops;
mod payments;
mod protocol;
mod protocol_numbers;
mod requests;
mod routes;
mod segnatura;
mod session;
mod spid;
mod video;
mod video_requests;

/// The text of a PDF, by poppler's pdftotext (installed by scripts/test).
pub fn pdf_text(pdf: &[u8]) -> String {
    keep_pdf(pdf);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap_or_default(), "-"])
        .output()
        .expect("pdftotext: install poppler-utils (scripts/test does)");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The QR codes printed in a PDF, decoded by a real decoder: the pages rasterised by poppler's
/// pdftoppm, read by zbar's zbarimg (both installed by scripts/test).
pub fn pdf_qr_codes(pdf: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let prefix = dir.path().join("page");
    let out = std::process::Command::new("pdftoppm")
        .args([
            "-r",
            "200",
            "-png",
            path.to_str().unwrap_or_default(),
            prefix.to_str().unwrap_or_default(),
        ])
        .output()
        .expect("pdftoppm: install poppler-utils");
    assert!(out.status.success(), "pdftoppm failed");
    let mut codes = vec![];
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    pages.sort();
    for page in pages {
        let out = std::process::Command::new("zbarimg")
            .args([
                "--raw",
                "-q",
                "-Sdisable",
                "-Sqrcode.enable",
                page.to_str().unwrap_or_default(),
            ])
            .output()
            .expect("zbarimg: install zbar-tools (scripts/test does)");
        codes.extend(String::from_utf8_lossy(&out.stdout).lines().map(str::to_string));
    }
    codes
}

/// With `ORDO_TEST_PDF_DIR` set, the PDFs the tests read are kept there to look at.
fn keep_pdf(pdf: &[u8]) {
    if let Ok(dir) = std::env::var("ORDO_TEST_PDF_DIR") {
        let name = format!(
            "{:016x}.pdf",
            pdf.iter()
                .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(*b)))
        );
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(std::path::Path::new(&dir).join(name), pdf);
    }
}
