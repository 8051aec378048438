//! The featurizer: turns a workspace's raw contact fields into numeric features a model can
//! learn from, and remembers how, so a lead scored tomorrow is encoded exactly like the leads
//! the model learnt from. It decides each field's kind from the training data (numeric,
//! yes/no, or categorical text), one-hot encodes categories (pooling rare ones), gives
//! missingness its own feature, drops fields that cannot inform a prediction (saying why), and
//! honours the user's exclusions of fields that leak the outcome. Each feature keeps its
//! source field and a label a person can read, which is what makes explanations possible.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, Matrix, Value, format_number};

/// Default for [`FeatureOptions::min_level_count`]. Ten occurrences is about the least from
/// which a one-hot coefficient or a tree split is more signal than noise; rarer values are
/// pooled into one "(other)" level instead of being dropped, so their rows still count.
pub const DEFAULT_MIN_LEVEL_COUNT: usize = 10;

/// How the user wants fields treated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureOptions {
    /// Fields never to use, by exact name, or by prefix with a trailing `*`
    /// (`"Asymmetrique *"` excludes `Asymmetrique Activity Index`, …). Typically fields
    /// filled in by sales after contact, which leak the outcome.
    pub excluded_fields: Vec<String>,
    /// Texts that mean "no answer" (e.g. `Select`, an untouched drop-down), compared with
    /// the value after trimming surrounding whitespace, case-sensitively.
    pub missing_markers: Vec<String>,
    /// Categorical values seen fewer times than this in training are pooled into "(other)".
    pub min_level_count: usize,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        FeatureOptions {
            excluded_fields: Vec::new(),
            missing_markers: Vec::new(),
            min_level_count: DEFAULT_MIN_LEVEL_COUNT,
        }
    }
}

/// Below this many filled rows, distinct whole numbers are not taken for an identifier.
const MIN_IDENTIFIER_ROWS: usize = 50;

/// What a field holds, inferred from its training values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldKind {
    /// Every present value is a number or text that parses as a finite number.
    Numeric,
    /// Every present value is a boolean or yes/no/true/false (any case).
    Boolean,
    /// Anything else: text levels, one-hot encoded.
    Categorical,
}

/// Why a field is not used by the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnusedReason {
    /// No contact has a value.
    AllMissing,
    /// Every contact has the same value, so it cannot tell contacts apart.
    SingleValue { value: String },
    /// No value occurs `min_level_count` times: free text or an identifier, which says
    /// nothing about leads not seen in training.
    NoFrequentValue { min_level_count: usize },
    /// Another column has the same name; only the first is used.
    DuplicateName,
    /// Every contact has its own whole number (a record number such as `Lead Number`): an
    /// identifier, which says nothing about leads not seen in training and lets the model
    /// memorise the history.
    Identifier,
}

impl fmt::Display for UnusedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnusedReason::AllMissing => write!(f, "no contact has a value"),
            UnusedReason::SingleValue { value } => {
                write!(f, "every contact has the same value ({value})")
            }
            UnusedReason::NoFrequentValue { min_level_count } => {
                write!(f, "no value occurs {min_level_count} times or more (free text or an identifier?)")
            }
            UnusedReason::DuplicateName => {
                write!(f, "another field has the same name; only the first is used")
            }
            UnusedReason::Identifier => {
                write!(f, "every contact has its own whole number: an identifier, not a trait of the lead")
            }
        }
    }
}

/// A field the model does not use, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnusedField {
    pub field: String,
    pub reason: UnusedReason,
}

/// What one encoded feature measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeatureRole {
    /// The field's value (numeric), or 1/0 for a yes/no field; NaN when missing.
    Value,
    /// 1 when the field equals the categorical level with this index in `levels`.
    Level(usize),
    /// 1 when the field holds a value rarer than `min_level_count` (or unseen in training).
    Other,
    /// 1 when the field is missing.
    Missing,
}

