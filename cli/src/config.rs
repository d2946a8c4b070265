//! Where the API is and who the caller is: flags, then the environment (`BUCKETS_URL`,
//! `BUCKETS_API_KEY`, `BUCKETS_TOKEN`; clap reads those into the flags), then the config file
//! that `buckets login` writes (`$BUCKETS_CONFIG`, else `$XDG_CONFIG_HOME/buckets/config.json`,
//! else `~/.config/buckets/config.json`; mode 0600).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::api::{Api, Credential, agent};
use crate::failure::{Exit, Failure};

/// Renew a cached token this long before it expires.
const REFRESH_MARGIN_SECS: i64 = 120;

pub fn config_path() -> Result<PathBuf, Failure> {
    if let Some(p) = std::env::var_os("BUCKETS_CONFIG") {
        return Ok(PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => PathBuf::from(
            std::env::var_os("HOME")
                .ok_or_else(|| Failure::usage("HOME is not set: set BUCKETS_CONFIG"))?,
        )
        .join(".config"),
    };
    Ok(base.join("buckets").join("config.json"))
}

pub fn read_config() -> Value {
    config_path()
        .ok()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({}))
}

pub fn write_config(cfg: &Value) -> Result<(), Failure> {
    let path = config_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Failure::io("config directory", e))?;
    }
    let tmp = path.with_extension("tmp");
    // It holds a refresh token or a key: only its owner reads it, from its first byte on.
    crate::fresh::file(&tmp, 0o600)
        .and_then(|mut f| f.write_all(&serde_json::to_vec_pretty(cfg).unwrap()))
        .map_err(|e| Failure::io("config file", e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Failure::io("config file", e))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// What the command line gave (each flag already defaulted from its environment variable).
pub struct Given {
    pub url: Option<String>,
    pub api_key: Option<String>,
    pub token: Option<String>,
    /// `--anonymous`: no credential, on purpose.
    pub anonymous: bool,
}

/// How a person or a job signs in, for the message of a command that has no credential.
pub const HOW_TO_SIGN_IN: &str = "run `buckets login --url URL` (a person), or set \
BUCKETS_API_KEY (a job's key) or BUCKETS_TOKEN; --anonymous reads what everyone may read";

/// The API's base URL as given, checked before anything is sent: an absolute `http(s)` URL,
/// without the `/v1` every route adds (a base ending in `/v1` would answer 404 to everything),
/// and `https` unless the API is on this machine (`cleartext_refused`).
pub fn checked_url(url: &str) -> Result<String, Failure> {
    let base = url.trim_end_matches('/');
    let absolute = base.parse::<http::Uri>().is_ok_and(|u| {
        matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some_and(|h| !h.is_empty())
    });
    if !absolute {
        return Err(Failure::usage(format!(
            "the API URL {url:?} is not an absolute http(s) URL (e.g. https://api.example.com, \
             or $BUCKETS_API_URL of the local stack)"
        )));
    }
    if base.ends_with("/v1") {
        return Err(Failure::usage(format!(
            "the API URL {url:?} ends with /v1: give the API's base URL, without /v1 (every \
             command adds it)"
        )));
    }
    cleartext_refused("the API URL", base)?;
    Ok(base.to_string())
}

/// A plain `http://` URL that a key, a token or a password would be sent to is refused (exit 2)
/// unless its host is this machine (`127.0.0.0/8`, `localhost`, `[::1]`: the local stack).
pub fn cleartext_refused(what: &str, url: &str) -> Result<(), Failure> {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return Err(Failure::usage(format!("{what} {url:?} is not a URL")));
    };
    if uri.scheme_str() == Some("https") || uri.host().is_some_and(loopback) {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "{what} {url} is not https: the key, token or password sent to it would cross the \
         network readable by anyone on the way; use https (plain http only reaches this \
         machine: 127.0.0.1, localhost, [::1])"
    )))
}

