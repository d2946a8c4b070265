//! What the console function answers for a path: the asset table, cache rules and the
//! security headers. Pure (no Lambda types beyond the response), unit-tested below.

use lambda_http::Body;
use lambda_http::http::{Response, StatusCode};

pub struct Asset {
    /// Path under console/dist, e.g. `index.html`, `assets/index-3f2a1b.js`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The headers every answer carries. `connect_src` lists the origins the page may call besides
/// its own: the identity provider (InitiateAuth) and S3 (presigned PUT/GET), from
/// `CONSOLE_CONNECT_SRC` (space-separated; the template fills it). Locally both are the
/// emulator, the page's own origin, so it may be empty.
pub struct Headers {
    csp: String,
}

impl Headers {
    pub fn new(connect_src: &str) -> Headers {
        // Only http(s) origins: a bad setting cannot widen the policy (`*`, keywords) or
        // inject a directive (`;`).
        let extra: Vec<&str> = connect_src
            .split_whitespace()
            .filter(|s| s.starts_with("https://") || s.starts_with("http://"))
            .filter(|s| !s.contains([';', '\'', ',', '*']))
            .collect();
        let connect = if extra.is_empty() {
            "'self'".to_string()
        } else {
            format!("'self' {}", extra.join(" "))
        };
        Headers {
            csp: format!(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                 font-src 'self'; connect-src {connect}; base-uri 'none'; form-action 'none'; \
                 frame-ancestors 'none'"
            ),
        }
    }

    pub fn from_env() -> Headers {
        Headers::new(&std::env::var("CONSOLE_CONNECT_SRC").unwrap_or_default())
    }
}

const PREFIX: &str = "/console";

fn response(headers: &Headers, status: StatusCode) -> lambda_http::http::response::Builder {
    Response::builder()
        .status(status)
        .header("Content-Security-Policy", &headers.csp)
        .header("X-Content-Type-Options", "nosniff")
        .header("X-Frame-Options", "DENY")
        .header("Referrer-Policy", "no-referrer")
        .header("Cross-Origin-Opener-Policy", "same-origin")
}

fn plain(headers: &Headers, status: StatusCode, text: &str) -> Response<Body> {
    response(headers, status)
        .header("Content-Type", "text/plain; charset=utf-8")
        .header("Cache-Control", "no-store")
        .body(Body::Text(text.to_string()))
        .expect("valid response")
}

fn body_of(asset: &Asset, head: bool) -> Body {
    if head {
        Body::Empty
    } else if asset.content_type.starts_with("text/")
        || asset.content_type.starts_with("application/json")
        || asset.content_type.starts_with("image/svg")
    {
        Body::Text(String::from_utf8_lossy(asset.body).into_owned())
    } else {
        Body::Binary(asset.body.to_vec())
    }
}

/// The answer for `method path` (the path as the function sees it, e.g. `/console/assets/x.js`).
/// Files under `assets/` carry a content hash in their names (Vite): cached for a year,
/// immutable. Every other path under `/console/` is the page itself (the app routes in the
/// fragment, but a reload of a deep link still works), never cached, so a deploy shows at once.
pub fn answer(assets: &[Asset], headers: &Headers, method: &str, path: &str) -> Response<Body> {
    let head = method == "HEAD";
    if method != "GET" && !head {
        let mut r = plain(
            headers,
            StatusCode::METHOD_NOT_ALLOWED,
            "GET or HEAD only\n",
        );
        r.headers_mut()
            .insert("Allow", "GET, HEAD".parse().expect("header"));
        return r;
    }
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return plain(headers, StatusCode::NOT_FOUND, "not found\n");
    };
    if rest.is_empty() {
        // Relative, so it also works under the local `/_aws/execute-api/<id>/$default` prefix.
        // To index.html rather than `console/`: `/console/` (an empty `{proxy+}`) goes to
        // the `$default` route (the buckets function sends it here too). An empty body says
        // what it is: API Gateway would call it `application/json`.
        return response(headers, StatusCode::PERMANENT_REDIRECT)
            .header("Location", "console/index.html")
            .header("Cache-Control", "no-store")
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(Body::Empty)
            .expect("valid response");
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return plain(headers, StatusCode::NOT_FOUND, "not found\n");
    };
    let Some(index) = assets.iter().find(|a| a.path == "index.html") else {
        return plain(
            headers,
            StatusCode::SERVICE_UNAVAILABLE,
            "The console was not built into this function: run `make console`, then build again.\n",
        );
    };
    let (asset, cache) = if rest.starts_with("assets/") {
        match assets.iter().find(|a| a.path == rest) {
            Some(a) => (a, "public, max-age=31536000, immutable"),
            None => return plain(headers, StatusCode::NOT_FOUND, "no such asset\n"),
        }
    } else if let Some(a) = assets
        .iter()
        .find(|a| a.path == rest && a.path != "index.html")
    {
        // Unhashed files beside the page (favicon): short cache.
        (a, "public, max-age=300")
    } else {
        (index, "no-store")
    };
    response(headers, StatusCode::OK)
        .header("Content-Type", asset.content_type)
        .header("Content-Length", asset.body.len())
        .header("Cache-Control", cache)
        .body(body_of(asset, head))
        .expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[Asset] = &[
        Asset {
            path: "index.html",
            content_type: "text/html; charset=utf-8",
            body: b"<html>page</html>",
        },
        Asset {
            path: "assets/app-1a2b.js",
            content_type: "text/javascript; charset=utf-8",
            body: b"run()",
        },
        Asset {
            path: "favicon.svg",
            content_type: "image/svg+xml",
            body: b"<svg/>",
        },
    ];

