//! The catalog: instance types with their normalised GPUs, loaded from CSV, JSON or built in.

use std::{
    collections::{BTreeMap, HashMap, hash_map::Entry},
    fs,
    io::Read,
    path::Path,
    sync::OnceLock,
    time::{Duration, SystemTime},
};

use chrono::{DateTime, Utc};
use compute_types::{
    Error, ErrorKind, InstanceType, InstanceTypeId, Location, LocationId, ProviderId, Result, Zone,
};
use serde::{Deserialize, Serialize};

use crate::{
    country,
    csv_load::{self, CsvOptions},
    gpu::{
        GpuModel, NormalizedGpu, edition_from_type_name, near_model, normalize_data_gpu,
        normalize_gpu, unknown_gpu,
    },
    query::LocationFilter,
    report::{LoadReport, SkipReason},
};

/// The version of the JSON catalog format written by [`Catalog::to_json`].
pub const FORMAT_VERSION: u32 = 1;

/// The built-in catalog, authored by us (see `data/builtin.json`).
const BUILTIN: &str = include_str!("../data/builtin.json");

/// A set of instance types with where they came from and how old the data is.
///
/// Each type's GPU is normalised once, when it enters the catalog, so queries and plans
/// compare canonical models. Ids are unique: when two sources list the same id, the first
/// one is kept.
///
/// # Examples
///
/// ```
/// use compute_catalog::{Catalog, Query, SortBy};
///
/// let catalog = Catalog::builtin();
/// let cheapest = catalog.query(&Query::new().gpu("H100").min_gpu_count(8).sort(SortBy::Price));
/// assert!(cheapest[0].gpu_count() >= 8);
/// assert!(catalog.knows_gpu("h100-sxm"));
/// assert!(!catalog.knows_gpu("Z9000"));
/// ```
#[derive(Debug, Clone)]
pub struct Catalog {
    as_of: Option<DateTime<Utc>>,
    source: String,
    types: Vec<InstanceType>,
    gpus: Vec<Option<NormalizedGpu>>,
    index: HashMap<InstanceTypeId, usize>,
    declared: Vec<(ProviderId, Location)>,
}

/// The JSON form of a catalog.
#[derive(Debug, Serialize, Deserialize)]
struct CatalogFile {
    format: u32,
    source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    as_of: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    locations: Vec<ProviderLocation>,
    instance_types: Vec<InstanceType>,
}

/// A location declared in a JSON catalog, with the provider it belongs to.
#[derive(Debug, Serialize, Deserialize)]
struct ProviderLocation {
    provider: ProviderId,
    #[serde(flatten)]
    location: Location,
}

impl Catalog {
    /// Creates an empty catalog.
    pub fn new(source: impl Into<String>, as_of: Option<DateTime<Utc>>) -> Self {
        Self {
            as_of,
            source: source.into(),
            types: Vec::new(),
            gpus: Vec::new(),
            index: HashMap::new(),
            declared: Vec::new(),
        }
    }

    /// Returns the small catalog shipped with the SDK.
    ///
    /// It lists typical GPU shapes (H100 SXM ×8 and ×1, A100 80GB ×8, A100 40GB, H200, B200,
    /// L40S, L4, A10, RTX 4090 and 5090) of the invented provider `fake` in `us-east-1`,
    /// `us-west-2`, `eu-central-1` and `asia-northeast-1`, each with zones. Prices resemble
    /// public on-demand list prices as of the catalog's [`as_of`](Self::as_of) date; they are
    /// illustrative, not offers. The fake provider and the CLI use it when no catalog is given.
    pub fn builtin() -> Self {
        static PARSED: OnceLock<Catalog> = OnceLock::new();
        PARSED
            .get_or_init(|| {
                Self::from_json(BUILTIN).unwrap_or_else(|e| {
                    tracing::error!(error = %e, "the built-in catalog does not parse");
                    Self::new("built-in catalog (unreadable)", None)
                })
            })
            .clone()
    }

