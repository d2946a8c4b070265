//! Multipart upload rules (no AWS): the plan of a large file (part size, part count), part
//! numbers, the bounds of a page of part URLs, and the shape of S3's composite SHA-256.
//!
//! Whole-object verification uses S3's **composite** SHA-256 (`<base64 of the SHA-256 of the
//! concatenated part digests>-<part count>`): S3 offers full-object checksums of multipart
//! uploads only for the CRC algorithms, and this project uses SHA-256 everywhere (single PUTs,
//! parts). A client computes it from the part digests it already has.

use serde_json::Value;

use super::error::RuleError;
use super::types::sha256_base64;

pub use rules::checksums::composite_sha256;
pub use rules::multipart::{
    MAX_OBJECT_SIZE, MAX_PART_SIZE, MAX_PARTS, MAX_PARTS_PER_PAGE, MIB, MIN_PART_SIZE, Plan, plan,
};

/// One part a client asks a URL for: its number and (base64) SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRequest {
    pub number: u32,
    pub sha256: String,
}

/// Reads `{"parts": [{"number", "sha256"}, …]}`: 1 to `MAX_PARTS_PER_PAGE` parts, each number
/// in the plan and named once, each with its SHA-256 (hex or base64). The checksum is
/// required: S3 refuses an UploadPart without one on an upload created with a SHA-256
/// checksum ("Checksum Type mismatch … actual checksum Type: null"), and signing it into the
/// URL is what makes S3 refuse a tampered part.
pub fn parse_part_requests(
    body: Option<&Value>,
    plan: &Plan,
) -> Result<Vec<PartRequest>, RuleError> {
    let Some(Value::Array(items)) = body.and_then(|b| b.get("parts")) else {
        return Err(RuleError::invalid(
            "parts",
            "is required: a list of {number, sha256}",
        ));
    };
    if items.is_empty() || items.len() > MAX_PARTS_PER_PAGE {
        return Err(RuleError::invalid(
            "parts",
            format!("must hold 1 to {MAX_PARTS_PER_PAGE} parts"),
        ));
    }
    let mut out: Vec<PartRequest> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = |name: &str| format!("parts[{i}].{name}");
        let Value::Object(obj) = item else {
            return Err(RuleError::invalid(
                format!("parts[{i}]"),
                "must be an object",
            ));
        };
        super::fields::only_known(obj, &format!("parts[{i}]"), &["number", "sha256"])?;
        let number = obj
            .get("number")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| plan.has_part(*n))
            .ok_or_else(|| {
                RuleError::invalid(
                    field("number"),
                    format!("must be a part number from 1 to {}", plan.part_count),
                )
            })?;
        if out.iter().any(|p| p.number == number) {
            return Err(RuleError::invalid(
                field("number"),
                format!("part {number} is named twice in this request"),
            ));
        }
        let sha256 = match obj.get("sha256") {
            Some(Value::String(s)) => sha256_base64(s, &field("sha256"))?,
            None | Some(Value::Null) => {
                return Err(RuleError::invalid(
                    field("sha256"),
                    "is required: the part's SHA-256 (S3 checks the part against it)",
                ));
            }
            Some(_) => return Err(RuleError::invalid(field("sha256"), "must be a string")),
        };
        out.push(PartRequest { number, sha256 });
    }
    Ok(out)
}

