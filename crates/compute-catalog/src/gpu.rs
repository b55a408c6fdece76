//! GPU model normalisation: one canonical name plus variant for every way clouds spell a GPU.
//!
//! Clouds name one GPU many ways (`H100`, `H100-SXM`, `H100-MEGA`, `A100-80GB`,
//! `Tesla_V100`, `RTX_4070S_Ti`, `A6000` next to `RTXA6000`). [`normalize_gpu`] turns each
//! into a [`NormalizedGpu`]: a canonical model name, the variant the text states (memory per
//! GPU, form factor), the maker, and the edition when the model has named ones (`MEGA`,
//! `WS`). A [`GpuModel`] is the query key built the same way, so `"H100 80GB"` matches every
//! H100 with 80 GiB on every cloud.
//!
//! Reading is strict: a word after the model that is not a memory size, a form factor, a
//! memory kind (`HBM3`) or one of the model's editions makes the whole name unknown, so
//! `H200X` is not taken for an H200 and `H100-FOO` does not match every H100.

use std::{fmt, str::FromStr};

use compute_types::{Architecture, Bytes, Error, Gpu, Interconnect, Manufacturer, Result};
use serde::{Deserialize, Serialize};

use crate::gpu_table::{self, Maker, ModelSpec};

/// How a GPU is packaged: a PCIe card, an SXM module, or PCIe cards bridged with NVLink.
///
/// This is the coarse form used as a query key; the finer
/// [`Interconnect`](compute_types::Interconnect) (SXM4, SXM5…) stays on the [`Gpu`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormFactor {
    /// A PCIe card.
    Pcie,
    /// An SXM module, any generation.
    Sxm,
    /// PCIe cards joined by an NVLink bridge (H100 NVL).
    NvLink,
}

impl FormFactor {
    /// Returns the usual spelling: `PCIe`, `SXM` or `NVLink`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pcie => "PCIe",
            Self::Sxm => "SXM",
            Self::NvLink => "NVLink",
        }
    }

    /// Returns the form factor of an interconnect, when it names one.
    pub fn from_interconnect(interconnect: &Interconnect) -> Option<Self> {
        match interconnect {
            Interconnect::Pcie => Some(Self::Pcie),
            Interconnect::Sxm | Interconnect::Sxm4 | Interconnect::Sxm5 | Interconnect::Sxm6 => {
                Some(Self::Sxm)
            }
            Interconnect::NvLink => Some(Self::NvLink),
            other => {
                let text = other.as_str().to_ascii_lowercase();
                text.starts_with("sxm").then_some(Self::Sxm)
            }
        }
    }

    /// Returns the interconnect that says no more than this form factor.
    pub fn to_interconnect(self) -> Interconnect {
        match self {
            Self::Pcie => Interconnect::Pcie,
            Self::Sxm => Interconnect::Sxm,
            Self::NvLink => Interconnect::NvLink,
        }
    }
}

impl fmt::Display for FormFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A GPU name reduced to canonical model, stated variant, maker and edition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct NormalizedGpu {
    /// Canonical model name, e.g. `H100`, `A100`, `RTXA6000`, `RTX6000Ada`. For a model not
    /// in our table, the words of the input upper-cased and joined by `-`.
    pub model: String,
    /// Nominal memory per GPU in GiB (the `80` of "A100 80GB"), when known.
    pub memory_gib: Option<u32>,
    /// PCIe, SXM or NVLink, when stated or fixed by the model.
    pub form_factor: Option<FormFactor>,
    /// The precise interconnect when stated (`SXM5`), else the one the form factor implies.
    pub interconnect: Option<Interconnect>,
    /// Who makes it; `Other("unknown")` for a model not in our table.
    pub manufacturer: Manufacturer,
    /// The model's named edition, e.g. `MEGA` (GCP's H100 mega machines) or `WS`; editions
    /// of one name are joined by `-`.
    pub edition: Option<String>,
    /// Whether the model is in our table.
    pub known: bool,
}

impl NormalizedGpu {
    /// Returns the query key: model, memory and form factor.
    pub fn key(&self) -> GpuModel {
        GpuModel {
            name: self.model.clone(),
            edition: self.edition.clone(),
            memory_gib: self.memory_gib,
            form_factor: self.form_factor,
        }
    }

