//! The Docker Hub API emulator (being built).
