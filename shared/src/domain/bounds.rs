//! Bounds on stored JSON values: how deep they nest and how large they are. Every value the
//! store keeps must be readable back (the DynamoDB adapter parses stored JSON strings, and
//! serde_json refuses more than 128 levels by default), and every step of a patch must stay
//! small, so a short request can never make the function do unbounded work.

use serde_json::{Map, Value};

use super::error::RuleError;

/// The deepest a stored JSON value may nest (objects and arrays; a scalar is depth 0, `{}` is
/// depth 1). Far below serde_json's default reader limit (128), so that what was accepted is
/// always read back, even wrapped in an envelope; far above what real attributes or documents
/// use (Kinto records and xyOps data rarely pass 5 levels).
pub const MAX_JSON_DEPTH: usize = 32;

/// How deep `value` nests (iterative: a hostile value never costs stack).
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(&Value, usize)> = vec![(value, 0)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Object(map) => {
                deepest = deepest.max(d + 1);
                stack.extend(map.values().map(|c| (c, d + 1)));
            }
            Value::Array(items) => {
                deepest = deepest.max(d + 1);
                stack.extend(items.iter().map(|c| (c, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// Refuses a value nested deeper than `MAX_JSON_DEPTH` (400 naming `field`).
pub fn check_depth(value: &Value, field: &str) -> Result<(), RuleError> {
    let d = depth(value);
    if d > MAX_JSON_DEPTH {
        return Err(RuleError::invalid(
            field,
            format!("nests {d} levels deep; at most {MAX_JSON_DEPTH}"),
        ));
    }
    Ok(())
}

/// Refuses an object (a bucket's attributes, a data document) that nests deeper than
/// `MAX_JSON_DEPTH` with itself as the first level: 400 naming the member (`data.<key>`) that
/// nests too deep.
pub fn check_object_depth(map: &Map<String, Value>, field: &str) -> Result<(), RuleError> {
    for (key, member) in map {
        let d = depth(member) + 1;
        if d > MAX_JSON_DEPTH {
            return Err(RuleError::invalid(
                format!("{field}.{key}"),
                format!("nests {d} levels deep with its object; at most {MAX_JSON_DEPTH}"),
            ));
        }
    }
    Ok(())
}

/// The size of `value` as compact JSON, counted up to `cap + 1` bytes at most (a counting
/// writer that stops early: measuring a huge value costs no more than measuring the cap).
/// `None` when it is larger than `cap`.
pub fn json_size_within(value: &Value, cap: usize) -> Option<usize> {
    struct Counter {
        count: usize,
        cap: usize,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.count += buf.len();
            if self.count > self.cap {
                return Err(std::io::Error::other("over the cap"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter { count: 0, cap };
    serde_json::to_writer(&mut counter, value).ok()?;
    Some(counter.count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `{"a": {"a": … 1}}`, `levels` objects deep.
    fn nested(levels: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..levels {
            v = json!({ "a": v });
        }
        v
    }

    #[test]
    fn depth_counts_containers() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({})), 1);
        assert_eq!(depth(&json!([[], {"a": [1]}])), 3);
        assert_eq!(depth(&nested(40)), 40);
        // Far deeper than any recursive walk would survive.
        let mut deep = json!(null);
        for _ in 0..200_000 {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(depth(&deep), 200_000);
        // Dropping it is recursive in serde_json: leak it rather than overflow the test stack.
        std::mem::forget(deep);
    }

    #[test]
    fn depth_bound_names_the_field() {
        assert!(check_depth(&nested(MAX_JSON_DEPTH), "data").is_ok());
        let err = check_depth(&nested(MAX_JSON_DEPTH + 1), "data.x").unwrap_err();
        assert_eq!(err.field, "data.x");
        assert!(err.reason.contains("33 levels"), "{}", err.reason);
    }

    #[test]
    fn sizes_stop_at_the_cap() {
        assert_eq!(json_size_within(&json!({"a": 1}), 100), Some(7));
        assert_eq!(json_size_within(&json!({"a": 1}), 7), Some(7));
        assert_eq!(json_size_within(&json!({"a": 1}), 6), None);
        assert_eq!(json_size_within(&json!("x".repeat(1000)), 10), None);
    }
}
