//! The import plan: for each column of the file, where its values go. Built from the headers,
//! the options the user gave (`--map`, `--preset`, `--type`, `--outcome`, `--missing`) and the
//! types inferred from the values, with errors that say what to type instead.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use crate::custom_field::FieldType;
use crate::import::field_key;
use crate::import::infer::TypeInference;
use crate::import::presets;

/// What the rows of a file become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Contacts,
    Companies,
    Deals,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Contacts => "contacts",
            Entity::Companies => "companies",
            Entity::Deals => "deals",
        }
    }

    pub fn parse(s: &str) -> Option<Entity> {
        match s {
            "contacts" | "contact" => Some(Entity::Contacts),
            "companies" | "company" => Some(Entity::Companies),
            "deals" | "deal" => Some(Entity::Deals),
            _ => None,
        }
    }
}

/// Where one column's values go.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Target {
    Email,
    FirstName,
    LastName,
    /// "Ada Lovelace": split at the first space into first and last name.
    FullName,
    Phone,
    JobTitle,
    Country,
    City,
    ExternalId,
    Source,
    Campaign,
    /// The contact's company (found or created by name), or a deal's account.
    Company,
    DoNotEmail,
    DoNotCall,
    /// Whether the contact converted (became a customer): `positive` is the value meaning yes.
    Outcome {
        positive: String,
    },
    /// A company's name.
    Name,
    Domain,
    Sector,
    Employees,
    /// Annual revenue, multiplied by `multiplier` (revenue given in millions → 1,000,000).
    AnnualRevenue {
        multiplier: f64,
    },
    /// A deal's stage.
    Stage,
    /// A deal's owner (sales agent), by name.
    Owner,
    Product,
    /// A deal's value.
    Value,
    EngagedOn,
    ClosedOn,
    /// A custom field of the entity.
    Custom {
        key: String,
        field_type: FieldType,
    },
    Ignore,
}

impl Target {
    /// The name used in `--map NAME=Column`.
    pub fn name(&self) -> String {
        match self {
            Target::Email => "email".into(),
            Target::FirstName => "first_name".into(),
            Target::LastName => "last_name".into(),
            Target::FullName => "name".into(),
            Target::Phone => "phone".into(),
            Target::JobTitle => "job_title".into(),
            Target::Country => "country".into(),
            Target::City => "city".into(),
            Target::ExternalId => "external_id".into(),
            Target::Source => "source".into(),
            Target::Campaign => "campaign".into(),
            Target::Company => "company".into(),
            Target::DoNotEmail => "do_not_email".into(),
            Target::DoNotCall => "do_not_call".into(),
            Target::Outcome { .. } => "outcome".into(),
            Target::Name => "name".into(),
            Target::Domain => "domain".into(),
            Target::Sector => "sector".into(),
            Target::Employees => "employees".into(),
            Target::AnnualRevenue { .. } => "annual_revenue".into(),
            Target::Stage => "stage".into(),
            Target::Owner => "owner".into(),
            Target::Product => "product".into(),
            Target::Value => "value".into(),
            Target::EngagedOn => "engaged_on".into(),
            Target::ClosedOn => "closed_on".into(),
            Target::Custom { key, .. } => format!("custom.{key}"),
            Target::Ignore => "ignore".into(),
        }
    }

