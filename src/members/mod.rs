//! The register of members (Albo): members, their status history, the public Albo, the back office
//! and the member portal.

pub mod cf;
pub mod demo_people;
pub mod handlers;
pub mod import;
pub mod model;
pub mod photo;
mod repo;
pub mod service;
mod views;

pub use repo::{ListRow, MemberData, MemberRow};
