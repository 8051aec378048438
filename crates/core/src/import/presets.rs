//! Saved mappings for files Leadgate knows, so a newcomer loads real data in one command:
//! `leadgate import contacts Leads.csv --preset x-education`, and the Maven CRM sample
//! (`--preset maven-crm` for companies and deals). Columns a preset does not name are imported
//! as custom fields of their inferred type.

use crate::import::plan::{Entity, Target};

/// A saved mapping.
pub struct Preset {
    pub name: &'static str,
    pub columns: Vec<(&'static str, Target)>,
    /// Placeholder values meaning "no value".
    pub missing: Vec<&'static str>,
    /// The built-in scoring rules made for this file's fields (`ScoringRules::preset`), if any:
    /// without them its leads are scored by rules that read none of its columns.
    pub scoring: Option<&'static str>,
}

/// The presets of an entity.
pub fn names(entity: Entity) -> Vec<&'static str> {
    match entity {
        Entity::Contacts => vec!["x-education"],
        Entity::Companies | Entity::Deals => vec!["maven-crm"],
    }
}

pub fn preset(name: &str, entity: Entity) -> Option<Preset> {
    let p = match (name, entity) {
        // ../shared/datasets/x-education/Leads.csv: 9,240 leads of an online-course company.
        // `Select` is what the form stored when the person left a drop-down untouched.
        ("x-education", Entity::Contacts) => Preset {
            name: "x-education",
            columns: vec![
                ("Prospect ID", Target::ExternalId),
                ("Lead Source", Target::Source),
                ("Do Not Email", Target::DoNotEmail),
                ("Do Not Call", Target::DoNotCall),
                ("Converted", Target::Outcome { positive: "1".into() }),
                ("Country", Target::Country),
                ("City", Target::City),
            ],
            missing: vec!["Select"],
            scoring: Some("x-education"),
        },
        // ../shared/datasets/maven-crm/accounts.csv: revenue is in millions of dollars.
        ("maven-crm", Entity::Companies) => Preset {
            name: "maven-crm",
            columns: vec![
                ("account", Target::Name),
                ("sector", Target::Sector),
                ("revenue", Target::AnnualRevenue { multiplier: 1_000_000.0 }),
                ("employees", Target::Employees),
                ("office_location", Target::Country),
            ],
            missing: vec![],
            scoring: None,
        },
        // ../shared/datasets/maven-crm/sales_pipeline.csv: one opportunity per row.
        ("maven-crm", Entity::Deals) => Preset {
            name: "maven-crm",
            columns: vec![
                ("opportunity_id", Target::ExternalId),
                ("sales_agent", Target::Owner),
                ("product", Target::Product),
                ("account", Target::Company),
                ("deal_stage", Target::Stage),
                ("engage_date", Target::EngagedOn),
                ("close_date", Target::ClosedOn),
                ("close_value", Target::Value),
            ],
            missing: vec![],
            scoring: None,
        },
        _ => return None,
    };
    Some(p)
}
