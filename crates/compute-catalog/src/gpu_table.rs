//! The table of GPU models we know: canonical name, aliases, maker, memory variants, form.
//!
//! Memory is the *nominal* per-GPU size in GiB as the product is sold (the `80` of
//! "H100 80GB"). Providers report the usable size, a few percent below it, so measured sizes
//! are snapped to the nearest variant within [`MIN_RATIO`]..=[`MAX_RATIO`] of it.

use compute_types::Architecture;

use crate::gpu::FormFactor;

/// Lowest measured/nominal ratio that still counts as the nominal size (L40S reports 45 of 48).
pub(crate) const MIN_RATIO: f64 = 0.90;

/// Highest measured/nominal ratio that still counts as the nominal size.
pub(crate) const MAX_RATIO: f64 = 1.05;

/// Who made a model (a copyable stand-in for `compute_types::Manufacturer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Maker {
    Nvidia,
    Amd,
}

/// One memory variant of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Variant {
    /// Nominal memory per GPU in GiB.
    pub(crate) gib: u32,
    /// The form factor this variant is tied to, when only one form has it (H100 NVL: 94).
    pub(crate) form: Option<FormFactor>,
}

/// One known GPU model.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ModelSpec {
    /// Canonical name, e.g. `H100`, `RTX6000Ada`.
    pub(crate) name: &'static str,
    /// Other spellings, compact and upper case (the upper-cased name always matches too).
    pub(crate) aliases: &'static [&'static str],
    /// Who makes it.
    pub(crate) maker: Maker,
    /// Memory variants; may be empty when unknown.
    pub(crate) variants: &'static [Variant],
    /// The form factor when the model comes in only one.
    pub(crate) form: Option<FormFactor>,
    /// The model this one is a more specific edition of (`RTX3060Ti` of `RTX3060`), so an
    /// instance type name can refine a catalog's coarse accelerator name.
    pub(crate) refines: Option<&'static str>,
    /// The host CPU architecture when the GPU fixes it (Grace superchips are ARM).
    pub(crate) host: Option<Architecture>,
}

const fn v(gib: u32) -> Variant {
    Variant { gib, form: None }
}

const PCIE: Option<FormFactor> = Some(FormFactor::Pcie);
const SXM: Option<FormFactor> = Some(FormFactor::Sxm);

macro_rules! models {
    ($( $name:literal [$($alias:literal),*] $maker:ident [$($var:expr),*] $form:expr,
        $refines:expr, $host:expr; )*) => {
        /// Every known model.
        pub(crate) const MODELS: &[ModelSpec] = &[$(ModelSpec {
            name: $name,
            aliases: &[$($alias),*],
            maker: Maker::$maker,
            variants: &[$($var),*],
            form: $form,
            refines: $refines,
            host: $host,
        },)*];
    };
}

const ARM: Option<Architecture> = Some(Architecture::Arm64);
const NVL94: Variant = Variant {
    gib: 94,
    form: Some(FormFactor::NvLink),
};

