//! keyhound's integration tests: one test binary (see STYLE.md), one module
//! per area.

mod accuracy;
mod baseline;
mod common;
mod config_compat;
mod doctor;
mod encodings;
mod fleet;
mod git_history;
mod git_hooks;
mod git_packs;
mod hosted;
mod hostile;
mod image;
mod mock_provider;
mod pre_receive;
mod properties;
mod provenance;
mod readme_ci;
mod rotate;
mod rotate_database;
mod rotate_gcp;
mod rotate_guided;
mod rotate_offline;
mod rotate_recipes;
mod rule_examples;
mod rules_import;
mod sarif_schema;
mod scan_cli;
mod scan_fixtures;
mod scan_inputs;
mod security;
mod verify;
mod verify_database;
mod verify_private_key;
