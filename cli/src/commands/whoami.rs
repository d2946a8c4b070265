//! `buckets whoami`: who the commands act as. `GET /v1/` answers the caller's user, principals
//! and privileges, and for a key its id and scope (`user.key`); the key's own record
//! (`GET /v1/keys/{id}`) adds its title and expiry when the key may read it (a key holding
//! `create_keys`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;
use crate::api::Credential;
use crate::config::HOW_TO_SIGN_IN;
use crate::failure::Exit;

/// The claims of a JWT that say who and until when (the signature is the API's to check).
fn token_claims(jwt: &str) -> Value {
    let claims: Value = jwt
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let name = [
        "cognito:username",
        "preferred_username",
        "username",
        "email",
        "name",
    ]
    .iter()
    .find_map(|k| claims[k].as_str());
    json!({"name": name, "expires_at": claims["exp"].as_i64().map(|s| s * 1000)})
}

pub(super) fn whoami(api: &Api, out: &Out) -> Result<(), Failure> {
    let user = api.get("/v1/")?.body["user"].clone();
    let Some(id) = user["id"].as_str() else {
        return Err(Failure::new(
            Exit::Denied,
            format!("not signed in to {}: {HOW_TO_SIGN_IN}", api.base),
        ));
    };
    let key_id = user["key"]["id"].as_str().or_else(|| {
        user["principals"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|p| p.as_str()?.strip_prefix("key:"))
    });
    let mut who = json!({
        "url": api.base,
        "user": user,
        "credential": {"source": api.source},
    });
    let mut rows = vec![
        ("API".to_string(), api.base.clone()),
        ("user".into(), id.into()),
    ];
    match (api.credential(), key_id) {
        (Credential::ApiKey(_), Some(key)) => {
            who["credential"]["type"] = json!("api_key");
            let from = format!("API key {key}, from {}", api.source);
            rows.push(("credential".into(), from));
            let record = api
                .raw("GET", &format!("/v1/keys/{key}"), None, &[])
                .ok()
                .filter(|a| a.status == 200)
                .map(|a| a.body["data"].clone());
            let known = record.clone().unwrap_or_else(|| user["key"].clone());
            rows.push(("scope".into(), scope(&known, id)));
            if let Some(k) = &record {
                rows.push(("title".into(), text(&k["title"], "")));
                rows.push(("expires".into(), ms_or_never(&k["expires_at"])));
            }
            who["key"] = if known.is_object() {
                known
            } else {
                json!({"id": key})
            };
        }
        (Credential::Token(jwt), _) => {
            let claims = token_claims(jwt);
            who["credential"]["type"] = json!("token");
            rows.push(("credential".into(), format!("token, from {}", api.source)));
            if let Some(name) = claims["name"].as_str() {
                rows.push(("name".into(), name.into()));
            }
            rows.push(("expires".into(), ms_or_never(&claims["expires_at"])));
            who["token"] = claims;
        }
        _ => rows.push(("credential".into(), api.source.clone())),
    }
    rows.extend(what_it_may_do(&who["user"]));
    out.show_rows(&who, &rows);
    Ok(())
}

/// The user's privileges, principals and personal bucket (none for a scoped key: `GET /v1/`
/// leaves `user.bucket` out, and so does this).
fn what_it_may_do(user: &Value) -> Vec<(String, String)> {
    let mut rows = vec![
        (
            "privileges".into(),
            none_or(&text(&user["privileges"], ", ")),
        ),
        ("principals".into(), text(&user["principals"], ", ")),
    ];
    if let Some(bucket) = user["bucket"].as_str().filter(|b| !b.is_empty()) {
        rows.push(("personal bucket".into(), bucket.into()));
    }
    rows
}

/// A key's scope: its buckets, or all that `owner` reaches (unknown from an API whose
/// `GET /v1/` does not describe the key, when the key may not read its own record).
fn scope(key: &Value, owner: &str) -> String {
    match &key["buckets"] {
        Value::Array(_) => super::keys::scope(&key["buckets"]),
        _ if key.is_object() => format!("every bucket {owner} reaches"),
        _ => "unknown: a key reads its own record only when it holds create_keys".into(),
    }
}

/// An expiry as the API gives it (ms since the epoch: a table shows the date, tsv the ms),
/// or `never`.
fn ms_or_never(ms: &Value) -> String {
    ms.as_i64()
        .map_or_else(|| "never".into(), |ms| ms.to_string())
}

fn none_or(s: &str) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Format;

    #[test]
    fn an_expiry_is_a_date_for_people_and_the_apis_ms_for_programs() {
        let rows = vec![(
            "expires".to_string(),
            ms_or_never(&json!(1765101234120_i64)),
        )];
        let v = json!({"token": {"expires_at": 1765101234120_i64}});
        let show = |f| Out::with_terminal(Some(f), true).render_show(&v, &rows);
        assert_eq!(show(Format::Tsv), "expires\t1765101234120\n");
        assert_eq!(show(Format::Table), "expires:  2025-12-07T09:53:54Z\n");
        assert_eq!(ms_or_never(&Value::Null), "never");
    }

    #[test]
    fn a_scoped_key_has_no_personal_bucket_line() {
        let scoped = json!({"privileges": [], "principals": ["key:k1"]});
        let names =
            |u: &Value| -> Vec<String> { what_it_may_do(u).into_iter().map(|(k, _)| k).collect() };
        assert_eq!(names(&scoped), ["privileges", "principals"]);
        let person = json!({"privileges": ["create_keys"], "principals": [], "bucket": "u-alice"});
        assert_eq!(
            what_it_may_do(&person).last(),
            Some(&("personal bucket".to_string(), "u-alice".to_string()))
        );
    }
}