    /// Parses a `--map` field name for `entity`.
    pub fn parse(entity: Entity, name: &str) -> Option<Target> {
        let name = name.trim();
        if name == "ignore" {
            return Some(Target::Ignore);
        }
        if let Some(key) = name.strip_prefix("custom.") {
            // The type is inferred unless `--type` says otherwise.
            return crate::custom_field::valid_key(key)
                .then(|| Target::Custom { key: key.to_string(), field_type: FieldType::Text });
        }
        let t = match (entity, name) {
            (Entity::Contacts, "email") => Target::Email,
            (Entity::Contacts, "first_name") => Target::FirstName,
            (Entity::Contacts, "last_name") => Target::LastName,
            (Entity::Contacts, "name") => Target::FullName,
            (Entity::Contacts, "phone") => Target::Phone,
            (Entity::Contacts, "job_title") => Target::JobTitle,
            (Entity::Contacts | Entity::Companies, "country") => Target::Country,
            (Entity::Contacts, "city") => Target::City,
            (_, "external_id") => Target::ExternalId,
            (Entity::Contacts, "source") => Target::Source,
            (Entity::Contacts, "campaign") => Target::Campaign,
            (Entity::Contacts | Entity::Deals, "company") => Target::Company,
            (Entity::Contacts, "do_not_email") => Target::DoNotEmail,
            (Entity::Contacts, "do_not_call") => Target::DoNotCall,
            (Entity::Companies, "name") => Target::Name,
            (Entity::Companies, "domain") => Target::Domain,
            (Entity::Companies, "sector") => Target::Sector,
            (Entity::Companies, "employees") => Target::Employees,
            (Entity::Companies, "annual_revenue") => Target::AnnualRevenue { multiplier: 1.0 },
            (Entity::Deals, "stage") => Target::Stage,
            (Entity::Deals, "owner") => Target::Owner,
            (Entity::Deals, "product") => Target::Product,
            (Entity::Deals, "value") => Target::Value,
            (Entity::Deals, "engaged_on") => Target::EngagedOn,
            (Entity::Deals, "closed_on") => Target::ClosedOn,
            _ => return None,
        };
        Some(t)
    }

    fn field_names(entity: Entity) -> &'static str {
        match entity {
            Entity::Contacts => {
                "email, first_name, last_name, name, phone, job_title, country, city, external_id, source, campaign, \
                 company, do_not_email, do_not_call, custom.<key>, ignore"
            }
            Entity::Companies => {
                "name, domain, sector, employees, annual_revenue, country, external_id, custom.<key>, ignore"
            }
            Entity::Deals => {
                "external_id, company, stage, owner, product, value, engaged_on, closed_on, custom.<key>, ignore"
            }
        }
    }
}

/// One column of the file and where it goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnPlan {
    /// Position in the row (0-based).
    pub index: usize,
    pub header: String,
    #[serde(flatten)]
    pub target: Target,
    /// How the target was chosen: `preset`, `--map`, `header` (recognised), `inferred` (custom).
    pub chosen_by: &'static str,
}

/// What the user asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportOptions {
    /// `--map field=Column`, in order.
    pub maps: Vec<(String, String)>,
    /// `--preset NAME`.
    pub preset: Option<String>,
    /// `--type Column=type` (text, number, boolean, date, choice).
    pub types: Vec<(String, String)>,
    /// `--outcome Column=value`: the column telling whether the contact converted.
    pub outcome: Option<(String, String)>,
    /// `--missing VALUE`: placeholder values meaning "no value" (e.g. `Select`).
    pub missing: Vec<String>,
    /// `--overwrite`: a row's values replace stored ones even where they changed in Leadgate
    /// since the last import (see `import::merge`).
    pub overwrite: bool,
}

/// The plan of a whole file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportPlan {
    pub entity: Entity,
    pub columns: Vec<ColumnPlan>,
    /// Placeholder values read as missing (case-insensitive).
    pub missing: Vec<String>,
    /// The number of columns of the header (rows with more or fewer fields are refused).
    pub width: usize,
    /// Rows replace values changed in Leadgate since the last import (`--overwrite`).
    pub overwrite: bool,
}

/// Why a plan cannot be made, in words that say what to type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError(pub Vec<String>);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for PlanError {}

