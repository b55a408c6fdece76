//! `computectl locations`: regions, zones, availability and country, from the catalog.

use serde::Serialize;

use crate::{
    context::Context,
    error::CliResult,
    output::{JSON_VERSION, table},
    views::LocationView,
};

/// The JSON document of `locations`.
#[derive(Debug, Serialize)]
struct LocationsJson {
    version: u32,
    locations: Vec<LocationView>,
}

/// Lists every location of every provider in the catalog.
pub(super) fn run(cx: &Context) -> CliResult {
    let catalog = cx.catalog()?;
    let views: Vec<LocationView> = catalog
        .locations()
        .iter()
        .map(|(provider, location)| LocationView::new(provider.as_str(), location))
        .collect();

    if cx.out.is_json() {
        return cx.out.json(&LocationsJson {
            version: JSON_VERSION,
            locations: views,
        });
    }
    let rows = views.iter().map(LocationView::row).collect();
    cx.out.text(&table(&LocationView::HEADER, rows))
}
