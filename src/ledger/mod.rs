//! The order's accounting ledger (contabilità finanziaria, seed 004 and SPEC §6): the rules every
//! operation goes through (`rules`, pure), years, chapters, budget and impegni (`service`), the
//! operations after them (`operations`), petty cash, the year's closing, receipts with the amount in
//! words, the rendiconto (`report`, also `ordo ledger report`). The pages come next.

pub mod cli;
pub mod closing;
pub mod journal;
pub mod operations;
pub mod petty_cash;
pub mod receipts;
mod repo;
pub mod report;
pub mod rules;
pub mod service;
pub mod words;
