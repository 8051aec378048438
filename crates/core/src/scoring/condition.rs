//! Conditions: the "when" of every scoring rule, knock-out and engagement filter. A condition is
//! written as data (`{"field": "job_title", "op": "matches", "value": "(?i)\\bcto\\b"}`, or
//! `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`), checked once when the rules are saved
//! (unknown field, wrong operand, bad regex → an error naming the rule and the key), and then
//! evaluated many times, telling which field values made it true so the explanation can show them.

use std::borrow::Cow;
use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::validation::ValidationErrors;

/// The longest regular expression accepted. The regex engine runs in linear time whatever the
/// pattern, so the bound is about compiled size and readability, not catastrophic backtracking.
pub const MAX_PATTERN_CHARS: usize = 1_000;
/// Compiled size limit for a pattern (the `regex` crate's measure).
const MAX_COMPILED_REGEX: usize = 256 * 1024;
/// Nesting depth of all/any/not.
const MAX_DEPTH: usize = 8;

/// A field's value as rules see it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    Missing,
    Text(Cow<'a, str>),
    Number(f64),
    Bool(bool),
}

impl FieldValue<'_> {
    pub fn from_json(v: &Json) -> FieldValue<'_> {
        match v {
            Json::Null => FieldValue::Missing,
            Json::Bool(b) => FieldValue::Bool(*b),
            Json::Number(n) => n.as_f64().map_or(FieldValue::Missing, FieldValue::Number),
            Json::String(s) if s.trim().is_empty() => FieldValue::Missing,
            Json::String(s) => FieldValue::Text(Cow::Borrowed(s)),
            other => FieldValue::Text(Cow::Owned(other.to_string())),
        }
    }

    pub fn text(s: Option<&str>) -> FieldValue<'_> {
        match s {
            Some(s) if !s.trim().is_empty() => FieldValue::Text(Cow::Borrowed(s)),
            _ => FieldValue::Missing,
        }
    }

    fn into_owned(self) -> FieldValue<'static> {
        match self {
            FieldValue::Missing => FieldValue::Missing,
            FieldValue::Text(t) => FieldValue::Text(Cow::Owned(t.into_owned())),
            FieldValue::Number(n) => FieldValue::Number(n),
            FieldValue::Bool(b) => FieldValue::Bool(b),
        }
    }
}

impl fmt::Display for FieldValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Missing => f.write_str("(missing)"),
            FieldValue::Text(t) => f.write_str(t),
            FieldValue::Number(n) => write!(f, "{n}"),
            FieldValue::Bool(b) => write!(f, "{}", if *b { "yes" } else { "no" }),
        }
    }
}

/// The names a condition may use in one context (contact fields, event fields), and how to read
/// them from a subject.
pub trait Namespace: fmt::Debug + Clone {
    type Field: Clone + fmt::Debug + PartialEq;
    type Subject<'s>;
    /// Parses a field name, or `None` if unknown.
    fn parse(name: &str) -> Option<Self::Field>;
    /// The names to suggest when a field is unknown.
    fn known() -> &'static str;
    fn value<'s>(field: &Self::Field, subject: &Self::Subject<'s>) -> FieldValue<'s>;
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal to `value` (text compared without regard to case).
    Equals,
    /// Equal to one of `values`.
    OneOf,
    /// A number between `min` and `max`, both included; either may be left out.
    Range,
    /// Text containing `value`, without regard to case.
    Contains,
    /// Text matching the regular expression `value` (add `(?i)` to ignore case).
    Matches,
    /// No value.
    IsMissing,
}

/// A condition as written in a rules document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConditionDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // Any JSON value: a text, a number, a boolean (not always an object).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>))]
    pub value: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<serde_json::Value>>))]
    pub values: Option<Vec<Json>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// True when every one of these holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub all: Option<Vec<ConditionDoc>>,
    /// True when at least one of these holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub any: Option<Vec<ConditionDoc>>,
    /// True when this does not hold (a condition, as above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // Described as an object, not a reference to this schema: schemathesis cannot generate
    // inputs for a property named `not` that refers back to its own schema (it reads it as the
    // JSON Schema keyword), and the API test suite must cover this endpoint.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub not: Option<Box<ConditionDoc>>,
}

