//! The async provider contract of the compute SDK, with credentials, waiters, retry and tracing layers.
