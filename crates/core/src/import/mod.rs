//! Importing records from spreadsheets: which column goes where (automatic for obvious headers,
//! presets for known files, explicit `--map`), what type each extra column has (inferred from the
//! values, overridable), and turning each row into a validated record or into reasons to reject
//! it. Pure: the caller reads the file and gives rows as text; nothing here touches storage.

pub mod infer;
pub mod merge;
pub mod plan;
pub mod presets;
pub mod row;

pub use infer::TypeInference;
pub use plan::{ColumnPlan, Entity, ImportOptions, ImportPlan, PlanError, Target};
pub use row::{CompanyRow, ContactRow, DealRow, MappedRow, Reject};

/// A custom field key from a column header: lower-case words joined by `_` (`Total Time Spent
/// on Website` → `total_time_spent_on_website`, `TotalVisits` → `total_visits`), at most 64
/// characters, starting with a letter.
///
/// ```
/// use leadgate_core::import::field_key;
/// assert_eq!(field_key("Total Time Spent on Website"), "total_time_spent_on_website");
/// assert_eq!(field_key("TotalVisits"), "total_visits");
/// assert_eq!(field_key("Asymmetrique Activity Index"), "asymmetrique_activity_index");
/// assert_eq!(field_key("2nd e-mail (pro)"), "f_2nd_e_mail_pro");
/// ```
pub fn field_key(header: &str) -> String {
    let mut key = String::with_capacity(header.len() + 4);
    let mut prev_lower = false;
    for c in header.trim().chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !key.ends_with('_') {
                key.push('_');
            }
            key.push(c.to_ascii_lowercase());
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else if let Some(folded) = fold_accent(c) {
            key.push(folded);
            prev_lower = true;
        } else {
            if !key.is_empty() && !key.ends_with('_') {
                key.push('_');
            }
            prev_lower = false;
        }
    }
    let mut key = key.trim_matches('_').to_string();
    if key.is_empty() {
        key = "column".into();
    }
    if !key.starts_with(|c: char| c.is_ascii_lowercase()) {
        key.insert_str(0, "f_");
    }
    key.truncate(64);
    key.trim_end_matches('_').to_string()
}

/// Folds the accented letters of French and other Western headers (`Prénom` → `prenom`).
fn fold_accent(c: char) -> Option<char> {
    let folded = match c.to_lowercase().next()? {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        _ => return None,
    };
    Some(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_valid() {
        for (h, k) in [
            ("What is your current occupation", "what_is_your_current_occupation"),
            ("Lead Origin", "lead_origin"),
            ("Page Views Per Visit", "page_views_per_visit"),
            ("Prénom", "prenom"),
            ("  ", "column"),
            ("sales_agent", "sales_agent"),
            ("I agree to pay the amount through cheque", "i_agree_to_pay_the_amount_through_cheque"),
        ] {
            assert_eq!(field_key(h), k);
            assert!(crate::custom_field::valid_key(&field_key(h)));
        }
        assert!(field_key(&"x".repeat(200)).len() <= 64);
    }
}
