//! Reading attributes of an item, with one rule for every store:
//!
//! - an absent attribute is the reader's call, made where it reads: required (`string`,
//!   `number`, `json`: an error) or optional (`opt_string`, `opt_number`: `None`, which the
//!   reader may turn into a default); `strings` and `flag` read absent as empty and `false`,
//!   as their writers leave empty lists and unset flags out;
//! - a present attribute of another type, or a number that is not an integer, is always an
//!   error: every item is this adapter's own writing, so such an item is corrupt, and no
//!   default may hide it.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;

use super::Item;
use crate::ports::StoreError;

pub(super) trait ItemExt {
    /// The string attribute `k`; an error if absent.
    fn string(&self, k: &str) -> Result<String, StoreError>;
    /// The string attribute `k`, `None` if absent.
    fn opt_string(&self, k: &str) -> Result<Option<String>, StoreError>;
    /// The integer attribute `k`; an error if absent.
    fn number(&self, k: &str) -> Result<i64, StoreError>;
    /// The integer attribute `k`, `None` if absent.
    fn opt_number(&self, k: &str) -> Result<Option<i64>, StoreError>;
    /// The list of strings `k`; empty if absent.
    fn strings(&self, k: &str) -> Result<Vec<String>, StoreError>;
    /// The boolean attribute `k`; `false` if absent.
    fn flag(&self, k: &str) -> Result<bool, StoreError>;
    /// The string attribute `k` parsed as JSON; an error if absent.
    fn json<T: DeserializeOwned>(&self, k: &str) -> Result<T, StoreError>;
}

impl ItemExt for Item {
    fn string(&self, k: &str) -> Result<String, StoreError> {
        self.opt_string(k)?
            .ok_or_else(|| fault(self, k, "is missing"))
    }

    fn opt_string(&self, k: &str) -> Result<Option<String>, StoreError> {
        match self.get(k) {
            None => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(_) => Err(fault(self, k, "is not a string")),
        }
    }

    fn number(&self, k: &str) -> Result<i64, StoreError> {
        self.opt_number(k)?
            .ok_or_else(|| fault(self, k, "is missing"))
    }

    fn opt_number(&self, k: &str) -> Result<Option<i64>, StoreError> {
        match self.get(k) {
            None => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|_| fault(self, k, "is not an integer")),
            Some(_) => Err(fault(self, k, "is not a number")),
        }
    }

    fn strings(&self, k: &str) -> Result<Vec<String>, StoreError> {
        match self.get(k) {
            None => Ok(vec![]),
            Some(AttributeValue::L(list)) => list
                .iter()
                .map(|v| match v {
                    AttributeValue::S(v) => Ok(v.clone()),
                    _ => Err(fault(self, k, "holds something other than strings")),
                })
                .collect(),
            Some(_) => Err(fault(self, k, "is not a list")),
        }
    }

    fn flag(&self, k: &str) -> Result<bool, StoreError> {
        match self.get(k) {
            None => Ok(false),
            Some(AttributeValue::Bool(v)) => Ok(*v),
            Some(_) => Err(fault(self, k, "is not a boolean")),
        }
    }

    fn json<T: DeserializeOwned>(&self, k: &str) -> Result<T, StoreError> {
        parse_stored_json(&self.string(k)?).map_err(|e| fault(self, k, &e))
    }
}

/// The deepest stored JSON read. New writes nest at most `MAX_JSON_DEPTH` levels, but values
/// written before that bound could nest deeper than serde_json's default limit (128); they
/// are read up to this depth, which a parse on a 2 MiB thread stack survives (tested).
/// Deeper still, the value is refused here and the reader decides (the bucket and document
/// readers read it as empty, logged).
pub(super) const READ_MAX_DEPTH: usize = 512;

/// Parses stored JSON with the recursion limit lifted, after a linear scan has shown it
/// nests at most `READ_MAX_DEPTH` levels.
fn parse_stored_json<T: DeserializeOwned>(raw: &str) -> Result<T, String> {
    let depth = scan_depth(raw);
    if depth > READ_MAX_DEPTH {
        return Err(format!(
            "nests {depth} levels deep; the reader goes {READ_MAX_DEPTH}"
        ));
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    de.disable_recursion_limit();
    let value = T::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| format!("is not the JSON expected: {e}"))?;
    Ok(value)
}

