//! The OCI distribution backend: gathers an Inventory read-only and executes deletions.