/// One column of the encoded matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    /// Source field name (`Lead Source`).
    pub field: String,
    /// What a person reads (`Lead Source = Google`, `TotalVisits`, `Country is missing`).
    pub label: String,
    pub role: FeatureRole,
    /// Index of the source field in [`FeatureSpec::fields`].
    pub field_index: usize,
}

/// How one used field is encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldEncoding {
    pub name: String,
    pub kind: FieldKind,
    /// Position of the field in an input row (see [`FeatureSpec::input_fields`]).
    pub input_index: usize,
    /// Kept categorical levels, most frequent first.
    pub levels: Vec<String>,
    /// Text shown for "true" of a yes/no field (the most common spelling seen, e.g. `Yes`).
    pub true_text: String,
    /// Text shown for "false" of a yes/no field.
    pub false_text: String,
    /// Range of this field's features in [`FeatureSpec::features`].
    pub first_feature: usize,
    pub feature_count: usize,
    value_feature: Option<usize>,
    other_feature: Option<usize>,
    missing_feature: Option<usize>,
    level_features: Option<usize>,
}

impl FieldEncoding {
    /// The feature holding a numeric field's value, if it has one.
    pub(crate) fn value_feature(&self) -> Option<usize> {
        self.value_feature
    }
}

/// A raw row (or dataset) does not match the fields the model was trained on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error(
        "a contact row has {found} values but the model was trained on {expected} fields; \
         pass the values in the order of the model's input fields"
    )]
    RowLength { expected: usize, found: usize },
    #[error("field `{field}` used by the model is not in the data to score")]
    MissingField { field: String },
}

/// The fitted featurizer: which fields are used, how each is encoded, which were left out.
/// Checked when deserialised, so a damaged spec is refused instead of panicking at encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FeatureSpecParts")]
pub struct FeatureSpec {
    input_fields: Vec<String>,
    fields: Vec<FieldEncoding>,
    features: Vec<Feature>,
    excluded: Vec<String>,
    unused: Vec<UnusedField>,
    unmatched_exclusions: Vec<String>,
    missing_markers: Vec<String>,
    min_level_count: usize,
}

/// Deserialised form of a [`FeatureSpec`], before its invariants are checked.
#[derive(Deserialize)]
struct FeatureSpecParts {
    input_fields: Vec<String>,
    fields: Vec<FieldEncoding>,
    features: Vec<Feature>,
    excluded: Vec<String>,
    unused: Vec<UnusedField>,
    unmatched_exclusions: Vec<String>,
    missing_markers: Vec<String>,
    min_level_count: usize,
}

impl TryFrom<FeatureSpecParts> for FeatureSpec {
    type Error = String;

    fn try_from(parts: FeatureSpecParts) -> Result<FeatureSpec, String> {
        let spec = FeatureSpec {
            input_fields: parts.input_fields,
            fields: parts.fields,
            features: parts.features,
            excluded: parts.excluded,
            unused: parts.unused,
            unmatched_exclusions: parts.unmatched_exclusions,
            missing_markers: parts.missing_markers,
            min_level_count: parts.min_level_count,
        };
        spec.check_consistency()?;
        Ok(spec)
    }
}

/// A raw value after missing-value rules, as the featurizer sees it.
enum Cell<'a> {
    Missing,
    Number(f64),
    Bool(bool),
    Text(Cow<'a, str>),
}

fn boolean_word(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("yes") || text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("no") || text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Does `pattern` (exact, or prefix with a trailing `*`) name `field`?
pub fn exclusion_matches(pattern: &str, field: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => field.starts_with(prefix),
        None => field == pattern,
    }
}

