//! `openapi.yaml` and the routers agree: the spec documents exactly `PUBLIC_ROUTES` and
//! `ADMIN_ROUTES` (the management API, under `/admin/`), and every public route is really routed
//! (and no other method on those paths is).

mod common;

use autobill::adapters::memory::MemoryStore;
use autobill::callbacks::Callbacks;
use autobill::http::admin::ADMIN_ROUTES;
use autobill::http::callbacks::{CallbackApi, callback_router};
use autobill::http::links::Links;
use autobill::http::{
    CatalogueApi, InvoiceApi, PUBLIC_ROUTES, create_invoice_router, get_invoice_router, plans_router,
};
use autobill::payments::Provider;
use autobill::payments::sandbox::Sandbox;
use autobill::service::Invoices;
use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const SPEC: &str = include_str!("../../openapi.yaml");

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// (METHOD, path) of every operation in an OpenAPI document laid out as `openapi.yaml` promises:
/// paths are the keys indented by 2 spaces under the top-level `paths:`, operations the HTTP
/// method keys indented by 4 spaces under a path.
fn spec_routes(yaml: &str) -> Vec<(String, String)> {
    let mut routes = Vec::new();
    let mut in_paths = false;
    let mut path: Option<String> = None;
    for (n, line) in yaml.lines().enumerate() {
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        assert!(!line.starts_with('\t'), "openapi.yaml:{}: tab indentation", n + 1);
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent == 0 {
            in_paths = text == "paths:";
            path = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        let key = text
            .strip_suffix(':')
            .map(|k| k.trim_matches(|c| c == '"' || c == '\''));
        match indent {
            2 => {
                let key = key.filter(|k| k.starts_with('/'));
                path = Some(
                    key.unwrap_or_else(|| panic!("openapi.yaml:{}: expected a path key, got {text:?}", n + 1))
                        .to_owned(),
                );
            }
            4 => {
                if let Some(method) = key.filter(|k| METHODS.contains(k)) {
                    let path = path
                        .clone()
                        .unwrap_or_else(|| panic!("openapi.yaml:{}: a method outside a path", n + 1));
                    routes.push((method.to_ascii_uppercase(), path));
                }
            }
            _ => {}
        }
    }
    routes
}

#[test]
fn the_parser_reads_this_layout() {
    let yaml = "openapi: 3.1.0\npaths:\n  /a:\n    parameters:\n      - name: x\n    get:\n      description: |\n        post:\n    post:\n  \"/b/{id}\":\n    delete:\ncomponents:\n  schemas:\n    get:\n";
    assert_eq!(
        spec_routes(yaml),
        [("GET", "/a"), ("POST", "/a"), ("DELETE", "/b/{id}")].map(|(m, p)| (m.to_owned(), p.to_owned()))
    );
}

/// The management API's operations, hosted by the admin functions (`/admin/…`, and an
/// operator's bank statement upload).
fn is_admin(path: &str) -> bool {
    path.starts_with("/admin/") || path == "/statements"
}

fn owned(routes: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    routes.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect()
}

#[test]
fn the_spec_documents_exactly_the_public_and_admin_routes() {
    let documented = spec_routes(SPEC);
    let unique: BTreeSet<(String, String)> = documented.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        documented.len(),
        "an operation is documented twice: {documented:?}"
    );
    let public = owned(&PUBLIC_ROUTES);
    let admin = owned(&ADMIN_ROUTES);
    assert_eq!(public.len(), PUBLIC_ROUTES.len(), "PUBLIC_ROUTES names a route twice");
    assert_eq!(admin.len(), ADMIN_ROUTES.len(), "ADMIN_ROUTES names a route twice");
    // The management API is exactly what lives under /admin/ (IAM-authorised proxy routes in
    // AWS), and POST /statements.
    assert!(
        admin.iter().all(|(_, p)| is_admin(p)),
        "ADMIN_ROUTES outside the management API: {admin:?}"
    );
    assert!(
        !public.iter().any(|(_, p)| is_admin(p)),
        "PUBLIC_ROUTES under /admin/: {public:?}"
    );

    let (spec_admin, spec_public): (BTreeSet<_>, BTreeSet<_>) = unique.into_iter().partition(|(_, p)| is_admin(p));
    assert_eq!(
        spec_public, public,
        "openapi.yaml (left) and autobill::http::PUBLIC_ROUTES (right) differ"
    );
    assert_eq!(
        spec_admin, admin,
        "openapi.yaml's /admin/ operations (left) and autobill::http::admin::ADMIN_ROUTES (right) differ"
    );
    assert!(SPEC.starts_with("# ") && SPEC.contains("\nopenapi: 3.1.0\n"));
}