    /// Returns the nominal memory per GPU as bytes.
    pub fn memory(&self) -> Option<Bytes> {
        self.memory_gib.map(|g| Bytes::gib(u64::from(g)))
    }

    /// Returns `count` of these GPUs as a [`Gpu`] of the data model.
    pub fn to_gpu(&self, count: u32) -> Gpu {
        let mut gpu = Gpu::new(count, self.model.clone(), self.manufacturer.clone());
        gpu.memory = self.memory();
        gpu.interconnect = self.interconnect.clone();
        gpu
    }

    /// Returns the host architecture the GPU implies (Grace superchips are ARM), if any.
    pub fn host_architecture(&self) -> Option<Architecture> {
        gpu_table::by_name(&self.model).and_then(|m| m.host)
    }

    pub(crate) fn spec(&self) -> Option<&'static ModelSpec> {
        if self.known {
            gpu_table::by_name(&self.model)
        } else {
            None
        }
    }
}

/// The key "which GPU": canonical model plus, optionally, edition, memory and form factor.
///
/// Parse one from any spelling of a known model (`"h100"`, `"A100-80GB"`, `"H100 SXM"`,
/// `"NVIDIA H100 80GB HBM3"`); a part left out matches anything, so `H100` also matches the
/// `MEGA` edition while `H100-MEGA` matches only that edition. Display prints the canonical
/// form, e.g. `H100-80GB-SXM` or `H100-MEGA-80GB`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct GpuModel {
    /// Canonical model name.
    pub name: String,
    /// The model's edition (`MEGA`), or `None` for any.
    pub edition: Option<String>,
    /// Nominal memory per GPU in GiB, or `None` for any.
    pub memory_gib: Option<u32>,
    /// Form factor, or `None` for any.
    pub form_factor: Option<FormFactor>,
}

impl GpuModel {
    /// Parses a known GPU model in any spelling.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](compute_types::ErrorKind::InvalidRequest) naming `gpu`
    /// when the text names no model of our table ([`is_known_gpu`] is false), e.g. `H200X`
    /// or `H100-FOO`; the message suggests the model the text starts with, if any, and lists
    /// a few known models.
    pub fn parse(text: &str) -> Result<Self> {
        let found = analyse(text);
        if !found.gpu.known {
            return Err(unknown_gpu(text, found.near, EXAMPLES));
        }
        let gpu = found.gpu;
        Ok(Self {
            name: gpu.model,
            edition: gpu.edition,
            memory_gib: gpu.memory_gib,
            // The model's fixed form (L4 is always PCIe) constrains nothing, so keep only a
            // stated one.
            form_factor: gpu.form_factor.filter(|_| found.stated_form),
        })
    }

    /// Returns true when `gpu` is this model and has the edition, memory and form factor
    /// asked for.
    pub fn matches(&self, gpu: &NormalizedGpu) -> bool {
        gpu.model == self.name
            && self
                .edition
                .as_ref()
                .is_none_or(|e| gpu.edition.as_ref() == Some(e))
            && self.memory_gib.is_none_or(|m| gpu.memory_gib == Some(m))
            && self.form_factor.is_none_or(|f| gpu.form_factor == Some(f))
    }

    /// Returns true when the model is in our table of known GPUs.
    pub fn is_known(&self) -> bool {
        gpu_table::by_name(&self.name).is_some()
    }
}

impl fmt::Display for GpuModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(e) = &self.edition {
            write!(f, "-{e}")?;
        }
        if let Some(m) = self.memory_gib {
            write!(f, "-{m}GB")?;
        }
        if let Some(form) = self.form_factor {
            write!(f, "-{}", form.as_str().to_ascii_uppercase())?;
        }
        Ok(())
    }
}

