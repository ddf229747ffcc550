//! Pratiche: one workflow (submitted → in review → approved / rejected → closed) for every request a
//! member makes; each kind says what approval does to the register.

pub mod attachments;
pub mod enrolment;
pub mod handlers;
pub mod model;
mod repo;
pub mod service;
mod views;
