//! The tolerant reader of SkyPilot-style CSV catalogs, one file per cloud.
//!
//! The row-by-row mapping is documented on [`CsvOptions`].

use std::{collections::HashMap, io::Read, str::FromStr};

use compute_types::{
    Architecture, Bytes, Error, InstanceType, InstanceTypeId, Price, PriceScope, ProviderId,
    Result, StorageOption, UsageClass,
};
use rust_decimal::Decimal;

use crate::{
    catalog::Catalog,
    gpu::{NormalizedGpu, normalize_gpu, refine_with_type_name},
    memory::{self, GpuDraft},
    pylit::{self, PyValue},
    report::{LoadReport, SkipReason, WarningKind},
};

/// Providers whose instances are containers on a price-varying marketplace.
const MARKETPLACES: &[&str] = &["vast"];

/// How to read one CSV catalog: whose it is and what to call it in warnings.
///
/// # How rows are read
///
/// Columns are found by header name (case ignored) in any order. `InstanceType`, `Region`
/// and one of `Price`/`SpotPrice` are required; `AcceleratorName`, `AcceleratorCount`,
/// `GpuInfo`, `vCPUs`, `MemoryGiB`, `AvailabilityZone`, `Arch` and the `LocalDisk*` and
/// `NVMeSupported` columns are optional. Each data row becomes one
/// [`InstanceType`](compute_types::InstanceType) or is skipped with a warning naming file,
/// line and reason; a skipped row never stops the load.
///
/// - **Id**: `InstanceTypeId::builder(provider, Region, InstanceType)`, with
///   `AvailabilityZone` as the zone when present and not empty.
/// - **Accelerator-only rows** (empty `InstanceType`, as GCP lists attachable GPUs): the type
///   name is the accelerator in lower case with other characters as `-`, plus `-x<count>`
///   (`A100-80GB` × 8 → `a100-80gb-x8`). The price scope is
///   [`AcceleratorsOnly`](compute_types::PriceScope::AcceleratorsOnly), so the price is
///   never an instance price; vCPUs and host memory are unknown and read as 0.
/// - **Prices**: an empty `Price` means spot only; an on-demand price of 0 reads as none,
///   with a warning. An empty or zero `SpotPrice` means no spot offer; Vast writes `0.00`
///   on every row, which therefore reads as no spot offer (an interruptible marketplace bid
///   is not a list price). A spot price above on-demand is kept, with a warning. A row with
///   neither price is skipped.
/// - **GPUs**: `AcceleratorName` (else `GpuInfo`'s `Name`) through
///   [`normalize_gpu`](crate::normalize_gpu), refined by the type name (`RTX_3060_Ti`,
///   `_sxm5`), counted by `AcceleratorCount` (`8.0` and `8` alike; fractions are skipped).
/// - **GPU memory**: a known model gets its nominal size (`80GiB` for every H100 80GB), an
///   unknown one the measured size. In order of trust: a size in the accelerator name
///   (`V100-32GB`); `GpuInfo`'s `SizeInMiB` snapped to the model's variants, read per GPU
///   or per instance as the row shows (Vast writes the instance total) and, when a row
///   cannot tell, as most rows of the file do; a size that only fits as GiB is read as GiB;
///   `TotalGpuMemoryInMiB` over the count; a size in the type name (`_80gb_`); the model's
///   only size (Nebius writes 0). Each adjustment is warned about; when nothing fits, the
///   memory stays unknown rather than wrong.
/// - **Host**: `vCPUs` and `MemoryGiB` (`8.0` accepted); an absent column is warned about
///   once per file and reads as 0. `Arch` gives the architecture; without it, only a GPU
///   that fixes the host (GH200 → arm64) sets one. Local disks come from `LocalDisk*`.
/// - **Availability** is true: the catalogs list offers. Lambda lists every type in every
///   region, so there it says nothing about real capacity.
/// - **Marketplaces** (`vast`): `variable_price` and `is_container` are set.
/// - **Duplicates** (an id already read): the first row wins; the later one is skipped with
///   reason `duplicate`, naming the first one's line.
///
/// # What messages show
///
/// A catalog path may name the wrong file, one holding secrets, so no error and no warning
/// quotes the header or a value that failed a rule. They name the file, the line, the
/// column and the rule (`x.csv:7: skipped (invalid price): \`Price\` is not …`). Only values
/// the catalog keeps (an instance type id, a GPU model name) are quoted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CsvOptions {
    /// The provider every row belongs to.
    pub provider: ProviderId,
    /// The name warnings and the catalog's `source` use, e.g. the file path.
    pub file_name: String,
    /// When the data was fetched, if known; CSV files do not say.
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
}

impl CsvOptions {
    /// Options for `provider`'s catalog, named after the provider, date unknown.
    pub fn new(provider: ProviderId) -> Self {
        Self {
            file_name: format!("{provider}.csv"),
            provider,
            as_of: None,
        }
    }

    /// Sets the name used in warnings and as the catalog's source.
    pub fn with_file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = name.into();
        self
    }

    /// Sets when the data was fetched.
    pub fn with_as_of(mut self, as_of: chrono::DateTime<chrono::Utc>) -> Self {
        self.as_of = Some(as_of);
        self
    }
}

