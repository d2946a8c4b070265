//! Counts and sizes as a person reads them: "1 file", "2 files", "0 files"; "68.4 KiB".

/// `n` and the noun, singular for exactly one: `count(1, "file")` is "1 file", `count(0, "file")`
/// "0 files", `count(2, "delivery")` "2 deliveries". `noun` is a regular English noun.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        return format!("1 {noun}");
    }
    let consonant_y = noun.len() > 1
        && noun.ends_with('y')
        && !noun[..noun.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    if consonant_y {
        format!("{n} {}ies", &noun[..noun.len() - 1])
    } else {
        format!("{n} {noun}s")
    }
}

/// `count` for a `usize` (lengths).
pub fn many(n: usize, noun: &str) -> String {
    count(n as u64, noun)
}

/// Bytes in binary units for tables: `512 B`, `68.4 KiB`, `12.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(0u64, "file"), "0 files");
        assert_eq!(count(1u64, "file"), "1 file");
        assert_eq!(count(2u64, "file"), "2 files");
        assert_eq!(many(1, "part"), "1 part");
        assert_eq!(count(1u64, "byte"), "1 byte");
        assert_eq!(many(21, "webhook"), "21 webhooks");
        assert_eq!(many(0, "delivery"), "0 deliveries");
        assert_eq!(many(1, "delivery"), "1 delivery");
        assert_eq!(many(3, "key"), "3 keys");
        assert_eq!(many(2, "SFTP user"), "2 SFTP users");
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1), "1 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(70_000), "68.4 KiB");
        assert_eq!(bytes(12 * 1024 * 1024 + 77), "12.0 MiB");
    }
}
