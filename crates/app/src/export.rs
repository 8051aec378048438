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

/// A CSV file written by [`CsvExport`] as French Excel opens it by a double click: a UTF-8
/// byte-order mark (else accents come out garbled), `;` between cells (`,` is the decimal
/// separator there) and numbers with a decimal comma (else they stay text). Cells that are not
/// plain numbers are kept as they are.
///
/// ```
/// use leadgate_app::export::for_french_excel;
/// let csv = for_french_excel(b"source,rate,note\r\nGoogle,0.25,\"a, b\"\r\n").unwrap();
/// assert_eq!(csv, "\u{feff}source;rate;note\r\nGoogle;0,25;a, b\r\n".as_bytes());
/// ```
pub fn for_french_excel(csv: &[u8]) -> Result<Vec<u8>, AppError> {
    let broken = |e: csv::Error| AppError::Internal(format!("cannot rewrite the CSV file: {e}"));
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(csv);
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(&mut out);
        for record in reader.records() {
            let record = record.map_err(broken)?;
            let cells = record.iter().map(|cell| {
                if cell.contains('.') && cell.trim().parse::<f64>().is_ok() {
                    Cow::Owned(cell.replace('.', ","))
                } else {
                    Cow::Borrowed(cell)
                }
            });
            let cells: Vec<Cow<'_, str>> = cells.collect();
            let cells = cells.iter().map(|c| c.as_bytes());
            writer.write_record(cells).map_err(broken)?;
        }
        writer.flush().map_err(|e| AppError::Internal(format!("cannot write the CSV file: {e}")))?;
    }
    Ok(out)
}

/// A CSV of JSON objects (what an export writes for spreadsheets): one column per key met, in
/// order of appearance, nested values as JSON.
pub fn table_csv(rows: &[serde_json::Value]) -> Result<Vec<u8>, AppError> {
    let mut columns: Vec<String> = Vec::new();
    for row in rows {
        if let Some(o) = row.as_object() {
            for k in o.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
    }
    let mut out = CsvExport::new(Vec::new());
    out.row(columns.iter().map(String::as_str))?;
    for row in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match row.get(c) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            })
            .collect();
        out.row(cells.iter().map(String::as_str))?;
    }
    out.finish()
}

/// A zip archive built in memory, its files stored as they are (no compression: exports are
/// small, and any unzip tool, spreadsheet or script reads a stored entry). Names are ASCII.
#[derive(Default)]
pub struct Zip {
    bytes: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
}

impl Zip {
    /// Adds a file.
    pub fn add(&mut self, name: &str, content: &[u8]) {
        let crc = crc32(content);
        let size = u32::try_from(content.len()).unwrap_or(u32::MAX);
        let offset = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        // Version 2.0, no flags, stored, a fixed date (1 Jan 1980: the archive's bytes depend on
        // its content only).
        let common = |out: &mut Vec<u8>| {
            out.extend_from_slice(&20_u16.to_le_bytes());
            out.extend_from_slice(&0_u16.to_le_bytes());
            out.extend_from_slice(&0_u16.to_le_bytes());
            out.extend_from_slice(&0_u16.to_le_bytes());
            out.extend_from_slice(&0x21_u16.to_le_bytes());
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0_u16.to_le_bytes());
        };
        self.bytes.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
        common(&mut self.bytes);
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.extend_from_slice(content);
        self.central.extend_from_slice(&0x0201_4b50_u32.to_le_bytes());
        self.central.extend_from_slice(&20_u16.to_le_bytes());
        common(&mut self.central);
        self.central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        self.central.extend_from_slice(&0_u32.to_le_bytes()); // external attributes
        self.central.extend_from_slice(&offset.to_le_bytes());
        self.central.extend_from_slice(name.as_bytes());
        self.entries += 1;
    }

    /// The archive's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        let offset = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        let size = u32::try_from(self.central.len()).unwrap_or(u32::MAX);
        self.bytes.append(&mut self.central);
        self.bytes.extend_from_slice(&0x0605_4b50_u32.to_le_bytes());
        self.bytes.extend_from_slice(&[0; 4]); // this disk, the central directory's disk
        self.bytes.extend_from_slice(&self.entries.to_le_bytes());
        self.bytes.extend_from_slice(&self.entries.to_le_bytes());
        self.bytes.extend_from_slice(&size.to_le_bytes());
        self.bytes.extend_from_slice(&offset.to_le_bytes());
        self.bytes.extend_from_slice(&0_u16.to_le_bytes());
        self.bytes
    }
}

/// The CRC-32 of zip files (IEEE 802.3, reflected).
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0_u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !data.iter().fold(!0_u32, |c, b| TABLE[((c ^ u32::from(*b)) & 0xFF) as usize] ^ (c >> 8))
}

#[cfg(test)]
mod zip_tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_zip_lists_its_files_in_its_central_directory() {
        let mut zip = Zip::default();
        zip.add("a.json", b"{}");
        zip.add("b.csv", b"x,y\r\n");
        let bytes = zip.finish();
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        let end = bytes.len() - 22;
        assert_eq!(&bytes[end..end + 4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([bytes[end + 10], bytes[end + 11]]), 2);
        let central = u32::from_le_bytes(bytes[end + 16..end + 20].try_into().unwrap()) as usize;
        assert_eq!(&bytes[central..central + 4], b"PK\x01\x02");
        // The first record: its name at its fixed place, pointing at the first local header; the
        // second record right after it.
        assert_eq!(&bytes[central + 46..central + 52], b"a.json");
        assert_eq!(&bytes[central + 42..central + 46], &[0, 0, 0, 0]);
        assert_eq!(&bytes[central + 52..central + 56], b"PK\x01\x02");
    }
}
