//! Integration tests of leadgate-model: one binary (one link on a 2-core CI), one module per
//! promise the crate makes. Tests on the real X Education file read it from
//! `../shared/datasets` beside the project root and skip, saying so, only when that folder
//! is absent; a missing or damaged file inside it fails.

mod contacts;
mod errors;
mod explanations;
mod leads;
mod leads_csv;
mod metrics;
mod persistence;