/// Checks a client's composite checksum (`<base64 sha256>-<N>`, N the plan's part count).
pub fn parse_composite(value: &str, plan: &Plan, field: &str) -> Result<String, RuleError> {
    let bad = |why: String| RuleError::invalid(field, why);
    let shape = || {
        format!(
            "must be S3's composite SHA-256: <base64 of the SHA-256 of the part digests>-{}",
            plan.part_count
        )
    };
    let Some((digest, count)) = value.rsplit_once('-') else {
        return Err(bad(shape()));
    };
    if sha256_base64(digest, field).is_err() || digest.len() != 44 {
        return Err(bad(shape()));
    }
    if !count.bytes().all(|b| b.is_ascii_digit())
        || count.parse::<u32>().ok() != Some(plan.part_count)
        || count.starts_with('0')
    {
        return Err(bad(format!(
            "names {count} parts; this upload has {} parts",
            plan.part_count
        )));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::error::RuleKind;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;
    use sha2::{Digest, Sha256};

    #[test]
    fn plans() {
        // The setting when it fits in 10,000 parts.
        assert_eq!(
            plan(12 * MIB, 5 * MIB),
            Plan {
                part_size: 5 * MIB,
                part_count: 3
            }
        );
        assert_eq!(plan(64 * MIB, 64 * MIB).part_count, 1);
        assert_eq!(plan(64 * MIB + 1, 64 * MIB).part_count, 2);
        // Never below S3's minimum, rounded up to a MiB.
        assert_eq!(plan(10, 1).part_size, MIN_PART_SIZE);
        assert_eq!(plan(100 * MIB, 6 * MIB + 1).part_size, 7 * MIB);
        // 5 TiB: parts grow so that at most 10,000 are needed.
        let p = plan(MAX_OBJECT_SIZE, 64 * MIB);
        assert!(p.part_count <= MAX_PARTS, "{p:?}");
        assert_eq!(p.part_size % MIB, 0);
        assert!(p.part_size * u64::from(p.part_count) >= MAX_OBJECT_SIZE);
        // Every size up to 5 TiB is cut into at most 10,000 parts.
        for size in [
            1,
            MIB,
            5 * MIB,
            64 * MIB + 7,
            700_000 * MIB,
            MAX_OBJECT_SIZE - 1,
        ] {
            let p = plan(size, 5 * MIB);
            assert!(p.part_count >= 1 && p.part_count <= MAX_PARTS, "{size}");
            assert!(p.part_size >= MIN_PART_SIZE && p.part_size <= MAX_PART_SIZE);
        }
    }

    #[test]
    fn part_lengths_add_up() {
        let size = 12 * MIB + 3;
        let p = plan(size, 5 * MIB);
        let lens: Vec<u64> = (1..=p.part_count).map(|n| p.part_len(size, n)).collect();
        assert_eq!(lens, vec![5 * MIB, 5 * MIB, 2 * MIB + 3]);
        assert_eq!(lens.iter().sum::<u64>(), size);
        assert!(!p.has_part(0) && !p.has_part(4) && p.has_part(3));
    }

    #[test]
    fn pages_are_bounded() {
        let p = Plan {
            part_size: MIN_PART_SIZE,
            part_count: 10_000,
        };
        let (first, next) = p.page(1);
        assert_eq!((first.len(), first[0], next), (100, 1, Some(101)));
        let (last, next) = p.page(9_901);
        assert_eq!(
            (last.len(), *last.last().unwrap(), next),
            (100, 10_000, None)
        );
        assert_eq!(p.page(0), (vec![], None));
        assert_eq!(p.page(10_001), (vec![], None));
        let small = plan(12 * MIB, 5 * MIB);
        assert_eq!(small.page(1), (vec![1, 2, 3], None));
    }

    #[test]
    fn part_requests() {
        let p = plan(12 * MIB, 5 * MIB);
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let ok = parse_part_requests(
            Some(&json!({"parts": [{"number": 1, "sha256": hex}, {"number": 3, "sha256": hex}]})),
            &p,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].sha256, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        let many: Vec<Value> = (0..101)
            .map(|_| json!({"number": 1, "sha256": hex}))
            .collect();
        for (body, field) in [
            (json!({}), "parts"),
            (json!({"parts": []}), "parts"),
            (json!({"parts": many}), "parts"),
            (json!({"parts": [1]}), "parts[0]"),
            (
                json!({"parts": [{"number": 0, "sha256": hex}]}),
                "parts[0].number",
            ),
            (
                json!({"parts": [{"number": 4, "sha256": hex}]}),
                "parts[0].number",
            ),
            (
                json!({"parts": [{"number": 10001, "sha256": hex}]}),
                "parts[0].number",
            ),
            (
                json!({"parts": [{"number": -1, "sha256": hex}]}),
                "parts[0].number",
            ),
            (
                json!({"parts": [{"number": 1.5, "sha256": hex}]}),
                "parts[0].number",
            ),
            (json!({"parts": [{"number": 1}]}), "parts[0].sha256"),
            (
                json!({"parts": [{"number": 1, "sha256": "x"}]}),
                "parts[0].sha256",
            ),
            (
                json!({"parts": [{"number": 1, "sha256": hex}, {"number": 1, "sha256": hex}]}),
                "parts[1].number",
            ),
        ] {
            let err = parse_part_requests(Some(&body), &p).unwrap_err();
            assert_eq!(
                (err.kind, err.field.as_str()),
                (RuleKind::Invalid, field),
                "{body}"
            );
        }
    }

    #[test]
    fn composite_checksums() {
        let a = STANDARD.encode(Sha256::digest(b"a"));
        let b = STANDARD.encode(Sha256::digest(b"b"));
        let mut both = Sha256::digest(b"a").to_vec();
        both.extend(Sha256::digest(b"b"));
        let want = format!("{}-2", STANDARD.encode(Sha256::digest(&both)));
        assert_eq!(
            composite_sha256([a.as_str(), b.as_str()]),
            Some(want.clone())
        );
        assert_eq!(composite_sha256([a.as_str(), "nope"]), None);
        assert_eq!(composite_sha256([]), None);
        let p = Plan {
            part_size: MIN_PART_SIZE,
            part_count: 2,
        };
        assert_eq!(parse_composite(&want, &p, "sha256").unwrap(), want);
        let wrong_count = want.replace("-2", "-3");
        for bad in [a.as_str(), "x-2", wrong_count.as_str(), "-2", ""] {
            let err = parse_composite(bad, &p, "sha256").unwrap_err();
            assert_eq!(err.field, "sha256", "{bad}");
        }
    }
}