impl FromStr for GpuModel {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Normalises a GPU name as any catalog or user writes it.
///
/// Case, separators (`-`, `_`, spaces) and the words `NVIDIA`, `Tesla`, `GeForce`, `Quadro`,
/// `AMD`, `Instinct` and `GPU` do not matter. Memory (`80GB`), form factor (`SXM4`, `PCIe`,
/// `NVL`), memory kind and generation words (`HBM3`, `Generation`) and the model's own
/// editions (`MEGA` for the H100) may follow the model. Memory is set only when the text
/// states it; the form factor also when the model has only one (an L4 is always PCIe).
///
/// Any other word after the model makes the name unknown: `H200X` and `H100-FOO` are not
/// H100s. Unknown names come back with `known == false` and the input's words, upper-cased
/// and joined by `-`, as the model name, so a catalog's unfamiliar GPU stays visible.
///
/// ```
/// use compute_catalog::{FormFactor, normalize_gpu};
///
/// let gpu = normalize_gpu("A100-80GB");
/// assert_eq!((gpu.model.as_str(), gpu.memory_gib), ("A100", Some(80)));
///
/// let gpu = normalize_gpu("RTX_4070S_Ti");
/// assert_eq!(gpu.model, "RTX4070TiSuper");
/// assert_eq!(gpu.form_factor, Some(FormFactor::Pcie));
///
/// assert_eq!(normalize_gpu("H100-MEGA").edition.as_deref(), Some("MEGA"));
/// assert!(!normalize_gpu("H200X").known);
/// ```
pub fn normalize_gpu(raw: &str) -> NormalizedGpu {
    analyse(raw).gpu
}

/// Returns true when a name spells a model of our table of known GPUs (see [`normalize_gpu`]
/// for what may follow the model).
pub fn is_known_gpu(raw: &str) -> bool {
    normalize_gpu(raw).known
}

/// Refines a catalog's GPU with what the instance type's name says.
///
/// Vast names `RTX3060` in the accelerator column and `RTX_3060_Ti` in the type name; Lambda
/// and Nebius put the form factor only in the type name (`gpu_1x_h100_pcie`,
/// `gpu-h100-sxm_…`). A more specific model (one that refines the catalog's), a stated
/// form factor and an edition of the model (`…_RTX_PRO_6000_WS-…`) are taken from the type
/// name; a memory word (`80gb`) is returned separately, and only when it is a nominal size
/// of the model, because type names also carry host RAM.
pub(crate) fn refine_with_type_name(gpu: &mut NormalizedGpu, type_name: &str) -> Option<u32> {
    let words = words(type_name);
    let compact: String = words.concat();

    if gpu.known {
        let better = gpu_table::MODELS
            .iter()
            .filter(|m| m.refines == Some(gpu.model.as_str()))
            .flat_map(|m| gpu_table::spellings(m).map(move |s| (m, s)))
            .filter(|(_, s)| compact.contains(s.as_str()))
            .max_by_key(|(_, s)| s.len());
        if let Some((m, _)) = better {
            gpu.model = m.name.to_owned();
        }
    }

    // A stated form fills an unknown one; a finer interconnect of the same form (`sxm6`
    // for an SXM-only B200) replaces the coarse one. Type names hold other words too
    // (counts, host sizes), so words that are not hints are passed over here.
    let hints = Hints::read(&gpu.model, &words);
    if gpu.known && gpu.edition.is_none() {
        gpu.edition = hints.edition();
    }
    let fixed_form = gpu.spec().is_some_and(|s| s.form.is_some());
    if let Some(ic) = hints.interconnect {
        let form = FormFactor::from_interconnect(&ic);
        let coarse = gpu.form_factor.map(FormFactor::to_interconnect);
        if (gpu.form_factor.is_none() && !fixed_form)
            || (form.is_some() && form == gpu.form_factor && gpu.interconnect == coarse)
        {
            gpu.form_factor = form;
            gpu.interconnect = Some(ic);
        }
    }
    let spec = gpu.spec()?;
    words
        .iter()
        .filter_map(|w| memory_word(w))
        .find(|&m| spec.has_memory(m))
}

/// Builds the normalised form of a data-model [`Gpu`], snapping its memory to a variant.
pub(crate) fn normalize_data_gpu(gpu: &Gpu) -> NormalizedGpu {
    let mut norm = normalize_gpu(&gpu.model);
    norm.manufacturer = gpu.manufacturer.clone();
    if let Some(ic) = &gpu.interconnect {
        norm.form_factor = FormFactor::from_interconnect(ic).or(norm.form_factor);
        norm.interconnect = Some(ic.clone());
    }
    if let Some(memory) = gpu.memory {
        let mib = memory.as_u64() >> 20;
        let snapped = norm.spec().and_then(|s| s.snap(mib));
        norm.memory_gib = snapped.or_else(|| rounded_gib(mib));
    }
    norm
}

/// Rounds MiB to the nearest whole GiB, for sizes no known variant explains.
pub(crate) fn rounded_gib(mib: u64) -> Option<u32> {
    u32::try_from(mib.saturating_add(512) / 1024).ok()
}

/// Sets the edition a type name states (`h100-mega-x8`) on a known GPU that has none.
pub(crate) fn edition_from_type_name(gpu: &mut NormalizedGpu, type_name: &str) {
    if gpu.known && gpu.edition.is_none() {
        gpu.edition = Hints::read(&gpu.model, &words(type_name)).edition();
    }
}

/// Returns the error for a GPU name that is not a known model, naming the known model it
/// starts with (if any) and, as a hint, `known`: a few models that are.
pub(crate) fn unknown_gpu(text: &str, near: Option<&str>, known: &str) -> Error {
    let shown = shown(text);
    let guess = near
        .map(|m| format!(" (did you mean {m}?)"))
        .unwrap_or_default();
    Error::invalid(
        "gpu",
        format!("`{shown}` is not a known GPU model{guess}; known models include {known}"),
    )
}

/// Returns the known model an unknown name starts with (`H200` for `H200X`).
pub(crate) fn near_model(text: &str) -> Option<&'static str> {
    analyse(text).near
}