/// Reads a CSV catalog into `catalog`, skipping rows it cannot understand; returns the
/// file's report.
pub(crate) fn read_into<R: Read>(
    reader: R,
    options: &CsvOptions,
    catalog: &mut Catalog,
) -> Result<LoadReport> {
    let file = options.file_name.as_str();
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(reader);
    let headers = csv
        .byte_headers()
        .map_err(|e| read_error(file, &e))?
        .clone();
    let columns = Columns::find(&headers, file)?;

    let mut report = LoadReport {
        files: vec![file.to_owned()],
        ..LoadReport::default()
    };
    for (column, present) in [("vCPUs", columns.vcpus), ("MemoryGiB", columns.memory)] {
        if present.is_none() {
            let msg = format!("no `{column}` column; read as 0 (unknown) on every row");
            report.warn(file, None, WarningKind::HostSize, msg);
        }
    }
    let mut drafts = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut reader = RowReader::new(options, &mut report);
    loop {
        let line = csv.position().line();
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                reader.report.rows_read += 1;
                let line = record.position().map_or(line, csv::Position::line);
                if let Some(draft) = reader.row(&columns, &headers, &record, line) {
                    drafts.push(draft);
                }
            }
            Err(e) if is_io(&e) => return Err(read_error(file, &e)),
            Err(e) => {
                reader.report.rows_read += 1;
                let msg = record_problem(&e);
                reader
                    .report
                    .skip(file, Some(line), SkipReason::Unreadable, msg);
            }
        }
    }

    finish(drafts, options, &mut report, catalog);
    report.warnings.sort_by_key(|w| w.line.unwrap_or(0));
    Ok(report)
}

fn is_io(e: &csv::Error) -> bool {
    matches!(e.kind(), csv::ErrorKind::Io(_))
}

/// Describes a file that cannot be read, by position and kind only: the CSV error's own
/// text could quote the file.
fn read_error(file: &str, e: &csv::Error) -> Error {
    if let csv::ErrorKind::Io(io) = e.kind() {
        let msg = format!("cannot read `{file}`: {}", io.kind());
        return Error::invalid("catalog", msg);
    }
    let line = e.position().map_or(1, csv::Position::line);
    let msg = format!("`{file}` line {line}: {}", record_problem(e));
    Error::invalid("catalog", msg)
}

/// Says what is wrong with a CSV record without quoting it.
fn record_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("field {} is not UTF-8", err.field() + 1)
        }
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, the header has {expected_len}"),
        _ => "not a readable CSV record".to_owned(),
    }
}

/// Column positions, found by header name (case and surrounding space ignored).
#[derive(Debug)]
struct Columns {
    instance_type: usize,
    region: usize,
    accel_name: Option<usize>,
    accel_count: Option<usize>,
    vcpus: Option<usize>,
    memory: Option<usize>,
    gpu_info: Option<usize>,
    price: Option<usize>,
    spot: Option<usize>,
    zone: Option<usize>,
    arch: Option<usize>,
    disk_type: Option<usize>,
    nvme: Option<usize>,
    disk_size: Option<usize>,
    disk_count: Option<usize>,
}

impl Columns {
    fn find(headers: &csv::ByteRecord, file: &str) -> Result<Self> {
        let names: Vec<String> = headers
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_owned()
            })
            .collect();
        let col = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
        // The header is not quoted: a wrong file's first line may be a secret.
        let need = |name: &str| {
            col(name).ok_or_else(|| {
                Error::invalid(
                    "catalog",
                    format!(
                        "`{file}` line 1: the header has no `{name}` column; a catalog needs \
                         `InstanceType`, `Region` and `Price` or `SpotPrice`"
                    ),
                )
            })
        };

        let columns = Self {
            instance_type: need("InstanceType")?,
            region: need("Region")?,
            accel_name: col("AcceleratorName"),
            accel_count: col("AcceleratorCount"),
            vcpus: col("vCPUs"),
            memory: col("MemoryGiB"),
            gpu_info: col("GpuInfo"),
            price: col("Price"),
            spot: col("SpotPrice"),
            zone: col("AvailabilityZone"),
            arch: col("Arch"),
            disk_type: col("LocalDiskType"),
            nvme: col("NVMeSupported"),
            disk_size: col("LocalDiskSize"),
            disk_count: col("LocalDiskCount"),
        };
        if columns.price.is_none() && columns.spot.is_none() {
            return Err(Error::invalid(
                "catalog",
                format!(
                    "`{file}` line 1: the header has neither a `Price` nor a `SpotPrice` column"
                ),
            ));
        }
        Ok(columns)
    }
}

/// A row read and checked, waiting for the file-wide memory convention.
#[derive(Debug)]
struct Draft {
    line: u64,
    instance_type: InstanceType,
    accel: Option<GpuDraft>,
}

struct RowReader<'a> {
    options: &'a CsvOptions,
    report: &'a mut LoadReport,
    /// Normalised GPUs by accelerator name, then type name: rows repeat them per region.
    gpus: HashMap<String, HashMap<String, (NormalizedGpu, Option<u32>)>>,
    /// Parsed `GpuInfo` literals by text: rows repeat them too.
    infos: HashMap<String, std::result::Result<GpuInfo, String>>,
}

/// A row that cannot be used: the reason and a message naming the value.
type Skip = (SkipReason, String);

