//! One row of a file, through the plan, into a record to store — or into the reasons to reject
//! it, one per cell at fault, with the line, the column and the value, for the rejects report.

use serde_json::{Map, Value};

use crate::company::CompanyDraft;
use crate::contact::ContactDraft;
use crate::custom_field::{FieldType, MAX_TEXT_CHARS};
use crate::import::infer::{parse_boolean, parse_date, parse_number};
use crate::import::plan::{Entity, ImportPlan, Target};
use crate::lifecycle::LifecycleStage;
use crate::pipeline::DealStage;

/// Why (part of) a row was refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reject {
    /// Line in the file (1 is the header).
    pub line: u64,
    /// The column at fault, or empty when the whole row is.
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// A contact to create or merge.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRow {
    pub draft: ContactDraft,
    /// The company's name, to find or create.
    pub company: Option<String>,
    /// Whether the contact converted, when the file says.
    pub outcome: Option<bool>,
}

/// A company to create or merge.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanyRow {
    pub draft: CompanyDraft,
}

/// A deal to create or merge.
#[derive(Debug, Clone, PartialEq)]
pub struct DealRow {
    pub external_id: String,
    /// The account's name.
    pub company: Option<String>,
    pub stage: DealStage,
    pub owner: Option<String>,
    pub product: Option<String>,
    pub value: Option<f64>,
    pub engaged_on: Option<jiff::civil::Date>,
    pub closed_on: Option<jiff::civil::Date>,
    pub custom: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MappedRow {
    Contact(ContactRow),
    Company(CompanyRow),
    Deal(DealRow),
}

/// The longest cell accepted: a mis-quoted file glues thousands of lines into one cell.
pub const MAX_CELL_BYTES: usize = 64 * 1024;

impl ImportPlan {
    /// Maps the fields of line `line`.
    pub fn map_row(&self, fields: &[&str], line: u64) -> Result<MappedRow, Vec<Reject>> {
        let mut rejects = Vec::new();
        let reject = |rejects: &mut Vec<Reject>, column: &str, value: &str, reason: String| {
            rejects.push(Reject {
                line,
                column: column.to_string(),
                value: value.chars().take(200).collect(),
                reason,
            })
        };
        if fields.len() != self.width {
            reject(
                &mut rejects,
                "",
                "",
                format!(
                    "has {} fields where the header has {}; check for a missing or extra separator, or an unclosed quote",
                    fields.len(),
                    self.width
                ),
            );
            return Err(rejects);
        }
        let mut contact = ContactDraft::default();
        let mut company_draft = CompanyDraft::default();
        let mut custom = Map::new();
        let mut company_name = None;
        let mut outcome = None;
        let mut deal_external = None;
        let mut stage = None;
        let (mut owner, mut product, mut value, mut engaged_on, mut closed_on) =
            (None, None, None, None, None);
        for column in &self.columns {
            let raw = fields[column.index];
            if raw.len() > MAX_CELL_BYTES {
                reject(
                    &mut rejects,
                    &column.header,
                    "",
                    format!("is longer than {} KiB; is a quote left open?", MAX_CELL_BYTES / 1024),
                );
                continue;
            }
            if self.is_missing(raw) || matches!(column.target, Target::Ignore) {
                continue;
            }
            let v = raw.trim().to_string();
            let header = column.header.as_str();
            match &column.target {
                Target::Email => contact.email = Some(v),
                Target::FirstName => contact.first_name = Some(v),
                Target::LastName => contact.last_name = Some(v),
                Target::FullName => match v.split_once(' ') {
                    Some((first, last)) => {
                        contact.first_name = Some(first.to_string());
                        contact.last_name = Some(last.trim().to_string());
                    }
                    None => contact.last_name = Some(v),
                },
                Target::Phone => contact.phone = Some(v),
                Target::JobTitle => contact.job_title = Some(v),
                Target::Country => {
                    contact.country = Some(v.clone());
                    company_draft.country = Some(v);
                }
                Target::City => contact.city = Some(v),
                Target::ExternalId => {
                    contact.external_id = Some(v.clone());
                    company_draft.external_id = Some(v.clone());
                    deal_external = Some(v);
                }
                Target::Source => contact.source = Some(v),
                Target::Campaign => contact.campaign = Some(v),
                Target::Company => company_name = Some(v),
                Target::DoNotEmail | Target::DoNotCall => match parse_boolean(&v) {
                    Some(b) if matches!(column.target, Target::DoNotEmail) => contact.do_not_email = Some(b),
                    Some(b) => contact.do_not_call = Some(b),
                    None => reject(&mut rejects, header, &v, "must be yes or no (Yes/No, true/false, 1/0)".into()),
                },
                Target::Outcome { positive } => outcome = Some(v.eq_ignore_ascii_case(positive.trim())),
                Target::Name => company_draft.name = v,
                Target::Domain => company_draft.domain = Some(v),
                Target::Sector => company_draft.sector = Some(v),
                Target::Employees => match parse_number(&v) {
                    Some(n) if n.fract() == 0.0 => company_draft.employees = Some(n as i64),
                    _ => reject(&mut rejects, header, &v, "must be a whole number of employees".into()),
                },
                Target::AnnualRevenue { multiplier } => match parse_number(&v) {
                    Some(n) => company_draft.annual_revenue = Some(n * multiplier),
                    None => reject(&mut rejects, header, &v, "must be a number".into()),
                },
                Target::Stage => match DealStage::from_export(&v) {
                    Some(s) => stage = Some(s),
                    None => reject(
                        &mut rejects,
                        header,
                        &v,
                        "is not a deal stage: name one of the pipeline's stages (e.g. qualification, won or lost)"
                            .into(),
                    ),
                },
                Target::Owner => owner = Some(v),
                Target::Product => product = Some(v),
                Target::Value => match parse_number(&v) {
                    Some(n) => value = Some(n),
                    None => reject(&mut rejects, header, &v, "must be a number".into()),
                },
                Target::EngagedOn | Target::ClosedOn => match parse_date(&v) {
                    Some(d) if matches!(column.target, Target::EngagedOn) => engaged_on = Some(d),
                    Some(d) => closed_on = Some(d),
                    None => reject(&mut rejects, header, &v, "must be a date (YYYY-MM-DD or DD/MM/YYYY)".into()),
                },
                Target::Custom { key, field_type } => match typed(&v, *field_type) {
                    Ok(value) => {
                        custom.insert(key.clone(), value);
                    }
                    Err(reason) => reject(&mut rejects, header, &v, reason),
                },
                Target::Ignore => {}
            }
        }
        if !rejects.is_empty() {
            return Err(rejects);
        }
        let column_of = |field: &str| -> String {
            self.columns
                .iter()
                .find(|c| c.target.name() == field || (field == "first_name" && c.target == Target::FullName))
                .map_or(String::new(), |c| c.header.clone())
        };
        let value_of = |column: &str| -> String {
            self.columns
                .iter()
                .find(|c| c.header == column)
                .map_or(String::new(), |c| fields[c.index].trim().chars().take(200).collect())
        };
        match self.entity {
            Entity::Contacts => {
                if outcome == Some(true) {
                    // The file says this person bought: a customer from the start.
                    contact.lifecycle_stage = Some(LifecycleStage::Customer);
                }
                contact.custom = (!custom.is_empty()).then_some(custom);
                // Validate now, so the report names the column rather than the field.
                if let Err(errors) = contact.clone().validate() {
                    return Err(errors
                        .errors
                        .into_iter()
                        .map(|e| {
                            let column = column_of(&e.field);
                            Reject { line, value: value_of(&column), column, reason: e.message }
                        })
                        .collect());
                }
                Ok(MappedRow::Contact(ContactRow { draft: contact, company: company_name, outcome }))
            }
            Entity::Companies => {
                company_draft.custom = (!custom.is_empty()).then_some(custom);
                if let Err(errors) = company_draft.clone().validate() {
                    return Err(errors
                        .errors
                        .into_iter()
                        .map(|e| {
                            let column = column_of(&e.field);
                            Reject { line, value: value_of(&column), column, reason: e.message }
                        })
                        .collect());
                }
                Ok(MappedRow::Company(CompanyRow { draft: company_draft }))
            }
            Entity::Deals => {
                let Some(external_id) = deal_external else {
                    return Err(vec![Reject {
                        line,
                        column: column_of("external_id"),
                        value: String::new(),
                        reason: "the deal has no id".into(),
                    }]);
                };
                let Some(stage) = stage else {
                    return Err(vec![Reject {
                        line,
                        column: column_of("stage"),
                        value: String::new(),
                        reason: "the deal has no stage".into(),
                    }]);
                };
                Ok(MappedRow::Deal(DealRow {
                    external_id,
                    company: company_name,
                    stage,
                    owner,
                    product,
                    value,
                    engaged_on,
                    closed_on,
                    custom,
                }))
            }
        }
    }
}

/// A cell as the JSON value of a custom field of `field_type`.
fn typed(v: &str, field_type: FieldType) -> Result<Value, String> {
    match field_type {
        FieldType::Text | FieldType::Choice => {
            if v.chars().count() > MAX_TEXT_CHARS {
                Err(format!("is longer than {MAX_TEXT_CHARS} characters"))
            } else {
                Ok(Value::String(v.to_string()))
            }
        }
        FieldType::Number => {
            parse_number(v).and_then(serde_json::Number::from_f64).map(Value::Number).ok_or_else(|| {
                "is not a number; the column was typed as a number (override with --type <column>=text)"
                    .to_string()
            })
        }
        FieldType::Boolean => parse_boolean(v).map(Value::Bool).ok_or_else(|| {
            "is not yes or no; the column was typed as yes/no (override with --type <column>=text)"
                .to_string()
        }),
        FieldType::Date => parse_date(v).map(|d| Value::String(d.to_string())).ok_or_else(|| {
            "is not a date; the column was typed as a date (override with --type <column>=text)".to_string()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{ImportOptions, TypeInference};

    fn plan(headers: &[&str], options: ImportOptions, entity: Entity) -> ImportPlan {
        let h: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let mut inferred = vec![TypeInference::default(); h.len()];
        inferred[h.len() - 1].observe("12");
        ImportPlan::build(entity, &h, &options, &inferred, "t.csv").unwrap()
    }

    #[test]
    fn a_good_row_becomes_a_contact() {
        let p = plan(
            &["Email", "Name", "Do Not Email", "Company", "Visits"],
            ImportOptions::default(),
            Entity::Contacts,
        );
        let row = p.map_row(&["ada@x.example", "Ada Lovelace", "Yes", "Acme", "12"], 2).unwrap();
        let MappedRow::Contact(c) = row else { panic!() };
        assert_eq!(c.draft.first_name.as_deref(), Some("Ada"));
        assert_eq!(c.draft.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(c.draft.do_not_email, Some(true));
        assert_eq!(c.company.as_deref(), Some("Acme"));
        assert_eq!(c.draft.custom.unwrap()["visits"], serde_json::json!(12.0));
    }

    #[test]
    fn every_bad_cell_is_reported_with_line_column_value_and_reason() {
        let p = plan(&["Email", "Do Not Email", "Visits"], ImportOptions::default(), Entity::Contacts);
        let err = p.map_row(&["ada@x.example", "perhaps", "many"], 7).unwrap_err();
        assert_eq!(err.len(), 2);
        assert_eq!(
            (err[0].line, err[0].column.as_str(), err[0].value.as_str()),
            (7, "Do Not Email", "perhaps")
        );
        assert_eq!(err[1].column, "Visits");
        let err = p.map_row(&["not-an-email", "No", "1"], 8).unwrap_err();
        assert_eq!((err[0].column.as_str(), err[0].value.as_str()), ("Email", "not-an-email"));
        let err = p.map_row(&["a@x.example", "No"], 9).unwrap_err();
        assert!(err[0].reason.contains("has 2 fields where the header has 3"));
        let huge = "x".repeat(MAX_CELL_BYTES + 1);
        let err = p.map_row(&["a@x.example", "No", &huge], 10).unwrap_err();
        assert!(err[0].reason.contains("quote left open"));
    }

    #[test]
    fn placeholders_are_missing_and_outcomes_make_customers() {
        let options = ImportOptions {
            missing: vec!["Select".into()],
            outcome: Some(("Converted".into(), "1".into())),
            maps: vec![("external_id".into(), "Id".into())],
            ..Default::default()
        };
        let p = plan(&["Id", "City", "Converted", "Score"], options, Entity::Contacts);
        let MappedRow::Contact(c) = p.map_row(&["p-1", "Select", "1", "3"], 2).unwrap() else { panic!() };
        assert_eq!(c.draft.city, None);
        assert_eq!(c.outcome, Some(true));
        assert_eq!(c.draft.lifecycle_stage, Some(LifecycleStage::Customer));
        let MappedRow::Contact(c) = p.map_row(&["p-2", "Paris", "0", "3"], 3).unwrap() else { panic!() };
        assert_eq!(c.outcome, Some(false));
        assert_eq!(c.draft.lifecycle_stage, None);
    }

    #[test]
    fn deals_and_companies_map_too() {
        let options = ImportOptions { preset: Some("maven-crm".into()), ..Default::default() };
        let h = [
            "opportunity_id",
            "sales_agent",
            "product",
            "account",
            "deal_stage",
            "engage_date",
            "close_date",
            "close_value",
        ];
        let p = plan(&h, options.clone(), Entity::Deals);
        let MappedRow::Deal(d) = p
            .map_row(
                &[
                    "1C1I7A6R",
                    "Moses Frase",
                    "GTX Plus Basic",
                    "Cancity",
                    "Won",
                    "2016-10-20",
                    "2017-03-01",
                    "1054",
                ],
                2,
            )
            .unwrap()
        else {
            panic!()
        };
        assert_eq!((d.stage, d.value, d.company.as_deref()), (DealStage::WON, Some(1054.0), Some("Cancity")));
        assert_eq!(d.closed_on.unwrap().to_string(), "2017-03-01");
        let h = [
            "account",
            "sector",
            "year_established",
            "revenue",
            "employees",
            "office_location",
            "subsidiary_of",
        ];
        let p = plan(&h, options, Entity::Companies);
        let MappedRow::Company(c) = p
            .map_row(&["Acme Corporation", "technolgy", "1996", "1100.04", "2822", "United States", ""], 2)
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(c.draft.annual_revenue, Some(1_100_040_000.0));
        assert_eq!(c.draft.country.as_deref(), Some("United States"));
    }
}
