//! The order's accounting ledger (contabilità finanziaria, seed 004 and SPEC §6). This first part holds
//! the rules every operation will go through (`rules`, pure) and the amount in Italian words of the
//! receipts (`words`); the chart, budget, operations and reports build on them.

pub mod closing;
pub mod operations;
pub mod petty_cash;
pub mod receipts;
mod repo;
pub mod rules;
pub mod service;
pub mod words;
