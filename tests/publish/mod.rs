//! Publishing end to end against real registries: observe -> plan -> execute, checked with
//! skopeo and each registry's own access log (issue #4).

mod engine;
