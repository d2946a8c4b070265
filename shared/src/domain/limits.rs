//! Per-bucket upload limits: the `limits` attribute a bucket's writers may set
//! (`{"max_file_size", "max_files", "max_bytes", "accepted_file_types"}`, each optional), and
//! the effective limits of a bucket, the tighter of the deployment's and the bucket's.
//!
//! A bucket can tighten the deployment's limits, never loosen them: a write that sets a value
//! beyond the deployment's is refused naming the field. The deployment can still change after
//! a bucket set its limits (a redeploy with a lower `MAX_FILE_SIZE`), so the effective limits
//! are always computed as the tighter of both, never taken from the bucket alone.
//!
//! `limits` was an ordinary attribute before it was reserved: a stored value is read leniently
//! (`BucketLimits::of_attrs` keeps the well-typed fields), and a write checks it only when it
//! changes (`check_within`), so a bucket whose old `limits` means something else stays usable.

use serde_json::{Map, Value};

use super::error::RuleError;
use super::types::{is_mime_type, type_accepted};

/// The deployment's upload limits (`config::Settings::upload`, read from its environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSettings {
    pub max_files_per_bucket: u64,
    pub max_file_size: u64,
    /// MIME types or patterns such as `image/*`; empty = any.
    pub accepted_file_types: Vec<String>,
    /// Bytes of current files one bucket may hold (`MAX_BYTES_PER_BUCKET`); 0 = no quota. A
    /// bucket may set its own `limits.max_bytes`, at most this when it is set.
    pub max_bytes_per_bucket: u64,
}

impl UploadSettings {
    /// The byte quota, `None` when there is none (0 configures none).
    pub fn max_bytes(&self) -> Option<u64> {
        (self.max_bytes_per_bucket > 0).then_some(self.max_bytes_per_bucket)
    }
}

/// The bucket attribute holding its limits.
pub const LIMITS_ATTR: &str = "limits";

/// Most entries of a bucket's `accepted_file_types` (a browser `accept` list is a handful).
pub const MAX_TYPE_ENTRIES: usize = 100;

const NUMBER_FIELDS: [&str; 3] = ["max_file_size", "max_files", "max_bytes"];
const TYPES_FIELD: &str = "accepted_file_types";
/// Every member a bucket's `limits` may have.
const LIMIT_FIELDS: [&str; 4] = ["max_file_size", "max_files", "max_bytes", TYPES_FIELD];

/// What a bucket set in `limits`; `None`: the deployment's applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketLimits {
    pub max_file_size: Option<u64>,
    pub max_files: Option<u64>,
    /// Bytes of current files the bucket may hold.
    pub max_bytes: Option<u64>,
    pub accepted_file_types: Option<Vec<String>>,
}