    /// Loads a CSV catalog, a JSON catalog, or every `.csv` and `.json` file of a directory.
    ///
    /// A CSV file's provider is its file stem (`aws.csv` → `aws`); a directory's files are
    /// read in name order and merged, the first of two equal ids winning. Rows that cannot
    /// be understood are skipped and reported; they never fail the load.
    ///
    /// # Errors
    /// - [`ErrorKind::NotFound`] when the path does not exist;
    /// - [`ErrorKind::PermissionDenied`] or [`ErrorKind::Internal`] for other I/O failures;
    /// - [`ErrorKind::InvalidRequest`] naming `catalog` for a file stem that is not a valid
    ///   provider name, a CSV header lacking required columns, malformed JSON, or a directory
    ///   with no catalog file.
    ///
    /// Every message names the path.
    pub fn load_path(path: impl AsRef<Path>) -> Result<(Self, LoadReport)> {
        let path = path.as_ref();
        let meta = fs::metadata(path).map_err(|e| io_error(path, e))?;
        if !meta.is_dir() {
            return load_file(path);
        }

        let mut files: Vec<_> = fs::read_dir(path)
            .map_err(|e| io_error(path, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && catalog_kind(p).is_some())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::invalid(
                "catalog",
                format!("`{}` holds no .csv or .json catalog", path.display()),
            ));
        }

