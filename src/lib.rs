//! keyhound: a fast secret-leak scanner.
//!
//! The library is organised as the pipeline it runs:
//! [`source`]s yield bytes with an origin, the [`engine`] turns bytes into
//! matches using the [`rules`], matches become [`finding::Finding`]s, and
//! [`report`] writes them in the chosen format.

#![forbid(unsafe_code)]

pub mod baseline;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod doctor;
pub mod engine;
pub mod finding;
pub mod private_file;
pub mod provenance;
pub mod redact;
pub mod report;
pub mod rotate;
pub mod rules;
pub mod source;
pub mod stats;
pub mod store;
pub mod verify;