impl<'a> RowReader<'a> {
    fn new(options: &'a CsvOptions, report: &'a mut LoadReport) -> Self {
        Self {
            options,
            report,
            gpus: HashMap::new(),
            infos: HashMap::new(),
        }
    }

    fn row(
        &mut self,
        cols: &Columns,
        headers: &csv::ByteRecord,
        record: &csv::ByteRecord,
        line: u64,
    ) -> Option<Draft> {
        let options = self.options;
        let file = options.file_name.as_str();
        if record.len() != headers.len() {
            let msg = format!("{} fields, the header has {}", record.len(), headers.len());
            self.report
                .skip(file, Some(line), SkipReason::FieldCount, msg);
            return None;
        }
        let mut fields = Vec::with_capacity(record.len());
        for (i, raw) in record.iter().enumerate() {
            match std::str::from_utf8(raw) {
                Ok(text) => fields.push(text.trim()),
                Err(_) => {
                    let msg = format!("field {} is not UTF-8", i + 1);
                    self.report
                        .skip(file, Some(line), SkipReason::Unreadable, msg);
                    return None;
                }
            }
        }

        let mut notes = Vec::new();
        match self.build(cols, &fields, &mut notes) {
            Ok(draft) => {
                for (kind, msg) in notes {
                    self.report.warn(file, Some(line), kind, msg);
                }
                Some(Draft { line, ..draft })
            }
            Err((reason, msg)) => {
                self.report.skip(file, Some(line), reason, msg);
                None
            }
        }
    }

    fn build(
        &mut self,
        cols: &Columns,
        f: &[&str],
        notes: &mut Vec<(WarningKind, String)>,
    ) -> std::result::Result<Draft, Skip> {
        let get = |i: Option<usize>| i.and_then(|i| f.get(i).copied()).unwrap_or("");
        let info = self.gpu_info(get(cols.gpu_info), notes);
        let accel = self.accelerator(cols, f, &info, notes)?;

        // Prices first: a row without any price is skipped before other work.
        let price = read_price(get(cols.price), "Price")?;
        let spot = read_price(get(cols.spot), "SpotPrice")?;
        let price = match price {
            Some(p) if p.amount.is_zero() => {
                notes.push((
                    WarningKind::ZeroPrice,
                    "on-demand price 0 read as none".into(),
                ));
                None
            }
            other => other,
        };
        let spot = spot.filter(|p| !p.amount.is_zero());
        if price.is_none() && spot.is_none() {
            return Err((
                SkipReason::NoPrice,
                "neither an on-demand nor a spot price".into(),
            ));
        }
        if let (Some(p), Some(s)) = (price, spot)
            && s.amount > p.amount
        {
            let msg = format!("spot {} is above on-demand {}", s.amount, p.amount);
            notes.push((WarningKind::SpotAboveOnDemand, msg));
        }

        let type_name = get(Some(cols.instance_type));
        let (type_name, scope) = match (&accel, type_name.is_empty()) {
            (_, false) => (type_name.to_owned(), PriceScope::Instance),
            (Some(a), true) => (
                synthetic_name(&a.raw, a.count),
                PriceScope::AcceleratorsOnly,
            ),
            (None, true) => {
                let msg = "empty `InstanceType` and no accelerator".to_owned();
                return Err((SkipReason::MissingValue, msg));
            }
        };
        let region = get(Some(cols.region));
        if region.is_empty() {
            return Err((SkipReason::MissingValue, "empty `Region`".into()));
        }
        let zone = Some(get(cols.zone)).filter(|z| !z.is_empty());
        let id = InstanceTypeId::builder(self.options.provider.as_str(), region, &type_name)
            .maybe_zone(zone)
            .build()
            .map_err(|e| (SkipReason::InvalidId, id_problem(&e)))?;

        let (vcpus, memory) = match scope {
            PriceScope::AcceleratorsOnly => (0, Bytes::ZERO),
            _ => host_size(cols, f, notes),
        };
        let mut t = InstanceType::new(id, vcpus, memory);
        t.price = price;
        t.spot_price = spot;
        t.price_scope = scope;
        t.available = true;
        t.available_zones = t.id.zone().cloned().into_iter().collect();
        t.usage_classes = [
            (price.is_some(), UsageClass::OnDemand),
            (spot.is_some(), UsageClass::Spot),
        ]
        .into_iter()
        .filter_map(|(has, class)| has.then_some(class))
        .collect();
        let marketplace = MARKETPLACES.contains(&self.options.provider.as_str());
        t.variable_price = marketplace;
        t.is_container = marketplace;
        t.architectures = architecture(get(cols.arch), accel.as_ref(), notes);
        t.storage = local_disks(cols, f, notes).into_iter().collect();
        if scope == PriceScope::AcceleratorsOnly {
            self.report.partial_price_rows += 1;
        }

        Ok(Draft {
            line: 0,
            instance_type: t,
            accel,
        })
    }

    fn gpu_info(&mut self, text: &str, notes: &mut Vec<(WarningKind, String)>) -> GpuInfo {
        if text.is_empty() {
            return GpuInfo::default();
        }
        let parsed = match self.infos.get(text) {
            Some(hit) => hit.clone(),
            None => {
                let parsed = pylit::parse(text).map(|v| GpuInfo::from_value(&v));
                self.infos.insert(text.to_owned(), parsed.clone());
                parsed
            }
        };
        parsed.unwrap_or_else(|e| {
            notes.push((WarningKind::GpuInfo, format!("`GpuInfo` unreadable: {e}")));
            GpuInfo::default()
        })
    }

