//! CSV for people's spreadsheets, the one writer every export uses (the inbox export, the
//! import rejects reports of the API, the UI and the command line). A cell a spreadsheet would
//! run as a formula — one starting with `=`, `+`, `-`, `@`, a tab or a carriage return — gets a
//! leading `'`, unless it is a plain number: a contact's data is never executed by Excel or
//! LibreOffice (OWASP's CSV injection advice). Lines end with CRLF, as spreadsheets expect.

use std::borrow::Cow;
use std::io::Write;

use leadgate_core::import::Reject;

use crate::AppError;

/// A cell as exported: a formula-looking text neutralised.
///
/// ```
/// use leadgate_app::export::neutralise;
/// assert_eq!(neutralise("=HYPERLINK(\"http://evil\")"), "'=HYPERLINK(\"http://evil\")");
/// assert_eq!(neutralise("@SUM(1)"), "'@SUM(1)");
/// assert_eq!(neutralise("-2+3"), "'-2+3");
/// assert_eq!(neutralise("-1.5"), "-1.5");
/// assert_eq!(neutralise("Ada"), "Ada");
/// ```
pub fn neutralise(v: &str) -> Cow<'_, str> {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) && v.trim().parse::<f64>().is_err() {
        Cow::Owned(format!("'{v}"))
    } else {
        Cow::Borrowed(v)
    }
}

/// A CSV file being written.
pub struct CsvExport<W: Write> {
    writer: csv::Writer<W>,
}

impl<W: Write> CsvExport<W> {
    pub fn new(w: W) -> Self {
        CsvExport { writer: csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(w) }
    }

    /// Writes one row, each cell neutralised.
    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> Result<(), AppError> {
        self.writer
            .write_record(cells.into_iter().map(|c| neutralise(c).into_owned()))
            .map_err(|e| AppError::Internal(format!("cannot write the CSV file: {e}")))
    }

    /// Flushes what was written to the underlying writer.
    pub fn flush(&mut self) -> Result<(), AppError> {
        self.writer.flush().map_err(|e| AppError::Internal(format!("cannot write the CSV file: {e}")))
    }

    /// The underlying writer, everything flushed.
    pub fn finish(self) -> Result<W, AppError> {
        self.writer.into_inner().map_err(|e| AppError::Internal(format!("cannot write the CSV file: {e}")))
    }
}

/// The header of a rejects report.
pub const REJECTS_HEADER: [&str; 4] = ["line", "column", "value", "reason"];

/// Writes rejects as rows of a rejects report.
pub fn write_rejects<W: Write>(out: &mut CsvExport<W>, rejects: &[Reject]) -> Result<(), AppError> {
    for r in rejects {
        out.row([r.line.to_string().as_str(), &r.column, &r.value, &r.reason])?;
    }
    Ok(())
}

/// A whole rejects report.
pub fn rejects_csv(rejects: &[Reject]) -> Result<Vec<u8>, AppError> {
    let mut out = CsvExport::new(Vec::new());
    out.row(REJECTS_HEADER)?;
    write_rejects(&mut out, rejects)?;
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_quoting_is_kept() {
        let mut out = CsvExport::new(Vec::new());
        out.row(["=1+1", "\t=1", "a,b", "say \"hi\"", "+33 6 12", "12"]).unwrap();
        let text = String::from_utf8(out.finish().unwrap()).unwrap();
        assert_eq!(text, "'=1+1,'\t=1,\"a,b\",\"say \"\"hi\"\"\",'+33 6 12,12\r\n");
    }
}