        let mut catalog = Self::new(String::new(), None);
        let mut report = LoadReport::default();
        let (mut sources, mut dates) = (Vec::new(), Vec::new());
        for file in &files {
            let (source, as_of) = load_into(file, &mut catalog, &mut report)?;
            sources.push(source);
            dates.push(as_of);
        }
        catalog.source = sources.join("; ");
        catalog.as_of = oldest(&dates);
        Ok((catalog, report))
    }

    /// Reads a CSV catalog from any reader.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`] naming `catalog` when the header lacks `InstanceType`,
    /// `Region` or both price columns, or the reader fails; bad rows are skipped and reported.
    pub fn from_csv_reader<R: Read>(reader: R, options: &CsvOptions) -> Result<(Self, LoadReport)> {
        let mut catalog = Self::new(options.file_name.clone(), options.as_of);
        let report = csv_load::read_into(reader, options, &mut catalog)?;
        Ok((catalog, report))
    }

    /// Reads a catalog in the SDK's JSON form.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`] naming `catalog` for malformed JSON, an invalid value
    /// (ids, prices and sizes are validated), an unknown format version or a repeated id.
    /// Messages give the line and column, never the text found there.
    pub fn from_json(text: &str) -> Result<Self> {
        let file: CatalogFile = serde_json::from_str(text).map_err(|e| {
            Error::invalid(
                "catalog",
                format!("not a JSON catalog: {}", json_problem(&e)),
            )
        })?;
        if file.format != FORMAT_VERSION {
            return Err(Error::invalid(
                "catalog",
                format!("format {} is not {FORMAT_VERSION}", file.format),
            ));
        }

        let mut catalog = Self::new(file.source, file.as_of);
        for t in file.instance_types {
            let id = t.id.clone();
            if !catalog.insert(t) {
                return Err(Error::invalid(
                    "catalog",
                    format!("instance type `{id}` is listed twice"),
                ));
            }
        }
        catalog.declared = file
            .locations
            .into_iter()
            .map(|pl| (pl.provider, pl.location))
            .collect();
        Ok(catalog)
    }

    /// Writes the catalog in the SDK's JSON form (pretty-printed).
    ///
    /// # Errors
    /// [`ErrorKind::Internal`] if serialisation fails, which the data model does not allow.
    pub fn to_json(&self) -> Result<String> {
        let file = CatalogFile {
            format: FORMAT_VERSION,
            source: self.source.clone(),
            as_of: self.as_of,
            locations: self
                .declared
                .iter()
                .map(|(provider, location)| ProviderLocation {
                    provider: provider.clone(),
                    location: location.clone(),
                })
                .collect(),
            instance_types: self.types.clone(),
        };
        serde_json::to_string_pretty(&file)
            .map_err(|e| Error::internal(format!("cannot write the catalog as JSON: {e}")))
    }

    /// Adds an instance type; returns false, dropping it, when the catalog has its id.
    ///
    /// The first type with an id wins, so loading order decides between duplicates.
    pub fn insert(&mut self, instance_type: InstanceType) -> bool {
        let gpu = instance_type.gpus.first().map(|g| {
            let mut gpu = normalize_data_gpu(g);
            edition_from_type_name(&mut gpu, instance_type.name());
            gpu
        });
        self.insert_normalized(instance_type, gpu).is_none()
    }

    /// Adds a type whose first GPU is already normalised; gives the type back if its id
    /// is taken.
    pub(crate) fn insert_normalized(
        &mut self,
        instance_type: InstanceType,
        gpu: Option<NormalizedGpu>,
    ) -> Option<InstanceType> {
        match self.index.entry(instance_type.id.clone()) {
            Entry::Occupied(_) => Some(instance_type),
            Entry::Vacant(slot) => {
                slot.insert(self.types.len());
                self.gpus.push(gpu);
                self.types.push(instance_type);
                None
            }
        }
    }

    /// Returns where the type with this id sits in load order.
    pub(crate) fn position(&self, id: &InstanceTypeId) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Makes room for `n` more types.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.types.reserve(n);
        self.gpus.reserve(n);
        self.index.reserve(n);
    }

    /// Adds every type of `other` that this catalog lacks, reporting the others as duplicates.
    ///
    /// The merged `as_of` is the older of the two dates, or unknown when either is; the
    /// sources are joined with `; `.
    pub fn merge(&mut self, other: Self, report: &mut LoadReport) {
        self.as_of = oldest(&[self.as_of, other.as_of]);
        self.source = format!("{}; {}", self.source, other.source);
        self.reserve(other.types.len());
        for (t, gpu) in other.types.into_iter().zip(other.gpus) {
            if let Some(t) = self.insert_normalized(t, gpu) {
                let msg = format!("`{}` already read from an earlier file", t.id);
                report.skip(&other.source, None, SkipReason::Duplicate, msg);
                report.rows_kept = report.rows_kept.saturating_sub(1);
            }
        }
        for declared in other.declared {
            if !self
                .declared
                .iter()
                .any(|d| d.0 == declared.0 && d.1.name == declared.1.name)
            {
                self.declared.push(declared);
            }
        }
    }

    /// Returns when the data was fetched, when known (CSV files do not say).
    pub fn as_of(&self) -> Option<DateTime<Utc>> {
        self.as_of
    }

    /// Sets when the data was fetched.
    pub fn set_as_of(&mut self, as_of: Option<DateTime<Utc>>) {
        self.as_of = as_of;
    }

    /// Returns where the data came from: file names or the built-in catalog's description.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Returns every instance type, in load order.
    pub fn instance_types(&self) -> &[InstanceType] {
        &self.types
    }

    /// Returns the number of instance types.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Returns true when the catalog has no instance types.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// Returns the instance type with this id.
    pub fn get(&self, id: &InstanceTypeId) -> Option<&InstanceType> {
        self.index.get(id).map(|&i| &self.types[i])
    }

    /// Returns the normalised GPU of the instance type with this id (its first GPU).
    ///
    /// It is what the type's [`Gpu`](compute_types::Gpu) normalises to, plus the model's
    /// edition (`MEGA`, `WS`) that the source's GPU name or the type name states.
    pub fn gpu_of(&self, id: &InstanceTypeId) -> Option<&NormalizedGpu> {
        self.index.get(id).and_then(|&i| self.gpus[i].as_ref())
    }

    /// Returns how old the data is at `now`, when the catalog's date is known.
    pub fn age(&self, now: SystemTime) -> Option<Duration> {
        let now: DateTime<Utc> = now.into();
        (now - self.as_of?).to_std().ok().or(Some(Duration::ZERO))
    }

    /// Returns true when the catalog lists at least one GPU of this model.
    ///
    /// The name must resolve as [`gpu_model`](Self::gpu_model) says, so `H200X` is never
    /// taken for an H200. Memory and form factor in `model` are ignored ("does any H100
    /// exist here"); an edition (`H100-MEGA`) must be listed too. Use it to tell a mistyped
    /// or absent model (invalid input) from a query that matched nothing.
    pub fn knows_gpu(&self, model: &str) -> bool {
        let Ok(key) = self.gpu_model(model) else {
            return false;
        };
        self.gpus.iter().flatten().any(|g| {
            g.model == key.name
                && key
                    .edition
                    .as_ref()
                    .is_none_or(|e| g.edition.as_ref() == Some(e))
        })
    }

    /// Reads a GPU name given by a user: a known model in any spelling (`h100 sxm5`,
    /// `NVIDIA H100 80GB HBM3`), or exactly the name of a model this catalog lists that is
    /// not in our table (a catalog's `Gaudi3`).
    ///
    /// A known model the catalog does not list still resolves: asking for it is valid and
    /// finds nothing; [`knows_gpu`](Self::knows_gpu) tells the two apart.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`] naming `gpu` for any other name, e.g. `H200X` or
    /// `H100-FOO`; the message suggests the known model the name starts with and lists a
    /// few models of this catalog.
    pub fn gpu_model(&self, text: &str) -> Result<GpuModel> {
        if let Ok(key) = GpuModel::parse(text) {
            return Ok(key);
        }
        let norm = normalize_gpu(text);
        let listed = !norm.model.is_empty()
            && self
                .gpus
                .iter()
                .flatten()
                .any(|g| !g.known && g.model == norm.model);
        if listed {
            return Ok(norm.key());
        }
        Err(unknown_gpu(text, near_model(text), &self.gpu_examples()))
    }

    /// Returns up to eight model names of the catalog, for messages about unknown ones.
    pub(crate) fn gpu_examples(&self) -> String {
        let mut names: Vec<String> = self.gpu_models().into_iter().map(|m| m.name).collect();
        names.dedup();
        if names.is_empty() {
            return "none (the catalog lists no GPU)".to_owned();
        }
        let more = names.len() > 8;
        names.truncate(8);
        let mut text = names.join(", ");
        if more {
            text.push_str(", …");
        }
        text
    }

    /// Returns true when the catalog has a location matching `location`, of `provider` when
    /// one is given.
    ///
    /// `location` is read as queries read it ([`LocationFilter::parse`]): a name exactly
    /// (`us-east-1`, `Oregon, US, NA`), or a prefix ending in `*` (`us-*`) that matches at
    /// least one name. Locations of instance types and those a JSON catalog declares count.
    /// Use it to reject an unknown location up front instead of planning to an empty answer.
    pub fn knows_location(&self, provider: Option<&ProviderId>, location: &str) -> bool {
        let filter = LocationFilter::parse(location);
        let of_provider = |p: &ProviderId| provider.is_none_or(|want| want == p);
        self.types
            .iter()
            .any(|t| of_provider(t.provider()) && filter.matches(t.location().as_str()))
            || self
                .declared
                .iter()
                .any(|(p, loc)| of_provider(p) && filter.matches(loc.name.as_str()))
    }

    /// Returns every distinct GPU (model, memory, form factor) in the catalog, sorted.
    pub fn gpu_models(&self) -> Vec<GpuModel> {
        let mut models: Vec<GpuModel> =
            self.gpus.iter().flatten().map(NormalizedGpu::key).collect();
        models.sort();
        models.dedup();
        models
    }

    /// Returns the providers in the catalog, sorted.
    pub fn providers(&self) -> Vec<ProviderId> {
        let mut providers: Vec<ProviderId> =
            self.types.iter().map(|t| t.provider().clone()).collect();
        providers.sort();
        providers.dedup();
        providers
    }

    /// Returns every location of every provider, sorted by provider then name.
    ///
    /// Each location holds the zones its rows name (zonal ids and available zones) and is
    /// available when any of its types is. The country is set where we know it for sure: a
    /// marketplace location ending in an ISO country and a continent (`Oregon, US, NA` →
    /// USA), a `us-` region, or a well-known region of AWS, GCP, Lambda or Nebius; otherwise
    /// it is left empty rather than guessed. Locations a JSON catalog declares replace the
    /// derived ones of the same name (zones are merged).
    pub fn locations(&self) -> Vec<(ProviderId, Location)> {
        let mut derived: BTreeMap<(ProviderId, LocationId), Location> = BTreeMap::new();
        for t in &self.types {
            let key = (t.provider().clone(), t.location().clone());
            let loc = derived.entry(key).or_insert_with(|| {
                let mut loc = Location::new(t.location().clone());
                loc.available = false;
                loc.country = country::country_of(t.provider().as_str(), t.location().as_str());
                loc
            });
            loc.available |= t.available;
            for zone in t.id.zone().into_iter().chain(&t.available_zones) {
                if loc.zone(zone).is_none() {
                    loc.zones.push(Zone::new(zone.clone()));
                }
            }
        }

        for (provider, declared) in &self.declared {
            let key = (provider.clone(), declared.name.clone());
            let mut loc = declared.clone();
            if let Some(found) = derived.get(&key) {
                for zone in &found.zones {
                    if loc.zone(&zone.name).is_none() {
                        loc.zones.push(zone.clone());
                    }
                }
            }
            derived.insert(key, loc);
        }

        derived
            .into_iter()
            .map(|((provider, _), mut loc)| {
                loc.zones.sort_by(|a, b| a.name.cmp(&b.name));
                (provider, loc)
            })
            .collect()
    }

    /// Returns the locations of one provider, sorted by name.
    pub fn provider_locations(&self, provider: &ProviderId) -> Vec<Location> {
        self.locations()
            .into_iter()
            .filter(|(p, _)| p == provider)
            .map(|(_, loc)| loc)
            .collect()
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (&InstanceType, Option<&NormalizedGpu>)> {
        self.types.iter().zip(self.gpus.iter().map(Option::as_ref))
    }
}

