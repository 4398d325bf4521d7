//! `registry-action verify` through the real binary against two real local registries: in sync
//! with HEAD requests only, each kind of drift, and `sync: true` repairing what the publish rules
//! allow (issue #5).

// Verify and sync end to end.
mod cli;
// Referrers compared across registries, and copied by sync (issue 16).
mod referrers;
