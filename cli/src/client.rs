//! HTTP to the management API: the URL, authentication (an API key, or SigV4 with the
//! standard AWS credential chain), retries where they are safe, and errors.

use crate::args::Hidden;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

/// API Gateway's service name in SigV4 scopes.
pub const SERVICE: &str = "execute-api";

/// Attempts of a request that is safe to repeat (a GET, or a POST with an idempotency key).
const ATTEMPTS: u32 = 3;

/// RFC 3986 unreserved characters stay, everything else is percent-encoded: the form AWS
/// canonicalises, so the path and query sent are the ones signed.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or setup (exit 2): no credentials, an unusable argument.
    Usage(String),
    /// The API refused or failed: its status, code, message and per-field codes.
    Api {
        status: u16,
        code: Option<String>,
        message: String,
        fields: Vec<(String, String)>,
    },
    /// No answer.
    Network(String),
    /// An answer this CLI cannot read.
    Malformed(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(message) => f.write_str(message),
            Failure::Api {
                status,
                code,
                message,
                fields,
            } => {
                match code {
                    Some(code) => write!(f, "{message} ({code}, HTTP {status})")?,
                    None => write!(f, "{message} (HTTP {status})")?,
                }
                for (field, code) in fields {
                    write!(f, "\n  {field}: {code}")?;
                }
                Ok(())
            }
            Failure::Network(message) => write!(f, "cannot reach the API: {message}"),
            Failure::Malformed(message) => write!(f, "unexpected response from the API: {message}"),
        }
    }
}

/// An error with its causes, `a: b: c`; its own line breaks kept (the AWS chain lists what
/// it tried one per line).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    crate::render::clean_lines(&out)
}

/// How requests prove who sends them.
pub enum Auth {
    /// The local stack's admin API key.
    Bearer(Hidden),
    /// AWS: SigV4 with the caller's credentials.
    SigV4 { credentials: Credentials, region: String },
}

impl Auth {
    /// The API key when there is one (sent only over HTTPS or to this machine, and never to
    /// API Gateway, which takes SigV4), else the standard AWS chain's credentials and region.
    pub async fn resolve(api_key: Option<Hidden>, region: Option<String>, url: &reqwest::Url) -> Result<Auth, Failure> {
        let host = url.host_str().unwrap_or_default();
        let aws = host.ends_with(".amazonaws.com");
        if let Some(key) = api_key.filter(|k| !k.expose().is_empty()) {
            let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1");
            if aws {
                eprintln!("note: {host} is API Gateway: signing with AWS credentials, not the API key");
            } else if url.scheme() != "https" && !loopback {
                return Err(Failure::Usage(format!(
                    "refusing to send the API key over plain HTTP to {host}: use https, or a loopback address"
                )));
            } else {
                return Ok(Auth::Bearer(key));
            }
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(Region::new(region));
        }
        let config = loader.load().await;
        let no_credentials = |why: String| {
            Failure::Usage(format!(
                "no credentials: pass --api-key (or set AUTOBILL_ADMIN_API_KEY) for the local stack, \
                 or provide AWS credentials (environment, profile; for an SSO profile: \
                 eval \"$(aws configure export-credentials --format env)\"): {why}"
            ))
        };
        let provider = config
            .credentials_provider()
            .ok_or_else(|| no_credentials("no credential provider".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| no_credentials(chain(&e)))?;
        let region = config
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| Failure::Usage("no AWS region for signing: pass --region or set AWS_REGION".into()))?;
        Ok(Auth::SigV4 { credentials, region })
    }
}

/// Signs requests with SigV4 for one service in one region.
pub struct Signer<'a> {
    pub credentials: &'a Credentials,
    pub region: &'a str,
    pub service: &'a str,
}

