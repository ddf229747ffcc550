//! The order's accounting ledger (contabilità finanziaria, seed 004 and SPEC §6): the rules every
//! operation goes through (`rules`, pure), years, chapters, budget and impegni (`service`), the
//! operations after them (`operations`), petty cash, the year's closing, receipts with the amount in
//! words, the rendiconto (`report`, also `ordo ledger report`), the controls around the impegno
//! (`controls`), and the pages (`handlers`, `views`, `analysis` for what they show).

pub mod analysis;
pub mod cli;
pub mod closing;
pub mod commitments;
pub mod controls;
pub mod exports;
pub mod handlers;
pub mod journal;
pub mod manage;
pub mod operations;
pub mod petty_cash;
pub mod receipts;
mod repo;
pub mod report;
pub mod rules;
pub mod service;
pub mod views;
pub mod words;
