//! What stops a cleanup: an input it cannot work with, or a run that could not read an image or
//! delete what it planned (decided from the run's report, never from rendered text).

use super::run::ImageRun;

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("input `retention` is empty: cleanup needs a policy")]
    NoPolicy,
    #[error("input `images` is empty: cleanup needs the images to clean")]
    NoImages,
    #[error("input `images`: `{image}` is not a repository: {message}")]
    BadImage { image: String, message: String },
    #[error(
        "cleanup finished with {} failure(s){}; see the `report` output and the step summary",
        .unread + .deletions,
        unread_note(*.unread)
    )]
    Failed { unread: usize, deletions: usize },
}

fn unread_note(unread: usize) -> String {
    match unread {
        0 => String::new(),
        n => format!(" ({n} image(s) could not be read)"),
    }
}

/// The run's result: an error when an image could not be read or a deletion failed.
pub fn outcome(runs: &[ImageRun]) -> Result<(), CleanupError> {
    let unread = runs.iter().filter(|r| r.error.is_some()).count();
    let deletions = runs.iter().map(ImageRun::failed).sum::<usize>() - unread;
    match unread + deletions {
        0 => Ok(()),
        _ => Err(CleanupError::Failed { unread, deletions }),
    }
}