/// A few known models, named in messages about unknown ones.
const EXAMPLES: &str = "H100, H200, B200, A100-80GB, A10G, L40S, L4, RTX4090, MI300X";

/// Returns user text fit to quote in a message: trimmed, at most 40 characters, control
/// characters replaced.
fn shown(text: &str) -> String {
    let text = text.trim();
    let mut out: String = text
        .chars()
        .take(40)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}

/// What reading a GPU name found.
struct Analysis {
    gpu: NormalizedGpu,
    /// Whether the text itself states a form factor.
    stated_form: bool,
    /// The known model the text starts with, when later words made it unknown (`H200X`).
    near: Option<&'static str>,
}

/// Normalises `raw`, saying whether the text states a form factor and, for an unknown
/// name, which known model it starts with.
fn analyse(raw: &str) -> Analysis {
    let words = words(raw);
    let Some((spec, rest)) = identify(&words) else {
        return Analysis {
            gpu: unknown(&words),
            stated_form: false,
            near: None,
        };
    };

    let hints = Hints::read(spec.name, &rest);
    if hints.unknown > 0 {
        return Analysis {
            gpu: unknown(&words),
            stated_form: false,
            near: Some(spec.name),
        };
    }
    let stated = hints.interconnect.is_some();
    let edition = hints.edition();
    let interconnect = hints
        .interconnect
        .or_else(|| spec.form.map(FormFactor::to_interconnect));
    let gpu = NormalizedGpu {
        model: spec.name.to_owned(),
        memory_gib: hints.memory_gib,
        form_factor: interconnect
            .as_ref()
            .and_then(FormFactor::from_interconnect),
        interconnect,
        manufacturer: maker(spec.maker),
        edition,
        known: true,
    };
    Analysis {
        gpu,
        stated_form: stated,
        near: None,
    }
}

/// The most words a model's spelling spans (`RTX PRO 6000`, `RTX 4070 Ti Super`).
const MAX_MODEL_WORDS: usize = 6;

/// Words that never change which GPU is meant.
const NOISE: &[&str] = &[
    "NVIDIA", "TESLA", "GEFORCE", "QUADRO", "AMD", "INSTINCT", "GPU",
];

/// Words that may follow a model without changing it: memory kinds and generation names, as
/// `nvidia-smi` prints them (`NVIDIA H100 80GB HBM3`, `RTX 6000 Ada Generation`).
const DESCRIPTORS: &[&str] = &[
    "HBM2",
    "HBM2E",
    "HBM3",
    "HBM3E",
    "GDDR6",
    "GDDR6X",
    "GDDR7",
    "GENERATION",
    "EDITION",
    "BLACKWELL",
];

fn words(raw: &str) -> Vec<String> {
    raw.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .filter(|w| !NOISE.contains(&w.as_str()))
        .collect()
}