    fn accelerator(
        &mut self,
        cols: &Columns,
        f: &[&str],
        info: &GpuInfo,
        notes: &mut Vec<(WarningKind, String)>,
    ) -> std::result::Result<Option<GpuDraft>, Skip> {
        let get = |i: Option<usize>| i.and_then(|i| f.get(i).copied()).unwrap_or("");
        let raw = match get(cols.accel_name) {
            "" => info.name.clone().unwrap_or_default(),
            name => name.to_owned(),
        };
        let count_text = get(cols.accel_count);
        let count = if count_text.is_empty() {
            info.count
        } else {
            Some(whole(count_text).ok_or_else(|| {
                let msg = "`AcceleratorCount` is not a whole, non-negative number".to_owned();
                (SkipReason::InvalidNumber, msg)
            })?)
        };
        let count = match (raw.is_empty(), count.unwrap_or(0)) {
            (true, 0) => return Ok(None),
            (true, n) => {
                let msg = format!("{n} accelerators without a name");
                return Err((SkipReason::MissingValue, msg));
            }
            (false, 0) => {
                let msg = "`AcceleratorCount` is missing or 0 for a named accelerator".to_owned();
                return Err((SkipReason::InvalidNumber, msg));
            }
            (false, n) => u32::try_from(n).map_err(|_| {
                (
                    SkipReason::InvalidNumber,
                    format!("accelerator count {n} is too large"),
                )
            })?,
        };

        let type_name = get(Some(cols.instance_type));
        let cached = self.gpus.get(raw.as_str()).and_then(|m| m.get(type_name));
        let (mut gpu, name_gib) = match cached {
            Some(hit) => hit.clone(),
            None => {
                let mut gpu = normalize_gpu(&raw);
                let hint = refine_with_type_name(&mut gpu, type_name);
                let by_type = self.gpus.entry(raw.clone()).or_default();
                by_type.insert(type_name.to_owned(), (gpu.clone(), hint));
                (gpu, hint)
            }
        };
        if !gpu.known {
            // The name kept in the catalog, not the cell as written.
            notes.push((
                WarningKind::UnknownGpu,
                format!("GPU `{}` is not a known model", gpu.model),
            ));
            if let Some(maker) = &info.manufacturer {
                gpu.manufacturer = compute_types::Manufacturer::from(maker.as_str());
            }
        }

        Ok(Some(GpuDraft {
            gpu,
            count,
            size_mib: info.size_mib.filter(|&m| m > 0),
            total_mib: info.total_mib.filter(|&m| m > 0),
            name_gib,
            raw,
        }))
    }
}

/// The facts a `GpuInfo` literal gives about the first GPU listed.
#[derive(Debug, Clone, Default)]
struct GpuInfo {
    name: Option<String>,
    manufacturer: Option<String>,
    count: Option<u64>,
    size_mib: Option<u64>,
    total_mib: Option<u64>,
}

impl GpuInfo {
    fn from_value(value: &PyValue) -> Self {
        let first = value
            .get("Gpus")
            .and_then(PyValue::as_list)
            .and_then(<[PyValue]>::first);
        let text = |key: &str| first?.get(key)?.as_str().map(str::to_owned);
        let mib = |v: Option<&PyValue>| {
            v.and_then(PyValue::as_f64)
                .map(|x| x.max(0.0).round() as u64)
        };
        Self {
            name: text("Name"),
            manufacturer: text("Manufacturer"),
            count: first
                .and_then(|g| g.get("Count"))
                .and_then(PyValue::as_count),
            size_mib: mib(first.and_then(|g| g.get("MemoryInfo")?.get("SizeInMiB"))),
            total_mib: mib(value.get("TotalGpuMemoryInMiB")),
        }
    }
}

/// Resolves memory with the file's convention, builds the GPUs and adds the types to
/// `catalog`, skipping ids it already has.
fn finish(
    drafts: Vec<Draft>,
    options: &CsvOptions,
    report: &mut LoadReport,
    catalog: &mut Catalog,
) {
    let file = options.file_name.as_str();
    let (convention, note) =
        memory::file_convention(drafts.iter().filter_map(|d| d.accel.as_ref()));
    if let Some(msg) = note {
        report.warn(file, None, WarningKind::GpuMemory, msg);
    }

    let start = catalog.len();
    let mut lines = Vec::with_capacity(drafts.len());
    catalog.reserve(drafts.len());
    for Draft {
        line,
        mut instance_type,
        accel,
    } in drafts
    {
        let gpu = accel.map(|accel| {
            let (gpu, normalized, note) = memory::resolve(&accel, convention);
            if let Some(msg) = note {
                report.warn(file, Some(line), WarningKind::GpuMemory, msg);
            }
            instance_type.gpus.push(gpu);
            normalized
        });
        let Some(rejected) = catalog.insert_normalized(instance_type, gpu) else {
            lines.push(line);
            continue;
        };
        let first = catalog
            .position(&rejected.id)
            .and_then(|at| at.checked_sub(start))
            .and_then(|at| lines.get(at));
        let msg = match first {
            Some(first) => format!("`{}` already read on line {first}", rejected.id),
            None => format!("`{}` already read from an earlier file", rejected.id),
        };
        report.skip(file, Some(line), SkipReason::Duplicate, msg);
    }
    report.rows_kept = lines.len();
}

