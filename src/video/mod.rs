//! The video-access registry (SPEC §7, seed 002): systems and camera sites (Allegato A/B, imported
//! from CSV), the operators' grants (view / view and extract, granted and revoked by the manager, the
//! history kept), the access register (art. 6.5, append-only), footage requests (art. 7-9: evaluation,
//! authorisation, extraction, verbale, outcome, deletion of the files; request and verbale protocolled),
//! retention alerts, reports and the public first-level notice (Allegato C).

pub mod demo;
pub mod handlers;
pub mod import;
pub mod model;
mod repo;
pub mod report;
mod request_repo;
pub mod requests;
pub mod service;
mod verbale;
mod views;

pub use service::{retention_check, run_retention_scheduler};