/// Finds the model the leading words name, returning it and the words after it.
///
/// First the longest run of whole words that spells a model exactly (`RTX PRO 6000`), then
/// a model spelled at the start of the joined words with a suffix stuck on (`H100SXM5`,
/// `RTXPRO6000WS`). A digit may follow a model ending in a digit only as a memory size, so
/// `A1000` is not an `A100`.
fn identify(words: &[String]) -> Option<(&'static ModelSpec, Vec<String>)> {
    // No spelling takes more than a few words, so long input costs no more than short.
    let head = words.len().min(MAX_MODEL_WORDS);
    for k in (1..=head).rev() {
        if let Some(spec) = gpu_table::exact(&words[..k].concat()) {
            return Some((spec, words[k..].to_vec()));
        }
    }

    for k in (1..=head).rev() {
        let compact = words[..k].concat();
        let best = gpu_table::MODELS
            .iter()
            .flat_map(|m| gpu_table::spellings(m).map(move |s| (m, s)))
            .filter(|(_, s)| compact.len() > s.len() && compact.starts_with(s.as_str()))
            .filter(|(_, s)| suffix_ok(s, &compact[s.len()..]))
            .max_by_key(|(_, s)| s.len());
        if let Some((spec, s)) = best {
            let mut rest = vec![compact[s.len()..].to_owned()];
            rest.extend_from_slice(&words[k..]);
            return Some((spec, rest));
        }
    }
    None
}

fn suffix_ok(spelling: &str, suffix: &str) -> bool {
    let ends_digit = spelling.ends_with(|c: char| c.is_ascii_digit());
    let starts_digit = suffix.starts_with(|c: char| c.is_ascii_digit());
    !(ends_digit && starts_digit) || memory_word(suffix).is_some()
}

fn unknown(words: &[String]) -> NormalizedGpu {
    NormalizedGpu {
        model: words.join("-"),
        memory_gib: None,
        form_factor: None,
        interconnect: None,
        manufacturer: Manufacturer::Other("unknown".to_owned()),
        edition: None,
        known: false,
    }
}

fn maker(m: Maker) -> Manufacturer {
    match m {
        Maker::Nvidia => Manufacturer::Nvidia,
        Maker::Amd => Manufacturer::Amd,
    }
}

/// What the words after a model say.
#[derive(Debug, Default)]
struct Hints {
    memory_gib: Option<u32>,
    interconnect: Option<Interconnect>,
    editions: Vec<&'static str>,
    /// How many words were none of the above.
    unknown: usize,
}

impl Hints {
    /// Reads the words after `model` (a canonical name, whose editions are looked up).
    fn read(model: &str, words: &[String]) -> Self {
        let mut hints = Self::default();
        let has_editions = gpu_table::EDITIONS.iter().any(|(m, _, _)| *m == model);
        let mut i = 0;
        while i < words.len() {
            let word = words[i].as_str();
            // An edition may be spelled as two words (`Max-Q`).
            let next = words.get(i + 1).filter(|_| has_editions);
            let pair = next.and_then(|next| {
                let joined = format!("{word}{next}");
                gpu_table::edition(model, &joined)
            });
            if let Some(e) = pair {
                hints.add_edition(e);
                i += 2;
                continue;
            }
            if let Some(m) = memory_word(word) {
                hints.memory_gib.get_or_insert(m);
            } else if let Some(ic) = interconnect_word(word) {
                hints.interconnect.get_or_insert(ic);
            } else if let Some(e) = gpu_table::edition(model, word) {
                hints.add_edition(e);
            } else if !word.is_empty() && !DESCRIPTORS.contains(&word) {
                hints.unknown += 1;
            }
            i += 1;
        }
        hints
    }

    fn add_edition(&mut self, edition: &'static str) {
        if !self.editions.contains(&edition) {
            self.editions.push(edition);
        }
    }

    /// Returns the editions found, joined by `-`.
    fn edition(&self) -> Option<String> {
        (!self.editions.is_empty()).then(|| self.editions.join("-"))
    }
}

/// Reads `80GB`, `80G` or `80GIB` as 80.
fn memory_word(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &word[digits.len()..];
    if !matches!(unit, "GB" | "G" | "GIB") || digits.is_empty() {
        return None;
    }
    digits.parse().ok().filter(|&m| m > 0 && m < 10_000)
}