/// Returns the oldest date, or `None` when any is unknown (or there are none).
fn oldest(dates: &[Option<DateTime<Utc>>]) -> Option<DateTime<Utc>> {
    dates
        .iter()
        .copied()
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .min()
}

/// What kind of catalog file a path is, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Csv,
    Json,
}

fn catalog_kind(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(Kind::Csv),
        "json" => Some(Kind::Json),
        _ => None,
    }
}

fn load_file(path: &Path) -> Result<(Catalog, LoadReport)> {
    let mut catalog = Catalog::new(String::new(), None);
    let mut report = LoadReport::default();

    let (source, as_of) = load_into(path, &mut catalog, &mut report)?;

    catalog.source = source;
    catalog.as_of = as_of;
    Ok((catalog, report))
}

/// Loads one file into `catalog`, adding to `report`; returns the file's source and date.
fn load_into(
    path: &Path,
    catalog: &mut Catalog,
    report: &mut LoadReport,
) -> Result<(String, Option<DateTime<Utc>>)> {
    let shown = path.display().to_string();
    let text = fs::read(path).map_err(|e| io_error(path, e))?;

    if catalog_kind(path) == Some(Kind::Json) {
        let text = String::from_utf8(text)
            .map_err(|_| Error::invalid("catalog", format!("`{shown}` is not UTF-8")))?;
        let part = Catalog::from_json(&text)
            .map_err(|e| Error::invalid("catalog", format!("`{shown}`: {}", e.message())))?;
        let (source, as_of) = (format!("{shown} ({})", part.source), part.as_of);
        report.merge(LoadReport {
            files: vec![shown.clone()],
            rows_read: part.len(),
            rows_kept: part.len(),
            ..LoadReport::default()
        });
        part_into(part, &shown, catalog, report);
        return Ok((source, as_of));
    }

    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let provider = ProviderId::new(stem).map_err(|e| {
        Error::invalid(
            "catalog",
            format!(
                "`{shown}`: file name `{stem}` is not a provider name: {}",
                e.message()
            ),
        )
    })?;
    let options = CsvOptions::new(provider).with_file_name(shown.clone());
    report.merge(csv_load::read_into(text.as_slice(), &options, catalog)?);
    Ok((shown, None))
}