/// No YooKassa here.
struct NoLookup;
impl autobill::ports::PaymentLookup for NoLookup {
    async fn fetch(&self, _: &str) -> Result<Vec<u8>, autobill::ports::StoreError> {
        Err(autobill::ports::StoreError("not configured".into()))
    }
}

/// Every public router, as the deployed functions host them, on in-memory adapters (the admin
/// router's own tests check that it routes `ADMIN_ROUTES`).
fn app() -> Router {
    let store = MemoryStore::default();
    let billing = Arc::new(common::billing(""));
    let clock = Arc::new(common::at("2026-11-27T12:00:00Z"));
    let invoices = Arc::new(InvoiceApi {
        service: Invoices {
            store: store.clone(),
            documents: store.clone(),
            billing: billing.clone(),
            clock: clock.clone(),
        },
        links: Links::new(b"test-link-secret-0123456789".to_vec(), None),
        pdf_link_ttl: Duration::from_secs(600),
        sandbox_pay: false,
    });
    let mut providers: HashMap<&'static str, Box<dyn Provider>> = HashMap::new();
    providers.insert("sandbox", Box::new(Sandbox::new(b"sandbox-secret".to_vec(), 300)));
    let callbacks = Arc::new(CallbackApi {
        callbacks: Callbacks::<_, NoLookup> {
            store,
            lookup: None,
            number_prefix: String::new(),
            clock: clock.clone(),
        },
        providers,
    });
    plans_router(Arc::new(CatalogueApi { billing, clock }))
        .merge(create_invoice_router(invoices.clone()))
        .merge(get_invoice_router(invoices))
        .merge(callback_router(callbacks))
}

/// A concrete path for a route template.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", "0190f0e2-0000-7000-8000-000000000000")
        .replace("{provider}", "sandbox")
}

async fn send(app: &Router, method: &str, path: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    (
        status,
        axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap().to_vec(),
    )
}

/// The router's own answer for a path it does not know: 404 with an empty body (every handler
/// of the public API answers a 404 with a body).
fn unrouted(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::NOT_FOUND && body.is_empty()
}

#[tokio::test]
async fn every_documented_route_is_routed() {
    let app = app();

    // The two ways a route can be missing look like this.
    for bogus in ["/invoices/x/nope", "/callbacks/sandbox/x", "/plans/x", "/nope"] {
        let (status, body) = send(&app, "GET", bogus).await;
        assert!(unrouted(status, &body), "GET {bogus}: {status}");
    }
    assert_eq!(send(&app, "DELETE", "/plans").await.0, StatusCode::METHOD_NOT_ALLOWED);

    let documented: Vec<(String, String)> = spec_routes(SPEC).into_iter().filter(|(_, p)| !is_admin(p)).collect();
    for (method, template) in &documented {
        let path = concrete(template);
        let (status, body) = send(&app, method, &path).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is not routed");
        assert!(!unrouted(status, &body), "{method} {path} is not routed: {status}");
        assert!(
            !status.is_server_error(),
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }

    // The documented paths serve no undocumented method (HEAD comes with GET).
    let paths: BTreeSet<&str> = documented.iter().map(|(_, p)| p.as_str()).collect();
    for template in paths {
        let path = concrete(template);
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if documented.iter().any(|(m, p)| m == method && p == template) {
                continue;
            }
            let (status, _) = send(&app, method, &path).await;
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is routed but not documented"
            );
        }
    }
}
