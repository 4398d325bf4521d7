//! Byte counts as people read them: `512 B`, `1.5 KiB`, `3.2 MiB`, `1.0 GiB`.

/// `bytes` in the largest binary unit that keeps it at 1 or more, one decimal.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
