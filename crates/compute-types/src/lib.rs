//! Data model of the compute SDK: ids, units, money, instances, lifecycle and errors.