impl Signer<'_> {
    /// The headers to add (`authorization`, `x-amz-date`, and `x-amz-security-token` with
    /// temporary credentials) for a request with these `headers` (besides `host`, which is
    /// taken from the URL) and this body. The URL must be in its encoded form, as sent.
    pub fn sign(
        &self,
        time: SystemTime,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, String> {
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region)
            .name(self.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let request = SignableRequest::new(method, url, headers.iter().copied(), SignableBody::Bytes(body))
            .map_err(|e| chain(&e))?;
        let (instructions, _signature) = sign(request, &params).map_err(|e| chain(&e))?.into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }
}

/// A request's body.
pub enum Body {
    /// Sent as `application/json`.
    Json(Value),
    /// Bytes sent as they are (a statement file), with their content type.
    Raw { bytes: Vec<u8>, content_type: &'static str },
}

/// One call: `path` is a list of segments (each percent-encoded here), under the base URL.
pub struct Request {
    pub method: Method,
    pub path: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Body>,
    pub idempotency_key: Option<String>,
}

impl Request {
    pub fn new(method: Method, path: &[&str]) -> Request {
        Request {
            method,
            path: path.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            idempotency_key: None,
        }
    }

    pub fn get(path: &[&str]) -> Request {
        Request::new(Method::GET, path)
    }

    pub fn json(self, body: Value) -> Request {
        Request {
            body: Some(Body::Json(body)),
            ..self
        }
    }

    /// A body that is not JSON: `bytes` as they are, as `content_type`.
    pub fn raw(self, bytes: Vec<u8>, content_type: &'static str) -> Request {
        Request {
            body: Some(Body::Raw { bytes, content_type }),
            ..self
        }
    }

    pub fn query(mut self, name: &'static str, value: impl ToString) -> Request {
        self.query.push((name, value.to_string()));
        self
    }
}

/// A successful answer: its JSON (none for 204), and whether it replays an earlier request
/// with the same idempotency key.
#[derive(Debug)]
pub struct Reply {
    pub body: Option<Json>,
    pub replayed: bool,
}

/// A JSON answer, parsed, and as it came (for `--json`: key order and numbers untouched).
#[derive(Debug)]
pub struct Json {
    pub value: Value,
    pub text: String,
}

pub struct Client {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
    actor: Option<String>,
}

impl Client {
    pub fn new(base: Url, auth: Auth, actor: Option<String>) -> Result<Client, Failure> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("autobill-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            // A redirect would resend the request elsewhere; the API never redirects.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Failure::Network(chain(&e)))?;
        Ok(Client {
            http,
            base,
            auth,
            actor,
        })
    }

