//! The integration-test binary: HTTP behaviour of the whole app against a real PostgreSQL
//! (one fresh database per test, from DATABASE_URL; `scripts/test` provides it).

mod helpers;

mod audit;
mod cli;
mod cns;
mod errors;
mod import;
mod login;
mod mail;
mod members;
mod messages;
mod oidc;
mod ops;
mod protocol;
mod requests;
mod routes;
mod session;
mod spid;

/// The text of a PDF, by poppler's pdftotext (installed by scripts/test).
pub fn pdf_text(pdf: &[u8]) -> String {
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