/// Checks the shape of a `data.limits` value and returns what to store: `None` to store
/// nothing (`null`, or an object left empty once its `null` members are dropped: no limits).
pub fn clean_limits(value: &Value) -> Result<Option<Value>, RuleError> {
    let field = |name: &str| format!("data.{LIMITS_ATTR}.{name}");
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => {
            return Err(RuleError::invalid(
                format!("data.{LIMITS_ATTR}"),
                "must be an object with max_file_size, max_files, max_bytes and/or accepted_file_types",
            ));
        }
    };
    super::fields::only_known(map, &format!("data.{LIMITS_ATTR}"), &LIMIT_FIELDS)?;
    let mut out = Map::new();
    for (key, value) in map {
        // A member set to null is one not set (a PUT can clear a limit so).
        if value.is_null() {
            continue;
        }
        if NUMBER_FIELDS.contains(&key.as_str()) {
            if value.as_u64().is_none_or(|n| n == 0) {
                return Err(RuleError::invalid(
                    field(key),
                    "must be a positive whole number",
                ));
            }
        } else {
            // `accepted_file_types`, the one other member `only_known` lets through.
            check_type_entries(value, &field(key))?;
        }
        out.insert(key.clone(), value.clone());
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// Cleans and checks the `limits` of attributes about to be stored (`attrs`, from
/// `bucket::clean_attrs`) replacing `old` (`None`: a new bucket): shapes (`clean_limits`), then
/// within the deployment's (`BucketLimits::check_within`). Limits equal to the stored ones are
/// left as they are, unchecked: a bucket whose limits were set under looser deployment
/// settings, or whose `limits` predates the reservation, can still have its other attributes
/// written.
pub fn clean_in(
    attrs: &mut Map<String, Value>,
    old: Option<&Map<String, Value>>,
    deployment: &UploadSettings,
) -> Result<(), RuleError> {
    let Some(given) = attrs.get(LIMITS_ATTR) else {
        return Ok(());
    };
    if old.is_some_and(|old| old.get(LIMITS_ATTR) == Some(given)) {
        return Ok(());
    }
    match clean_limits(given)? {
        None => {
            attrs.remove(LIMITS_ATTR);
        }
        Some(cleaned) => {
            attrs.insert(LIMITS_ATTR.into(), cleaned);
        }
    }
    BucketLimits::of_attrs(attrs).check_within(deployment)
}

/// A MIME type (`text/csv`), a wildcard (`image/*`) or an extension (`.csv`), as the
/// deployment's `ACCEPTED_FILE_TYPES` entries.
fn is_type_entry(entry: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    if let Some(ext) = entry.strip_prefix('.') {
        token(ext)
    } else if let Some(major) = entry.strip_suffix("/*") {
        token(major)
    } else {
        !entry.contains(';') && is_mime_type(entry)
    }
}

fn check_type_entries(value: &Value, field: &str) -> Result<(), RuleError> {
    let Value::Array(entries) = value else {
        return Err(RuleError::invalid(
            field,
            "must be a list of MIME types (text/csv), wildcards (image/*) or extensions (.csv)",
        ));
    };
    // An empty list would mean "any type" in the deployment's setting: a loosening. Leaving
    // the member out says that the deployment's list applies.
    if entries.is_empty() || entries.len() > MAX_TYPE_ENTRIES {
        return Err(RuleError::invalid(
            field,
            format!("must hold 1 to {MAX_TYPE_ENTRIES} types (leave it out for the deployment's)"),
        ));
    }
    for (i, entry) in entries.iter().enumerate() {
        if !entry.as_str().is_some_and(is_type_entry) {
            return Err(RuleError::invalid(
                format!("{field}[{i}]"),
                "must be a MIME type (text/csv), a wildcard (image/*) or an extension (.csv)",
            ));
        }
    }
    Ok(())
}

/// Whether every file a bucket's type entry accepts is accepted by the deployment's list:
/// the same entry, or a MIME type or wildcard under a deployment wildcard of its major type
/// (`image/png` and `image/*` under `image/*`). An extension is only covered by itself (a
/// `.csv` file may have any content type).
fn entry_covered(entry: &str, deployment: &[String]) -> bool {
    if deployment.is_empty() {
        return true;
    }
    let entry = entry.trim().to_ascii_lowercase();
    deployment.iter().any(|d| {
        let d = d.trim().to_ascii_lowercase();
        d == entry
            || d.strip_suffix("/*").is_some_and(|major| {
                !entry.starts_with('.') && entry.split_once('/').is_some_and(|(m, _)| m == major)
            })
    })
}

impl BucketLimits {
    /// The limits stored in a bucket's attributes. Lenient: a member of the wrong type is
    /// ignored (see the module's note on attributes stored before `limits` was reserved).
    pub fn of_attrs(attrs: &Map<String, Value>) -> BucketLimits {
        let Some(Value::Object(map)) = attrs.get(LIMITS_ATTR) else {
            return BucketLimits::default();
        };
        let number = |name: &str| map.get(name).and_then(Value::as_u64).filter(|n| *n > 0);
        let types = map
            .get(TYPES_FIELD)
            .and_then(Value::as_array)
            .and_then(|v| {
                let list: Vec<String> = v
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                (!list.is_empty()).then_some(list)
            });
        BucketLimits {
            max_file_size: number("max_file_size"),
            max_files: number("max_files"),
            max_bytes: number("max_bytes"),
            accepted_file_types: types,
        }
    }

    /// Refuses a limit beyond the deployment's, naming its field (`data.limits.max_files`):
    /// a bucket may tighten, never loosen.
    pub fn check_within(&self, deployment: &UploadSettings) -> Result<(), RuleError> {
        let field = |name: &str| format!("data.{LIMITS_ATTR}.{name}");
        let over = |name: &str, value: Option<u64>, max: Option<u64>, setting: &str| match (
            value, max,
        ) {
            (Some(v), Some(max)) if v > max => Err(RuleError::invalid(
                field(name),
                format!(
                    "is {v}; a bucket may only tighten the deployment's limit of {max} ({setting})"
                ),
            )),
            _ => Ok(()),
        };
        over(
            "max_file_size",
            self.max_file_size,
            Some(deployment.max_file_size),
            "MAX_FILE_SIZE",
        )?;
        over(
            "max_files",
            self.max_files,
            Some(deployment.max_files_per_bucket),
            "MAX_FILES_PER_BUCKET",
        )?;
        over(
            "max_bytes",
            self.max_bytes,
            deployment.max_bytes(),
            "MAX_BYTES_PER_BUCKET",
        )?;
        for (i, entry) in self.accepted_file_types.iter().flatten().enumerate() {
            if !entry_covered(entry, &deployment.accepted_file_types) {
                return Err(RuleError::invalid(
                    format!("{}[{i}]", field(TYPES_FIELD)),
                    format!(
                        "{entry} is not among the deployment's accepted types ({}); a bucket may only narrow them",
                        deployment.accepted_file_types.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The limits an upload into one bucket is held to: the tighter of the deployment's and the
/// bucket's. Both type lists apply (a file must pass each): a bucket's list was within the
/// deployment's when set, but the deployment's may have narrowed since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_file_size: u64,
    pub max_files: u64,
    /// The byte quota; `None`: none.
    pub max_bytes: Option<u64>,
    pub deployment_types: Vec<String>,
    pub bucket_types: Option<Vec<String>>,
}

impl Limits {
    /// The deployment's limits alone.
    pub fn deployment(deployment: &UploadSettings) -> Limits {
        Limits::of(deployment, &BucketLimits::default())
    }

    /// The effective limits of a bucket that set `bucket`.
    pub fn of(deployment: &UploadSettings, bucket: &BucketLimits) -> Limits {
        let tighter = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Limits {
            max_file_size: deployment
                .max_file_size
                .min(bucket.max_file_size.unwrap_or(u64::MAX)),
            max_files: deployment
                .max_files_per_bucket
                .min(bucket.max_files.unwrap_or(u64::MAX)),
            max_bytes: tighter(deployment.max_bytes(), bucket.max_bytes),
            deployment_types: deployment.accepted_file_types.clone(),
            bucket_types: bucket.accepted_file_types.clone(),
        }
    }

    /// The effective limits of a bucket with these attributes.
    pub fn of_attrs(deployment: &UploadSettings, attrs: &Map<String, Value>) -> Limits {
        Limits::of(deployment, &BucketLimits::of_attrs(attrs))
    }

    /// Whether a file of this type and normalized name passes both type lists.
    pub fn accepts(&self, content_type: &str, name: &str) -> bool {
        type_accepted(&self.deployment_types, content_type, name)
            && self
                .bucket_types
                .as_ref()
                .is_none_or(|list| type_accepted(list, content_type, name))
    }

    /// The accepted types, as an error message lists them.
    pub fn types_description(&self) -> String {
        match (&self.bucket_types, self.deployment_types.is_empty()) {
            (None, _) => self.deployment_types.join(", "),
            (Some(bucket), true) => format!("this bucket accepts {}", bucket.join(", ")),
            (Some(bucket), false) => format!(
                "this bucket accepts {}, the deployment {}",
                bucket.join(", "),
                self.deployment_types.join(", ")
            ),
        }
    }

    /// Whether a bucket holding `total_bytes` may grow by `delta` bytes. A change that does not
    /// grow it always may (a bucket left over a quota tightened below its content can still
    /// shrink or replace files by smaller ones); growth must end within the quota.
    pub fn bytes_fit(&self, total_bytes: i64, delta: i64) -> bool {
        match self.max_bytes {
            Some(max) if delta > 0 => {
                total_bytes.saturating_add(delta) <= i64::try_from(max).unwrap_or(i64::MAX)
            }
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(types: &[&str], max_bytes: u64) -> UploadSettings {
        UploadSettings {
            max_files_per_bucket: 100,
            max_file_size: 1000,
            accepted_file_types: types.iter().map(|t| t.to_string()).collect(),
            max_bytes_per_bucket: max_bytes,
        }
    }

    #[test]
    fn shapes_are_checked_naming_the_field() {
        let cases = [
            (json!(3), "data.limits"),
            (json!({"max_files": 0}), "data.limits.max_files"),
            (json!({"max_files": -1}), "data.limits.max_files"),
            (json!({"max_file_size": 1.5}), "data.limits.max_file_size"),
            (json!({"max_bytes": "10"}), "data.limits.max_bytes"),
            (json!({"max_count": 3}), "data.limits.max_count"),
            (
                json!({"accepted_file_types": "image/*"}),
                "data.limits.accepted_file_types",
            ),
            (
                json!({"accepted_file_types": []}),
                "data.limits.accepted_file_types",
            ),
            (
                json!({"accepted_file_types": ["image/png", "png"]}),
                "data.limits.accepted_file_types[1]",
            ),
            (
                json!({"accepted_file_types": ["text/csv; charset=x"]}),
                "data.limits.accepted_file_types[0]",
            ),
        ];
        for (value, field) in cases {
            let err = clean_limits(&value).unwrap_err();
            assert_eq!(err.field, field, "{value}");
        }
        assert_eq!(clean_limits(&json!(null)).unwrap(), None);
        assert_eq!(clean_limits(&json!({"max_files": null})).unwrap(), None);
        let kept = json!({"max_files": 3, "max_bytes": null, "accepted_file_types": [".csv", "image/*", "text/plain"]});
        assert_eq!(
            clean_limits(&kept).unwrap(),
            Some(json!({"max_files": 3, "accepted_file_types": [".csv", "image/*", "text/plain"]}))
        );
    }

    #[test]
    fn a_bucket_tightens_never_loosens() {
        let d = deployment(&["image/*", "text/csv", ".json"], 0);
        let ok = |v: Value| {
            BucketLimits::of_attrs(&json!({ "limits": v }).as_object().unwrap().clone())
                .check_within(&d)
        };
        assert!(
            ok(json!({"max_files": 100, "max_file_size": 1000, "max_bytes": 1_u64 << 40})).is_ok()
        );
        assert!(
            ok(json!({"accepted_file_types": ["image/png", "IMAGE/*", "text/csv", ".json"]}))
                .is_ok()
        );
        for (v, field) in [
            (json!({"max_files": 101}), "data.limits.max_files"),
            (json!({"max_file_size": 1001}), "data.limits.max_file_size"),
            (
                json!({"accepted_file_types": ["image/png", "text/plain"]}),
                "data.limits.accepted_file_types[1]",
            ),
            (
                json!({"accepted_file_types": [".png"]}),
                "data.limits.accepted_file_types[0]",
            ),
            (
                json!({"accepted_file_types": ["text/*"]}),
                "data.limits.accepted_file_types[0]",
            ),
        ] {
            assert_eq!(ok(v.clone()).unwrap_err().field, field, "{v}");
        }
        // With a deployment quota, the bucket's is at most it.
        let d = deployment(&[], 5000);
        let limits = BucketLimits {
            max_bytes: Some(5001),
            ..Default::default()
        };
        assert_eq!(
            limits.check_within(&d).unwrap_err().field,
            "data.limits.max_bytes"
        );
        // No deployment list: any entry.
        let limits = BucketLimits {
            accepted_file_types: Some(vec![".csv".into()]),
            max_bytes: Some(5000),
            ..Default::default()
        };
        assert!(limits.check_within(&d).is_ok());
    }

    #[test]
    fn effective_limits_are_the_tighter() {
        let d = deployment(&["image/*"], 5000);
        let l = Limits::of(
            &d,
            &BucketLimits {
                max_file_size: Some(10),
                max_files: Some(200),
                max_bytes: Some(100),
                accepted_file_types: Some(vec!["image/png".into()]),
            },
        );
        assert_eq!(
            (l.max_file_size, l.max_files, l.max_bytes),
            (10, 100, Some(100))
        );
        assert!(l.accepts("image/png", "a.png"));
        assert!(!l.accepts("image/gif", "a.gif"));
        // The deployment's list still applies to a bucket list it no longer covers.
        let narrowed = Limits::of(
            &deployment(&["text/csv"], 0),
            &BucketLimits {
                accepted_file_types: Some(vec!["image/png".into()]),
                ..Default::default()
            },
        );
        assert!(!narrowed.accepts("image/png", "a.png"));
        let none = Limits::deployment(&deployment(&[], 0));
        assert_eq!(none.max_bytes, None);
        assert!(none.bytes_fit(i64::MAX - 1, 1_000));
        assert!(l.bytes_fit(90, 10));
        assert!(!l.bytes_fit(90, 11));
        // Shrinking always fits, even over a quota tightened below the content.
        assert!(l.bytes_fit(500, 0));
        assert!(l.bytes_fit(500, -10));
    }

    #[test]
    fn unchanged_limits_are_not_checked_again() {
        let d = deployment(&[], 0);
        let attrs = |v: Value| {
            json!({"title": "t", "limits": v})
                .as_object()
                .unwrap()
                .clone()
        };
        // Set under a looser deployment, or an attribute of the bucket's own before.
        for stored in [json!({"max_files": 500}), json!("my own attribute")] {
            let old = attrs(stored.clone());
            let mut new = attrs(stored);
            assert!(clean_in(&mut new, Some(&old), &d).is_ok());
            assert!(clean_in(&mut new.clone(), None, &d).is_err());
        }
        let mut new = attrs(json!({"max_files": 5, "max_bytes": null}));
        clean_in(&mut new, None, &d).unwrap();
        assert_eq!(new["limits"], json!({"max_files": 5}));
        let mut cleared = attrs(json!({}));
        clean_in(&mut cleared, None, &d).unwrap();
        assert!(!cleared.contains_key("limits"));
    }

    #[test]
    fn stored_limits_are_read_leniently() {
        let attrs =
            json!({"limits": {"max_files": "many", "max_bytes": 7, "accepted_file_types": "x"}});
        let l = BucketLimits::of_attrs(attrs.as_object().unwrap());
        assert_eq!(
            l,
            BucketLimits {
                max_bytes: Some(7),
                ..Default::default()
            }
        );
        let other = json!({"limits": "my own attribute"});
        assert_eq!(
            BucketLimits::of_attrs(other.as_object().unwrap()),
            BucketLimits::default()
        );
    }
}
