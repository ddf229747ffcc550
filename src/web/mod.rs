//! Web plumbing shared by all modules: extractors, middleware, assets, error pages.

pub mod assets;
pub mod csrf;
pub mod ctx;
pub mod download;
pub mod errors;
pub mod headers;
pub mod metrics;
pub mod multipart;
pub mod session;

pub use ctx::{Ctx, Layout};
