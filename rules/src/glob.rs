//! Glob semantics: which names a glob selects (globset; `*` by default; `/` is not special),
//! and the bounds on a glob, checked before globset compiles it.

/// Longest glob, in bytes: real globs are a few characters (`*.csv`, `report-{a,b}.txt`);
/// globset compiles a glob into a regular expression, so its length bounds that work.
pub const MAX_GLOB_BYTES: usize = 256;

/// Most alternatives (`{a,b,…}` branches) and character classes (`[…]`) in one glob: each
/// becomes a branch or a class of the compiled expression; 32 covers any hand-written list.
pub const MAX_GLOB_ALTERNATIVES: usize = 32;

/// Most wildcards (`*`, `?`) in one glob: each is a repetition in the compiled expression.
pub const MAX_GLOB_WILDCARDS: usize = 32;

/// The matcher of `glob` (`None` or empty: `*`), or why it is refused.
pub fn matcher(glob: Option<&str>) -> Result<globset::GlobMatcher, String> {
    let pattern = glob.filter(|g| !g.is_empty()).unwrap_or("*");
    check(pattern)?;
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("is not a valid glob: {e}"))
}

/// The bounds on a glob, or which one it breaks.
fn check(pattern: &str) -> Result<(), String> {
    if pattern.len() > MAX_GLOB_BYTES {
        return Err(format!(
            "is {} bytes long; at most {MAX_GLOB_BYTES}",
            pattern.len()
        ));
    }
    let count = |set: &[char]| pattern.chars().filter(|c| set.contains(c)).count();
    let alternatives = count(&[',', '{', '[']);
    if alternatives > MAX_GLOB_ALTERNATIVES {
        return Err(format!(
            "has {alternatives} alternatives and classes ('{{', ',', '['); at most {MAX_GLOB_ALTERNATIVES}"
        ));
    }
    let wildcards = count(&['*', '?']);
    if wildcards > MAX_GLOB_WILDCARDS {
        return Err(format!(
            "has {wildcards} wildcards ('*', '?'); at most {MAX_GLOB_WILDCARDS}"
        ));
    }
    Ok(())
}
