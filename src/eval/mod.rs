//! Quality evaluations against labelled corpora: `wirefeed eval countries|topics|dedup`.
//! They read corpora from disk (see `../shared/data` in the README) and print figures.

pub mod countries;
pub mod dedup;
pub mod topics;