impl FeatureSpec {
    /// Learn the encoding from all rows of `dataset`.
    ///
    /// ```
    /// use leadgate_model::{Column, Dataset, FeatureOptions, FeatureSpec, Value};
    /// let source = ["Google", "Reference", "Google", ""].map(|s| Value::Text(s.into()));
    /// let dataset = Dataset {
    ///     columns: vec![Column { name: "Lead Source".into(), values: source.to_vec() }],
    ///     labels: vec![true, false, true, false],
    /// };
    /// let options = FeatureOptions { min_level_count: 1, ..FeatureOptions::default() };
    /// let spec = FeatureSpec::fit(&dataset, &options);
    /// let labels: Vec<&str> = spec.features().iter().map(|f| f.label.as_str()).collect();
    /// assert_eq!(labels, ["Lead Source = Google", "Lead Source = Reference",
    ///                     "Lead Source is missing"]);
    /// ```
    pub fn fit(dataset: &Dataset, options: &FeatureOptions) -> FeatureSpec {
        let rows: Vec<usize> = (0..dataset.rows()).collect();
        FeatureSpec::fit_rows(dataset, &rows, options)
    }

    /// Learn the encoding from the given rows only (the training part of a split, so test
    /// contacts never influence levels or kinds).
    pub fn fit_rows(dataset: &Dataset, rows: &[usize], options: &FeatureOptions) -> FeatureSpec {
        let mut spec = FeatureSpec {
            input_fields: dataset.columns.iter().map(|c| c.name.clone()).collect(),
            fields: Vec::new(),
            features: Vec::new(),
            excluded: Vec::new(),
            unused: Vec::new(),
            unmatched_exclusions: options
                .excluded_fields
                .iter()
                .filter(|pattern| !dataset.columns.iter().any(|c| exclusion_matches(pattern, &c.name)))
                .cloned()
                .collect(),
            missing_markers: options.missing_markers.iter().map(|m| m.trim().to_owned()).collect(),
            min_level_count: options.min_level_count,
        };
        for (input_index, column) in dataset.columns.iter().enumerate() {
            if options.excluded_fields.iter().any(|pattern| exclusion_matches(pattern, &column.name)) {
                spec.excluded.push(column.name.clone());
                continue;
            }
            if dataset.columns[..input_index].iter().any(|c| c.name == column.name) {
                spec.unused
                    .push(UnusedField { field: column.name.clone(), reason: UnusedReason::DuplicateName });
                continue;
            }
            spec.fit_field(dataset, input_index, rows);
        }
        spec
    }

