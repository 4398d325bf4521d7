//! Results back to the workflow: `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY` and workflow commands.