models! {
    // NVIDIA data centre.
    "B300" [] Nvidia [v(288)] SXM, None, None;
    "B200" [] Nvidia [v(180)] SXM, None, None;
    "GB200" [] Nvidia [v(186)] None, None, ARM;
    "GH200" [] Nvidia [v(96), v(144)] None, None, ARM;
    "H200" [] Nvidia [v(141)] None, None, None;
    "H100" [] Nvidia [v(80), NVL94] None, None, None;
    "H800" [] Nvidia [v(80)] None, None, None;
    "A100" [] Nvidia [v(40), v(80)] None, None, None;
    "A800" [] Nvidia [v(40), v(80)] None, None, None;
    "A40" [] Nvidia [v(48)] PCIE, None, None;
    "A30" [] Nvidia [v(24)] PCIE, None, None;
    "A10G" [] Nvidia [v(24)] PCIE, None, None;
    "A10" [] Nvidia [v(24)] PCIE, None, None;
    "L40S" [] Nvidia [v(48)] PCIE, None, None;
    "L40" [] Nvidia [v(48)] PCIE, None, None;
    "L4" [] Nvidia [v(24)] PCIE, None, None;
    "T4" [] Nvidia [v(16)] PCIE, None, None;
    "V100" [] Nvidia [v(16), v(32)] None, None, None;
    "P100" [] Nvidia [v(16), v(12)] None, None, None;
    "P40" [] Nvidia [v(24)] PCIE, None, None;
    "P4" [] Nvidia [v(8)] PCIE, None, None;
    "K80" [] Nvidia [v(12)] PCIE, None, None;
    // NVIDIA professional.
    "RTXPRO6000" [] Nvidia [v(96)] PCIE, None, None;
    "RTX6000Ada" [] Nvidia [v(48)] PCIE, None, None;
    "RTX5880Ada" [] Nvidia [v(48)] PCIE, None, None;
    "RTX5000Ada" [] Nvidia [v(32)] PCIE, None, None;
    "RTX4500Ada" [] Nvidia [v(24)] PCIE, None, None;
    "RTX4000Ada" [] Nvidia [v(20)] PCIE, None, None;
    "RTXA6000" ["A6000"] Nvidia [v(48)] PCIE, None, None;
    "RTXA5000" ["A5000"] Nvidia [v(24)] PCIE, None, None;
    "RTXA4000" ["A4000"] Nvidia [v(16)] PCIE, None, None;
    "RTX8000" ["QUADRORTX8000"] Nvidia [v(48)] PCIE, None, None;
    "RTX6000" ["QUADRORTX6000"] Nvidia [v(24)] PCIE, None, None;
    // NVIDIA GeForce.
    "RTX5090" [] Nvidia [v(32)] PCIE, None, None;
    "RTX5080" [] Nvidia [v(16)] PCIE, None, None;
    "RTX5070Ti" [] Nvidia [v(16)] PCIE, Some("RTX5070"), None;
    "RTX5070" [] Nvidia [v(12)] PCIE, None, None;
    "RTX5060Ti" [] Nvidia [v(16), v(8)] PCIE, Some("RTX5060"), None;
    "RTX5060" [] Nvidia [v(8)] PCIE, None, None;
    "RTX4090" [] Nvidia [v(24)] PCIE, None, None;
    "RTX4080Super" ["RTX4080S"] Nvidia [v(16)] PCIE, Some("RTX4080"), None;
    "RTX4080" [] Nvidia [v(16)] PCIE, None, None;
    "RTX4070TiSuper" ["RTX4070STI", "RTX4070TIS"] Nvidia [v(16)] PCIE, Some("RTX4070"), None;
    "RTX4070Ti" [] Nvidia [v(12)] PCIE, Some("RTX4070"), None;
    "RTX4070Super" ["RTX4070S"] Nvidia [v(12)] PCIE, Some("RTX4070"), None;
    "RTX4070" [] Nvidia [v(12)] PCIE, None, None;
    "RTX4060Ti" [] Nvidia [v(8), v(16)] PCIE, Some("RTX4060"), None;
    "RTX4060" [] Nvidia [v(8)] PCIE, None, None;
    "RTX3090Ti" [] Nvidia [v(24)] PCIE, Some("RTX3090"), None;
    "RTX3090" [] Nvidia [v(24)] PCIE, None, None;
    "RTX3080Ti" [] Nvidia [v(12)] PCIE, Some("RTX3080"), None;
    "RTX3080" [] Nvidia [v(10), v(12)] PCIE, None, None;
    "RTX3070Ti" [] Nvidia [v(8)] PCIE, Some("RTX3070"), None;
    "RTX3070" [] Nvidia [v(8)] PCIE, None, None;
    "RTX3060Ti" [] Nvidia [v(8)] PCIE, Some("RTX3060"), None;
    "RTX3060" [] Nvidia [v(12), v(8)] PCIE, None, None;
    // AMD Instinct.
    "MI355X" [] Amd [v(288)] None, None, None;
    "MI325X" [] Amd [v(256)] None, None, None;
    "MI300X" [] Amd [v(192)] None, None, None;
    "MI250X" [] Amd [v(128)] None, None, None;
    "MI250" [] Amd [v(128)] None, None, None;
    "MI210" [] Amd [v(64)] PCIE, None, None;
}

/// Edition words a model is sold under, as (model, spelling, canonical edition).
///
/// An edition names a variant that the model, memory and form factor do not tell apart:
/// GCP's `H100-MEGA` machines, the workstation and server RTX PRO 6000. Spellings are
/// compact upper case; a word not listed here after a model name makes the name unknown.
pub(crate) const EDITIONS: &[(&str, &str, &str)] = &[
    ("H100", "MEGA", "MEGA"),
    ("H100", "MEGAGPU", "MEGA"),
    ("RTXPRO6000", "WS", "WS"),
    ("RTXPRO6000", "WORKSTATION", "WS"),
    ("RTXPRO6000", "SERVER", "SERVER"),
    ("RTXPRO6000", "MAXQ", "MAXQ"),
];