    fn cell<'a>(&self, value: &'a Value) -> Cell<'a> {
        match value {
            Value::Missing => Cell::Missing,
            Value::Number(x) if x.is_finite() => Cell::Number(*x),
            Value::Number(_) => Cell::Missing,
            Value::Bool(b) => Cell::Bool(*b),
            Value::Text(text) => {
                let text = text.trim();
                if text.is_empty() || self.missing_markers.iter().any(|m| m == text) {
                    Cell::Missing
                } else {
                    Cell::Text(Cow::Borrowed(text))
                }
            }
        }
    }

    fn fit_field(&mut self, dataset: &Dataset, input_index: usize, rows: &[usize]) {
        let name = dataset.columns[input_index].name.clone();
        let mut missing = 0usize;
        let mut all_boolean = true;
        let mut all_numeric = true;
        // Distinct present values as categorical text, with counts. Hashed because an
        // identifier-like column has as many values as rows; order is restored by sorting.
        let mut counted: HashMap<String, usize> = HashMap::new();
        let mut text_counts: Vec<(String, bool, usize)> = Vec::new();
        for &row in rows {
            let cell = self.cell(dataset.value(input_index, row));
            let text: Cow<'_, str> = match &cell {
                Cell::Missing => {
                    missing += 1;
                    continue;
                }
                Cell::Number(x) => {
                    all_boolean = false;
                    Cow::Owned(format_number(*x))
                }
                Cell::Bool(b) => {
                    all_numeric = false;
                    let text = if *b { "true" } else { "false" };
                    count_text(&mut text_counts, text, *b);
                    Cow::Borrowed(text)
                }
                Cell::Text(text) => {
                    match boolean_word(text) {
                        Some(b) => count_text(&mut text_counts, text, b),
                        None => all_boolean = false,
                    }
                    if parse_number(text).is_none() {
                        all_numeric = false;
                    }
                    text.clone()
                }
            };
            match counted.get_mut(text.as_ref()) {
                Some(n) => *n += 1,
                None => {
                    counted.insert(text.into_owned(), 1);
                }
            }
        }
        let mut counts: Vec<(String, usize)> = counted.into_iter().collect();
        // Most frequent first, then by text: the order levels are listed in.
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if counts.is_empty() {
            self.unused.push(UnusedField { field: name, reason: UnusedReason::AllMissing });
            return;
        }
        let kind = if all_boolean {
            FieldKind::Boolean
        } else if all_numeric {
            FieldKind::Numeric
        } else {
            FieldKind::Categorical
        };
        // Distinct values as the model will see them (1 and 1.0 are one number, Yes and yes
        // one answer).
        let distinct = match kind {
            FieldKind::Boolean => {
                let has_true = text_counts.iter().any(|(_, b, _)| *b);
                let has_false = text_counts.iter().any(|(_, b, _)| !*b);
                usize::from(has_true) + usize::from(has_false)
            }
            FieldKind::Numeric => {
                let mut numbers: Vec<f64> = counts.iter().filter_map(|(t, _)| parse_number(t)).collect();
                numbers.sort_by(f64::total_cmp);
                numbers.dedup();
                numbers.len()
            }
            FieldKind::Categorical => counts.len(),
        };
        if distinct == 1 && missing == 0 {
            self.unused.push(UnusedField {
                field: name,
                reason: UnusedReason::SingleValue { value: counts[0].0.clone() },
            });
            return;
        }

        // A record number: every present value a different whole number, nearly every row filled.
        let present = rows.len() - missing;
        let identifier = kind == FieldKind::Numeric
            && present >= MIN_IDENTIFIER_ROWS
            && missing * 10 <= rows.len()
            && distinct == present
            && counts.iter().all(|(t, _)| parse_number(t).is_some_and(|x| x.fract() == 0.0));
        if identifier {
            self.unused.push(UnusedField { field: name, reason: UnusedReason::Identifier });
            return;
        }
        let no_frequent_level =
            kind == FieldKind::Categorical && !counts.iter().any(|(_, n)| *n >= self.min_level_count);
        if no_frequent_level && missing == 0 {
            self.unused.push(UnusedField {
                field: name,
                reason: UnusedReason::NoFrequentValue { min_level_count: self.min_level_count },
            });
            return;
        }

        let field_index = self.fields.len();
        let first_feature = self.features.len();
        let mut encoding = FieldEncoding {
            name: name.clone(),
            kind,
            input_index,
            levels: Vec::new(),
            true_text: most_common_spelling(&text_counts, true),
            false_text: most_common_spelling(&text_counts, false),
            first_feature,
            feature_count: 0,
            value_feature: None,
            other_feature: None,
            missing_feature: None,
            level_features: None,
        };
        // A field with one present value, or only rare ones, tells only whether it is
        // filled in: its missing indicator says all there is.
        if distinct >= 2 && !no_frequent_level {
            match kind {
                FieldKind::Numeric => {
                    encoding.value_feature =
                        Some(self.push_feature(&name, name.clone(), FeatureRole::Value, field_index));
                }
                FieldKind::Boolean => {
                    let label = format!("{name} = {}", encoding.true_text);
                    encoding.value_feature =
                        Some(self.push_feature(&name, label, FeatureRole::Value, field_index));
                }
                FieldKind::Categorical => {
                    let frequent: Vec<(String, usize)> =
                        counts.iter().filter(|(_, n)| *n >= self.min_level_count).cloned().collect();
                    let pooled = frequent.len() < counts.len();
                    encoding.levels = frequent.into_iter().map(|(t, _)| t).collect();
                    // One kept level and nothing pooled means one value: handled above.
                    if !encoding.levels.is_empty() {
                        encoding.level_features = Some(self.features.len());
                    }
                    for (level_index, level) in encoding.levels.iter().enumerate() {
                        self.push_feature(
                            &name,
                            format!("{name} = {level}"),
                            FeatureRole::Level(level_index),
                            field_index,
                        );
                    }
                    if pooled {
                        encoding.other_feature = Some(self.push_feature(
                            &name,
                            format!("{name} = (other)"),
                            FeatureRole::Other,
                            field_index,
                        ));
                    }
                }
            }
        }
        if missing > 0 {
            encoding.missing_feature = Some(self.push_feature(
                &name,
                format!("{name} is missing"),
                FeatureRole::Missing,
                field_index,
            ));
        }
        encoding.feature_count = self.features.len() - first_feature;
        self.fields.push(encoding);
    }

    fn push_feature(&mut self, field: &str, label: String, role: FeatureRole, field_index: usize) -> usize {
        self.features.push(Feature { field: field.to_owned(), label, role, field_index });
        self.features.len() - 1
    }

    /// Names of the columns the spec was fitted on, in order: the order of values expected
    /// by [`FeatureSpec::encode_row`] and `TrainedModel::predict`.
    pub fn input_fields(&self) -> &[String] {
        &self.input_fields
    }

    /// Used fields, in input order.
    pub fn fields(&self) -> &[FieldEncoding] {
        &self.fields
    }

    /// Encoded features (matrix columns), grouped by field in input order.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// Fields the user excluded.
    pub fn excluded(&self) -> &[String] {
        &self.excluded
    }

    /// Fields dropped because they cannot inform a prediction, with the reason.
    pub fn unused(&self) -> &[UnusedField] {
        &self.unused
    }

    /// Exclusion patterns that matched no field (likely a typo worth telling the user).
    pub fn unmatched_exclusions(&self) -> &[String] {
        &self.unmatched_exclusions
    }

    /// Checks the invariants encoding relies on (used when a spec is deserialised).
    fn check_consistency(&self) -> Result<(), String> {
        for field in &self.fields {
            let range = field.first_feature..field.first_feature + field.feature_count;
            let inside = |index: Option<usize>| index.is_none_or(|i| range.contains(&i));
            let levels_inside = field
                .level_features
                .is_none_or(|first| first >= range.start && first + field.levels.len() <= range.end);
            if field.input_index >= self.input_fields.len()
                || range.end > self.features.len()
                || !inside(field.value_feature)
                || !inside(field.other_feature)
                || !inside(field.missing_feature)
                || !levels_inside
            {
                return Err(format!("the encoding of field `{}` is damaged", field.name));
            }
        }
        if self.features.iter().any(|f| f.field_index >= self.fields.len()) {
            return Err("a feature points to no field".into());
        }
        Ok(())
    }

    /// Encode one raw row (values in [`FeatureSpec::input_fields`] order).
    pub fn encode_row(&self, row: &[Value]) -> Result<Vec<f64>, InputError> {
        let mut out = vec![0.0; self.features.len()];
        self.encode_row_into(row, &mut out)?;
        Ok(out)
    }

    /// Encode one raw row into a caller-provided buffer of `features().len()` values, for
    /// bulk scoring without an allocation per contact.
    pub fn encode_row_into(&self, row: &[Value], out: &mut [f64]) -> Result<(), InputError> {
        if row.len() != self.input_fields.len() {
            return Err(InputError::RowLength { expected: self.input_fields.len(), found: row.len() });
        }
        if out.len() != self.features.len() {
            return Err(InputError::RowLength { expected: self.features.len(), found: out.len() });
        }
        for field in &self.fields {
            self.encode_field(field, &row[field.input_index], out);
        }
        Ok(())
    }

    fn encode_field(&self, field: &FieldEncoding, value: &Value, out: &mut [f64]) {
        let slots = &mut out[field.first_feature..field.first_feature + field.feature_count];
        slots.fill(0.0);
        let cell = self.cell(value);
        let is_missing = matches!(cell, Cell::Missing);
        if let Some(index) = field.missing_feature {
            out[index] = f64::from(u8::from(is_missing));
        }
        match field.kind {
            FieldKind::Numeric => {
                if let Some(index) = field.value_feature {
                    out[index] = numeric_value(&cell).unwrap_or(f64::NAN);
                }
            }
            FieldKind::Boolean => {
                if let Some(index) = field.value_feature {
                    out[index] = boolean_value(&cell).map_or(f64::NAN, |b| f64::from(u8::from(b)));
                }
            }
            FieldKind::Categorical => {
                if is_missing {
                    return;
                }
                let text = categorical_text(&cell);
                match field.levels.iter().position(|level| *level == *text) {
                    Some(level) => {
                        if let Some(first) = field.level_features {
                            out[first + level] = 1.0;
                        }
                    }
                    None => {
                        // Unseen in training: it is a rare value as far as the model knows.
                        if let Some(index) = field.other_feature {
                            out[index] = 1.0;
                        }
                    }
                }
            }
        }
    }

    /// Encode every row of `dataset`, matching columns by name (so a scoring batch may
    /// order or extend its columns differently from the training data).
    pub fn encode(&self, dataset: &Dataset) -> Result<Matrix, InputError> {
        let columns: Vec<usize> = self
            .fields
            .iter()
            .map(|field| {
                dataset
                    .columns
                    .iter()
                    .position(|c| c.name == field.name)
                    .ok_or_else(|| InputError::MissingField { field: field.name.clone() })
            })
            .collect::<Result<_, _>>()?;
        let mut matrix = Matrix::zeros(dataset.rows(), self.features.len());
        for row in 0..dataset.rows() {
            let out = matrix.row_mut(row);
            for (field, &column) in self.fields.iter().zip(&columns) {
                self.encode_field(field, dataset.value(column, row), out);
            }
        }
        Ok(matrix)
    }

    /// What a person reads for this field's value in an explanation:
    /// `Lead Source = Google`, `TotalVisits = 5`, `Country is missing`,
    /// `Lead Source = bing (rare value)`.
    pub fn describe(&self, field_index: usize, value: &Value) -> String {
        let Some(field) = self.fields.get(field_index) else {
            return String::new();
        };
        let name = &field.name;
        let cell = self.cell(value);
        match (&cell, field.kind) {
            (Cell::Missing, _) => format!("{name} is missing"),
            (_, FieldKind::Numeric) => match numeric_value(&cell) {
                Some(x) => format!("{name} = {}", value_text(value, x)),
                None => format!("{name} = {} (not a number)", value.display()),
            },
            (_, FieldKind::Boolean) => match boolean_value(&cell) {
                Some(true) => format!("{name} = {}", field.true_text),
                Some(false) => format!("{name} = {}", field.false_text),
                None => format!("{name} = {} (not yes/no)", value.display()),
            },
            (_, FieldKind::Categorical) => {
                let text = categorical_text(&cell);
                if field.levels.iter().any(|level| *level == *text) {
                    format!("{name} = {text}")
                } else {
                    format!("{name} = {text} (rare value)")
                }
            }
        }
    }
}

