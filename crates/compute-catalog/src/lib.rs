//! GPU catalogs for the compute SDK: loading, normalisation, queries and offer planning.
//!
//! People choose GPU capacity by model, count, memory, place and price across clouds. This
//! crate loads real public catalogs, makes their GPU names comparable, answers queries and
//! plans where to launch a cluster, explaining each choice.
//!
//! - [`Catalog`] holds [`InstanceType`](compute_types::InstanceType)s. It loads
//!   SkyPilot-style CSV files (any column order, Python-dict `GpuInfo`, empty and zero
//!   prices, accelerator-only rows, free-text locations; see [`CsvOptions`]), the SDK's own
//!   JSON form ([`Catalog::to_json`], [`Catalog::from_json`]), or a directory of both
//!   ([`Catalog::load_path`]). Rows it cannot understand are skipped and listed in the
//!   [`LoadReport`] by file, line and reason. [`Catalog::builtin`] is a small catalog of
//!   typical GPU shapes for the `fake` provider.
//! - [`normalize_gpu`] turns every spelling of a GPU (`H100-MEGA`, `A100-80GB`,
//!   `Tesla_V100`, `RTX_4070S_Ti`) into a canonical model with memory and form factor, so
//!   one [`GpuModel`] key finds "all H100s with 80 GB" on every cloud.
//! - [`Query`] filters and sorts; [`plan`] ranks offers for "N nodes of G GPUs" with every
//!   rejection explained and a warning when the catalog is stale; [`Failover`] walks the
//!   offers, blocking a place for a while after a capacity or quota error.
//! - Input from users is checked before it reaches an empty answer:
//!   [`Catalog::gpu_model`] and [`Catalog::knows_location`] tell unknown names, and
//!   [`Catalog::try_query`] and [`try_plan`] report an unknown GPU or a price cap in a
//!   currency the catalog does not use as
//!   [`InvalidRequest`](compute_types::ErrorKind::InvalidRequest).
//!
//! # Examples
//!
//! ```
//! use std::time::SystemTime;
//!
//! use compute_catalog::{Catalog, PlanRequest, Query, SortBy, plan};
//!
//! let catalog = Catalog::builtin();
//!
//! let h100s = catalog.query(&Query::new().gpu("H100 80GB").sort(SortBy::PricePerGpu));
//! assert!(h100s.iter().all(|t| t.gpus[0].model == "H100"));
//!
//! let request = PlanRequest::new("A100-80GB", 8, 2).unwrap().with_location("us-*");
//! let plan = plan(&catalog, &request, SystemTime::now());
//! let best = plan.best().unwrap();
//! assert_eq!(best.nodes, 2);
//! assert!(!plan.rejected.is_empty());
//! ```
//!
//! # Limitations
//!
//! Catalog availability is what the catalog lists, not live capacity: Lambda's catalog
//! lists every type in every region. GCP's catalog prices GPUs without their host
//! machine; such types are flagged [`PriceScope::AcceleratorsOnly`](compute_types::PriceScope)
//! and never offered.

mod catalog;
mod country;
mod csv_load;
mod failover;
mod gpu;
mod gpu_table;
mod memory;
mod plan;
mod pylit;
mod query;
mod report;

pub use catalog::{Catalog, FORMAT_VERSION};
pub use csv_load::CsvOptions;
pub use failover::{BlockKey, Clock, Failover, ManualClock, SystemClock};
pub use gpu::{FormFactor, GpuModel, NormalizedGpu, is_known_gpu, normalize_gpu};
pub use plan::{
    DEFAULT_MAX_CATALOG_AGE, Market, Offer, Plan, PlanRequest, PlanWarning, RejectKind,
    RejectReason, Rejected, plan, try_plan,
};
pub use query::{LocationFilter, Query, SortBy};
pub use report::{LoadReport, LoadWarning, SkipReason, WarningKind};
