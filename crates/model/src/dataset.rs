//! The shapes data takes on its way into a model: raw named columns as the storage layer
//! reads them from contact fields (`Dataset`), and the dense numeric `Matrix` the featurizer
//! turns them into. Raw values stay loosely typed on purpose: a CRM field holds whatever users
//! typed, and deciding what a column *is* belongs to the featurizer, not to the caller.

use serde::{Deserialize, Serialize};

/// One raw field value of one contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Missing,
    Number(f64),
    Bool(bool),
    Text(String),
}

impl Value {
    /// Text for display in an explanation ("Lead Source = Google").
    pub(crate) fn display(&self) -> String {
        match self {
            Value::Missing => String::new(),
            Value::Number(x) => format_number(*x),
            Value::Bool(true) => "true".to_owned(),
            Value::Bool(false) => "false".to_owned(),
            Value::Text(text) => text.trim().to_owned(),
        }
    }
}

/// Shortest faithful text of a number: `5` rather than `5.0`, `2.5` as is.
pub(crate) fn format_number(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

/// A named field with one value per contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub values: Vec<Value>,
}

/// Contacts as columns, with the outcome to learn: `labels[i]` is true when contact `i`
/// converted. Every column must have one value per label.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub columns: Vec<Column>,
    pub labels: Vec<bool>,
}

impl Dataset {
    /// Number of contacts (rows), taken from the labels.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// The first column whose length differs from the number of labels, as
    /// `(field, values, labels)`.
    pub fn length_mismatch(&self) -> Option<(&str, usize, usize)> {
        self.columns
            .iter()
            .find(|column| column.values.len() != self.labels.len())
            .map(|column| (column.name.as_str(), column.values.len(), self.labels.len()))
    }

    /// The raw values of row `row`, in column order (the order `TrainedModel::predict`
    /// expects). A column too short for `row` yields `Value::Missing`.
    pub fn row(&self, row: usize) -> Vec<Value> {
        self.columns.iter().map(|column| column.values.get(row).cloned().unwrap_or(Value::Missing)).collect()
    }

    /// Value of `column` at `row`, `Missing` when the column is too short (so a malformed
    /// dataset degrades to missing values instead of a panic).
    pub(crate) fn value(&self, column: usize, row: usize) -> &Value {
        const MISSING: &Value = &Value::Missing;
        self.columns.get(column).and_then(|c| c.values.get(row)).unwrap_or(MISSING)
    }
}

/// Dense row-major matrix of encoded features. `NaN` marks a missing numeric or boolean
/// value; the models decide what missing means to them.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    values: Vec<f64>,
}

impl Matrix {
    /// A matrix from row-major values; `None` when `values.len() != rows * cols`.
    pub fn from_row_major(rows: usize, cols: usize, values: Vec<f64>) -> Option<Matrix> {
        (rows.checked_mul(cols) == Some(values.len())).then_some(Matrix { rows, cols, values })
    }

    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix { rows, cols, values: vec![0.0; rows * cols] }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn row(&self, row: usize) -> &[f64] {
        &self.values[row * self.cols..(row + 1) * self.cols]
    }

    pub fn row_mut(&mut self, row: usize) -> &mut [f64] {
        &mut self.values[row * self.cols..(row + 1) * self.cols]
    }

    pub fn get(&self, row: usize, col: usize) -> f64 {
        self.values[row * self.cols + col]
    }

    /// A new matrix made of the given rows, in the given order.
    pub fn select_rows(&self, rows: &[usize]) -> Matrix {
        let mut values = Vec::with_capacity(rows.len() * self.cols);
        for &row in rows {
            values.extend_from_slice(self.row(row));
        }
        Matrix { rows: rows.len(), cols: self.cols, values }
    }

    pub fn as_row_major(&self) -> &[f64] {
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_display_without_spurious_decimals() {
        assert_eq!(format_number(5.0), "5");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(1e20), "100000000000000000000");
    }

    #[test]
    fn matrix_rejects_a_wrong_value_count() {
        assert!(Matrix::from_row_major(2, 3, vec![0.0; 5]).is_none());
        assert!(Matrix::from_row_major(usize::MAX, 2, vec![]).is_none());
        let m = Matrix::from_row_major(2, 2, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(m.select_rows(&[1, 0]).as_row_major(), &[3.0, 4.0, 1.0, 2.0]);
    }

    #[test]
    fn short_columns_read_as_missing() {
        let dataset = Dataset {
            columns: vec![Column { name: "a".into(), values: vec![Value::Number(1.0)] }],
            labels: vec![true, false],
        };
        assert_eq!(dataset.length_mismatch(), Some(("a", 1, 2)));
        assert_eq!(dataset.row(1), vec![Value::Missing]);
    }
}