fn count_text(counts: &mut Vec<(String, bool, usize)>, text: &str, value: bool) {
    match counts.iter_mut().find(|(t, _, _)| t == text) {
        Some((_, _, n)) => *n += 1,
        None => counts.push((text.to_owned(), value, 1)),
    }
}

fn most_common_spelling(counts: &[(String, bool, usize)], value: bool) -> String {
    counts
        .iter()
        .filter(|(_, b, _)| *b == value)
        // Highest count wins; among equals the first seen, for determinism.
        .fold(None::<&(String, bool, usize)>, |best, candidate| match best {
            Some(b) if b.2 >= candidate.2 => Some(b),
            _ => Some(candidate),
        })
        .map_or_else(|| if value { "true" } else { "false" }.to_owned(), |(text, _, _)| text.clone())
}

fn numeric_value(cell: &Cell<'_>) -> Option<f64> {
    match cell {
        Cell::Number(x) => Some(*x),
        Cell::Bool(b) => Some(f64::from(u8::from(*b))),
        Cell::Text(text) => parse_number(text),
        Cell::Missing => None,
    }
}

fn boolean_value(cell: &Cell<'_>) -> Option<bool> {
    match cell {
        Cell::Bool(b) => Some(*b),
        Cell::Text(text) => boolean_word(text),
        Cell::Number(x) if *x == 1.0 => Some(true),
        Cell::Number(x) if *x == 0.0 => Some(false),
        _ => None,
    }
}

