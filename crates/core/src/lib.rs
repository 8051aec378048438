//! The Leadgate domain core: contacts, companies, events, lifecycle, scoring and qualification as
//! plain data and pure functions. Nothing here performs I/O, reads the clock or draws random
//! numbers: time (`now`) and ids are parameters, so every rule is testable exhaustively and every
//! score explainable exactly. Storage, HTTP and the CLI are adapters around this crate.

pub mod access;
pub mod analytics;
pub mod company;
pub mod contact;
pub mod custom_field;
pub mod email;
pub mod event;
pub mod filter;
pub mod form;
pub mod handoff;
pub mod ids;
pub mod import;
pub mod lifecycle;
pub mod nurture;
pub mod patch;
pub mod pipeline;
pub mod privacy;
pub mod qualification;
pub mod scoring;
pub mod text;
pub mod user;
pub mod validation;
