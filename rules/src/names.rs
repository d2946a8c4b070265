//! File names as the API stores them.

/// Longest normalized name kept (S3 keys allow 1024 bytes; the rest of the key is the prefix).
pub const MAX_NAME_LEN: usize = 255;

/// Longest name accepted before normalization, in bytes: the limit of an S3 key, which is the
/// longest name any client could mean. Checked first, so normalizing costs bounded work
/// whatever is sent.
pub const MAX_RAW_NAME_BYTES: usize = 1024;

/// The xyOps URL-clean form of a name: every run of characters other than ASCII letters,
/// digits, `_`, `-` and `.` becomes one `_`, then lowercase. (The service also refuses some
/// names: `domain::files::normalize_name`.)
pub fn normalize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_run = false;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_become_one_underscore_and_letters_lowercase() {
        assert_eq!(normalize("Q1 Report.CSV"), "q1_report.csv");
        assert_eq!(normalize("a  &b.txt"), "a_b.txt");
        assert_eq!(normalize("été-2024_x.y"), "_t_-2024_x.y");
    }
}
