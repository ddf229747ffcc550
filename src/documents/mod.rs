//! Documents ordo issues as PDF (certificates, self-certifications, membership cards, payment notices,
//! receipts): each with an unguessable verification code and a QR code to `/verifica/<code>`, the
//! public page that says whether it is authentic and still valid. Revoked, never changed.

pub mod handlers;
pub mod member_docs;
pub mod qr;
mod repo;
pub mod service;
mod views;

pub use service::{DocKind, Issued, NewDocument};
