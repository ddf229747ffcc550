//! Local accounts and authentication: password + TOTP login, recovery codes, password reset,
//! roles and the single role → permission table.

pub mod handlers;
pub mod model;
pub mod password;
pub(crate) mod repo;
pub mod service;
pub mod totp;
pub mod views;

pub use model::{Decision, Permission, Principal, Role};
pub use repo::UserRow;
pub use service::{CurrentUser, current_user};
