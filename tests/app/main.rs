//! The integration-test binary: HTTP behaviour of the whole app against a real PostgreSQL
//! (one fresh database per test, from DATABASE_URL; `scripts/test` provides it).

mod helpers;

mod audit;
mod cli;
mod errors;
mod login;
mod mail;
mod members;
mod messages;
mod ops;
mod requests;
mod routes;
mod session;