fn loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The API client for the flags given. A command without a credential fails (exit 3) unless
/// `--anonymous` says that is meant.
pub fn connect(given: Given) -> Result<Api, Failure> {
    connect_with(given, read_config())
}

/// `connect` with the config file's contents given.
pub fn connect_with(given: Given, mut cfg: Value) -> Result<Api, Failure> {
    let url = given
        .url
        .or_else(|| cfg["url"].as_str().map(str::to_string))
        .ok_or_else(|| {
            Failure::usage(
                "no API URL: give --url, set BUCKETS_URL, or run `buckets login --url …`",
            )
        })?;
    let url = checked_url(&url)?;
    let from_flag = |var: &str, flag: &str, v: &str| {
        if std::env::var(var).is_ok_and(|e| e == v) {
            var.to_string()
        } else {
            flag.to_string()
        }
    };
    let (credential, source) = if given.anonymous {
        (Credential::None, "--anonymous".to_string())
    } else if let Some(k) = given.api_key.filter(|k| !k.is_empty()) {
        let source = from_flag("BUCKETS_API_KEY", "--api-key", &k);
        (Credential::ApiKey(k), source)
    } else if let Some(t) = given.token.filter(|t| !t.is_empty()) {
        let source = from_flag("BUCKETS_TOKEN", "--token", &t);
        (Credential::Token(t), source)
    } else if cfg["url"].as_str() == Some(url.trim_end_matches('/')) {
        let source = format!("the config file {}", config_path()?.display());
        (cached_credential(&mut cfg)?, source)
    } else {
        (Credential::None, String::new())
    };
    if matches!(credential, Credential::None) && !given.anonymous {
        let cached = match cfg["url"].as_str() {
            Some(other) if other != url.trim_end_matches('/') => {
                format!(" (the cached sign-in is for {other})")
            }
            _ => String::new(),
        };
        return Err(Failure::new(
            Exit::Denied,
            format!("not signed in to {url}{cached}: {HOW_TO_SIGN_IN}"),
        ));
    }
    Ok(Api::new(&url, credential).from(source))
}

/// The cached sign-in: the ID token, renewed with the refresh token when it is about to expire.
fn cached_credential(cfg: &mut Value) -> Result<Credential, Failure> {
    if let Some(k) = cfg["api_key"].as_str() {
        return Ok(Credential::ApiKey(k.to_string()));
    }
    let Some(token) = cfg["id_token"].as_str().map(str::to_string) else {
        return Ok(Credential::None);
    };
    if cfg["expires_at"].as_i64().unwrap_or(0) - REFRESH_MARGIN_SECS > now() {
        return Ok(Credential::Token(token));
    }
    let (Some(endpoint), Some(client_id), Some(refresh)) = (
        cfg["endpoint"].as_str(),
        cfg["client_id"].as_str(),
        cfg["refresh_token"].as_str(),
    ) else {
        return Err(Failure::new(
            Exit::Denied,
            "the cached sign-in expired: run `buckets login`",
        ));
    };
    let result = initiate_auth(
        endpoint,
        json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": client_id,
               "AuthParameters": {"REFRESH_TOKEN": refresh}}),
    )
    .map_err(|f| {
        Failure::new(
            Exit::Denied,
            format!("renewing the sign-in failed ({f}): run `buckets login`"),
        )
    })?;
    store_tokens(cfg, &result);
    write_config(cfg)?;
    Ok(Credential::Token(
        cfg["id_token"].as_str().unwrap_or_default().to_string(),
    ))
}

/// Keeps the tokens of a Cognito `AuthenticationResult` (a refresh answer has no new refresh
/// token: the old one stays).
fn store_tokens(cfg: &mut Value, result: &Value) {
    cfg["id_token"] = result["IdToken"].clone();
    cfg["expires_at"] = json!(now() + result["ExpiresIn"].as_i64().unwrap_or(3600));
    if result["RefreshToken"].is_string() {
        cfg["refresh_token"] = result["RefreshToken"].clone();
    }
}