/// Reads a price column: empty is `None`, anything else must be a non-negative amount.
fn read_price(text: &str, column: &str) -> std::result::Result<Option<Price>, Skip> {
    if text.is_empty() {
        return Ok(None);
    }
    // The parser's message may quote the text, so the rule is stated here instead.
    Price::parse_field(column, text).map(Some).map_err(|_| {
        let msg = format!(
            "`{column}` is not a non-negative decimal amount with an optional currency code"
        );
        (SkipReason::InvalidPrice, msg)
    })
}

/// Says which part of an instance type id broke which rule, naming the column it came from.
fn id_problem(e: &Error) -> String {
    let column = match e.field() {
        Some("instance_type") => "InstanceType",
        Some("location") => "Region",
        Some("zone") => "AvailabilityZone",
        Some("provider") => "provider (the file name)",
        _ => "id",
    };
    // Id rules name the part and the rule, never the value.
    format!("`{column}` {}", e.message())
}

/// Reads `8`, `8.0` or ` 8 ` as 8; refuses fractions, negatives and junk.
fn whole(text: &str) -> Option<u64> {
    let d = Decimal::from_str(text.trim()).ok()?;
    if (d.is_sign_negative() && !d.is_zero()) || !d.fract().is_zero() {
        return None;
    }
    u64::try_from(d.trunc()).ok()
}

/// Reads vCPUs and host memory; an absent column was reported once for the file.
fn host_size(cols: &Columns, f: &[&str], notes: &mut Vec<(WarningKind, String)>) -> (u32, Bytes) {
    let get = |i: usize| f.get(i).copied().unwrap_or("");
    let vcpus = cols.vcpus.map_or(Some(0), |i| {
        whole(get(i)).and_then(|v| u32::try_from(v).ok())
    });
    let vcpus = vcpus.unwrap_or_else(|| {
        notes.push((
            WarningKind::HostSize,
            "`vCPUs` is not a whole, non-negative number; read as 0".to_owned(),
        ));
        0
    });

    let memory = cols.memory.map_or(Some(Bytes::ZERO), |i| {
        let gib = Decimal::from_str(get(i))
            .ok()
            .filter(|d| !d.is_sign_negative())?;
        let bytes = gib.checked_mul(Decimal::from(1u64 << 30))?;
        u64::try_from(bytes.round()).ok().map(Bytes::new)
    });
    let memory = memory.unwrap_or_else(|| {
        notes.push((
            WarningKind::HostSize,
            "`MemoryGiB` is not a non-negative number; read as 0".to_owned(),
        ));
        Bytes::ZERO
    });
    (vcpus, memory)
}

fn architecture(
    text: &str,
    accel: Option<&GpuDraft>,
    notes: &mut Vec<(WarningKind, String)>,
) -> Vec<Architecture> {
    if !text.is_empty() {
        match text.parse::<Architecture>() {
            Ok(arch) => return vec![arch],
            Err(_) => notes.push((
                WarningKind::OptionalColumn,
                "`Arch` is not x86_64 or arm64; no architecture set".to_owned(),
            )),
        }
    }
    accel
        .and_then(|a| a.gpu.host_architecture())
        .into_iter()
        .collect()
}

fn local_disks(
    cols: &Columns,
    f: &[&str],
    notes: &mut Vec<(WarningKind, String)>,
) -> Option<StorageOption> {
    let get = |i: Option<usize>| i.and_then(|i| f.get(i).copied()).unwrap_or("");
    let (count, size) = (get(cols.disk_count), get(cols.disk_size));
    if count.is_empty() && size.is_empty() {
        return None;
    }
    let parsed = whole(count)
        .and_then(|c| u32::try_from(c).ok())
        .zip(whole(size).map(Bytes::gb));
    let Some((count, size)) = parsed else {
        let msg = "`LocalDiskCount` and `LocalDiskSize` are not whole, non-negative numbers; \
                   no local disks set";
        notes.push((WarningKind::OptionalColumn, msg.to_owned()));
        return None;
    };
    let mut disk = StorageOption::local(count, size);
    let nvme = get(cols.nvme).eq_ignore_ascii_case("true");
    let kind = get(cols.disk_type);
    disk.volume_type = match (nvme, kind.is_empty()) {
        (true, _) => Some("nvme".to_owned()),
        (false, false) => Some(kind.to_ascii_lowercase()),
        (false, true) => None,
    };
    Some(disk)
}