/// One line of a condition as a form shows it: a test (`field`, `op` and its operands), or the
/// test's negation ("is not", "does not contain").
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub negated: bool,
    pub test: ConditionDoc,
}

impl ConditionDoc {
    /// Whether this is one test rather than a combination.
    pub fn is_test(&self) -> bool {
        self.all.is_none() && self.any.is_none() && self.not.is_none()
    }

    /// The condition as a form edits it: true when every clause of at least one group holds
    /// ("A and B, or C"). `None` when it nests in another way (a `not` around a group, an
    /// `any` inside an `all`, …): such a condition is edited as JSON.
    pub fn to_groups(&self) -> Option<Vec<Vec<Clause>>> {
        fn clause(d: &ConditionDoc) -> Option<Clause> {
            if d.is_test() {
                return Some(Clause { negated: false, test: d.clone() });
            }
            let only_not = d.all.is_none() && d.any.is_none() && d.field.is_none() && d.op.is_none();
            match &d.not {
                Some(inner) if only_not && inner.is_test() => {
                    Some(Clause { negated: true, test: (**inner).clone() })
                }
                _ => None,
            }
        }
        fn group(d: &ConditionDoc) -> Option<Vec<Clause>> {
            match &d.all {
                Some(all) if d.any.is_none() && d.not.is_none() && d.field.is_none() && d.op.is_none() => {
                    all.iter().map(clause).collect()
                }
                Some(_) => None,
                None => clause(d).map(|c| vec![c]),
            }
        }
        match &self.any {
            Some(any)
                if self.all.is_none() && self.not.is_none() && self.field.is_none() && self.op.is_none() =>
            {
                any.iter().map(group).collect()
            }
            Some(_) => None,
            None => group(self).map(|g| vec![g]),
        }
    }

    /// The condition for groups as [`ConditionDoc::to_groups`] reads them, written as simply as
    /// it goes (one test alone, one group as `all`); `None` when no group has a clause.
    pub fn from_groups(groups: Vec<Vec<Clause>>) -> Option<ConditionDoc> {
        let clause = |c: Clause| {
            if c.negated {
                ConditionDoc { not: Some(Box::new(c.test)), ..ConditionDoc::default() }
            } else {
                c.test
            }
        };
        let mut groups: Vec<ConditionDoc> = groups
            .into_iter()
            .filter(|g| !g.is_empty())
            .map(|g| {
                let mut items: Vec<ConditionDoc> = g.into_iter().map(clause).collect();
                if items.len() == 1 {
                    items.remove(0)
                } else {
                    ConditionDoc { all: Some(items), ..ConditionDoc::default() }
                }
            })
            .collect();
        match groups.len() {
            0 => None,
            1 => groups.pop(),
            _ => Some(ConditionDoc { any: Some(groups), ..ConditionDoc::default() }),
        }
    }
}

/// A literal a field is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
}

impl Literal {
    fn parse(v: &Json) -> Option<Literal> {
        match v {
            Json::String(s) => Some(Literal::Text(s.to_lowercase())),
            Json::Number(n) => n.as_f64().map(Literal::Number),
            Json::Bool(b) => Some(Literal::Bool(*b)),
            _ => None,
        }
    }

    fn equals(&self, v: &FieldValue<'_>) -> bool {
        match (self, v) {
            (Literal::Text(l), FieldValue::Text(t)) => t.to_lowercase() == *l,
            (Literal::Number(l), FieldValue::Number(n)) => l == n,
            // Imported text columns often hold numbers as text ("15"): compare as numbers.
            (Literal::Number(l), FieldValue::Text(t)) => t.trim().parse::<f64>().is_ok_and(|n| n == *l),
            (Literal::Text(l), FieldValue::Number(n)) => l.trim().parse::<f64>().is_ok_and(|x| x == *n),
            (Literal::Bool(l), FieldValue::Bool(b)) => l == b,
            (Literal::Bool(l), FieldValue::Text(t)) => parse_yes_no(t) == Some(*l),
            _ => false,
        }
    }
}

