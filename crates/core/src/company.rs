//! Companies (accounts). Fit scoring reads most of its signal here: size, sector, revenue,
//! country. A company's web domain ties contacts to it and feeds knock-outs (competitors).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contact::{NAME_MAX, SHORT_MAX};
use crate::ids::CompanyId;
use crate::patch::Patch;
use crate::validation::{ValidationErrors, clean_text};

/// A company as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Company {
    pub id: CompanyId,
    pub name: String,
    /// Web domain, lower-case, without scheme or path (`example.com`).
    pub domain: Option<String>,
    pub sector: Option<String>,
    /// Number of employees.
    pub employees: Option<i64>,
    /// Annual revenue, in the workspace's currency.
    pub annual_revenue: Option<f64>,
    pub country: Option<String>,
    /// The company's id in another system, unique in the workspace.
    pub external_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom: Map<String, Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// A request to create a company.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CompanyDraft {
    pub name: String,
    pub domain: Option<String>,
    pub sector: Option<String>,
    pub employees: Option<i64>,
    pub annual_revenue: Option<f64>,
    pub country: Option<String>,
    pub external_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom: Option<Map<String, Value>>,
}

/// A validated company to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCompany {
    pub name: String,
    pub domain: Option<String>,
    pub sector: Option<String>,
    pub employees: Option<i64>,
    pub annual_revenue: Option<f64>,
    pub country: Option<String>,
    pub external_id: Option<String>,
    pub custom: Map<String, Value>,
}

impl CompanyDraft {
    pub fn validate(self) -> Result<NewCompany, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = clean_text(&mut errors, "name", Some(&self.name), NAME_MAX);
        if name.is_none() && errors.is_empty() {
            errors.add("name", "is required: the company's name");
        }
        let company = NewCompany {
            name: name.unwrap_or_default(),
            domain: parse_domain(&mut errors, self.domain.as_deref()),
            sector: clean_text(&mut errors, "sector", self.sector.as_deref(), SHORT_MAX),
            employees: check_employees(&mut errors, self.employees),
            annual_revenue: check_revenue(&mut errors, self.annual_revenue),
            country: clean_text(&mut errors, "country", self.country.as_deref(), SHORT_MAX),
            external_id: clean_text(&mut errors, "external_id", self.external_id.as_deref(), SHORT_MAX),
            custom: self.custom.unwrap_or_default(),
        };
        errors.into_result(company)
    }
}

/// A partial update of a company (merge-patch).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    pub name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub domain: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub sector: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub employees: Patch<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub annual_revenue: Patch<f64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub country: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub external_id: Patch<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub custom: Option<Map<String, Value>>,
}

impl CompanyPatch {
    /// Applies the patch onto a copy of `company` (custom values are the caller's, see contacts).
    pub fn apply(self, company: &Company) -> Result<Company, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut next = company.clone();
        if let Some(name) = self.name {
            match clean_text(&mut errors, "name", Some(&name), NAME_MAX) {
                Some(n) => next.name = n,
                None if errors.is_empty() => errors.add("name", "cannot be blank"),
                None => {}
            }
        }
        let text = |errors: &mut ValidationErrors, field: &str, p: Patch<String>| match p {
            Patch::Set(v) => match clean_text(errors, field, Some(&v), SHORT_MAX) {
                Some(v) => Patch::Set(v),
                None => Patch::Clear,
            },
            other => other,
        };
        next.domain = match self.domain {
            Patch::Set(d) => parse_domain(&mut errors, Some(&d)),
            p => p.apply(next.domain),
        };
        next.sector = text(&mut errors, "sector", self.sector).apply(next.sector);
        next.country = text(&mut errors, "country", self.country).apply(next.country);
        next.external_id = text(&mut errors, "external_id", self.external_id).apply(next.external_id);
        next.employees = match self.employees {
            Patch::Set(n) => check_employees(&mut errors, Some(n)),
            p => p.apply(next.employees),
        };
        next.annual_revenue = match self.annual_revenue {
            Patch::Set(r) => check_revenue(&mut errors, Some(r)),
            p => p.apply(next.annual_revenue),
        };
        errors.into_result(next)
    }
}

fn check_employees(errors: &mut ValidationErrors, n: Option<i64>) -> Option<i64> {
    match n {
        Some(n) if !(0..=10_000_000).contains(&n) => {
            errors.add("employees", "must be between 0 and 10,000,000");
            None
        }
        other => other,
    }
}

fn check_revenue(errors: &mut ValidationErrors, r: Option<f64>) -> Option<f64> {
    match r {
        Some(r) if !r.is_finite() || r < 0.0 => {
            errors.add("annual_revenue", "must be a positive number");
            None
        }
        other => other,
    }
}

/// Accepts `example.com`, `www.example.com` or a pasted URL (`https://www.example.com/about`)
/// and keeps the bare lower-case domain, since that is what matches contacts' e-mail domains.
pub fn parse_domain(errors: &mut ValidationErrors, value: Option<&str>) -> Option<String> {
    let raw = value?.trim();
    if raw.is_empty() {
        return None;
    }
    let without_scheme = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    let host = without_scheme.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default().to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    let valid = host.len() <= 253
        && host.contains('.')
        && host.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if valid {
        Some(host)
    } else {
        errors.add(
            "domain",
            format!(
                "`{}` is not a web domain; give one such as example.com",
                raw.chars().take(80).collect::<String>()
            ),
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_from_urls() {
        let mut e = ValidationErrors::new();
        assert_eq!(
            parse_domain(&mut e, Some("https://www.Example.com/about?x=1")),
            Some("example.com".into())
        );
        assert_eq!(parse_domain(&mut e, Some("sub.example.co.uk")), Some("sub.example.co.uk".into()));
        assert!(e.is_empty());
        assert_eq!(parse_domain(&mut e, Some("not a domain")), None);
        assert_eq!(e.errors[0].field, "domain");
    }

    #[test]
    fn a_company_needs_a_name_and_sane_numbers() {
        let err = CompanyDraft {
            name: " ".into(),
            employees: Some(-3),
            annual_revenue: Some(f64::NAN),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "employees", "annual_revenue"]);
    }
}
