//! Cleanup of a GHCR-like registry through the GitHub Packages API emulator (being built).