    fn get(path: &str) -> Response<Body> {
        answer(
            TABLE,
            &Headers::new("https://s3.example https://idp.example/"),
            "GET",
            path,
        )
    }

    fn header<'a>(r: &'a Response<Body>, name: &str) -> &'a str {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    #[test]
    fn the_page_is_never_cached_and_carries_the_security_headers() {
        for path in ["/console/", "/console/index.html", "/console/buckets/b123"] {
            let r = get(path);
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(header(&r, "cache-control"), "no-store");
            assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
            assert_eq!(header(&r, "x-content-type-options"), "nosniff");
            assert_eq!(header(&r, "x-frame-options"), "DENY");
            let csp = header(&r, "content-security-policy");
            assert!(csp.contains("script-src 'self';"), "{csp}");
            assert!(!csp.contains("unsafe-inline"), "{csp}");
            assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
            assert!(
                csp.contains("connect-src 'self' https://s3.example https://idp.example/;"),
                "{csp}"
            );
        }
    }

    #[test]
    fn hashed_assets_are_immutable_and_unknown_ones_404() {
        let r = get("/console/assets/app-1a2b.js");
        assert_eq!(r.status(), 200);
        assert_eq!(
            header(&r, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
        assert!(matches!(r.body(), Body::Text(t) if t == "run()"));
        let missing = get("/console/assets/app-old.js");
        assert_eq!(missing.status(), 404);
        assert_eq!(header(&missing, "x-content-type-options"), "nosniff");
    }

    #[test]
    fn the_bare_path_redirects_relatively_and_writes_are_refused() {
        let r = get("/console");
        assert_eq!(r.status(), 308);
        assert_eq!(header(&r, "location"), "console/index.html");
        assert_eq!(header(&r, "content-type"), "text/plain; charset=utf-8");
        let post = answer(TABLE, &Headers::new(""), "POST", "/console/");
        assert_eq!(post.status(), 405);
        assert_eq!(header(&post, "allow"), "GET, HEAD");
        assert_eq!(get("/consoles").status(), 404);
        let head = answer(TABLE, &Headers::new(""), "HEAD", "/console/");
        assert!(matches!(head.body(), Body::Empty));
        assert_eq!(header(&head, "content-length"), "17");
    }

    #[test]
    fn connect_sources_cannot_inject_directives() {
        let h = Headers::new("https://ok.example 'unsafe-eval' x;script-src *");
        assert!(
            h.csp.contains("connect-src 'self' https://ok.example;"),
            "{}",
            h.csp
        );
    }

    #[test]
    fn without_a_built_console_the_page_says_what_to_run() {
        let r = answer(&[], &Headers::new(""), "GET", "/console/");
        assert_eq!(r.status(), 503);
        assert!(matches!(r.body(), Body::Text(t) if t.contains("make console")));
    }
}