/// Returns the canonical edition `spelling` names for `model`, if it is one of its editions.
pub(crate) fn edition(model: &str, spelling: &str) -> Option<&'static str> {
    EDITIONS
        .iter()
        .find(|(m, s, _)| *m == model && *s == spelling)
        .map(|(_, _, canonical)| *canonical)
}

/// Returns the model whose name or alias is exactly `compact` (upper case, no separators).
pub(crate) fn exact(compact: &str) -> Option<&'static ModelSpec> {
    MODELS
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case(compact) || m.aliases.contains(&compact))
}

/// Returns the model with this canonical name.
pub(crate) fn by_name(name: &str) -> Option<&'static ModelSpec> {
    MODELS.iter().find(|m| m.name == name)
}

/// Returns every spelling of a model in compact upper case.
pub(crate) fn spellings(m: &ModelSpec) -> impl Iterator<Item = String> + '_ {
    std::iter::once(m.name.to_ascii_uppercase()).chain(m.aliases.iter().map(|a| (*a).to_owned()))
}

impl ModelSpec {
    /// Returns the nominal size a measured per-GPU size (in MiB) stands for, if any variant fits.
    pub(crate) fn snap(&self, mib: u64) -> Option<u32> {
        let gib = mib as f64 / 1024.0;
        self.variants
            .iter()
            .map(|v| v.gib)
            .filter(|&nominal| {
                let ratio = gib / f64::from(nominal);
                (MIN_RATIO..=MAX_RATIO).contains(&ratio)
            })
            .min_by(|a, b| {
                let da = (gib - f64::from(*a)).abs();
                let db = (gib - f64::from(*b)).abs();
                da.total_cmp(&db)
            })
    }

    /// Returns the only memory size the model can have in `form`, if there is exactly one.
    ///
    /// Variants tied to a form factor (H100 NVL's 94 GiB) count only for that form; the
    /// others count for every other form and for an unknown one.
    pub(crate) fn default_memory(&self, form: Option<FormFactor>) -> Option<u32> {
        let tied: Vec<u32> = self
            .variants
            .iter()
            .filter(|v| v.form.is_some() && v.form == form)
            .map(|v| v.gib)
            .collect();
        let pool = if tied.is_empty() {
            self.variants
                .iter()
                .filter(|v| v.form.is_none())
                .map(|v| v.gib)
                .collect()
        } else {
            tied
        };
        match pool.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }

    /// Returns true when `gib` is one of the model's nominal sizes.
    pub(crate) fn has_memory(&self, gib: u32) -> bool {
        self.variants.iter().any(|v| v.gib == gib)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_unique() {
        let mut all: Vec<String> = MODELS.iter().flat_map(spellings).collect();
        let n = all.len();

        all.sort();
        all.dedup();

        assert_eq!(all.len(), n);
    }

    #[test]
    fn refined_models_exist() {
        for m in MODELS {
            if let Some(parent) = m.refines {
                assert!(
                    by_name(parent).is_some(),
                    "{} refines unknown {parent}",
                    m.name
                );
            }
        }
    }

    #[test]
    fn editions_belong_to_known_models() {
        for (model, spelling, canonical) in EDITIONS {
            assert!(by_name(model).is_some(), "{model}");
            assert_eq!(edition(model, spelling), Some(*canonical));
            assert_eq!(edition(model, canonical), Some(*canonical), "{canonical}");
        }
        assert_eq!(edition("A100", "MEGA"), None);
    }

    #[test]
    fn snapping_picks_the_variant_within_tolerance() {
        let h100 = by_name("H100").unwrap();
        let l40s = by_name("L40S").unwrap();

        assert_eq!(h100.snap(81_559), Some(80));
        assert_eq!(h100.snap(95_830), Some(94));
        assert_eq!(h100.snap(40_960), None);
        assert_eq!(l40s.snap(46_068), Some(48));
        assert_eq!(by_name("B300").unwrap().snap(275_040), Some(288));
    }

    #[test]
    fn default_memory_respects_form_ties() {
        let h100 = by_name("H100").unwrap();

        assert_eq!(h100.default_memory(None), Some(80));
        assert_eq!(h100.default_memory(Some(FormFactor::Sxm)), Some(80));
        assert_eq!(h100.default_memory(Some(FormFactor::NvLink)), Some(94));
        assert_eq!(by_name("A100").unwrap().default_memory(None), None);
    }
}
