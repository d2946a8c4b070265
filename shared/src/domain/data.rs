//! The bucket's JSON data document (the xyOps "Data" pane): a JSON object with its own revision
//! counter, a size limit, and older revisions kept for reading.

use serde_json::{Map, Value};

use super::bounds;
use super::error::RuleError;

/// One revision of a data document.
#[derive(Debug, Clone, PartialEq)]
pub struct DataDoc {
    pub doc: Map<String, Value>,
    /// 0 for a bucket whose document was never written (an empty object).
    pub revision: i64,
    pub modified: i64,
    /// Who wrote this revision (`key:<id>` for a key); the stream carries it to the history.
    pub modified_by: String,
}

impl DataDoc {
    pub fn empty() -> DataDoc {
        DataDoc {
            doc: Map::new(),
            revision: 0,
            modified: 0,
            modified_by: String::new(),
        }
    }

    /// The quoted revision, the document's ETag.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.revision)
    }
}

/// Checks a new document: an object of at most `max_bytes` of JSON (413 naming `data` beyond),
/// nesting at most `bounds::MAX_JSON_DEPTH` levels (400 naming the member that nests too deep), so
/// that every stored document reads back.
pub fn check_document(value: &Value, max_bytes: u64) -> Result<Map<String, Value>, RuleError> {
    let Value::Object(map) = value else {
        return Err(RuleError::invalid("data", "must be an object"));
    };
    bounds::check_object_depth(map, "data")?;
    let cap = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    if bounds::json_size_within(value, cap).is_none() {
        return Err(RuleError::too_large(
            "data",
            format!("the document is more than {max_bytes} bytes of JSON"),
        ));
    }
    Ok(map.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::RuleKind;
    use serde_json::json;

    #[test]
    fn documents_are_objects_within_the_limit() {
        assert!(check_document(&json!({"a": 1}), 100).is_ok());
        assert_eq!(
            check_document(&json!([1]), 100).unwrap_err().kind,
            RuleKind::Invalid
        );
        let err = check_document(&json!({"a": "x".repeat(200)}), 100).unwrap_err();
        assert_eq!(err.kind, RuleKind::TooLarge);
        assert_eq!(DataDoc::empty().etag(), "\"0\"");
    }

    #[test]
    fn documents_nest_at_most_max_json_depth() {
        use crate::domain::bounds::MAX_JSON_DEPTH;
        let nested = |levels: usize| {
            let mut v = json!(1);
            for _ in 0..levels {
                v = json!([v]);
            }
            v
        };
        assert!(check_document(&json!({"x": nested(MAX_JSON_DEPTH - 1)}), 1 << 20).is_ok());
        let err = check_document(&json!({"x": nested(MAX_JSON_DEPTH)}), 1 << 20).unwrap_err();
        assert_eq!(
            (err.kind, err.field.as_str()),
            (RuleKind::Invalid, "data.x")
        );
        let err = check_document(&json!({"a": 1, "deep": nested(127)}), 1 << 20).unwrap_err();
        assert_eq!(err.field, "data.deep");
    }
}
