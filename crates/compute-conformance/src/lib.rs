//! The conformance suite every compute SDK provider plugs into.
