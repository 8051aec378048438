//! Synthetic contacts with every kind of field (numeric, yes/no, categorical, rare levels,
//! missing values), generated from a seed, for tests that need a small model quickly.

use leadgate_model::{Column, Dataset, Value};

/// SplitMix64: a tiny seeded generator so the data is the same on every run.
pub struct Generator(u64);

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

pub const SOURCES: [&str; 6] = ["Google", "Direct Traffic", "Reference", "Olark Chat", "bing", "Facebook"];

/// `rows` contacts whose conversion depends on source, visits, an opt-out flag and whether
/// the country is known, with noise.
pub fn synthetic_contacts(rows: usize, seed: u64) -> Dataset {
    let mut generator = Generator::new(seed);
    let names = ["Lead Source", "TotalVisits", "Do Not Email", "Country", "Notes", "Constant"];
    let mut columns: Vec<Column> = names
        .iter()
        .map(|name| Column { name: (*name).to_owned(), values: Vec::with_capacity(rows) })
        .collect();
    let mut labels = Vec::with_capacity(rows);
    for row in 0..rows {
        // "bing" and "Facebook" are rare: pooled into "(other)" by the featurizer.
        let source = if generator.unit() < 0.03 {
            generator.pick(&SOURCES[4..])
        } else {
            generator.pick(&SOURCES[..4])
        };
        let visits = if generator.unit() < 0.1 {
            Value::Missing
        } else {
            Value::Text(format!("{}", (generator.unit() * 12.0).floor()))
        };
        let opted_out = generator.unit() < 0.15;
        let country = if generator.unit() < 0.3 {
            Value::Text("Select".into())
        } else {
            Value::Text(generator.pick(&["India", "India", "France", "Brasil"]).into())
        };
        let mut logit = match source {
            "Reference" => 1.5,
            "Olark Chat" => -1.0,
            _ => 0.0,
        };
        if let Value::Text(v) = &visits {
            logit += 0.2 * v.parse::<f64>().unwrap_or(0.0) - 1.0;
        }
        if opted_out {
            logit -= 1.2;
        }
        if matches!(&country, Value::Text(c) if c == "Select") {
            logit -= 0.7;
        }
        labels.push(generator.unit() < 1.0 / (1.0 + (-logit).exp()));
        let values = [
            Value::Text(source.into()),
            visits,
            Value::Text(if opted_out { "Yes" } else { "No" }.into()),
            country,
            Value::Text(format!("free text #{row}")),
            Value::Bool(true),
        ];
        for (column, value) in columns.iter_mut().zip(values) {
            column.values.push(value);
        }
    }
    Dataset { columns, labels }
}
