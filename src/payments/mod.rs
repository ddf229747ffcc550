//! pagoPA payments: payment positions (annual fee, registration fee, stamp duty, other fees) with
//! their IUV and notice code, payment notices and receipts as documents, the connector to the
//! order's intermediary (a reconciliation file first), arrears.

pub mod handlers;
pub mod pagopa;
pub mod reconcile;
mod repo;
pub mod service;
mod views;

pub use repo::PositionRow;
pub use service::{Kind, NewPosition};