/// "Yes"/"No" as imported spreadsheets write booleans.
fn parse_yes_no(t: &str) -> Option<bool> {
    match t.trim().to_lowercase().as_str() {
        "yes" | "true" | "1" | "y" | "oui" => Some(true),
        "no" | "false" | "0" | "n" | "non" => Some(false),
        _ => None,
    }
}

/// A checked, ready-to-evaluate condition over the fields of namespace `N`.
#[derive(Debug, Clone)]
pub enum Condition<N: Namespace> {
    Test { name: String, field: N::Field, test: Test },
    All(Vec<Condition<N>>),
    Any(Vec<Condition<N>>),
    Not(Box<Condition<N>>),
}

#[derive(Debug, Clone)]
pub enum Test {
    Equals(Literal),
    OneOf(Vec<Literal>),
    Range { min: Option<f64>, max: Option<f64> },
    Contains(String),
    Matches(Regex),
    IsMissing,
}

/// The field values that made a condition true, for explanations.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    pub field: String,
    pub value: String,
}

impl<N: Namespace> Condition<N> {
    /// Checks a written condition, recording problems under `path`.
    pub fn compile(doc: &ConditionDoc, path: &str, errors: &mut ValidationErrors) -> Option<Condition<N>> {
        Self::compile_at(doc, path, errors, 0)
    }

    fn compile_at(
        doc: &ConditionDoc,
        path: &str,
        errors: &mut ValidationErrors,
        depth: usize,
    ) -> Option<Condition<N>> {
        if depth > MAX_DEPTH {
            errors.add(path, format!("conditions are nested deeper than {MAX_DEPTH} levels"));
            return None;
        }
        let kinds = [
            doc.field.is_some() || doc.op.is_some(),
            doc.all.is_some(),
            doc.any.is_some(),
            doc.not.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            errors.add(
                path,
                "a condition is exactly one of: a test (`field` and `op`), `all: [...]`, `any: [...]` or `not: {...}`",
            );
            return None;
        }
        let list = |items: &Vec<ConditionDoc>, key: &str, errors: &mut ValidationErrors| {
            if items.is_empty() {
                errors.add(format!("{path}.{key}"), "needs at least one condition");
            }
            let compiled: Vec<Option<Condition<N>>> = items
                .iter()
                .enumerate()
                .map(|(i, c)| Self::compile_at(c, &format!("{path}.{key}[{i}]"), errors, depth + 1))
                .collect();
            compiled.into_iter().collect::<Option<Vec<_>>>()
        };
        if let Some(all) = &doc.all {
            return list(all, "all", errors).map(Condition::All);
        }
        if let Some(any) = &doc.any {
            return list(any, "any", errors).map(Condition::Any);
        }
        if let Some(not) = &doc.not {
            return Self::compile_at(not, &format!("{path}.not"), errors, depth + 1)
                .map(|c| Condition::Not(Box::new(c)));
        }
        let Some(name) = doc.field.as_deref() else {
            errors.add(format!("{path}.field"), format!("is required with `op`; fields are: {}", N::known()));
            return None;
        };
        let Some(field) = N::parse(name) else {
            errors.add(
                format!("{path}.field"),
                format!("`{name}` is not a known field; fields are: {}", N::known()),
            );
            return None;
        };
        let Some(op) = doc.op else {
            errors.add(
                format!("{path}.op"),
                "is required: equals, one_of, range, contains, matches or is_missing",
            );
            return None;
        };
        let test = compile_test(op, doc, path, errors)?;
        Some(Condition::Test { name: name.to_string(), field, test })
    }