    /// The base URL (with any path prefix, e.g. a stage) plus the encoded segments and query.
    pub fn url(&self, request: &Request) -> Result<Url, Failure> {
        let mut path = self.base.path().trim_end_matches('/').to_owned();
        for segment in &request.path {
            // URL parsers resolve `.`/`..` (even encoded), which would call another route.
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err(Failure::Usage(format!("invalid identifier {segment:?}")));
            }
            path.push('/');
            path.extend(utf8_percent_encode(segment, UNRESERVED));
        }
        let query: Vec<String> = request
            .query
            .iter()
            .map(|(name, value)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(name, UNRESERVED),
                    utf8_percent_encode(value, UNRESERVED)
                )
            })
            .collect();
        let mut url = self.base.clone();
        url.set_path(&path);
        url.set_query((!query.is_empty()).then(|| query.join("&")).as_deref());
        Ok(url)
    }

    /// Sends the request; a GET or a request with an idempotency key is retried when no
    /// answer came or the API said 503 (`unavailable`, safe to retry).
    pub async fn send(&self, request: &Request) -> Result<Reply, Failure> {
        let url = self.url(request)?;
        let json;
        let (body, content_type): (&[u8], Option<&str>) = match &request.body {
            None => (&[], None),
            Some(Body::Json(value)) => {
                json = value.to_string().into_bytes();
                (&json, Some("application/json"))
            }
            Some(Body::Raw { bytes, content_type }) => (bytes, Some(*content_type)),
        };
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type));
        }
        if let Some(key) = &request.idempotency_key {
            headers.push(("idempotency-key", key));
        }
        if let Some(actor) = &self.actor {
            headers.push(("x-autobill-actor", actor));
        }
        // Header values are ASCII; say so before sending rather than fail inside the client.
        for (flag, value) in [
            ("--idempotency-key", &request.idempotency_key),
            ("--actor", &self.actor),
        ] {
            if value
                .as_ref()
                .is_some_and(|v| !v.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
            {
                return Err(Failure::Usage(format!("{flag}: printable ASCII only")));
            }
        }
        let retryable = request.method == Method::GET || request.idempotency_key.is_some();
        let attempts = if retryable { ATTEMPTS } else { 1 };
        let mut attempt = 1;
        loop {
            // Signed per attempt: x-amz-date must be current.
            let auth = self.authorization(&request.method, &url, &headers, body)?;
            let outcome = self.exchange(&request.method, &url, &headers, &auth, body).await;
            let again = attempt < attempts
                && match &outcome {
                    Ok((status, _, _)) => *status == 503,
                    Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
                };
            if !again {
                let (status, replayed, bytes) = outcome.map_err(|e| Failure::Network(chain(&e)))?;
                return interpret(status, replayed, &bytes);
            }
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            attempt += 1;
        }
    }

    /// The authentication headers for this request.
    fn authorization(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, Failure> {
        match &self.auth {
            Auth::Bearer(key) if !key.expose().bytes().all(|b| b.is_ascii_graphic()) => {
                Err(Failure::Usage("the API key must be printable ASCII".into()))
            }
            Auth::Bearer(key) => Ok(vec![("authorization".into(), format!("Bearer {}", key.expose()))]),
            Auth::SigV4 { credentials, region } => Signer {
                credentials,
                region,
                service: SERVICE,
            }
            .sign(SystemTime::now(), method.as_str(), url.as_str(), headers, body)
            .map_err(|why| Failure::Usage(format!("cannot sign the request: {why}"))),
        }
    }

    /// One HTTP exchange: status, `idempotent-replayed`, body.
    async fn exchange(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(&str, &str)],
        auth: &[(String, String)],
        body: &[u8],
    ) -> Result<(u16, bool, Vec<u8>), reqwest::Error> {
        let mut builder = self.http.request(method.clone(), url.clone());
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        for (name, value) in auth {
            builder = builder.header(name, value);
        }
        if !body.is_empty() {
            builder = builder.body(body.to_vec());
        }
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let replayed = response
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        let bytes = response.bytes().await?;
        Ok((status, replayed, bytes.to_vec()))
    }
}

/// A 2xx answer's JSON, or the API's error.
fn interpret(status: u16, replayed: bool, bytes: &[u8]) -> Result<Reply, Failure> {
    if (200..300).contains(&status) {
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            let not_json =
                |e: &dyn fmt::Display| Failure::Malformed(format!("HTTP {status} with a body that is not JSON ({e})"));
            let text = String::from_utf8(bytes.to_vec()).map_err(|e| not_json(&e))?;
            let value = serde_json::from_str(&text).map_err(|e| not_json(&e))?;
            Some(Json { value, text })
        };
        return Ok(Reply { body, replayed });
    }
    Err(api_error(status, bytes))
}

/// `{"error", "message", "fields"}`, or (from API Gateway) `{"message"}`, or anything else.
fn api_error(status: u16, bytes: &[u8]) -> Failure {
    #[derive(Deserialize)]
    struct Body {
        error: Option<String>,
        message: Option<String>,
        #[serde(default)]
        fields: BTreeMap<String, Value>,
    }
    let clean = crate::render::clean;
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error");
    match serde_json::from_slice::<Body>(bytes) {
        Ok(body) if body.error.is_some() || body.message.is_some() => Failure::Api {
            status,
            code: body.error.as_deref().map(clean),
            message: clean(body.message.as_deref().unwrap_or(reason)),
            fields: body
                .fields
                .into_iter()
                .map(|(field, code)| {
                    let code = code.as_str().map_or_else(|| code.to_string(), str::to_owned);
                    (clean(&field), clean(&code))
                })
                .collect(),
        },
        _ => {
            let text = String::from_utf8_lossy(bytes);
            let snippet: String = text.trim().chars().take(200).collect();
            let message = if snippet.is_empty() {
                reason.to_owned()
            } else {
                format!("{reason}: {}", clean(&snippet))
            };
            Failure::Api {
                status,
                code: None,
                message,
                fields: Vec::new(),
            }
        }
    }
}