/// How deep the brackets of JSON text nest, strings skipped (no parse, no recursion).
fn scan_depth(raw: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for b in raw.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The error for attribute `k` of `item`, naming the item by its key (for the logs: a
/// `StoreError::Other` is never shown to clients).
fn fault(item: &Item, k: &str, what: &str) -> StoreError {
    let key = |a: &str| match item.get(a) {
        Some(AttributeValue::S(v)) => v.as_str(),
        _ => "?",
    };
    StoreError::Other(format!(
        "item {}/{}: attribute {k} {what}",
        key("pk"),
        key("sk")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::dynamodb::{n, s};

    fn item(attrs: &[(&str, AttributeValue)]) -> Item {
        let mut item = Item::from([("pk".into(), s("F#b1#g1")), ("sk".into(), s("a.txt"))]);
        item.extend(attrs.iter().map(|(k, v)| (k.to_string(), v.clone())));
        item
    }

    #[test]
    fn absent_is_an_error_only_when_required() {
        let empty = item(&[]);
        assert!(empty.string("x").is_err());
        assert!(empty.number("x").is_err());
        assert!(empty.json::<serde_json::Value>("x").is_err());
        assert_eq!(empty.opt_string("x").unwrap(), None);
        assert_eq!(empty.opt_number("x").unwrap(), None);
        assert_eq!(empty.strings("x").unwrap(), Vec::<String>::new());
        assert!(!empty.flag("x").unwrap());
    }

    #[test]
    fn present_values_read_back() {
        let full = item(&[
            ("t", s("v")),
            ("i", n(-42)),
            ("l", AttributeValue::L(vec![s("a"), s("b")])),
            ("f", AttributeValue::Bool(true)),
            ("j", s(r#"{"a":1}"#)),
        ]);
        assert_eq!(full.string("t").unwrap(), "v");
        assert_eq!(full.opt_string("t").unwrap().as_deref(), Some("v"));
        assert_eq!(full.number("i").unwrap(), -42);
        assert_eq!(full.opt_number("i").unwrap(), Some(-42));
        assert_eq!(full.strings("l").unwrap(), ["a", "b"]);
        assert!(full.flag("f").unwrap());
        assert_eq!(
            full.json::<serde_json::Value>("j").unwrap(),
            serde_json::json!({"a": 1})
        );
    }

    fn nested_text(levels: usize) -> String {
        format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn deep_legacy_json_reads_up_to_the_reader_bound() {
        // Deeper than serde_json's default limit (128), within the reader's.
        let deep = item(&[("j", s(nested_text(READ_MAX_DEPTH)))]);
        let v = deep.json::<serde_json::Value>("j").unwrap();
        assert!(v.is_array());
        let too_deep = item(&[("j", s(nested_text(READ_MAX_DEPTH + 1)))]);
        let Err(StoreError::Other(why)) = too_deep.json::<serde_json::Value>("j") else {
            panic!("past the reader bound is an error, not a crash");
        };
        assert!(why.contains("levels deep"), "{why}");
        // A huge depth is refused by the scan, before any parse.
        let huge = item(&[("j", s(nested_text(200_000)))]);
        assert!(huge.json::<serde_json::Value>("j").is_err());
    }

    #[test]
    fn scan_depth_skips_strings() {
        assert_eq!(scan_depth(r#"{"a": "[[[{{{", "b": [1, {"c": "\\"}]}"#), 3);
        assert_eq!(scan_depth(r#""[[[""#), 0);
        assert_eq!(scan_depth(r#"{"a\"[": []}"#), 2);
    }

    #[test]
    fn malformed_is_always_an_error() {
        let bad = item(&[
            ("t", n(1)),
            ("i", s("1")),
            ("frac", AttributeValue::N("1.5".into())),
            ("l", AttributeValue::L(vec![s("a"), n(1)])),
            ("f", s("true")),
            ("j", s("{")),
        ]);
        assert!(bad.opt_string("t").is_err());
        assert!(bad.opt_number("i").is_err());
        assert!(bad.opt_number("frac").is_err());
        assert!(bad.strings("l").is_err());
        assert!(bad.flag("f").is_err());
        assert!(bad.json::<serde_json::Value>("j").is_err());
        let Err(StoreError::Other(why)) = bad.string("t") else {
            panic!("a string of the wrong type must fail");
        };
        assert_eq!(why, "item F#b1#g1/a.txt: attribute t is not a string");
    }
}
