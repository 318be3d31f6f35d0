//! `GET /api/schema/` (the OpenAPI document) and `/api/docs/` (Swagger UI).
//!
//! The document must describe exactly the API routes the router has (every path under `/api/`
//! but Swagger UI's; the admin console and `/metrics` are pages, not API). The paths the router
//! has are read from the router's definition (every `.route("…")` in `src/`); the methods each
//! path maps are asked of the running server: a documented method must be routed (not a 404
//! page, not 405), and every other method must get 405.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

/// Routes that are not API operations: Swagger UI's page and files (CVAT leaves its UI out of
/// its schema too).
const UI_ROUTES: [&str; 2] = ["/api/docs/", "/api/docs/{file}"];

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn schema(s: &TestServer) -> Value {
    let r = s.get("/api/schema/", &Auth::None);
    r.expect(200);
    r.json()
}

/// Documented path → its methods (upper case).
fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .map(|m| m.to_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// Every path given to `.route(…)` in the server's sources.
fn routes_in_source() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((
                    path.display().to_string(),
                    std::fs::read_to_string(&path).unwrap(),
                ));
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut paths = BTreeSet::new();
    for (name, text) in files {
        for other in [".nest(", ".nest_service(", ".route_service("] {
            assert!(
                !text.contains(other),
                "{name} uses {other}: teach this test to read it"
            );
        }
        let mut rest = text.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = rest[i + ".route(".len()..].trim_start();
            let literal = rest.strip_prefix('"').unwrap_or_else(|| {
                panic!(
                    "{name}: a .route( whose path is not a string literal: {}",
                    &rest[..40.min(rest.len())]
                )
            });
            paths.insert(literal[..literal.find('"').unwrap()].to_string());
        }
    }
    paths
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "999999")
        .replace("{key}", "no-such-key")
}

fn is_html_404(r: &Resp) -> bool {
    r.status == 404
        && r.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
}

#[test]
fn schema_is_anonymous_openapi_3_with_cvat_names() {
    let s = TestServer::start();
    // Anonymous like CVAT's: credentials, even bad ones, are not looked at.
    let r = s.get("/api/schema/", &Auth::Token("not-a-token".into()));
    r.expect(200);
    assert_eq!(
        r.header("content-type").unwrap(),
        "application/vnd.oai.openapi+json"
    );
    for accept in [
        "application/json",
        "*/*",
        "application/vnd.oai.openapi+json",
        "text/html,*/*;q=0.8",
    ] {
        let r = s.send(
            s.request(Method::GET, "/api/schema/", &Auth::None)
                .header("Accept", accept),
        );
        r.expect(200);
        assert_eq!(r.json()["openapi"], "3.0.3", "Accept: {accept}");
    }
    let r = s.send(
        s.request(Method::GET, "/api/schema/", &Auth::None)
            .header("Accept", "application/json"),
    );
    assert_eq!(r.header("content-type").unwrap(), "application/json");
    let yaml = s.get("/api/schema/?format=yaml", &Auth::None);
    yaml.expect(200);
    assert_eq!(
        yaml.header("content-type").unwrap(),
        "application/vnd.oai.openapi"
    );
    assert!(
        yaml.text.starts_with("openapi: \"3.0.3\"\n"),
        "{}",
        &yaml.text[..100]
    );

    let doc = schema(&s);
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(
            // CVAT's own link route in confirmation mails keeps its slash.
            !path.ends_with('/')
                || path == "/api/schema/"
                || path == "/api/auth/account-confirm-email/{key}/",
            "{path}: the API has no trailing slashes"
        );
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_string()), "operationId {id} used twice");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{id}: no responses"
            );
        }
    }
    for id in [
        "users_list",
        "users_retrieve",
        "users_retrieve_self",
        "users_partial_update",
        "users_destroy",
        "auth_create_login",
        "auth_create_logout",
        "auth_create_register",
        "auth_create_password_change",
        "auth_create_signing",
        "auth_list_access_tokens",
        "auth_create_access_tokens",
        "auth_retrieve_access_tokens",
        "auth_retrieve_access_tokens_self",
        "auth_partial_update_access_tokens",
        "auth_destroy_access_tokens",
        "server_retrieve_about",
        "organizations_list",
        "organizations_create",
        "organizations_retrieve",
        "organizations_partial_update",
        "organizations_destroy",
        "memberships_list",
        "memberships_retrieve",
        "memberships_partial_update",
        "memberships_destroy",
        "invitations_list",
        "invitations_create",
        "invitations_retrieve",
        "schema_retrieve",
    ] {
        assert!(ids.contains(id), "no operation {id}");
    }
    let users = &doc["paths"]["/api/users"]["get"];
    assert_eq!(users["operationId"], "users_list");
    let params: BTreeSet<&str> = users["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in [
        "page",
        "page_size",
        "search",
        "filter",
        "sort",
        "org",
        "org_id",
        "X-Organization",
        "username",
        "first_name",
        "last_name",
        "is_active",
    ] {
        assert!(params.contains(p), "users_list lacks parameter {p}");
    }
    let models = &doc["components"]["schemas"];
    assert_eq!(
        models["MetaUser"],
        json!({"anyOf": [{"$ref": "#/components/schemas/BasicUser"}, {"$ref": "#/components/schemas/User"}]})
    );
    assert_eq!(
        models["PaginatedMetaUserList"]["properties"]["results"]["items"]["$ref"],
        "#/components/schemas/MetaUser"
    );
    assert_eq!(models["User"]["properties"]["last_login"]["nullable"], true);
    assert_eq!(
        models["PaginatedMetaUserList"]["properties"]["next"]["nullable"],
        true
    );
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for name in [
        "tokenAuth",
        "basicAuth",
        "sessionAuth",
        "csrfAuth",
        "signatureAuth",
        "accessTokenAuth",
    ] {
        assert!(schemes.contains_key(name), "no security scheme {name}");
    }

    // Every reference resolves.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external reference {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling reference {r}");
    }
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let s = TestServer::start();
    let doc = schema(&s);
    let documented = documented(&doc);

    let mut routed: BTreeSet<String> = routes_in_source()
        .into_iter()
        .filter(|p| p.starts_with("/api/"))
        .collect();
    for ui in UI_ROUTES {
        assert!(
            routed.remove(ui),
            "{ui} is not routed any more: update UI_ROUTES"
        );
    }
    let documented_paths: BTreeSet<String> = documented.keys().cloned().collect();
    assert_eq!(
        routed, documented_paths,
        "the router's paths (left) and the document's (right) differ"
    );

    // Methods: a documented one is routed, any other one is 405 (asked as the admin, who gets
    // past the policy checks that answer 403 before method dispatch on `/api/users`).
    let admin = s.admin();
    for (path, methods) in &documented {
        let url = concrete(path);
        for method in METHODS {
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            if methods.contains(method) {
                // Anonymously, with an empty body: nothing changes whatever the route does.
                let mut rb = s.request(m, &url, &Auth::None);
                if method == "POST" || method == "PATCH" {
                    rb = rb.json(&json!({}));
                }
                let r = s.send(rb);
                assert!(
                    !is_html_404(&r) && r.status != 405,
                    "{method} {path} is documented but not routed: {} {}",
                    r.status,
                    r.text
                );
            } else {
                let r = s.send(s.request(m, &url, &admin));
                assert_eq!(
                    r.status, 405,
                    "{method} {path} is routed (or broken) but not documented: {}",
                    r.text
                );
            }
        }
    }

    // Near misses are not routes.
    for path in [
        "/api/users/",
        "/api/user",
        "/api/users/1/groups",
        "/api/auth/access_tokens/1/value",
        "/api/auth/rules",
        "/api/organizations/1/members",
        "/api/invitations/key/accept/now",
        "/api/server/plugins",
        "/api/schema",
        "/api/docs",
        "/api/docs/swagger-ui.js",
        "/api/nothing",
    ] {
        assert!(
            is_html_404(&s.get(path, &admin)),
            "{path} should be an unknown path"
        );
    }
}