impl ImportPlan {
    /// Builds the plan. `inferred` gives, per column, the types seen in its values (columns that
    /// end up as custom fields take that type unless `--type` overrides it).
    pub fn build(
        entity: Entity,
        headers: &[String],
        options: &ImportOptions,
        inferred: &[TypeInference],
        file_name: &str,
    ) -> Result<ImportPlan, PlanError> {
        let mut errors = Vec::new();
        let find = |column: &str| -> Option<usize> {
            headers
                .iter()
                .position(|h| h.trim() == column.trim())
                .or_else(|| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(column.trim())))
        };
        let suggest = |column: &str| -> String {
            let wanted = field_key(column);
            let close: Vec<&String> = headers
                .iter()
                .filter(|h| {
                    let k = field_key(h);
                    !h.trim().is_empty() && (k.contains(&wanted) || wanted.contains(&k))
                })
                .take(3)
                .collect();
            if close.is_empty() {
                let names: Vec<&str> =
                    headers.iter().map(|h| h.as_str()).filter(|h| !h.trim().is_empty()).take(12).collect();
                format!("the columns are: {}", names.join(", "))
            } else {
                format!(
                    "did you mean {}?",
                    close.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(" or ")
                )
            }
        };
        let mut targets: Vec<Option<(Target, &'static str)>> = vec![None; headers.len()];

        let preset = match options.preset.as_deref() {
            Some(name) => match presets::preset(name, entity) {
                Some(p) => Some(p),
                None => {
                    errors.push(format!(
                        "there is no preset `{name}` for {}; presets are: {}",
                        entity.as_str(),
                        presets::names(entity).join(", ")
                    ));
                    None
                }
            },
            None => None,
        };
        let mut missing = options.missing.clone();
        if let Some(p) = &preset {
            missing.extend(p.missing.iter().map(|m| m.to_string()));
            for (column, target) in &p.columns {
                match find(column) {
                    Some(i) => targets[i] = Some((target.clone(), "preset")),
                    None => errors.push(format!(
                        "column `{column}` (expected by preset `{}`) is missing in {file_name} (line 1); {}",
                        p.name,
                        suggest(column)
                    )),
                }
            }
        }
        for (field, column) in &options.maps {
            let Some(target) = Target::parse(entity, field) else {
                errors.push(format!(
                    "`--map {field}={column}`: `{field}` is not a field of {}; fields are: {}",
                    entity.as_str(),
                    Target::field_names(entity)
                ));
                continue;
            };
            match find(column) {
                Some(i) => targets[i] = Some((target, "--map")),
                None => errors.push(format!(
                    "column `{column}` is missing in {file_name} (line 1); {}; map another with `--map {field}=<column>`",
                    suggest(column)
                )),
            }
        }
        if let Some((column, positive)) = &options.outcome {
            if entity != Entity::Contacts {
                errors.push("`--outcome` applies to contacts only".into());
            } else {
                match find(column) {
                    Some(i) => {
                        targets[i] = Some((Target::Outcome { positive: positive.clone() }, "--outcome"))
                    }
                    None => errors.push(format!(
                        "column `{column}` (given to --outcome) is missing in {file_name} (line 1); {}",
                        suggest(column)
                    )),
                }
            }
        }
        // Headers everyone recognises, for columns not mapped yet.
        let taken: HashSet<String> = targets.iter().flatten().map(|(t, _)| t.name()).collect();
        let mut auto_taken = taken.clone();
        for (i, header) in headers.iter().enumerate() {
            if targets[i].is_some() || header.trim().is_empty() {
                continue;
            }
            if let Some(target) = recognise(entity, header)
                && !matches!(target, Target::Custom { .. })
                && auto_taken.insert(target.name())
            {
                targets[i] = Some((target, "header"));
            }
        }
        // Everything else becomes a custom field of its inferred (or requested) type.
        let mut keys: HashSet<String> = targets
            .iter()
            .flatten()
            .filter_map(|(t, _)| match t {
                Target::Custom { key, .. } => Some(key.clone()),
                _ => None,
            })
            .collect();
        for (i, header) in headers.iter().enumerate() {
            if targets[i].is_none() && !header.trim().is_empty() {
                let mut key = field_key(header);
                let mut n = 2;
                while keys.contains(&key) {
                    key = format!("{}_{n}", field_key(header));
                    n += 1;
                }
                keys.insert(key.clone());
                let field_type = inferred.get(i).map_or(FieldType::Text, TypeInference::field_type);
                targets[i] = Some((Target::Custom { key, field_type }, "inferred"));
            }
        }
        for (column, type_name) in &options.types {
            let Some(field_type) = FieldType::parse(type_name.trim()) else {
                errors.push(format!(
                    "`--type {column}={type_name}`: `{type_name}` is not a type; use text, number, boolean, date or choice"
                ));
                continue;
            };
            match find(column) {
                Some(i) => match &mut targets[i] {
                    Some((Target::Custom { field_type: t, .. }, _)) => *t = field_type,
                    Some((other, _)) => errors.push(format!(
                        "`--type {column}=…`: column `{column}` goes to `{}`, not a custom field",
                        other.name()
                    )),
                    None => {}
                },
                None => errors.push(format!(
                    "column `{column}` (given to --type) is missing in {file_name} (line 1); {}",
                    suggest(column)
                )),
            }
        }
        let columns: Vec<ColumnPlan> = targets
            .into_iter()
            .enumerate()
            .map(|(index, t)| {
                let (target, chosen_by) = t.unwrap_or((Target::Ignore, "empty header"));
                ColumnPlan { index, header: headers[index].clone(), target, chosen_by }
            })
            .collect();
        let has = |f: &dyn Fn(&Target) -> bool| columns.iter().any(|c| f(&c.target));
        match entity {
            Entity::Contacts => {
                if !has(&|t| {
                    matches!(
                        t,
                        Target::Email
                            | Target::ExternalId
                            | Target::Phone
                            | Target::FullName
                            | Target::FirstName
                            | Target::LastName
                    )
                }) {
                    errors.push(format!(
                        "no column of {file_name} identifies the contacts: map one with `--map email=<column>` (or external_id, phone, name)"
                    ));
                }
            }
            Entity::Companies => {
                if !has(&|t| matches!(t, Target::Name)) {
                    errors.push(format!(
                        "no column of {file_name} gives the company name: map one with `--map name=<column>`"
                    ));
                }
            }
            Entity::Deals => {
                if !has(&|t| matches!(t, Target::ExternalId)) {
                    errors.push(format!("no column of {file_name} identifies the deals: map one with `--map external_id=<column>`"));
                }
            }
        }
        if errors.is_empty() {
            Ok(ImportPlan { entity, columns, missing, width: headers.len(), overwrite: options.overwrite })
        } else {
            Err(PlanError(errors))
        }
    }

