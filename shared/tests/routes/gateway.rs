//! Which function API Gateway invokes for a request: the routes of `infra/template.yaml`, read
//! from the template itself so that the tests route requests exactly as the deployment does.

use std::sync::OnceLock;

use http::Method;

/// Which function API Gateway invokes for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Buckets,
    Data,
    Files,
    Sftp,
    /// The web console's static files (functions/console, not part of `shared`).
    Console,
    Activity,
}

/// One `AWS::ApiGatewayV2::Route` of the template: method (`None`: ANY), path, function.
struct Route {
    method: Option<String>,
    segments: Vec<String>,
    function: Function,
}

/// The routes of `infra/template.yaml` and its `$default` function.
fn template_routes() -> (Vec<Route>, Function) {
    let template = include_str!("../../../infra/template.yaml");
    let (mut routes, mut default, mut key) = (vec![], None, None::<String>);
    for line in template.lines().map(str::trim) {
        if let Some(k) = line.strip_prefix("RouteKey:") {
            key = Some(k.trim().to_string());
        } else if let (Some(target), Some(k)) = (line.strip_prefix("Target:"), &key) {
            let function = match target.split("${").nth(1) {
                Some(t) if t.starts_with("BucketsIntegration") => Function::Buckets,
                Some(t) if t.starts_with("DataIntegration") => Function::Data,
                Some(t) if t.starts_with("FilesIntegration") => Function::Files,
                Some(t) if t.starts_with("SftpIntegration") => Function::Sftp,
                Some(t) if t.starts_with("ConsoleIntegration") => Function::Console,
                Some(t) if t.starts_with("ActivityIntegration") => Function::Activity,
                _ => panic!("a route to an unknown integration: {line}"),
            };
            if k == "$default" {
                default = Some(function);
            } else {
                let (method, path) = k.split_once(' ').expect("METHOD /path");
                routes.push(Route {
                    method: (method != "ANY").then(|| method.to_string()),
                    segments: path
                        .trim_start_matches('/')
                        .split('/')
                        .map(String::from)
                        .collect(),
                    function,
                });
            }
            key = None;
        }
    }
    (routes, default.expect("a $default route"))
}

pub fn function_for(method: &Method, path: &str) -> Function {
    static ROUTES: OnceLock<(Vec<Route>, Function)> = OnceLock::new();
    let (routes, default) = ROUTES.get_or_init(template_routes);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let matches = |r: &Route| {
        r.method.as_deref().is_none_or(|m| m == method.as_str())
            && r.segments.len() == segments.len()
            && r.segments.iter().zip(&segments).all(|(want, got)| {
                // A `{param}` takes one non-empty segment.
                if want.starts_with('{') {
                    !got.is_empty()
                } else {
                    want == got
                }
            })
    };
    routes
        .iter()
        .find(|r| matches(r))
        .map_or(*default, |r| r.function)
}

#[test]
fn api_gateway_routes_each_path_to_its_function() {
    use Function::*;
    let cases = [
        ("GET", "/v1/", Buckets),
        ("GET", "/v1", Buckets),
        ("DELETE", "/v1/buckets", Buckets),
        ("PUT", "/v1/buckets/b1", Buckets),
        ("PATCH", "/v1/buckets/b1/data", Data),
        ("POST", "/v1/buckets/b1/files", Files),
        ("DELETE", "/v1/buckets/b1/files/a.csv", Files),
        ("GET", "/v1/buckets/b1/uploads/u1", Files),
        ("DELETE", "/v1/buckets/b1/uploads/u1", Files),
        ("POST", "/v1/buckets/b1/fetch", Files),
        ("GET", "/v1/buckets/b1/store", Files),
        ("POST", "/v1/buckets/b1/empty", Files),
        ("GET", "/files/bucket/b1/h/a.csv", Files),
        ("HEAD", "/files/bucket/b1/h/a.csv", Files),
        ("HEAD", "/v1/buckets/b1/uploads/u1", Files),
        ("POST", "/v1/buckets/b1/uploads/u1/parts", Files),
        ("GET", "/v1/buckets/b1/uploads/u1/parts", Files),
        ("POST", "/v1/buckets/b1/uploads/u1/complete", Files),
        ("GET", "/v1/buckets/b1/history", Activity),
        ("GET", "/v1/__api__", Buckets),
        ("POST", "/v1/batch", Buckets),
        ("PUT", "/files/bucket/b1/h/a.csv", Buckets),
        ("GET", "/v1/buckets//data", Buckets),
        ("GET", "/v1/buckets/b1/nothing", Buckets),
        ("GET", "/buckets", Buckets),
        ("GET", "/console", Console),
        ("GET", "/console/index.html", Console),
        ("POST", "/console/index.html", Buckets),
    ];
    for (method, path, function) in cases {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        assert_eq!(function_for(&m, path), function, "{method} {path}");
    }
}
