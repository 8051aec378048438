//! Reads X Education's `Leads.csv` (shared/datasets, see its README) into a `Dataset` the
//! way the storage layer would hand contacts to the model: every cell as text, empty cells
//! missing, the `Converted` column as outcomes. Shared by the integration tests and the
//! `x_education` benchmark so both read the file identically.

#![allow(dead_code)] // Each user (tests, bench) needs a different subset.

use std::path::{Path, PathBuf};

use leadgate_model::{Column, Dataset, FeatureOptions, Value};

/// Identifiers: unique per lead, they carry no signal (and `Lead Number` increases with
/// time, a leak of its own).
pub const IDENTIFIERS: [&str; 2] = ["Prospect ID", "Lead Number"];

/// Fields written by the sales team after contact: they leak the outcome (dataset README).
pub const LEAKING_FIELDS: [&str; 4] = ["Tags", "Lead Quality", "Lead Profile", "Asymmetrique *"];

/// The two settings the benchmark and tests compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    AllColumns,
    WithoutLeaks,
}

impl Setting {
    pub const BOTH: [Setting; 2] = [Setting::AllColumns, Setting::WithoutLeaks];

    pub fn name(self) -> &'static str {
        match self {
            Setting::AllColumns => "all-columns",
            Setting::WithoutLeaks => "without-leaks",
        }
    }

    /// Feature options of the setting: identifiers always excluded, `Select` is missing.
    pub fn feature_options(self) -> FeatureOptions {
        let mut excluded: Vec<String> = IDENTIFIERS.iter().map(|s| (*s).to_owned()).collect();
        if self == Setting::WithoutLeaks {
            excluded.extend(LEAKING_FIELDS.iter().map(|s| (*s).to_owned()));
        }
        FeatureOptions {
            excluded_fields: excluded,
            missing_markers: vec!["Select".to_owned()],
            ..FeatureOptions::default()
        }
    }
}

/// `shared/datasets`, beside the project root (overridable with `LEADGATE_DATASETS`).
pub fn datasets_dir() -> PathBuf {
    match std::env::var_os("LEADGATE_DATASETS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"),
    }
}

pub fn leads_csv_path() -> PathBuf {
    datasets_dir().join("x-education/Leads.csv")
}

/// Load Leads.csv. The target column is removed from the fields; the trailing unnamed
/// column (every line ends with a comma) is skipped.
pub fn load_leads(path: &Path) -> Result<Dataset, String> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let headers = reader.headers().map_err(|e| format!("{}: bad header: {e}", path.display()))?.clone();
    let target = headers
        .iter()
        .position(|h| h == "Converted")
        .ok_or_else(|| format!("{}: no `Converted` column", path.display()))?;
    let kept: Vec<usize> =
        (0..headers.len()).filter(|&i| i != target && !headers[i].trim().is_empty()).collect();
    let mut columns: Vec<Column> =
        kept.iter().map(|&i| Column { name: headers[i].to_owned(), values: Vec::new() }).collect();
    let mut labels = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("{} line {}: {e}", path.display(), line + 2))?;
        labels.push(match record.get(target) {
            Some("1") => true,
            Some("0") => false,
            other => {
                return Err(format!(
                    "{} line {}: `Converted` is {other:?}, expected 0 or 1",
                    path.display(),
                    line + 2
                ));
            }
        });
        for (column, &i) in columns.iter_mut().zip(&kept) {
            let cell = record.get(i).unwrap_or("");
            column.values.push(if cell.is_empty() { Value::Missing } else { Value::Text(cell.to_owned()) });
        }
    }
    Ok(Dataset { columns, labels })
}
