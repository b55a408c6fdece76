//! GPU memory per GPU from a catalog row: missing, zero, per-instance and wrong-unit sizes.
//!
//! `GpuInfo`'s `MemoryInfo.SizeInMiB` should be per GPU, and on AWS, GCP and Lambda it is.
//! Vast writes the whole instance's memory there; Nebius writes 0; Lambda repeats the
//! per-GPU size as the total. A row alone is often ambiguous (2 × A100 with 81,920 MiB is
//! 2 × 40 GB or 2 × 80 GB), so each file votes with its unambiguous multi-GPU rows and the
//! ambiguous ones follow the majority.

use compute_types::{Bytes, Gpu};

use crate::gpu::{NormalizedGpu, rounded_gib};

/// What a row says about its GPUs before memory is resolved.
#[derive(Debug)]
pub(crate) struct GpuDraft {
    pub(crate) gpu: NormalizedGpu,
    pub(crate) count: u32,
    /// `GpuInfo` `MemoryInfo.SizeInMiB`, when given and not zero.
    pub(crate) size_mib: Option<u64>,
    /// `GpuInfo` `TotalGpuMemoryInMiB`, when given and not zero.
    pub(crate) total_mib: Option<u64>,
    /// A nominal size the type name states (`…_80gb_…`).
    pub(crate) name_gib: Option<u32>,
    /// The raw accelerator name, for messages.
    pub(crate) raw: String,
}

/// How a file writes `MemoryInfo.SizeInMiB` on multi-GPU rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Convention {
    /// Per GPU, as the field name says (AWS, GCP, Lambda).
    PerGpu,
    /// For the whole instance (Vast).
    PerInstance,
}

/// Finds the file's convention from the rows that show one, with a note when it is the
/// unusual per-instance one.
pub(crate) fn file_convention<'a>(
    drafts: impl Iterator<Item = &'a GpuDraft>,
) -> (Option<Convention>, Option<String>) {
    let votes: Vec<Convention> = drafts.filter_map(vote).collect();
    let per_instance = votes
        .iter()
        .filter(|v| **v == Convention::PerInstance)
        .count();
    let per_gpu = votes.len() - per_instance;
    match per_instance.cmp(&per_gpu) {
        std::cmp::Ordering::Greater => {
            let note = format!(
                "`GpuInfo` memory is per instance on {per_instance} of {} multi-GPU rows that \
                 tell; it is divided by the GPU count",
                votes.len()
            );
            (Some(Convention::PerInstance), Some(note))
        }
        std::cmp::Ordering::Less => (Some(Convention::PerGpu), None),
        std::cmp::Ordering::Equal => (None, None),
    }
}

/// Says which convention a multi-GPU row shows, when only one reading fits the model.
fn vote(a: &GpuDraft) -> Option<Convention> {
    let spec = a.gpu.spec()?;
    let size = a.size_mib?;
    let n = u64::from(a.count);
    if n < 2 {
        return None;
    }
    if a.total_mib.is_some() && a.total_mib == size.checked_mul(n) {
        return Some(Convention::PerGpu);
    }
    match (spec.snap(size).is_some(), spec.snap(size / n).is_some()) {
        (true, false) => Some(Convention::PerGpu),
        (false, true) => Some(Convention::PerInstance),
        _ => None,
    }
}

