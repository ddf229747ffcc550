//! The protocol register (protocollo informatico). Every module registers through [`register`], inside
//! its own transaction: the registration, its documents and its audit entry commit or fail with the
//! change that caused them. The database numbers registrations and refuses to change them.

pub mod daily;
pub mod handlers;
pub mod legacy;
pub mod model;
pub mod registrar;
mod repo;
pub mod segnatura_xml;
pub mod service;
pub mod verify;
mod views;

pub use model::{Content, Correspondent, Direction, Document, Dossier, NewRegistration, Segnatura};
pub use repo::Inserted;
pub use service::{Pending, Registered, register};
