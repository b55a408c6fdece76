//! The reference in-memory provider of the compute SDK, with fault injection.