/// Moves a JSON catalog's types and declared locations into `catalog`.
fn part_into(part: Catalog, shown: &str, catalog: &mut Catalog, report: &mut LoadReport) {
    catalog.reserve(part.len());
    for (t, gpu) in part.types.into_iter().zip(part.gpus) {
        if let Some(t) = catalog.insert_normalized(t, gpu) {
            let msg = format!("`{}` already read from an earlier file", t.id);
            report.skip(shown, None, SkipReason::Duplicate, msg);
            report.rows_kept = report.rows_kept.saturating_sub(1);
        }
    }
    for declared in part.declared {
        let known = catalog
            .declared
            .iter()
            .any(|d| d.0 == declared.0 && d.1.name == declared.1.name);
        if !known {
            catalog.declared.push(declared);
        }
    }
}

/// Says what is wrong with a JSON catalog by position, never quoting it: serde's own text for
/// a bad value quotes the value, and the file may be the wrong one, holding secrets.
fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;

    let at = format!("line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Io => format!("cannot be read ({at})"),
        Category::Syntax => format!("syntax error at {at}"),
        Category::Eof => format!("the text ends early, at {at}"),
        Category::Data => {
            // A missing field is named by our schema, not by the file, so it may be shown.
            let text = e.to_string();
            let field = text
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next());
            match field {
                Some(field) => format!("no `{field}` field ({at})"),
                None => format!("a value does not fit the catalog format at {at}"),
            }
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        _ => ErrorKind::Internal,
    };
    Error::new(
        kind,
        format!("cannot read catalog `{}`: {e}", path.display()),
    )
    .with_source(e)
}