#[test]
fn docs_page_is_swagger_ui_from_the_binary() {
    let s = TestServer::start();
    let page = s.send(s.request(Method::GET, "/api/docs/", &Auth::None).header(
        "Accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ));
    page.expect(200);
    assert_eq!(
        page.header("content-type").unwrap(),
        "text/html; charset=utf-8"
    );
    assert!(page.text.contains("SwaggerUIBundle("), "{}", page.text);

    // Everything the page loads is ours, and resolves to a served file.
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\"", "url: \""] {
        let mut rest = page.text.as_str();
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap();
            assets.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    assert!(assets.len() >= 3, "{assets:?}");
    let mut fetched = BTreeSet::new();
    for asset in assets.iter().filter(|a| !a.starts_with("data:")) {
        assert!(
            !asset.contains("://") && !asset.starts_with("//"),
            "the page loads {asset} from elsewhere"
        );
        // Resolve against /api/docs/ as a browser would.
        let mut segments: Vec<&str> = vec!["api", "docs"];
        let path = asset.split('?').next().unwrap();
        let mut parts = path.split('/').peekable();
        if path.starts_with('/') {
            segments.clear();
            parts.next();
        }
        for part in parts {
            match part {
                ".." => {
                    segments.pop();
                }
                "." => {}
                p => segments.push(p),
            }
        }
        let url = format!("/{}", segments.join("/"));
        let r = s.get(
            &format!("{url}{}", asset.strip_prefix(path).unwrap_or("")),
            &Auth::None,
        );
        r.expect(200);
        fetched.insert(url.clone());
        if url.starts_with("/api/docs/") {
            let content_type = r.header("content-type").unwrap();
            let expected = if url.ends_with(".css") {
                "text/css"
            } else {
                "text/javascript"
            };
            assert!(content_type.starts_with(expected), "{url}: {content_type}");
            assert!(
                r.header("cache-control")
                    .unwrap()
                    .contains("max-age=31536000"),
                "{url}"
            );
            assert!(r.text.len() > 10_000, "{url}: {} bytes", r.text.len());
        }
    }
    for needed in [
        "/api/docs/swagger-ui.css",
        "/api/docs/swagger-ui-bundle.js",
        "/api/schema/",
    ] {
        assert!(
            fetched.contains(needed),
            "the page does not load {needed}: {fetched:?}"
        );
    }
    let missing = s.get("/api/docs/swagger-ui-standalone-preset.js", &Auth::None);
    assert!(is_html_404(&missing));
}
