//! GPU catalogs for the compute SDK: loading, normalisation, queries and offer planning.
