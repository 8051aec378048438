//! Deals (opportunities): what a company may buy, and how far it got. Kept as history for now
//! (imported from another CRM), the ground truth of conversions for prediction.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{CompanyId, ContactId};

/// A deal's stage (DESIGN §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DealStage {
    Awareness,
    FirstContact,
    Qualification,
    Proposal,
    Negotiation,
    /// Signed.
    Won,
    Lost,
}

impl DealStage {
    pub const ALL: [DealStage; 7] = [
        DealStage::Awareness,
        DealStage::FirstContact,
        DealStage::Qualification,
        DealStage::Proposal,
        DealStage::Negotiation,
        DealStage::Won,
        DealStage::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DealStage::Awareness => "awareness",
            DealStage::FirstContact => "first_contact",
            DealStage::Qualification => "qualification",
            DealStage::Proposal => "proposal",
            DealStage::Negotiation => "negotiation",
            DealStage::Won => "won",
            DealStage::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<DealStage> {
        DealStage::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Reads the stage names other CRMs export: ours, and common ones (`Prospecting`,
    /// `Engaging`, `Closed Won`, `Signature`…).
    pub fn from_export(s: &str) -> Option<DealStage> {
        let k = crate::import::field_key(s);
        if let Some(d) = DealStage::parse(&k) {
            return Some(d);
        }
        Some(match k.as_str() {
            "prospecting" | "prospect" | "lead" | "new" => DealStage::FirstContact,
            "engaging" | "engaged" | "discovery" | "qualified" => DealStage::Qualification,
            "tailored_proposal" | "proposal_price_quote" | "quote" | "devis" => DealStage::Proposal,
            "negociation" => DealStage::Negotiation,
            "closed_won" | "signature" | "signed" | "gagne" => DealStage::Won,
            "closed_lost" | "perdu" => DealStage::Lost,
            _ => return None,
        })
    }

    pub fn is_closed(self) -> bool {
        matches!(self, DealStage::Won | DealStage::Lost)
    }
}

/// A deal as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deal {
    pub id: uuid::Uuid,
    pub external_id: Option<String>,
    pub company_id: Option<CompanyId>,
    pub contact_id: Option<ContactId>,
    pub stage: DealStage,
    /// The sales rep in charge, by name (as the source system knew them).
    pub owner: Option<String>,
    pub product: Option<String>,
    pub value: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub engaged_on: Option<Date>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub closed_on: Option<Date>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom: Map<String, Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_stage_names_are_read() {
        assert_eq!(DealStage::from_export("Prospecting"), Some(DealStage::FirstContact));
        assert_eq!(DealStage::from_export("Engaging"), Some(DealStage::Qualification));
        assert_eq!(DealStage::from_export("Won"), Some(DealStage::Won));
        assert_eq!(DealStage::from_export("Closed Lost"), Some(DealStage::Lost));
        assert_eq!(DealStage::from_export("first_contact"), Some(DealStage::FirstContact));
        assert_eq!(DealStage::from_export("maybe"), None);
    }
}