    /// Whether `value` is empty or a declared placeholder.
    pub fn is_missing(&self, value: &str) -> bool {
        let v = value.trim();
        v.is_empty() || self.missing.iter().any(|m| m.eq_ignore_ascii_case(v))
    }

    /// The custom fields the plan will write, to declare before importing.
    pub fn custom_fields(&self) -> Vec<(&str, &str, FieldType)> {
        self.columns
            .iter()
            .filter_map(|c| match &c.target {
                Target::Custom { key, field_type } => Some((key.as_str(), c.header.as_str(), *field_type)),
                _ => None,
            })
            .collect()
    }
}

/// The target of a header anyone would recognise, in English or French.
fn recognise(entity: Entity, header: &str) -> Option<Target> {
    let k = field_key(header);
    let k = k.as_str();
    let t = match entity {
        Entity::Contacts => match k {
            "email" | "e_mail" | "email_address" | "e_mail_address" | "mail" | "courriel"
            | "adresse_email" | "adresse_e_mail" | "adresse_mail" => Target::Email,
            "first_name" | "firstname" | "first" | "given_name" | "prenom" => Target::FirstName,
            "last_name" | "lastname" | "surname" | "family_name" | "nom" | "nom_de_famille" => {
                Target::LastName
            }
            "name" | "full_name" | "contact_name" | "nom_complet" => Target::FullName,
            "phone" | "telephone" | "phone_number" | "mobile" | "tel" | "portable" => Target::Phone,
            "job_title" | "title" | "position" | "fonction" | "poste" | "job" => Target::JobTitle,
            "company" | "company_name" | "organization" | "organisation" | "account" | "societe"
            | "entreprise" => Target::Company,
            "country" | "pays" => Target::Country,
            "city" | "ville" => Target::City,
            "external_id" | "contact_id" | "crm_id" | "prospect_id" => Target::ExternalId,
            "source" | "lead_source" | "origine" => Target::Source,
            "campaign" | "campagne" | "utm_campaign" => Target::Campaign,
            "do_not_email" | "opt_out_email" | "email_opt_out" => Target::DoNotEmail,
            "do_not_call" | "opt_out_phone" => Target::DoNotCall,
            _ => return None,
        },
        Entity::Companies => match k {
            "name" | "company" | "company_name" | "account" | "account_name" | "societe" | "entreprise"
            | "raison_sociale" => Target::Name,
            "domain" | "website" | "web_site" | "site_web" | "url" => Target::Domain,
            "sector" | "industry" | "secteur" => Target::Sector,
            "employees" | "employee_count" | "headcount" | "effectif" | "number_of_employees" => {
                Target::Employees
            }
            "annual_revenue" | "revenue" | "chiffre_d_affaires" | "ca" => {
                Target::AnnualRevenue { multiplier: 1.0 }
            }
            "country" | "pays" => Target::Country,
            "external_id" | "company_id" | "account_id" | "crm_id" => Target::ExternalId,
            _ => return None,
        },
        Entity::Deals => match k {
            "external_id" | "deal_id" | "opportunity_id" | "id" => Target::ExternalId,
            "company" | "account" | "company_name" => Target::Company,
            "stage" | "deal_stage" => Target::Stage,
            "owner" | "sales_agent" | "agent" | "rep" => Target::Owner,
            "product" => Target::Product,
            "value" | "amount" | "close_value" => Target::Value,
            "engaged_on" | "engage_date" | "created_on" => Target::EngagedOn,
            "closed_on" | "close_date" => Target::ClosedOn,
            _ => return None,
        },
    };
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn obvious_headers_are_recognised_and_the_rest_become_custom_fields() {
        let h = headers(&["E-mail", "Prénom", "Nom", "Société", "Budget", "Téléphone", ""]);
        let mut budget = TypeInference::default();
        budget.observe("12000");
        let inferred = vec![
            TypeInference::default(),
            TypeInference::default(),
            TypeInference::default(),
            TypeInference::default(),
            budget,
        ];
        let plan =
            ImportPlan::build(Entity::Contacts, &h, &ImportOptions::default(), &inferred, "a.csv").unwrap();
        let names: Vec<String> = plan.columns.iter().map(|c| c.target.name()).collect();
        assert_eq!(
            names,
            ["email", "first_name", "last_name", "company", "custom.budget", "phone", "ignore"]
        );
        assert_eq!(
            plan.columns[4].target,
            Target::Custom { key: "budget".into(), field_type: FieldType::Number }
        );
    }

    #[test]
    fn mistakes_are_explained_with_what_to_type() {
        let h = headers(&["Mail", "Full Name"]);
        let options = ImportOptions {
            maps: vec![("email".into(), "Email".into()), ("shoe".into(), "Mail".into())],
            types: vec![("Nope".into(), "number".into())],
            preset: Some("nope".into()),
            ..Default::default()
        };
        let err = ImportPlan::build(Entity::Contacts, &h, &options, &[], "leads.csv").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("column `Email` is missing in leads.csv (line 1)"), "{text}");
        assert!(text.contains("did you mean `Mail`?"), "{text}");
        assert!(text.contains("`shoe` is not a field of contacts"), "{text}");
        assert!(text.contains("there is no preset `nope`"), "{text}");
        assert!(text.contains("`Nope` (given to --type)"), "{text}");
    }

    #[test]
    fn contacts_need_an_identifying_column() {
        let err = ImportPlan::build(
            Entity::Contacts,
            &headers(&["Budget"]),
            &ImportOptions::default(),
            &[],
            "x.csv",
        )
        .unwrap_err();
        assert!(err.to_string().contains("--map email=<column>"));
    }

    #[test]
    fn explicit_maps_and_types_win() {
        let h = headers(&["Courriel", "Plan", "Code"]);
        let options = ImportOptions {
            maps: vec![("external_id".into(), "Code".into())],
            types: vec![("Plan".into(), "choice".into())],
            missing: vec!["Select".into()],
            ..Default::default()
        };
        let plan = ImportPlan::build(Entity::Contacts, &h, &options, &[], "x.csv").unwrap();
        assert_eq!(plan.columns[0].target, Target::Email);
        assert_eq!(
            plan.columns[1].target,
            Target::Custom { key: "plan".into(), field_type: FieldType::Choice }
        );
        assert_eq!(
            (plan.columns[2].target.clone(), plan.columns[2].chosen_by),
            (Target::ExternalId, "--map")
        );
        assert!(plan.is_missing(" select ") && plan.is_missing("") && !plan.is_missing("x"));
    }
}