/// One call of Cognito's `InitiateAuth` (the sign-in `GET /v1/` advertises), over https
/// unless on this machine.
fn initiate_auth(endpoint: &str, body: Value) -> Result<Value, Failure> {
    cleartext_refused("the sign-in endpoint", endpoint)?;
    let req = http::Request::builder()
        .method("POST")
        .uri(endpoint)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.InitiateAuth",
        )
        .body(body.to_string())
        .map_err(|e| Failure::usage(format!("bad sign-in endpoint {endpoint}: {e}")))?;
    let mut resp = agent()
        .run(req)
        .map_err(|e| Failure::network(endpoint, e))?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| Failure::network(endpoint, e))?;
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status != 200 {
        let msg = answer["message"]
            .as_str()
            .or(answer["Message"].as_str())
            .unwrap_or("sign-in refused");
        return Err(Failure::new(Exit::Denied, format!("{msg} ({status})")));
    }
    if answer["ChallengeName"].is_string() {
        return Err(Failure::new(
            Exit::Denied,
            format!(
                "the identity provider asks for {} (set a permanent password first)",
                answer["ChallengeName"]
            ),
        ));
    }
    Ok(answer["AuthenticationResult"].clone())
}

/// `buckets login`: reads the sign-in from `GET /v1/`, signs in with user name and password
/// (or stores an API key), and caches the result in the config file.
pub fn login(
    url: &str,
    user: Option<String>,
    password: Option<String>,
    api_key: Option<String>,
) -> Result<Value, Failure> {
    let url = &checked_url(url)?;
    let mut cfg = json!({"url": url});
    if let Some(key) = api_key {
        cfg["api_key"] = json!(key);
        write_config(&cfg)?;
        return Ok(json!({"url": cfg["url"], "signed_in_with": "api_key"}));
    }
    let api = Api::new(url, Credential::None);
    let root = api.get("/v1/")?.body;
    let auth = &root["auth"];
    let (Some(endpoint), Some(client_id)) = (auth["endpoint"].as_str(), auth["client_id"].as_str())
    else {
        return Err(Failure::usage(format!(
            "this API advertises no password sign-in (auth type {}): use an API key (--api-key)",
            auth["type"]
        )));
    };
    // Before the password is asked for: it would go there.
    cleartext_refused("the sign-in endpoint this API advertises", endpoint)?;
    // Prompts need a terminal: piped in, a password would be read as the user name.
    let interactive = std::io::stdin().is_terminal();
    let not_interactive = |what: &str| {
        Failure::usage(format!(
            "no {what} given and no terminal to ask on: give --user, and the password with \
             --password-stdin or BUCKETS_PASSWORD"
        ))
    };
    let user = match user {
        Some(u) => u,
        None if interactive => prompt("user name: ")?,
        None => return Err(not_interactive("user name")),
    };
    let password = match password {
        Some(p) => p,
        None if interactive => rpassword::prompt_password("password: ")
            .map_err(|e| Failure::io("reading the password", e))?,
        None => return Err(not_interactive("password")),
    };
    let result = initiate_auth(
        endpoint,
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id,
               "AuthParameters": {"USERNAME": user, "PASSWORD": password}}),
    )?;
    cfg["endpoint"] = json!(endpoint);
    cfg["client_id"] = json!(client_id);
    cfg["user"] = json!(user);
    store_tokens(&mut cfg, &result);
    write_config(&cfg)?;
    Ok(json!({"url": cfg["url"], "user": user, "expires_at": cfg["expires_at"]}))
}

fn prompt(label: &str) -> Result<String, Failure> {
    use std::io::Write;
    eprint!("{label}");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::io("reading the user name", e))?;
    Ok(line.trim().to_string())
}

pub fn logout() -> Result<(), Failure> {
    let mut cfg = read_config();
    if let Some(obj) = cfg.as_object_mut() {
        for k in ["id_token", "refresh_token", "expires_at", "api_key", "user"] {
            obj.remove(k);
        }
    }
    write_config(&cfg)
}