fn categorical_text<'a>(cell: &'a Cell<'a>) -> Cow<'a, str> {
    match cell {
        Cell::Text(text) => Cow::Borrowed(text.as_ref()),
        Cell::Number(x) => Cow::Owned(format_number(*x)),
        Cell::Bool(true) => Cow::Borrowed("true"),
        Cell::Bool(false) => Cow::Borrowed("false"),
        Cell::Missing => Cow::Borrowed(""),
    }
}

/// Show a number as the user typed it when it was text, otherwise formatted.
fn value_text(value: &Value, x: f64) -> String {
    match value {
        Value::Text(text) => text.trim().to_owned(),
        _ => format_number(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Column;

    fn text(values: &[&str]) -> Vec<Value> {
        values.iter().map(|v| Value::Text((*v).to_owned())).collect()
    }

    fn dataset(columns: Vec<(&str, Vec<Value>)>) -> Dataset {
        let rows = columns.first().map_or(0, |c| c.1.len());
        Dataset {
            columns: columns
                .into_iter()
                .map(|(name, values)| Column { name: name.to_owned(), values })
                .collect(),
            labels: (0..rows).map(|i| i % 2 == 0).collect(),
        }
    }

    fn options(min_level_count: usize) -> FeatureOptions {
        FeatureOptions {
            min_level_count,
            missing_markers: vec!["Select".into()],
            ..FeatureOptions::default()
        }
    }

    #[test]
    fn kinds_are_inferred_from_present_values() {
        let data = dataset(vec![
            ("visits", text(&["1", " 2.5 ", "", "3"])),
            ("do not email", text(&["Yes", "no", "NO", "Select"])),
            ("source", text(&["Google", "Google", "Reference", "7"])),
            ("flag", vec![Value::Bool(true), Value::Bool(false), Value::Missing, Value::Bool(true)]),
        ]);
        let spec = FeatureSpec::fit(&data, &options(1));
        let kinds: Vec<FieldKind> = spec.fields().iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [FieldKind::Numeric, FieldKind::Boolean, FieldKind::Categorical, FieldKind::Boolean]
        );
        let labels: Vec<&str> = spec.features().iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "visits",
                "visits is missing",
                "do not email = Yes",
                "do not email is missing",
                "source = Google",
                "source = 7",
                "source = Reference",
                "flag = true",
                "flag is missing",
            ]
        );
        // Row 2: visits blank, "NO", Reference, flag missing.
        let row = spec.encode_row(&data.row(2)).unwrap();
        assert!(row[0].is_nan() && row[7].is_nan());
        assert_eq!(&row[1..7], &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(row[8], 1.0);
    }

    #[test]
    fn rare_levels_pool_into_other_and_unseen_values_join_them() {
        let mut values = vec!["A"; 12];
        values.extend(["B"; 3]);
        values.extend(["C"; 10]);
        let data = dataset(vec![("f", text(&values))]);
        let spec = FeatureSpec::fit(&data, &options(10));
        let labels: Vec<&str> = spec.features().iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["f = A", "f = C", "f = (other)"]);
        let unseen = spec.encode_row(&text(&["Z"])).unwrap();
        assert_eq!(unseen, [0.0, 0.0, 1.0]);
        assert_eq!(spec.describe(0, &Value::Text("B".into())), "f = B (rare value)");
        assert_eq!(spec.describe(0, &Value::Text("A".into())), "f = A");
    }

    #[test]
    fn constant_and_empty_fields_are_dropped_with_a_reason() {
        let data = dataset(vec![
            ("magazine", text(&["No", "No", "No"])),
            ("empty", text(&["", "Select", " "])),
            ("number", vec![Value::Number(1.0), Value::Text("1.0".into()), Value::Number(1.0)]),
            ("filled", text(&["x", "", "x"])),
        ]);
        let spec = FeatureSpec::fit(&data, &options(1));
        let reasons: Vec<(&str, &UnusedReason)> =
            spec.unused().iter().map(|u| (u.field.as_str(), &u.reason)).collect();
        assert_eq!(
            reasons,
            [
                ("magazine", &UnusedReason::SingleValue { value: "No".into() }),
                ("empty", &UnusedReason::AllMissing),
                ("number", &UnusedReason::SingleValue { value: "1".into() }),
            ]
        );
        // One value plus blanks: only "is it filled in" is informative.
        let labels: Vec<&str> = spec.features().iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["filled is missing"]);
    }

    #[test]
    fn exclusions_support_a_trailing_wildcard() {
        let data = dataset(vec![
            ("Asymmetrique Activity Index", text(&["a", "b"])),
            ("Asymmetrique Profile Score", text(&["1", "2"])),
            ("Tags", text(&["a", "b"])),
            ("Lead Source", text(&["a", "b"])),
        ]);
        let options = FeatureOptions {
            excluded_fields: vec!["Asymmetrique *".into(), "Tags".into(), "Nope".into()],
            min_level_count: 1,
            ..FeatureOptions::default()
        };
        let spec = FeatureSpec::fit(&data, &options);
        assert_eq!(spec.excluded(), ["Asymmetrique Activity Index", "Asymmetrique Profile Score", "Tags"]);
        assert_eq!(spec.unmatched_exclusions(), ["Nope"]);
        assert!(spec.features().iter().all(|f| f.field == "Lead Source"));
    }

    #[test]
    fn odd_values_never_panic() {
        let data = dataset(vec![
            (
                "n",
                vec![
                    Value::Number(f64::NAN),
                    Value::Number(f64::INFINITY),
                    Value::Number(-3.0),
                    Value::Text("inf".into()),
                ],
            ),
            ("u", text(&["été", "日本", "", "\u{0}"])),
        ]);
        let spec = FeatureSpec::fit(&data, &options(1));
        for row in 0..4 {
            let encoded = spec.encode_row(&data.row(row)).unwrap();
            assert_eq!(encoded.len(), spec.features().len());
        }
        assert_eq!(spec.encode_row(&[]), Err(InputError::RowLength { expected: 2, found: 0 }));
    }

    #[test]
    fn free_text_is_dropped_or_reduced_to_whether_it_is_filled() {
        let ids: Vec<String> = (0..30).map(|i| format!("id-{i}")).collect();
        let mut notes: Vec<String> = ids.clone();
        notes[3] = String::new();
        let data = dataset(vec![
            ("id", ids.iter().map(|t| Value::Text(t.clone())).collect()),
            ("notes", notes.iter().map(|t| Value::Text(t.clone())).collect()),
        ]);
        let spec = FeatureSpec::fit(&data, &options(10));
        assert_eq!(spec.unused()[0].reason, UnusedReason::NoFrequentValue { min_level_count: 10 });
        let labels: Vec<&str> = spec.features().iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["notes is missing"]);
    }

    #[test]
    fn duplicate_names_keep_the_first_column() {
        let data = dataset(vec![("a", text(&["x", "y"])), ("a", text(&["1", "2"]))]);
        let spec = FeatureSpec::fit(&data, &options(1));
        assert_eq!(spec.fields().len(), 1);
        assert_eq!(spec.unused()[0].reason, UnusedReason::DuplicateName);
    }
}