/// Names an accelerator-only row: `A100-80GB` × 8 → `a100-80gb-x8`.
fn synthetic_name(accelerator: &str, count: u32) -> String {
    let mut name: String = accelerator
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.push_str(&format!("-x{count}"));
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::LoadWarning;

    fn load(text: &str, provider: &str) -> (Vec<InstanceType>, LoadReport) {
        let options = CsvOptions::new(ProviderId::new(provider).unwrap());
        let mut catalog = Catalog::new("test", None);
        let report = read_into(text.as_bytes(), &options, &mut catalog).unwrap();
        (catalog.instance_types().to_vec(), report)
    }

    fn warning(report: &LoadReport, kind: WarningKind) -> &LoadWarning {
        report
            .warnings
            .iter()
            .find(|w| w.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} warning in {report}"))
    }

    #[test]
    fn columns_in_any_order_and_optional_ones_absent() {
        let text = "Region,Price,AcceleratorCount,InstanceType,AcceleratorName\n\
                    us-east-1,2.49,1.0,gpu_1x_h100_pcie,H100\n";

        let (types, report) = load(text, "lambda");

        assert_eq!(report.rows_kept, 1);
        let t = &types[0];
        assert_eq!(t.id.to_string(), "lambda/us-east-1//gpu_1x_h100_pcie");
        assert_eq!(t.gpus[0].model, "H100");
        assert_eq!(t.gpus[0].memory, Some(Bytes::gib(80)));
        assert_eq!(
            t.gpus[0].interconnect,
            Some(compute_types::Interconnect::Pcie)
        );
        assert_eq!(t.price, Some("2.49".parse().unwrap()));
        assert_eq!(t.spot_price, None);
        assert!(t.available);
        assert_eq!((t.vcpus, t.memory), (0, Bytes::ZERO));
        assert_eq!(warning(&report, WarningKind::HostSize).line, None);
    }

    #[test]
    fn bad_rows_are_skipped_with_file_line_and_reason() {
        let text = "InstanceType,AcceleratorName,AcceleratorCount,Price,SpotPrice,Region\n\
                    a,H100,8,abc,,r1\n\
                    b,H100,8.5,1,,r1\n\
                    c,H100,8,,,r1\n\
                    d,H100,8,-1,,r1\n\
                    ,,,1,,r1\n\
                    f,H100,8,1,,\n\
                    g,H100,8,1\n\
                    h,H100,8,1,,r1\n\
                    h,H100,8,2,,r1\n\
                    i,H100,8,1,,r1\n";

        let (types, report) = load(text, "x");

        assert_eq!(report.rows_read, 10);
        assert_eq!(report.rows_kept, 2);
        assert_eq!(types.len(), 2);
        assert_eq!(types[0].price, Some("1".parse().unwrap()));
        let skipped: Vec<_> = report
            .warnings
            .iter()
            .filter_map(|w| match w.kind {
                WarningKind::Skipped(r) => Some((w.line, r)),
                _ => None,
            })
            .collect();
        assert_eq!(
            skipped,
            [
                (Some(2), SkipReason::InvalidPrice),
                (Some(3), SkipReason::InvalidNumber),
                (Some(4), SkipReason::NoPrice),
                (Some(5), SkipReason::InvalidPrice),
                (Some(6), SkipReason::MissingValue),
                (Some(7), SkipReason::MissingValue),
                (Some(8), SkipReason::FieldCount),
                (Some(10), SkipReason::Duplicate),
            ]
        );
        assert_eq!(report.skipped[&SkipReason::InvalidPrice], 2);
        assert!(
            report
                .to_string()
                .contains("x.csv:10: skipped (duplicate): `x/r1//h`")
        );
    }

    #[test]
    fn prices_empty_zero_and_spot_above_on_demand() {
        let text = "InstanceType,AcceleratorName,AcceleratorCount,Price,SpotPrice,Region\n\
                    spot-only,H200,8,,30.5,r\n\
                    no-spot,H200,8,40,0.00,r\n\
                    zero,H200,8,0,12,r\n\
                    odd,H200,8,1.7,1.79,r\n";

        let (types, report) = load(text, "x");

        let prices: Vec<_> = types
            .iter()
            .map(|t| {
                (
                    t.price.map(|p| p.amount.to_string()),
                    t.spot_price.is_some(),
                )
            })
            .collect();
        assert_eq!(
            prices,
            [
                (None, true),
                (Some("40".into()), false),
                (None, true),
                (Some("1.7".into()), true)
            ]
        );
        assert_eq!(types[0].usage_classes, [UsageClass::Spot]);
        assert_eq!(warning(&report, WarningKind::ZeroPrice).line, Some(4));
        assert_eq!(
            warning(&report, WarningKind::SpotAboveOnDemand).line,
            Some(5)
        );
    }

    #[test]
    fn accelerator_only_rows_are_partial_and_named_from_the_gpu() {
        let text = "InstanceType,vCPUs,MemoryGiB,AcceleratorName,AcceleratorCount,GpuInfo,\
                    Region,AvailabilityZone,Price,SpotPrice\n\
                    ,,,A100-80GB,8,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 81920}}]},\
                    us-central1,us-central1-a,29.38,11.6\n";

        let (types, report) = load(text, "gcp");

        let t = &types[0];
        assert_eq!(
            t.id.to_string(),
            "gcp/us-central1/us-central1-a/a100-80gb-x8"
        );
        assert_eq!(t.price_scope, PriceScope::AcceleratorsOnly);
        assert_eq!(t.instance_price(false), None);
        assert_eq!(t.instance_price(true), None);
        assert_eq!(t.available_zones[0].as_str(), "us-central1-a");
        assert_eq!(t.total_gpu_memory(), Some(Bytes::gib(640)));
        assert_eq!(report.partial_price_rows, 1);
        assert!(report.warnings.is_empty(), "{report}");
    }

    #[test]
    fn python_dict_gpu_info_and_memory_conventions() {
        // Lambda repeats the per-GPU size as the total; Vast gives the instance total as
        // the per-GPU size; Nebius gives zero.
        let lambda = "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,\
            Region,GpuInfo\n\
            gpu_8x_a100,A100,8.0,124.0,1800.0,10.32,r,\"{'Gpus': [{'Name': 'A100', 'Manufacturer': \
            'NVIDIA', 'Count': 8.0, 'MemoryInfo': {'SizeInMiB': 40960}}], \
            'TotalGpuMemoryInMiB': 40960}\"\n";
        let vast = "InstanceType,AcceleratorName,AcceleratorCount,GpuInfo,Price,SpotPrice,Region\n\
            2x-RTX_4090,RTX4090,2,\"{'Gpus': [{'Name': 'RTX4090', 'Count': 2, 'MemoryInfo': \
            {'SizeInMiB': 49128}}], 'TotalGpuMemoryInMiB': 49128}\",0.80,0.00,\"Oregon, US, NA\"\n\
            2x-A100_PCIE,A100,2,\"{'Gpus': [{'Name': 'A100', 'Count': 2, 'MemoryInfo': \
            {'SizeInMiB': 81920}}], 'TotalGpuMemoryInMiB': 81920}\",1.33,0.00,\", KR, AS\"\n";
        let nebius = "InstanceType,AcceleratorName,AcceleratorCount,Price,Region,GpuInfo\n\
            gpu-h100-sxm_8gpu,H100,8,23.60,eu-north1,\"{'Gpus': [{'Name': 'H100', 'Count': 8, \
            'MemoryInfo': {'SizeInMiB': 0}}], 'TotalGpuMemoryInMiB': 0}\"\n";

        let (lambda, lambda_report) = load(lambda, "lambda");
        let (vast, vast_report) = load(vast, "vast");
        let (nebius, nebius_report) = load(nebius, "nebius");

        assert_eq!(lambda[0].total_gpu_memory(), Some(Bytes::gib(320)));
        assert!(lambda_report.warnings.is_empty(), "{lambda_report}");
        assert_eq!(vast[0].gpus[0].memory, Some(Bytes::gib(24)));
        assert_eq!(
            vast[1].gpus[0].memory,
            Some(Bytes::gib(40)),
            "ambiguous row follows file"
        );
        assert!(vast[0].variable_price && vast[0].is_container);
        assert_eq!(warning(&vast_report, WarningKind::GpuMemory).line, None);
        assert_eq!(nebius[0].gpus[0].memory, Some(Bytes::gib(80)));
        assert_eq!(
            nebius[0].gpus[0].interconnect,
            Some(compute_types::Interconnect::Sxm)
        );
        assert_eq!(
            warning(&nebius_report, WarningKind::GpuMemory).line,
            Some(2)
        );
    }

    #[test]
    fn memory_in_gib_unknown_models_and_unreadable_gpu_info() {
        let text = "InstanceType,AcceleratorName,AcceleratorCount,Price,Region,GpuInfo\n\
            a,H100,1,2,r,\"{'Gpus': [{'MemoryInfo': {'SizeInMiB': 80}}]}\"\n\
            b,Gaudi3,8,9,r,\"{'Gpus': [{'Manufacturer': 'Intel', 'MemoryInfo': \
            {'SizeInMiB': 131072}}], 'TotalGpuMemoryInMiB': 1048576}\"\n\
            c,H100,1,2,r,\"{'Gpus': [\"\n\
            d,A100,1,2,r,\"{'Gpus': [{'MemoryInfo': {'SizeInMiB': 12345}}]}\"\n";

        let (types, report) = load(text, "x");

        assert_eq!(types[0].gpus[0].memory, Some(Bytes::gib(80)));
        assert_eq!(types[1].gpus[0].model, "GAUDI3");
        assert_eq!(
            types[1].gpus[0].manufacturer,
            compute_types::Manufacturer::Intel
        );
        assert_eq!(types[1].gpus[0].memory, Some(Bytes::gib(128)));
        assert_eq!(types[2].gpus[0].memory, Some(Bytes::gib(80)));
        assert_eq!(types[3].gpus[0].memory, Some(Bytes::mib(12345)));
        let kinds: Vec<_> = report.warnings.iter().map(|w| (w.line, w.kind)).collect();
        assert!(kinds.contains(&(Some(2), WarningKind::GpuMemory)));
        assert!(kinds.contains(&(Some(3), WarningKind::UnknownGpu)));
        assert!(kinds.contains(&(Some(4), WarningKind::GpuInfo)));
        assert!(kinds.contains(&(Some(5), WarningKind::GpuMemory)));
    }

    #[test]
    fn aws_extra_columns() {
        let text = "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,Price,\
            SpotPrice,Region,AvailabilityZone,Arch,LocalDiskType,NVMeSupported,LocalDiskSize,\
            LocalDiskCount\n\
            p5.48xlarge,H100,8.0,192.0,2048.0,55.04,,us-east-1,use1-az4,x86_64,ssd,True,\
            3800.0,8.0\n\
            p3.2xlarge,V100,1.0,8.0,61.0,3.06,0.9,us-east-1,use1-az4,sparc,,False,,\n";

        let (types, report) = load(text, "aws");

        let p5 = &types[0];
        assert_eq!(p5.vcpus, 192);
        assert_eq!(p5.memory, Bytes::gib(2048));
        assert_eq!(p5.architectures, [Architecture::X86_64]);
        assert_eq!(p5.storage[0].count, 8);
        assert_eq!(p5.storage[0].size, Some(Bytes::gb(3800)));
        assert_eq!(p5.storage[0].volume_type.as_deref(), Some("nvme"));
        assert!(types[1].architectures.is_empty());
        assert!(types[1].storage.is_empty());
        assert_eq!(warning(&report, WarningKind::OptionalColumn).line, Some(3));
    }

    #[test]
    fn missing_required_columns_fail_the_file() {
        let options = CsvOptions::new(ProviderId::new("x").unwrap()).with_file_name("bad.csv");

        let mut catalog = Catalog::new("test", None);
        let err = read_into("Name,Price\nx,1\n".as_bytes(), &options, &mut catalog).unwrap_err();
        let no_price = read_into(
            "InstanceType,Region\nx,r\n".as_bytes(),
            &options,
            &mut catalog,
        )
        .unwrap_err();

        assert_eq!(err.field(), Some("catalog"));
        assert!(
            err.message()
                .contains("`bad.csv` line 1: the header has no `InstanceType` column")
        );
        assert!(
            no_price
                .message()
                .contains("neither a `Price` nor a `SpotPrice`")
        );
    }

    #[test]
    fn errors_and_warnings_never_quote_the_file() {
        let secret = "AKIAIOSFODNN7EXAMPLE";
        let options = CsvOptions::new(ProviderId::new("x").unwrap()).with_file_name("creds.csv");
        let header_only = format!("aws_access_key_id,{secret}\nkey,{secret}\n");
        let no_price = format!("InstanceType,Region,{secret}\na,r,{secret}\n");
        // Every cell that breaks a rule holds the secret; the rows are skipped or warned about.
        let rows = format!(
            "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,\
             SpotPrice,Region,AvailabilityZone,Arch,LocalDiskCount,LocalDiskSize\n\
             a,H100,{secret},8,64,,1,,r,,,,\n\
             b,H100,1,8,64,,{secret},,r,,,,\n\
             c,H100,1,8,64,,1,{secret},r,,,,\n\
             d,H100,1,8,64,,1,,{secret}\u{7},,,,\n\
             e,H100,1,8,64,,1,,r,{secret}\u{7},,,\n\
             f,H100,1,{secret},{secret},,1,,r,,{secret},{secret},{secret}\n\
             g,H100,1,8,64,\"{{'Gpus': [{{'Name': {secret}}}]}}\",1,,r,,,,\n\
             h,{secret},0,8,64,,1,,r,,,,\n\
             i,H100,1,8,64,\"{{'Gpus': [{{'Count': 1{secret}}}]}}\",1,,r,,,,\n\
             \"{secret}\n"
        );

        let mut catalog = Catalog::new("test", None);
        let errors = [
            read_into(header_only.as_bytes(), &options, &mut catalog).unwrap_err(),
            read_into(no_price.as_bytes(), &options, &mut catalog).unwrap_err(),
        ];
        let report = read_into(rows.as_bytes(), &options, &mut catalog).unwrap();

        for err in &errors {
            assert!(!err.to_string().contains(secret), "{err}");
            assert!(!format!("{err:?}").contains(secret), "{err:?}");
            assert!(err.message().contains("`creds.csv` line 1"), "{err}");
        }
        assert!(errors[0].message().contains("no `InstanceType` column"));
        assert!(!report.to_string().contains(secret), "{report}");
        assert!(!format!("{report:?}").contains(secret), "{report:?}");
        assert_eq!(report.rows_read, 10);
        let lines: Vec<Option<u64>> = report.warnings.iter().map(|w| w.line).collect();
        for line in 2..=10 {
            assert!(
                lines.contains(&Some(line)),
                "no warning for line {line}: {report}"
            );
        }
        let shown = report.to_string();
        for named in [
            "`AcceleratorCount`",
            "`Price`",
            "`SpotPrice`",
            "`Region`",
            "`AvailabilityZone`",
            "`vCPUs`",
            "`Arch`",
        ] {
            assert!(shown.contains(named), "{named} not named in {report}");
        }
    }

    #[test]
    fn grace_hosts_are_arm() {
        let text = "InstanceType,AcceleratorName,AcceleratorCount,Price,Region\n\
                    gpu_1x_gh200,GH200,1.0,1.49,us-east-3\n";

        let (types, _) = load(text, "lambda");

        assert_eq!(types[0].architectures, [Architecture::Arm64]);
        assert_eq!(
            types[0].gpus[0].memory, None,
            "GH200 comes with 96 or 144 GB"
        );
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(whole("8.0"), Some(8));
        assert_eq!(whole(" 8 "), Some(8));
        assert_eq!(whole("0"), Some(0));
        assert_eq!(whole("8.5"), None);
        assert_eq!(whole("-1"), None);
        assert_eq!(whole("x"), None);
        assert_eq!(synthetic_name("H100-MEGA", 8), "h100-mega-x8");
    }
}