/// Works out memory per GPU; returns the GPU, its normalised form and a warning when
/// something was adjusted.
///
/// In order: the size the accelerator name states (`A100-80GB`) wins; else `GpuInfo`'s
/// `SizeInMiB`, read per GPU or per instance as the row and the file's convention show,
/// and read as GiB when only that fits the model; else `TotalGpuMemoryInMiB` over the
/// count; else a size the type name states; else the model's only nominal size. A known
/// model gets its nominal size (`80GiB` for every H100 80GB); an unknown one the measured
/// size. When nothing fits, memory stays unknown rather than wrong.
pub(crate) fn resolve(
    a: &GpuDraft,
    convention: Option<Convention>,
) -> (Gpu, NormalizedGpu, Option<String>) {
    // The data model's `Gpu` has no place for the edition; the catalog keeps it beside the
    // type, and finds it again in the type name when it reads the type back from JSON.
    let mut gpu = a.gpu.clone();
    let spec = gpu.spec();
    let n = u64::from(a.count);
    let model = gpu.model.clone();

    let measured = match (a.size_mib, spec) {
        (Some(size), _)
            if n <= 1 || (a.total_mib.is_some() && a.total_mib == size.checked_mul(n)) =>
        {
            Ok(Some(size))
        }
        (Some(size), Some(spec)) => {
            match (
                spec.snap(size).is_some(),
                spec.snap(size / n).is_some(),
                convention,
            ) {
                (true, false, _) => Ok(Some(size)),
                (false, true, _) => Ok(Some(size / n)),
                (_, _, Some(Convention::PerInstance)) => Ok(Some(size / n)),
                (_, _, Some(Convention::PerGpu)) => Ok(Some(size)),
                (_, _, None) => Err(format!(
                    "cannot tell whether {size} MiB is per GPU or per instance; memory unknown"
                )),
            }
        }
        (Some(size), None) => match convention {
            Some(Convention::PerInstance) => Ok(Some(size / n)),
            Some(Convention::PerGpu) => Ok(Some(size)),
            None => Err(format!(
                "cannot tell whether {size} MiB is per GPU or per instance; memory unknown"
            )),
        },
        (None, _) => Ok(a.total_mib.map(|t| t / n.max(1))),
    };

    let (memory, note) = match (measured, spec) {
        (Err(msg), _) => (gpu.memory_gib, Some(msg)),
        (Ok(Some(mib)), Some(spec)) => {
            match (spec.snap(mib), spec.snap(mib.saturating_mul(1024))) {
                (Some(nominal), _) => match gpu.memory_gib {
                    Some(named) if named != nominal => (
                        Some(named),
                        Some(format!(
                            "the name says {named} GB but `GpuInfo` gives {mib} MiB; using the name"
                        )),
                    ),
                    _ => (Some(nominal), None),
                },
                (None, Some(nominal)) if gpu.memory_gib.is_none_or(|m| m == nominal) => (
                    Some(nominal),
                    Some(format!(
                        "`GpuInfo` memory {mib} reads as GiB, not MiB: {nominal} GiB"
                    )),
                ),
                _ => {
                    let note = format!("{mib} MiB per GPU matches no known {model} size");
                    let (out, gpu) = measured_gpu(gpu, a.count, mib);
                    return (out, gpu, Some(note));
                }
            }
        }
        (Ok(Some(mib)), None) => {
            let (out, gpu) = measured_gpu(gpu, a.count, mib);
            return (out, gpu, None);
        }
        (Ok(None), _) => match gpu.memory_gib.or(a.name_gib) {
            Some(m) => (Some(m), None),
            None => match spec.and_then(|s| s.default_memory(gpu.form_factor)) {
                Some(m) => (
                    Some(m),
                    Some(format!(
                        "no GPU memory given; using {model}'s nominal {m} GiB"
                    )),
                ),
                None => (
                    None,
                    Some(format!("no GPU memory given for {model}; unknown")),
                ),
            },
        },
    };
    gpu.memory_gib = memory;
    (gpu.to_gpu(a.count), gpu, note)
}

/// Keeps a size no variant explains as measured; the key rounds it to whole GiB.
fn measured_gpu(mut gpu: NormalizedGpu, count: u32, mib: u64) -> (Gpu, NormalizedGpu) {
    gpu.memory_gib = None;
    let mut out = gpu.to_gpu(count);
    out.memory = Some(Bytes::mib(mib));
    gpu.memory_gib = rounded_gib(mib);
    (out, gpu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::normalize_gpu;

    fn draft(gpu: &str, count: u32, size_mib: Option<u64>, total_mib: Option<u64>) -> GpuDraft {
        GpuDraft {
            gpu: normalize_gpu(gpu),
            count,
            size_mib,
            total_mib,
            name_gib: None,
            raw: gpu.to_owned(),
        }
    }

    #[test]
    fn ambiguous_rows_follow_the_file_or_stay_unknown() {
        let ambiguous = draft("A100", 2, Some(81_920), Some(81_920));

        let (alone, _, note) = resolve(&ambiguous, None);
        let (vast, _, _) = resolve(&ambiguous, Some(Convention::PerInstance));
        let (lambda, _, _) = resolve(&ambiguous, Some(Convention::PerGpu));

        assert_eq!(alone.memory, None);
        assert!(note.unwrap().contains("cannot tell"));
        assert_eq!(vast.memory, Some(Bytes::gib(40)));
        assert_eq!(lambda.memory, Some(Bytes::gib(80)));
    }

    #[test]
    fn files_vote_with_their_clear_rows() {
        let vast = [
            draft("RTX4090", 2, Some(49_128), Some(49_128)),
            draft("H100", 4, Some(326_236), None),
            draft("A100", 2, Some(81_920), None),
        ];
        let aws = [draft("V100", 8, Some(16_384), Some(131_072))];
        let single = [draft("H100", 1, Some(81_920), None)];

        let (per_instance, note) = file_convention(vast.iter());
        let (per_gpu, quiet) = file_convention(aws.iter());
        let (none, _) = file_convention(single.iter());

        assert_eq!(per_instance, Some(Convention::PerInstance));
        assert!(note.unwrap().contains("2 of 2"));
        assert_eq!(per_gpu, Some(Convention::PerGpu));
        assert_eq!(quiet, None);
        assert_eq!(none, None);
    }

    #[test]
    fn names_win_over_gpu_info_and_zero_falls_back_to_the_model() {
        let named = draft("V100-32GB", 8, Some(16_384), None);
        let mut from_type = draft("A100", 8, None, None);
        from_type.name_gib = Some(80);

        let (v100, key, conflict) = resolve(&named, Some(Convention::PerGpu));
        let (a100, _, quiet) = resolve(&from_type, None);
        let (unknown, _, note) = resolve(&draft("A100", 1, None, None), None);

        assert_eq!(v100.memory, Some(Bytes::gib(32)));
        assert_eq!(key.memory_gib, Some(32));
        assert!(conflict.unwrap().contains("using the name"));
        assert_eq!(a100.memory, Some(Bytes::gib(80)));
        assert_eq!(quiet, None);
        assert_eq!(unknown.memory, None);
        assert!(note.unwrap().contains("unknown"));
    }
}
