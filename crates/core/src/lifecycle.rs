//! Lifecycle stages (DESIGN §3): where a contact stands between first visit and purchase.
//! `visitor → lead → MQL → SQL (prospect) → opportunity → customer`, with the side states
//! `nurturing`, `disqualified` and `intermediary`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A contact's stage in the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// An anonymous browser, known only by its cookie; becomes a lead when it identifies itself.
    Visitor,
    /// Showed interest (a form, a download, a request) and is not qualified yet.
    Lead,
    /// Marketing-qualified: met marketing's fit and engagement thresholds.
    Mql,
    /// Sales-qualified: sales accepted it and the qualification checklist is complete. A prospect.
    Sql,
    /// A deal is open with this contact.
    Opportunity,
    /// Has bought at least once.
    Customer,
    /// Not ready: back with marketing, being nurtured.
    Nurturing,
    /// Failed a knock-out or fell below the floor; kept with the reason, can come back.
    Disqualified,
    /// Works at a target company but lacks buying authority: never a prospect by itself.
    Intermediary,
}

impl LifecycleStage {
    pub const ALL: [LifecycleStage; 9] = [
        LifecycleStage::Visitor,
        LifecycleStage::Lead,
        LifecycleStage::Mql,
        LifecycleStage::Sql,
        LifecycleStage::Opportunity,
        LifecycleStage::Customer,
        LifecycleStage::Nurturing,
        LifecycleStage::Disqualified,
        LifecycleStage::Intermediary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Visitor => "visitor",
            LifecycleStage::Lead => "lead",
            LifecycleStage::Mql => "mql",
            LifecycleStage::Sql => "sql",
            LifecycleStage::Opportunity => "opportunity",
            LifecycleStage::Customer => "customer",
            LifecycleStage::Nurturing => "nurturing",
            LifecycleStage::Disqualified => "disqualified",
            LifecycleStage::Intermediary => "intermediary",
        }
    }

    pub fn parse(s: &str) -> Option<LifecycleStage> {
        LifecycleStage::ALL.into_iter().find(|stage| stage.as_str() == s)
    }
}

impl fmt::Display for LifecycleStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_round_trips_through_its_name() {
        for stage in LifecycleStage::ALL {
            assert_eq!(LifecycleStage::parse(stage.as_str()), Some(stage));
            let json = serde_json::to_string(&stage).unwrap();
            assert_eq!(json, format!("\"{}\"", stage.as_str()));
        }
        assert_eq!(LifecycleStage::parse("MQL"), None);
    }
}