#[cfg(test)]
#[path = "../tests/support/sigv4.rs"]
mod sigv4_check;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::UNIX_EPOCH;

    #[tokio::test]
    async fn the_api_key_goes_only_over_https_or_to_this_machine() {
        let key = || Some(Hidden::from("k".to_owned()));
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        for ok in [
            "http://127.0.0.1:3000",
            "http://localhost:3000",
            "http://[::1]:3000",
            "https://billing.example.com",
        ] {
            assert!(
                matches!(Auth::resolve(key(), None, &url(ok)).await, Ok(Auth::Bearer(_))),
                "{ok}"
            );
        }
        match Auth::resolve(key(), None, &url("http://billing.example.com")).await {
            Err(Failure::Usage(why)) => assert!(why.contains("plain HTTP"), "{why}"),
            _ => panic!("the key would have gone out in clear text"),
        }
    }

    fn client(base: &str) -> Client {
        Client::new(
            Url::parse(base).unwrap(),
            Auth::Bearer(Hidden::from("k".to_owned())),
            None,
        )
        .unwrap()
    }

    #[test]
    fn urls_encode_every_segment_and_keep_a_stage_prefix() {
        let c = client("https://abc.execute-api.eu-central-1.amazonaws.com/prod/");
        let r = Request::get(&["admin", "accounts", "ООО «Ромашка»/1 +2", "invoices"]).query("status", "needs review+");
        assert_eq!(
            c.url(&r).unwrap().as_str(),
            "https://abc.execute-api.eu-central-1.amazonaws.com/prod/admin/accounts/\
             %D0%9E%D0%9E%D0%9E%20%C2%AB%D0%A0%D0%BE%D0%BC%D0%B0%D1%88%D0%BA%D0%B0%C2%BB%2F1%20%2B2/invoices\
             ?status=needs%20review%2B"
        );
        let c = client("http://127.0.0.1:3000");
        assert_eq!(
            c.url(&Request::get(&["admin", "invoices", "2026-000123"]))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:3000/admin/invoices/2026-000123"
        );
        for bad in ["", ".", ".."] {
            let r = Request::get(&["admin", "invoices", bad]);
            assert!(matches!(c.url(&r), Err(Failure::Usage(_))), "{bad:?}");
        }
    }

    #[test]
    fn api_errors_keep_code_message_and_fields() {
        let body =
            json!({"error": "validation_failed", "message": "Проверьте данные", "fields": {"inn": "invalid_checksum"}});
        let f = interpret(422, false, body.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            f.to_string(),
            "Проверьте данные (validation_failed, HTTP 422)\n  inn: invalid_checksum"
        );
        assert_eq!(f.exit_code(), 1);
        // API Gateway's own refusals have no code.
        let f = interpret(403, false, br#"{"message":"Forbidden"}"#).unwrap_err();
        assert_eq!(f.to_string(), "Forbidden (HTTP 403)");
        let f = interpret(502, false, b"<html>\x1b[2J bad gateway</html>").unwrap_err();
        assert_eq!(f.to_string(), "Bad Gateway: <html> [2J bad gateway</html> (HTTP 502)");
        let f = interpret(500, false, b"").unwrap_err();
        assert_eq!(f.to_string(), "Internal Server Error (HTTP 500)");
        assert!(matches!(interpret(200, false, b"{oops"), Err(Failure::Malformed(_))));
        assert!(interpret(204, false, b"").unwrap().body.is_none());
        let reply = interpret(201, true, b" {\"b\": 1, \"a\": 2}").unwrap();
        assert!(reply.replayed);
        let body = reply.body.unwrap();
        assert_eq!(
            (body.value, body.text.as_str()),
            (json!({"a": 2, "b": 1}), " {\"b\": 1, \"a\": 2}")
        );
        assert!(matches!(interpret(200, false, b"\"\xff\""), Err(Failure::Malformed(_))));
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// 2015-08-30T12:36:00Z, the AWS signing test suite's clock.
    const SUITE_TIME: u64 = 1_440_938_160;

    fn header<'a>(signed: &'a [(String, String)], name: &str) -> &'a str {
        signed
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn sigv4_matches_the_aws_test_suite() {
        // AWS SigV4 test suite, `get-vanilla`.
        const DOCUMENTED: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
            SignedHeaders=host;x-amz-date, \
            Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let signer = Signer {
            credentials: &credentials,
            region: "us-east-1",
            service: "service",
        };
        let signed = signer
            .sign(at(SUITE_TIME), "GET", "https://example.amazonaws.com/", &[], b"")
            .unwrap();
        assert_eq!(header(&signed, "authorization"), DOCUMENTED);
        assert_eq!(header(&signed, "x-amz-date"), "20150830T123600Z");
        // The independent check agrees with the suite too.
        let request = sigv4_check::Sent {
            method: "GET",
            path: "/",
            query: "",
            headers: &[
                ("host".into(), "example.amazonaws.com".into()),
                ("x-amz-date".into(), "20150830T123600Z".into()),
            ],
            body: b"",
        };
        assert_eq!(
            sigv4_check::expected_authorization(&request, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", DOCUMENTED),
            Ok(DOCUMENTED.to_owned())
        );
    }

    #[test]
    fn sigv4_for_execute_api_matches_an_independent_computation() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let credentials = Credentials::new("AKIDEXAMPLE", secret, Some("SESSION/token+=".into()), None, "test");
        let signer = Signer {
            credentials: &credentials,
            region: "eu-central-1",
            service: SERVICE,
        };
        let c = client("https://abc.execute-api.eu-central-1.amazonaws.com:8443/prod");
        let request = Request::get(&["admin", "invoices", "2026-000123", "void"])
            .query("b", "2 3")
            .query("a", "Ж");
        let url = c.url(&request).unwrap();
        let body = json!({"reason": "выставлен по ошибке"}).to_string();
        let headers = [("content-type", "application/json"), ("x-autobill-actor", "alice")];
        let signed = signer
            .sign(at(1_795_000_000), "POST", url.as_str(), &headers, body.as_bytes())
            .unwrap();

        let authorization = header(&signed, "authorization");
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261118/eu-central-1/execute-api/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-autobill-actor, Signature="
            ),
            "{authorization}"
        );
        assert_eq!(header(&signed, "x-amz-security-token"), "SESSION/token+=");
        // Everything as it goes on the wire, checked from first principles.
        let mut sent: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        sent.push(("host".into(), "abc.execute-api.eu-central-1.amazonaws.com:8443".into()));
        sent.extend(signed.iter().cloned());
        let request = sigv4_check::Sent {
            method: "POST",
            path: url.path(),
            query: url.query().unwrap_or(""),
            headers: &sent,
            body: body.as_bytes(),
        };
        assert_eq!(
            sigv4_check::expected_authorization(&request, secret, authorization),
            Ok(authorization.to_owned())
        );
        // A different secret, body or header gives a different signature.
        assert_ne!(
            sigv4_check::expected_authorization(&request, "other", authorization),
            Ok(authorization.to_owned())
        );
        let tampered = sigv4_check::Sent { body: b"{}", ..request };
        assert_ne!(
            sigv4_check::expected_authorization(&tampered, secret, authorization),
            Ok(authorization.to_owned())
        );
    }
}
