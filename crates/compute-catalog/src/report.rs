//! What a catalog load did: rows read, kept and skipped by reason, and every warning.

use std::{collections::BTreeMap, fmt};

/// Why a row was left out of the catalog.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The CSV record itself could not be read (bad quoting, not UTF-8).
    Unreadable,
    /// The row has a different number of fields than the header.
    FieldCount,
    /// A value the row needs is empty (instance type, region).
    MissingValue,
    /// A GPU count or size is not a whole, non-negative number.
    InvalidNumber,
    /// A price is not a non-negative decimal amount.
    InvalidPrice,
    /// Neither an on-demand nor a spot price is given.
    NoPrice,
    /// The provider, region, zone or type name is not a valid id.
    InvalidId,
    /// An earlier row has the same instance type id; the first one is kept.
    Duplicate,
}

impl SkipReason {
    /// Returns a short lower-case label, e.g. `invalid price`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreadable => "unreadable",
            Self::FieldCount => "wrong field count",
            Self::MissingValue => "missing value",
            Self::InvalidNumber => "invalid number",
            Self::InvalidPrice => "invalid price",
            Self::NoPrice => "no price",
            Self::InvalidId => "invalid id",
            Self::Duplicate => "duplicate",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a warning is about.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WarningKind {
    /// The row was skipped.
    Skipped(SkipReason),
    /// The spot price is above the on-demand price; both are kept.
    SpotAboveOnDemand,
    /// An on-demand price of zero was read as "no on-demand price".
    ZeroPrice,
    /// `GpuInfo` could not be read; the accelerator columns were used alone.
    GpuInfo,
    /// GPU memory was missing, zero, in another unit or otherwise adjusted or dropped.
    GpuMemory,
    /// The GPU model is not in the table of known GPUs.
    UnknownGpu,
    /// vCPUs or host memory are missing or malformed on a whole-instance row.
    HostSize,
    /// An optional column (architecture, local disks) could not be read.
    OptionalColumn,
}

impl fmt::Display for WarningKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Skipped(reason) => write!(f, "skipped ({reason})"),
            Self::SpotAboveOnDemand => f.write_str("spot above on-demand"),
            Self::ZeroPrice => f.write_str("zero price"),
            Self::GpuInfo => f.write_str("gpu info"),
            Self::GpuMemory => f.write_str("gpu memory"),
            Self::UnknownGpu => f.write_str("unknown gpu"),
            Self::HostSize => f.write_str("host size"),
            Self::OptionalColumn => f.write_str("optional column"),
        }
    }
}

/// One problem found while loading: which file, which line, what, and details.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadWarning {
    /// The file (or source name) the row came from.
    pub file: String,
    /// The 1-based line the row starts on; `None` for a warning about the whole file.
    pub line: Option<u64>,
    /// What kind of problem.
    pub kind: WarningKind,
    /// Details, lower case: the column and the rule it broke. A value is quoted only when
    /// the catalog keeps it (an instance type id, a GPU model name), never one that broke a
    /// rule, since the file may be the wrong one and hold secrets.
    pub message: String,
}

impl fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: ", self.file)?,
            None => write!(f, "{}: ", self.file)?,
        }
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// The outcome of a load: counts and warnings, for every file read.
///
/// `Display` prints a one-line summary followed by one line per warning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadReport {
    /// The files read, in order.
    pub files: Vec<String>,
    /// Data rows read (header lines excluded).
    pub rows_read: usize,
    /// Rows that became instance types.
    pub rows_kept: usize,
    /// Rows left out, by reason.
    pub skipped: BTreeMap<SkipReason, usize>,
    /// Kept rows whose price covers the accelerators only (GCP), flagged as partial.
    pub partial_price_rows: usize,
    /// Every skipped row and every kept row with a problem, in file order.
    pub warnings: Vec<LoadWarning>,
}

impl LoadReport {
    /// Returns the number of rows skipped for any reason.
    pub fn rows_skipped(&self) -> usize {
        self.skipped.values().sum()
    }

    /// Returns the number of warnings of each kind.
    pub fn warnings_by_kind(&self) -> BTreeMap<WarningKind, usize> {
        let mut counts = BTreeMap::new();
        for w in &self.warnings {
            *counts.entry(w.kind).or_insert(0) += 1;
        }
        counts
    }

    /// Adds another report's counts and warnings to this one.
    pub fn merge(&mut self, other: Self) {
        self.files.extend(other.files);
        self.rows_read += other.rows_read;
        self.rows_kept += other.rows_kept;
        self.partial_price_rows += other.partial_price_rows;
        for (reason, n) in other.skipped {
            *self.skipped.entry(reason).or_insert(0) += n;
        }
        self.warnings.extend(other.warnings);
    }

    pub(crate) fn skip(&mut self, file: &str, line: Option<u64>, reason: SkipReason, msg: String) {
        *self.skipped.entry(reason).or_insert(0) += 1;
        self.warn(file, line, WarningKind::Skipped(reason), msg);
    }

    pub(crate) fn warn(&mut self, file: &str, line: Option<u64>, kind: WarningKind, msg: String) {
        self.warnings.push(LoadWarning {
            file: file.to_owned(),
            line,
            kind,
            message: msg,
        });
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read {} rows from {} file(s): kept {}, skipped {}",
            self.rows_read,
            self.files.len(),
            self.rows_kept,
            self.rows_skipped()
        )?;
        if !self.skipped.is_empty() {
            let parts: Vec<String> = self
                .skipped
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        if self.partial_price_rows > 0 {
            write!(f, "; {} accelerator-only prices", self.partial_price_rows)?;
        }
        write!(f, "; {} warning(s)", self.warnings.len())?;
        for w in &self.warnings {
            write!(f, "\n{w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_merge_and_print() {
        let mut a = LoadReport {
            files: vec!["a.csv".into()],
            rows_read: 3,
            rows_kept: 2,
            ..LoadReport::default()
        };
        a.skip(
            "a.csv",
            Some(4),
            SkipReason::InvalidPrice,
            "`abc` is not a price".into(),
        );
        let mut b = LoadReport {
            files: vec!["b.csv".into()],
            rows_read: 1,
            ..LoadReport::default()
        };
        b.skip(
            "b.csv",
            Some(2),
            SkipReason::InvalidPrice,
            "`-1` is negative".into(),
        );
        b.warn("b.csv", None, WarningKind::GpuMemory, "per instance".into());

        a.merge(b);

        assert_eq!(a.rows_read, 4);
        assert_eq!(a.rows_skipped(), 2);
        assert_eq!(a.skipped[&SkipReason::InvalidPrice], 2);
        assert_eq!(a.warnings_by_kind()[&WarningKind::GpuMemory], 1);
        let text = a.to_string();
        assert!(text.starts_with("read 4 rows from 2 file(s): kept 2, skipped 2"));
        assert!(text.contains("\na.csv:4: skipped (invalid price): `abc` is not a price"));
        assert!(text.contains("\nb.csv: gpu memory: per instance"));
    }
}