#[cfg(test)]
mod tests {
    use compute_types::{Bytes, PriceScope};

    use super::*;
    use crate::query::Query;

    #[test]
    fn builtin_parses_and_round_trips() {
        let catalog = Catalog::builtin();

        let json = catalog.to_json().unwrap();
        let back = Catalog::from_json(&json).unwrap();

        assert!(catalog.len() >= 30, "{}", catalog.len());
        assert!(catalog.as_of().is_some());
        assert_eq!(back.instance_types(), catalog.instance_types());
        assert_eq!(back.locations(), catalog.locations());
        assert!(
            catalog
                .instance_types()
                .iter()
                .all(|t| t.price_scope == PriceScope::Instance)
        );
    }

    #[test]
    fn builtin_covers_the_typical_shapes() {
        let catalog = Catalog::builtin();

        let models: Vec<String> = catalog
            .gpu_models()
            .iter()
            .map(ToString::to_string)
            .collect();

        for want in [
            "H100-80GB-SXM",
            "H100-80GB-PCIE",
            "A100-80GB-SXM",
            "A100-40GB",
            "H200-141GB-SXM",
            "B200-180GB-SXM",
            "L40S-48GB-PCIE",
            "L4-24GB-PCIE",
            "A10-24GB-PCIE",
            "RTX4090-24GB-PCIE",
            "RTX5090-32GB-PCIE",
        ] {
            assert!(
                models.iter().any(|m| m.starts_with(want)),
                "{want} not in {models:?}"
            );
        }
        let fake = ProviderId::new("fake").unwrap();
        let locations = catalog.provider_locations(&fake);
        let names: Vec<&str> = locations.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            ["asia-northeast-1", "eu-central-1", "us-east-1", "us-west-2"]
        );
        assert!(
            locations
                .iter()
                .all(|l| l.country.is_some() && l.zones.len() >= 2)
        );
    }

    #[test]
    fn json_rejects_bad_catalogs() {
        let dup = r#"{"format": 1, "source": "t", "instance_types": [
            {"id": "p/r//t", "memory": 1, "vcpus": 1},
            {"id": "p/r//t", "memory": 1, "vcpus": 1}]}"#;

        for bad in [
            "",
            "[]",
            r#"{"format": 2, "source": "", "instance_types": []}"#,
            dup,
        ] {
            let err = Catalog::from_json(bad).unwrap_err();
            assert_eq!(err.field(), Some("catalog"), "{bad}");
        }
        let bad_price = dup.replace(r#""vcpus": 1},"#, r#""vcpus": 1, "price": "-1"},"#);
        assert!(Catalog::from_json(&bad_price).is_err());
    }

    #[test]
    fn json_errors_never_quote_the_file() {
        let secret = "sk_live_9f8e7d6c5b4a";
        let bad = [
            format!(r#"{{"format": "{secret}", "source": "", "instance_types": []}}"#),
            format!(r#"{{"format": 1, "source": "", "instance_types": [{{"id": "{secret}"}}]}}"#),
            format!(r#"{{"{secret}": 1}}"#),
            format!(r#"{{"format": 1, "source": "{secret}", "#),
            format!(r#"{secret} = 1"#),
        ];

        for text in &bad {
            let err = Catalog::from_json(text).unwrap_err();

            assert_eq!(err.field(), Some("catalog"));
            assert!(!err.to_string().contains(secret), "{err}");
            assert!(!format!("{err:?}").contains(secret), "{err:?}");
            assert!(err.message().contains("line 1 column"), "{err}");
        }
        let missing = Catalog::from_json(r#"{"source": ""}"#).unwrap_err();
        assert!(missing.message().contains("no `format` field"), "{missing}");
    }

    #[test]
    fn knows_location_by_name_prefix_and_provider() {
        let catalog = Catalog::builtin();
        let fake = ProviderId::new("fake").unwrap();
        let aws = ProviderId::new("aws").unwrap();
        let declared = r#"{"format": 1, "source": "t", "instance_types": [],
            "locations": [{"provider": "acme", "name": "moon-1", "available": true}]}"#;
        let declared = Catalog::from_json(declared).unwrap();
        let acme = ProviderId::new("acme").unwrap();

        assert!(catalog.knows_location(None, "us-east-1"));
        assert!(catalog.knows_location(Some(&fake), "eu-central-1"));
        assert!(catalog.knows_location(Some(&fake), "us-*"));
        assert!(
            !catalog.knows_location(None, "us-east"),
            "not a prefix without `*`"
        );
        assert!(!catalog.knows_location(None, "mars-1"));
        assert!(!catalog.knows_location(None, "mars-*"));
        assert!(!catalog.knows_location(None, ""));
        assert!(!catalog.knows_location(Some(&aws), "us-east-1"));
        assert!(declared.knows_location(Some(&acme), "moon-1"));
        assert!(!declared.knows_location(Some(&fake), "moon-1"));
    }

    #[test]
    fn gpu_names_resolve_against_the_table_and_the_catalog() {
        let csv = "InstanceType,AcceleratorName,AcceleratorCount,Price,Region\n\
                   ,H100-MEGA,8,30,r\n\
                   a3-highgpu-8g,H100,8,25,r\n\
                   gaudi,Gaudi3,8,9,r\n";
        let options = CsvOptions::new(ProviderId::new("x").unwrap());
        let (catalog, _) = Catalog::from_csv_reader(csv.as_bytes(), &options).unwrap();
        let names = |q: Query| -> Vec<String> {
            catalog
                .query(&q)
                .iter()
                .map(|t| t.name().to_owned())
                .collect()
        };

        assert!(catalog.knows_gpu("H100"));
        assert!(catalog.knows_gpu("h100 mega"));
        assert!(
            catalog.knows_gpu("gaudi3"),
            "a model only the catalog lists"
        );
        assert!(!catalog.knows_gpu("H100X"));
        assert!(!catalog.knows_gpu("H200"));
        assert!(!Catalog::builtin().knows_gpu("H100-MEGA"));
        assert_eq!(names(Query::new().gpu("H100-MEGA")), ["h100-mega-x8"]);
        assert_eq!(
            names(Query::new().gpu("H100")),
            ["h100-mega-x8", "a3-highgpu-8g"]
        );
        assert_eq!(names(Query::new().gpu("gaudi3")), ["gaudi"]);
        assert_eq!(catalog.gpu_model("GAUDI3").unwrap().name, "GAUDI3");
        let err = catalog.gpu_model("H100X").unwrap_err();
        assert_eq!(err.field(), Some("gpu"));
        assert!(err.message().contains("did you mean H100?"), "{err}");
        assert!(err.message().contains("GAUDI3, H100"), "{err}");
    }

    #[test]
    fn merging_keeps_the_first_and_the_older_date() {
        let mut a = Catalog::builtin();
        let b = Catalog::builtin();
        let mut report = LoadReport {
            rows_kept: a.len() + b.len(),
            ..LoadReport::default()
        };
        let n = a.len();

        a.merge(b, &mut report);

        assert_eq!(a.len(), n);
        assert_eq!(report.rows_kept, n);
        assert_eq!(report.skipped[&SkipReason::Duplicate], n);
    }

    #[test]
    fn load_path_reads_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let csv = "InstanceType,AcceleratorName,AcceleratorCount,Price,Region\n\
                   gpu_1x_h100_pcie,H100,1.0,2.49,us-east-1\nbad,H100,1,x,us-east-1\n";
        fs::write(dir.path().join("lambda.csv"), csv).unwrap();
        fs::write(dir.path().join("builtin.json"), BUILTIN).unwrap();
        fs::write(dir.path().join("notes.md"), "not a catalog").unwrap();

        let (one, one_report) = Catalog::load_path(dir.path().join("lambda.csv")).unwrap();
        let (all, report) = Catalog::load_path(dir.path()).unwrap();

        assert_eq!(one.len(), 1);
        assert_eq!(one_report.rows_skipped(), 1);
        let skip = one_report
            .warnings
            .iter()
            .find(|w| w.line == Some(3))
            .unwrap();
        assert!(
            skip.to_string()
                .contains("lambda.csv:3: skipped (invalid price)"),
            "{skip}"
        );
        assert_eq!(all.len(), Catalog::builtin().len() + 1);
        assert_eq!(report.files.len(), 2);
        assert_eq!(all.as_of(), None, "the CSV part has no date");
        let id: InstanceTypeId = "lambda/us-east-1//gpu_1x_h100_pcie".parse().unwrap();
        assert_eq!(all.gpu_of(&id).unwrap().memory(), Some(Bytes::gib(80)));
    }

    #[test]
    fn load_path_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.csv");
        fs::write(
            dir.path().join("bad name.csv"),
            "InstanceType,Region,Price\n",
        )
        .unwrap();

        let not_found = Catalog::load_path(&missing).unwrap_err();
        let bad_stem = Catalog::load_path(dir.path().join("bad name.csv")).unwrap_err();
        let empty = tempfile::tempdir().unwrap();
        let no_files = Catalog::load_path(empty.path()).unwrap_err();

        assert_eq!(not_found.kind(), ErrorKind::NotFound);
        assert!(not_found.to_string().contains("nope.csv"));
        assert_eq!(bad_stem.field(), Some("catalog"));
        assert!(bad_stem.message().contains("bad name"));
        assert_eq!(no_files.kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn age_is_measured_from_as_of() {
        let mut catalog = Catalog::new("t", None);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10 * 86_400);
        assert_eq!(catalog.age(now), None);

        catalog.set_as_of(Some(DateTime::<Utc>::from(SystemTime::UNIX_EPOCH)));

        assert_eq!(catalog.age(now), Some(Duration::from_secs(10 * 86_400)));
    }
}
