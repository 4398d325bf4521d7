//! Cleanup through the Docker Hub API emulator (being built).
