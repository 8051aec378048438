//! The pipeline (DESIGN §9): deals (opportunities) move through the team's open stages — by
//! default the reference sales process's awareness, first contact, qualification, tailored
//! proposal, negotiation — to won (signature) or lost (with a reason). Every change of stage is a recorded
//! [`StageChange`]; moving a deal back adds a change, it never rewrites one. Deals drive their
//! contacts' lifecycle (`crate::lifecycle::stage_after_deal`): opening one makes an SQL an
//! opportunity, winning it makes the buyers customers.

pub mod deal;
pub mod settings;

pub use deal::*;
pub use settings::{MAX_STAGES, PipelineSettings, StageSetting};