fn interconnect_word(word: &str) -> Option<Interconnect> {
    Some(match word {
        "PCIE" => Interconnect::Pcie,
        "SXM" => Interconnect::Sxm,
        "SXM4" => Interconnect::Sxm4,
        "SXM5" => Interconnect::Sxm5,
        "SXM6" => Interconnect::Sxm6,
        "SXM2" | "SXM3" => Interconnect::Other(word.to_ascii_lowercase()),
        "NVL" | "NVLINK" => Interconnect::NvLink,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (
        &'static str,
        &'static str,
        Option<u32>,
        Option<FormFactor>,
        Option<&'static str>,
    );

    const PCIE: Option<FormFactor> = Some(FormFactor::Pcie);
    const SXM: Option<FormFactor> = Some(FormFactor::Sxm);

    /// Every distinct `AcceleratorName` (and GpuInfo `Name`) in the five real catalogs, then
    /// spellings people type.
    const TABLE: &[Row] = &[
        // aws.csv
        ("A100", "A100", None, None, None),
        ("A100-80GB", "A100", Some(80), None, None),
        ("B200", "B200", None, SXM, None),
        ("B300", "B300", None, SXM, None),
        ("H100", "H100", None, None, None),
        ("H200", "H200", None, None, None),
        ("V100", "V100", None, None, None),
        ("V100-32GB", "V100", Some(32), None, None),
        // gcp.csv (adds these)
        ("H100-MEGA", "H100", None, None, Some("MEGA")),
        ("L4", "L4", None, PCIE, None),
        ("P100", "P100", None, None, None),
        ("P4", "P4", None, PCIE, None),
        ("T4", "T4", None, PCIE, None),
        // lambda.csv (adds these)
        ("A10", "A10", None, PCIE, None),
        ("A6000", "RTXA6000", None, PCIE, None),
        ("GH200", "GH200", None, None, None),
        ("RTX6000", "RTX6000", None, PCIE, None),
        // nebius.csv (adds these)
        ("L40S", "L40S", None, PCIE, None),
        // vast.csv (adds these)
        ("RTX3060", "RTX3060", None, PCIE, None),
        ("RTX3090", "RTX3090", None, PCIE, None),
        ("RTX4060", "RTX4060", None, PCIE, None),
        ("RTX4070", "RTX4070", None, PCIE, None),
        ("RTX4090", "RTX4090", None, PCIE, None),
        ("RTX5070", "RTX5070", None, PCIE, None),
        ("RTX5090", "RTX5090", None, PCIE, None),
        ("RTX5880-Ada", "RTX5880Ada", None, PCIE, None),
        ("RTX6000-Ada", "RTX6000Ada", None, PCIE, None),
        ("RTXA5000", "RTXA5000", None, PCIE, None),
        ("RTXA6000", "RTXA6000", None, PCIE, None),
        ("RTXPRO6000WS", "RTXPRO6000", None, PCIE, Some("WS")),
        // Other spellings.
        ("h100 sxm5 80gb", "H100", Some(80), SXM, None),
        ("H100-SXM", "H100", None, SXM, None),
        ("H100_NVL", "H100", None, Some(FormFactor::NvLink), None),
        ("NVIDIA Tesla V100", "V100", None, None, None),
        ("nvidia-tesla-a100", "A100", None, None, None),
        ("A10080GB", "A100", Some(80), None, None),
        ("A10G", "A10G", None, PCIE, None),
        ("RTX_PRO_6000_WS", "RTXPRO6000", None, PCIE, Some("WS")),
        ("GeForce RTX 4090", "RTX4090", None, PCIE, None),
        ("RTX_4070S_Ti", "RTX4070TiSuper", None, PCIE, None),
        ("Quadro RTX 6000", "RTX6000", None, PCIE, None),
        ("AMD Instinct MI300X", "MI300X", None, None, None),
        ("L40", "L40", None, PCIE, None),
    ];

    #[test]
    fn every_real_catalog_name_normalises() {
        for &(raw, model, memory, form, edition) in TABLE {
            let gpu = normalize_gpu(raw);

            assert!(gpu.known, "{raw}");
            assert_eq!(gpu.model, model, "{raw}");
            assert_eq!(gpu.memory_gib, memory, "{raw}");
            assert_eq!(gpu.form_factor, form, "{raw}");
            assert_eq!(gpu.edition.as_deref(), edition, "{raw}");
        }
    }

    #[test]
    fn canonical_names_are_fixed_points() {
        for spec in gpu_table::MODELS {
            let gpu = normalize_gpu(spec.name);

            assert_eq!(gpu.model, spec.name);
            assert_eq!(gpu.edition, None, "{}", spec.name);
        }
    }

    #[test]
    fn unknown_names_stay_visible() {
        let gpu = normalize_gpu("Foo 9000x");

        assert!(!gpu.known);
        assert_eq!(gpu.model, "FOO-9000X");
        assert!(!normalize_gpu("A1000").known);
        assert_eq!(normalize_gpu("").model, "");
        assert_eq!(normalize_gpu("NVIDIA").model, "");
    }

    #[test]
    fn long_input_stays_cheap() {
        let noise = "H100 ".to_owned() + &"word ".repeat(10_000);
        let descriptors = "H100 ".to_owned() + &"HBM3 ".repeat(10_000);

        let unknown = normalize_gpu(&noise);
        let known = normalize_gpu(&descriptors);

        assert!(!unknown.known);
        assert!(unknown.model.starts_with("H100-WORD-"));
        assert!(known.known);
        assert_eq!(known.model, "H100");
    }

    #[test]
    fn user_spellings_of_known_models_parse() {
        let cases = [
            ("H100", "H100"),
            ("h100 sxm5", "H100-SXM"),
            ("H100-SXM5-80GB", "H100-80GB-SXM"),
            ("NVIDIA H100 80GB HBM3", "H100-80GB"),
            ("NVIDIA H100 PCIe", "H100-PCIE"),
            ("A100-80GB", "A100-80GB"),
            ("NVIDIA A100-SXM4-80GB", "A100-80GB-SXM"),
            ("Tesla V100-SXM2-16GB", "V100-16GB-SXM"),
            ("A10G", "A10G"),
            ("NVIDIA RTX 6000 Ada Generation", "RTX6000Ada"),
            ("H100-MEGA", "H100-MEGA"),
            ("h100 mega 80gb", "H100-MEGA-80GB"),
            ("RTXPRO6000WS", "RTXPRO6000-WS"),
            (
                "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition",
                "RTXPRO6000-MAXQ-WS",
            ),
        ];
        for (text, canonical) in cases {
            let key = GpuModel::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));

            assert_eq!(key.to_string(), canonical, "{text}");
            assert!(is_known_gpu(text), "{text}");
            assert_eq!(GpuModel::parse(canonical).unwrap(), key, "{canonical}");
        }
    }

    #[test]
    fn unknown_words_after_a_model_make_the_name_unknown() {
        let cases = [
            ("H200X", Some("H200")),
            ("H100-FOO", Some("H100")),
            ("h100 sxm5 turbo", Some("H100")),
            ("A100X", Some("A100")),
            ("H100-MEGA-X", Some("H100")),
            ("A100-MEGA", Some("A100")),
            ("Z9000", None),
        ];
        for (text, near) in cases {
            let err = GpuModel::parse(text).unwrap_err();

            assert!(!is_known_gpu(text), "{text}");
            assert!(!normalize_gpu(text).known, "{text}");
            assert_eq!(err.kind(), compute_types::ErrorKind::InvalidRequest);
            assert_eq!(err.field(), Some("gpu"), "{text}");
            let msg = err.message();
            assert!(
                msg.contains(&format!("`{text}` is not a known GPU model")),
                "{msg}"
            );
            assert!(msg.contains("known models include H100, H200"), "{msg}");
            match near {
                Some(m) => assert!(msg.contains(&format!("did you mean {m}?")), "{msg}"),
                None => assert!(!msg.contains("did you mean"), "{msg}"),
            }
        }
        assert_eq!(normalize_gpu("H200X").model, "H200X");
        assert_eq!(normalize_gpu("H100-FOO").model, "H100-FOO");
    }

    #[test]
    fn messages_quote_user_text_short_and_printable() {
        let long = format!("H100{}", "x".repeat(100));

        let err = GpuModel::parse(&long).unwrap_err();
        let ctrl = GpuModel::parse("H100\u{1b}[2J").unwrap_err();

        assert!(err.message().contains("…"));
        assert!(!err.message().contains(&"x".repeat(41)));
        assert!(!ctrl.message().contains('\u{1b}'));
    }

    #[test]
    fn editions_match_only_themselves() {
        let plain = normalize_gpu("H100");
        let mega = normalize_gpu("H100-MEGA");

        let any = GpuModel::parse("H100").unwrap();
        let only_mega = GpuModel::parse("H100 MEGA").unwrap();

        assert!(any.matches(&plain) && any.matches(&mega));
        assert!(only_mega.matches(&mega));
        assert!(!only_mega.matches(&plain));
    }

    #[test]
    fn type_names_state_editions() {
        let mut mega = normalize_gpu("H100");
        let mut ws = normalize_gpu("RTXPRO6000");
        let mut a100 = normalize_gpu("A100");

        edition_from_type_name(&mut mega, "h100-mega-x8");
        refine_with_type_name(&mut ws, "2x-RTX_PRO_6000_WS-32-65536");
        edition_from_type_name(&mut a100, "a100-mega-x8");

        assert_eq!(mega.edition.as_deref(), Some("MEGA"));
        assert_eq!(ws.edition.as_deref(), Some("WS"));
        assert_eq!(a100.edition, None, "MEGA is no A100 edition");
    }

    #[test]
    fn manufacturers() {
        assert_eq!(normalize_gpu("H100").manufacturer, Manufacturer::Nvidia);
        assert_eq!(normalize_gpu("MI300X").manufacturer, Manufacturer::Amd);
        assert_eq!(
            normalize_gpu("Gaudi2").manufacturer,
            Manufacturer::Other("unknown".into())
        );
    }

    #[test]
    fn type_names_refine_the_accelerator_name() {
        let cases = [
            (
                "RTX3060",
                "1x-RTX_3060_Ti-32-65536",
                "RTX3060Ti",
                PCIE,
                None,
            ),
            (
                "RTX4060",
                "4x-RTX_4060_Ti-32-65536",
                "RTX4060Ti",
                PCIE,
                None,
            ),
            (
                "RTX4070",
                "4x-RTX_4070S_Ti-32-65536",
                "RTX4070TiSuper",
                PCIE,
                None,
            ),
            ("RTX3060", "4x-RTX_3060-32-65536", "RTX3060", PCIE, None),
            ("H100", "gpu_1x_h100_pcie", "H100", PCIE, None),
            (
                "H100",
                "1x-H100_NVL-32-65536",
                "H100",
                Some(FormFactor::NvLink),
                None,
            ),
            (
                "H100",
                "gpu-h100-sxm_8gpu-128vcpu-1600gb",
                "H100",
                SXM,
                None,
            ),
            ("A100-80GB", "gpu_8x_a100_80gb_sxm4", "A100", SXM, Some(80)),
            ("L40S", "gpu-l40s-a_1gpu-8vcpu-32gb", "L40S", PCIE, None),
            ("A100", "p4d.24xlarge", "A100", None, None),
            ("L4", "g2-standard-8_sxm", "L4", PCIE, None),
        ];
        for (accel, type_name, model, form, memory) in cases {
            let mut gpu = normalize_gpu(accel);

            let hinted = refine_with_type_name(&mut gpu, type_name);

            assert_eq!(gpu.model, model, "{type_name}");
            assert_eq!(gpu.form_factor, form, "{type_name}");
            assert_eq!(hinted, memory, "{type_name}");
        }
        let mut b200 = normalize_gpu("B200");
        refine_with_type_name(&mut b200, "gpu_8x_b200_sxm6");
        assert_eq!(b200.interconnect, Some(Interconnect::Sxm6));
    }

    #[test]
    fn model_keys_parse_match_and_print() {
        let key: GpuModel = "h100 80gb".parse().unwrap();
        let mut sxm = normalize_gpu("H100-SXM");
        sxm.memory_gib = Some(80);
        let nvl = NormalizedGpu {
            memory_gib: Some(94),
            ..normalize_gpu("H100 NVL")
        };

        assert!(key.matches(&sxm));
        assert!(!key.matches(&nvl));
        assert!(GpuModel::parse("H100").unwrap().matches(&nvl));
        assert_eq!(key.to_string(), "H100-80GB");
        assert_eq!(GpuModel::parse("L4").unwrap().form_factor, None);
        assert_eq!(
            GpuModel::parse("a100 sxm 40gb").unwrap().to_string(),
            "A100-40GB-SXM"
        );
        assert_eq!(GpuModel::parse(" - ").unwrap_err().field(), Some("gpu"));
    }

    #[test]
    fn data_gpus_snap_memory() {
        let gpu = Gpu::new(8, "H100", Manufacturer::Nvidia).with_memory(Bytes::mib(81_559));

        let norm = normalize_data_gpu(&gpu);

        assert_eq!(norm.memory_gib, Some(80));
        assert_eq!(norm.key().to_string(), "H100-80GB");
    }
}