    /// Whether the condition holds for `subject`; when it does, `evidence` receives the field
    /// values that made it true: under a `not`, the values that made the inner condition fail
    /// (`not phone is_missing` shows the phone), each field once.
    pub fn eval<'s>(&self, subject: &N::Subject<'s>, evidence: &mut Vec<Evidence>) -> bool {
        let mark = evidence.len();
        let holds = self.settles(subject, true, evidence);
        if evidence.len() > mark + 1 {
            // `country is not missing and not one of …` reads country twice: show it once.
            let mut seen = mark;
            for i in mark..evidence.len() {
                if !evidence[mark..seen].contains(&evidence[i]) {
                    evidence.swap(seen, i);
                    seen += 1;
                }
            }
            evidence.truncate(seen);
        }
        holds
    }

    /// Whether the condition's truth is `want`; if so, `evidence` receives the values that
    /// settle it, and is left as it was otherwise. By De Morgan: a true `all` or a false `any`
    /// needs every item, a false `all` or a true `any` needs one, and `not` asks the opposite
    /// of its inner condition.
    fn settles<'s>(&self, subject: &N::Subject<'s>, want: bool, evidence: &mut Vec<Evidence>) -> bool {
        match self {
            Condition::Test { name, field, test } => {
                let value = N::value(field, subject);
                let settled = test.holds(&value) == want;
                if settled {
                    evidence.push(Evidence { field: name.clone(), value: value.into_owned().to_string() });
                }
                settled
            }
            Condition::All(items) | Condition::Any(items) => {
                let every = matches!(self, Condition::All(_)) == want;
                if every {
                    let mark = evidence.len();
                    let ok = items.iter().all(|c| c.settles(subject, want, evidence));
                    if !ok {
                        evidence.truncate(mark);
                    }
                    ok
                } else {
                    items.iter().any(|c| c.settles(subject, want, evidence))
                }
            }
            Condition::Not(inner) => inner.settles(subject, !want, evidence),
        }
    }

    /// Every field the condition reads.
    pub fn fields(&self) -> Vec<&N::Field> {
        match self {
            Condition::Test { field, .. } => vec![field],
            Condition::All(items) | Condition::Any(items) => items.iter().flat_map(|c| c.fields()).collect(),
            Condition::Not(inner) => inner.fields(),
        }
    }
}

fn compile_test(op: Op, doc: &ConditionDoc, path: &str, errors: &mut ValidationErrors) -> Option<Test> {
    let mut extra = |keys: &[(&str, bool)]| {
        for (key, present) in keys {
            if *present {
                errors.add(format!("{path}.{key}"), format!("is not used by `{}`; remove it", op_name(op)));
            }
        }
    };
    match op {
        Op::Equals | Op::Contains | Op::Matches => {
            extra(&[
                ("values", doc.values.is_some()),
                ("min", doc.min.is_some()),
                ("max", doc.max.is_some()),
            ]);
            let Some(value) = &doc.value else {
                errors.add(format!("{path}.value"), format!("is required by `{}`", op_name(op)));
                return None;
            };
            match op {
                Op::Equals => match Literal::parse(value) {
                    Some(l) => Some(Test::Equals(l)),
                    None => {
                        errors.add(format!("{path}.value"), "must be text, a number or true/false");
                        None
                    }
                },
                Op::Contains => match value {
                    Json::String(s) if !s.is_empty() => Some(Test::Contains(s.to_lowercase())),
                    _ => {
                        errors.add(format!("{path}.value"), "must be non-empty text");
                        None
                    }
                },
                _ => match value {
                    Json::String(p) if p.chars().count() <= MAX_PATTERN_CHARS => {
                        match RegexBuilder::new(p).size_limit(MAX_COMPILED_REGEX).build() {
                            Ok(re) => Some(Test::Matches(re)),
                            Err(e) => {
                                let msg = e.to_string();
                                let first =
                                    msg.lines().last().unwrap_or("invalid pattern").trim().to_string();
                                errors.add(
                                    format!("{path}.value"),
                                    format!("is not a valid regular expression: {first}"),
                                );
                                None
                            }
                        }
                    }
                    Json::String(_) => {
                        errors.add(
                            format!("{path}.value"),
                            format!("patterns are limited to {MAX_PATTERN_CHARS} characters"),
                        );
                        None
                    }
                    _ => {
                        errors.add(format!("{path}.value"), "must be a regular expression, as text");
                        None
                    }
                },
            }
        }
        Op::OneOf => {
            extra(&[("value", doc.value.is_some()), ("min", doc.min.is_some()), ("max", doc.max.is_some())]);
            let Some(values) = doc.values.as_ref().filter(|v| !v.is_empty()) else {
                errors.add(format!("{path}.values"), "is required by `one_of`: a non-empty list");
                return None;
            };
            let mut literals = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                match Literal::parse(v) {
                    Some(l) => literals.push(l),
                    None => errors.add(format!("{path}.values[{i}]"), "must be text, a number or true/false"),
                }
            }
            (literals.len() == values.len()).then_some(Test::OneOf(literals))
        }
        Op::Range => {
            extra(&[("value", doc.value.is_some()), ("values", doc.values.is_some())]);
            match (doc.min, doc.max) {
                (None, None) => {
                    errors.add(format!("{path}.min"), "`range` needs `min`, `max` or both");
                    None
                }
                (Some(a), Some(b)) if a > b => {
                    errors.add(format!("{path}.max"), format!("is below min ({b} < {a})"));
                    None
                }
                (min, max) if min.is_some_and(|v| !v.is_finite()) || max.is_some_and(|v| !v.is_finite()) => {
                    errors.add(format!("{path}.min"), "bounds must be finite numbers");
                    None
                }
                (min, max) => Some(Test::Range { min, max }),
            }
        }
        Op::IsMissing => {
            extra(&[
                ("value", doc.value.is_some()),
                ("values", doc.values.is_some()),
                ("min", doc.min.is_some()),
                ("max", doc.max.is_some()),
            ]);
            Some(Test::IsMissing)
        }
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Equals => "equals",
        Op::OneOf => "one_of",
        Op::Range => "range",
        Op::Contains => "contains",
        Op::Matches => "matches",
        Op::IsMissing => "is_missing",
    }
}

