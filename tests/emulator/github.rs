//! The GitHub Packages API emulator (being built).
