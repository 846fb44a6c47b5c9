//! Results as tables: one column per tool, one row per measured quantity, each cell the minimum
//! and median of the repetitions, and ratio columns (tool A / tool B) of minimums and medians.

use std::fmt::Write;

pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    /// (numerator, denominator) column indexes.
    pub ratios: Vec<(usize, usize)>,
    pub rows: Vec<Row>,
}

pub struct Row {
    pub label: String,
    pub unit: &'static str,
    /// One entry a column: the repetitions' values, empty when not measured.
    pub samples: Vec<Vec<f64>>,
}

impl Table {
    pub fn new(title: impl Into<String>, columns: &[&str], ratios: &[(usize, usize)]) -> Table {
        Table {
            title: title.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            ratios: ratios.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row with no samples yet and returns its index.
    pub fn add_row(&mut self, label: impl Into<String>, unit: &'static str) -> usize {
        self.rows.push(Row {
            label: label.into(),
            unit,
            samples: vec![Vec::new(); self.columns.len()],
        });
        self.rows.len() - 1
    }

    pub fn push(&mut self, row: usize, column: usize, value: f64) {
        self.rows[row].samples[column].push(value);
    }

    /// The summary of one cell.
    pub fn stats(&self, row: usize, column: usize) -> Option<Stats> {
        Stats::of(&self.rows[row].samples[column])
    }

    /// The ratio of medians, numerator column over denominator column.
    pub fn median_ratio(&self, row: usize, numerator: usize, denominator: usize) -> Option<f64> {
        let (a, b) = (self.stats(row, numerator)?, self.stats(row, denominator)?);
        ratio(a.median, b.median)
    }

    /// Cells of columns that must have been measured that have no value.
    pub fn empty_cells(&self, columns: &[usize]) -> Vec<String> {
        columns
            .iter()
            .flat_map(|&column| {
                self.rows
                    .iter()
                    .filter(move |row| row.samples[column].is_empty())
                    .map(move |row| {
                        format!("{}: {} / {}", self.title, row.label, self.columns[column])
                    })
            })
            .collect()
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("### {}\n\n| | unit |", self.title);
        for column in &self.columns {
            let _ = write!(out, " {column} |");
        }
        for &(a, b) in &self.ratios {
            let _ = write!(out, " {} / {} |", self.columns[a], self.columns[b]);
        }
        out.push_str("\n|---|---|");
        for _ in 0..self.columns.len() + self.ratios.len() {
            out.push_str("---:|");
        }
        out.push('\n');
        for (index, row) in self.rows.iter().enumerate() {
            let _ = write!(out, "| {} | {} |", row.label, row.unit);
            for column in 0..self.columns.len() {
                let cell = self.stats(index, column).map_or_else(
                    || "—".to_string(),
                    |s| format!("{} / {}", number(s.min), number(s.median)),
                );
                let _ = write!(out, " {cell} |");
            }
            for &(a, b) in &self.ratios {
                let cell = match (self.stats(index, a), self.stats(index, b)) {
                    (Some(x), Some(y)) => match (ratio(x.min, y.min), ratio(x.median, y.median)) {
                        (Some(min), Some(median)) => {
                            format!("{} / {}", ratio_text(min), ratio_text(median))
                        }
                        _ => "—".to_string(),
                    },
                    _ => "—".to_string(),
                };
                let _ = write!(out, " {cell} |");
            }
            out.push('\n');
        }
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub min: f64,
    pub median: f64,
}

impl Stats {
    pub fn of(values: &[f64]) -> Option<Stats> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Some(Stats {
            min: sorted[0],
            median,
        })
    }
}

/// a / b, when b is not zero.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0).then(|| a / b)
}

pub fn ratio_text(r: f64) -> String {
    format!("{r:.2}x")
}

/// Three significant digits at most, no needless decimals.
pub fn number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_and_median() {
        assert_eq!(Stats::of(&[]), None);
        assert_eq!(
            Stats::of(&[3.0, 1.0, 2.0]),
            Some(Stats {
                min: 1.0,
                median: 2.0
            })
        );
        assert_eq!(Stats::of(&[4.0, 1.0]).map(|s| s.median), Some(2.5));
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(12345.6), "12346");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(1.234), "1.23");
        assert_eq!(number(0.01234), "0.012");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(7.0), "7");
    }

    #[test]
    fn renders_cells_and_ratios() {
        let mut table = Table::new("t", &["a", "b"], &[(0, 1)]);
        let row = table.add_row("wall", "ms");
        for (a, b) in [(1.0, 4.0), (3.0, 2.0), (2.0, 8.0)] {
            table.push(row, 0, a);
            table.push(row, 1, b);
        }
        let empty = table.add_row("rss", "MiB");
        table.push(empty, 0, 5.0);
        let text = table.markdown();
        assert!(
            text.contains("| wall | ms | 1 / 2 | 2 / 4 | 0.50x / 0.50x |"),
            "{text}"
        );
        assert!(text.contains("| rss | MiB | 5 / 5 | — | — |"), "{text}");
        assert_eq!(table.median_ratio(row, 0, 1), Some(0.5));
        assert_eq!(table.empty_cells(&[1]), vec!["t: rss / b".to_string()]);
    }
}