impl Test {
    fn holds(&self, value: &FieldValue<'_>) -> bool {
        match self {
            Test::IsMissing => matches!(value, FieldValue::Missing),
            _ if matches!(value, FieldValue::Missing) => false,
            Test::Equals(l) => l.equals(value),
            Test::OneOf(ls) => ls.iter().any(|l| l.equals(value)),
            Test::Range { min, max } => {
                let n = match value {
                    FieldValue::Number(n) => Some(*n),
                    FieldValue::Text(t) => t.trim().parse::<f64>().ok(),
                    _ => None,
                };
                n.is_some_and(|n| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m))
            }
            Test::Contains(needle) => match value {
                FieldValue::Text(t) => t.to_lowercase().contains(needle.as_str()),
                _ => false,
            },
            Test::Matches(re) => match value {
                FieldValue::Text(t) => re.is_match(t),
                FieldValue::Number(n) => re.is_match(&n.to_string()),
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: serde_json::Value) -> ConditionDoc {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_condition_of_alternative_groups_of_tests_round_trips_through_its_form_shape() {
        let title = serde_json::json!({"field": "job_title", "op": "contains", "value": "cto"});
        let size = serde_json::json!({"field": "company.employees", "op": "range", "min": 50.0});
        let no_phone = serde_json::json!({"not": {"field": "phone", "op": "is_missing"}});
        for written in [
            title.clone(),
            no_phone.clone(),
            serde_json::json!({"all": [title, size]}),
            serde_json::json!({"any": [{"all": [size, no_phone]}, title]}),
        ] {
            let groups = doc(written.clone()).to_groups().expect("the form can show it");
            let back = ConditionDoc::from_groups(groups).unwrap();
            assert_eq!(serde_json::to_value(back).unwrap(), written);
        }
        let groups = doc(serde_json::json!({"any": [{"all": [size, no_phone]}, title]})).to_groups().unwrap();
        assert_eq!(groups.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
        assert!(groups[0][1].negated && groups[0][1].test.field.as_deref() == Some("phone"));
    }

    #[test]
    fn a_condition_nested_beyond_groups_of_tests_is_left_to_the_json() {
        let title = serde_json::json!({"field": "job_title", "op": "contains", "value": "cto"});
        for nested in [
            serde_json::json!({"not": {"all": [title, title]}}),
            serde_json::json!({"all": [{"any": [title, title]}, title]}),
            serde_json::json!({"any": [{"any": [title]}]}),
        ] {
            assert_eq!(doc(nested.clone()).to_groups(), None, "{nested}");
        }
        assert_eq!(ConditionDoc::from_groups(vec![vec![], vec![]]), None, "no clause, no condition");
    }
}
