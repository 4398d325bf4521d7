//! The cleanup scenarios against real registries, one row each: the scenario (a function of a
//! started [`Backend`], in the file of its subject) and the backends it runs on. Each row is a
//! module with one test per backend, on a fresh registry and emulator each
//! (`cleanup::scenarios::<row>::<backend>`); a row skips, passing, when the registry tests do
//! (without `CI=true`).

use super::backend::{Backend, Kind};
use super::{budget, fallback, github, hub, oci, signed};

/// Starts the backend named `oci`, `ghcr`, `ghcr_user` (a user's package) or `hub`.
macro_rules! start {
    (oci) => {
        Backend::start(Kind::Oci)
    };
    (ghcr) => {
        Backend::start(Kind::Ghcr)
    };
    (ghcr_user) => {
        Backend::ghcr("User")
    };
    (hub) => {
        Backend::start(Kind::Hub)
    };
}

macro_rules! scenarios {
    ($($(#[$doc:meta])* $row:ident: $scenario:path => [$($backend:ident),+];)+) => {
        $(
            $(#[$doc])*
            mod $row {
                use super::*;
                $(
                    #[test]
                    fn $backend() {
                        if let Some(backend) = start!($backend) {
                            $scenario(&backend);
                        }
                    }
                )+
            }
        )+
    };
}

scenarios! {
    /// A kept image keeps its `.sig`; a deleted image's goes first, then the image.
    a_signature_follows_its_image: signed::a_signature_follows_its_image => [oci, ghcr, hub];
    /// Fallback indexes and cosign tags follow their image (issue 16).
    issue_16_fallback_indexes_follow_their_image:
        fallback::fallback_indexes_follow_their_image => [oci, ghcr, hub];
    /// A dry run deletes nothing; the real run exactly the selection, parents first.
    cleanup_deletes_what_the_policy_selects_and_kept_tags_stay_whole:
        oci::cleanup_deletes_what_the_policy_selects_and_kept_tags_stay_whole => [oci];
    /// A manifest that cannot be read: fail closed for untagged versions.
    an_unreadable_manifest_spares_every_untagged_version:
        oci::an_unreadable_manifest_spares_every_untagged_version => [oci];
    /// GHCR: deleted through the API, one tag removed from a kept version.
    ghcr_cleanup_deletes_through_the_api_untags_one_tag_and_keeps_every_kept_image_whole:
        github::ghcr_cleanup_deletes_through_the_api_untags_one_tag_and_keeps_every_kept_image_whole
        => [ghcr];
    /// GHCR: a read-only token.
    a_token_that_may_not_delete_fails_with_the_fix_and_deletes_nothing:
        github::a_token_that_may_not_delete_fails_with_the_fix_and_deletes_nothing => [ghcr];
    /// GHCR: a user's package, a spent budget, a secondary limit, a 404.
    a_user_package_waits_out_a_spent_budget_and_a_secondary_limit_and_a_404_is_done:
        github::a_user_package_waits_out_a_spent_budget_and_a_secondary_limit_and_a_404_is_done
        => [ghcr_user];
    /// GHCR: a secondary limit answered 429.
    a_secondary_limit_answered_429_is_waited_out_as_retry_after_says:
        github::a_secondary_limit_answered_429_is_waited_out_as_retry_after_says => [ghcr];
    /// GHCR: no token.
    without_a_token_the_error_names_github_token:
        github::without_a_token_the_error_names_github_token => [ghcr];
    /// GHCR: 300 deletions within the secondary limit, in real time (issue 17).
    issue_17_three_hundred_deletions_stay_within_the_secondary_limit_as_the_server_counts:
        github::issue_17_three_hundred_deletions_stay_within_the_secondary_limit_as_the_server_counts
        => [ghcr];
    /// GHCR: a run over its API budget (issue 17).
    issue_17_a_run_over_its_api_budget_deletes_whole_images_oldest_first_and_the_next_finishes:
        budget::issue_17_a_run_over_its_api_budget_deletes_whole_images_oldest_first_and_the_next_finishes
        => [ghcr];
    /// GHCR: a spent time budget (issue 17).
    issue_17_a_spent_time_budget_stops_cleanly_with_everything_left:
        budget::issue_17_a_spent_time_budget_stops_cleanly_with_everything_left => [ghcr];
    /// GHCR: the manifest cache (issue 17).
    issue_17_a_second_run_with_the_manifest_cache_reads_no_manifest:
        budget::issue_17_a_second_run_with_the_manifest_cache_reads_no_manifest => [ghcr];
    /// Docker Hub: tags removed through Hub's API, through pages, 429s and expiring tokens.
    cleanup_through_the_hub_api_removes_selected_tags_and_kept_ones_stay_whole:
        hub::cleanup_through_the_hub_api_removes_selected_tags_and_kept_ones_stay_whole => [hub];
    /// Docker Hub: no login, a wrong token, a read-only token.
    a_token_that_cannot_delete_fails_with_the_scope_and_deletes_nothing:
        hub::a_token_that_cannot_delete_fails_with_the_scope_and_deletes_nothing => [hub];
}
