//! A fake management API that records every request and answers canned JSON per route, and
//! a runner for the built `autobill` binary.

pub mod sigv4;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// A request as the fake received it; header names are lower-case.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the CLI sent JSON")
    }

    pub fn sent(&self) -> sigv4::Sent<'_> {
        sigv4::Sent {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(&'static str, &'static str)>,
}

pub fn answer(status: u16, body: &Value) -> Answer {
    Answer {
        status,
        body: body.to_string(),
        headers: Vec::new(),
    }
}

/// Answers for `METHOD path`, given in turn; the last one repeats.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub answers: Vec<Answer>,
}

pub fn route(method: &'static str, path: &'static str, status: u16, body: Value) -> Route {
    Route {
        method,
        path,
        answers: vec![answer(status, &body)],
    }
}

struct Shared {
    routes: Mutex<Vec<Route>>,
    log: Mutex<Vec<Recorded>>,
}

pub struct FakeApi {
    pub url: String,
    shared: Arc<Shared>,
}

impl FakeApi {
    /// Serves on a loopback port from a thread of its own until the test process ends.
    pub fn start(routes: Vec<Route>) -> FakeApi {
        let shared = Arc::new(Shared {
            routes: Mutex::new(routes),
            log: Mutex::new(Vec::new()),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let app = Router::new().fallback(respond).with_state(shared.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                axum::serve(listener, app).await.expect("the fake API serves");
            });
        });
        FakeApi { url, shared }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The only request received.
    pub fn request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected one request, got {requests:#?}");
        requests.into_iter().next().unwrap()
    }
}

async fn respond(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    let found = {
        let mut routes = shared.routes.lock().unwrap();
        routes
            .iter_mut()
            .find(|r| r.method == recorded.method && r.path == recorded.path)
            .map(|r| {
                if r.answers.len() > 1 {
                    r.answers.remove(0)
                } else {
                    r.answers[0].clone()
                }
            })
    };
    shared.log.lock().unwrap().push(recorded);
    let Some(answer) = found else {
        let body = r#"{"error":"not_found","message":"no such route in the fake API"}"#;
        return (StatusCode::NOT_FOUND, [("content-type", "application/json")], body).into_response();
    };
    let mut response = (
        StatusCode::from_u16(answer.status).expect("a status"),
        [("content-type", "application/json")],
        answer.body,
    )
        .into_response();
    for (name, value) in answer.headers {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    response
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `autobill args…` with only the given environment (nothing from the test's own:
/// no AWS credentials or profile leak in).
pub fn autobill(env: &[(&str, &str)], args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_autobill"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run autobill");
    Run {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// A fresh directory for one test's files.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("autobill-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}
