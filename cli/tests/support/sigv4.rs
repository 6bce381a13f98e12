//! SigV4 recomputed from the specification (canonical request, string to sign, HMAC-SHA256
//! key chain) without aws-sigv4, to check what the CLI signs. Shared by the unit tests and
//! the integration tests. Assumes the path and query are sent strictly percent-encoded, as
//! the CLI sends them.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A request as it went on the wire: headers with lower-case names.
#[derive(Clone, Copy)]
pub struct Sent<'a> {
    pub method: &'a str,
    /// Encoded, as sent.
    pub path: &'a str,
    /// Encoded, as sent, without `?`.
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// URI-encodes everything but unreserved characters (and `/` when `keep_slash`).
fn uri_encode(s: &str, keep_slash: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b'/' if keep_slash => "/".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `Authorization` header the request should carry, given the one it carries (for its
/// credential scope and signed-header list): equal to it when the signature is right.
pub fn expected_authorization(sent: &Sent, secret: &str, authorization: &str) -> Result<String, String> {
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let (credential, rest) = rest.split_once(", SignedHeaders=").ok_or("no SignedHeaders")?;
    let (signed_headers, _signature) = rest.split_once(", Signature=").ok_or("no Signature")?;
    let (access_key, scope) = credential.split_once('/').ok_or("bad Credential")?;
    let scope_parts: Vec<&str> = scope.split('/').collect();
    let [date, region, service, "aws4_request"] = scope_parts[..] else {
        return Err(format!("bad scope {scope}"));
    };
    let header = |name: &str| {
        let values: Vec<String> = sent
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            Err(format!("signed header {name} not sent"))
        } else {
            Ok(values.join(","))
        }
    };
    let amz_date = header("x-amz-date")?;
    if !amz_date.starts_with(date) {
        return Err(format!("x-amz-date {amz_date} is not on {date}"));
    }

    // Canonical URI: each segment encoded once more (services other than S3 double-encode).
    let canonical_uri = uri_encode(sent.path, true);
    let mut pairs: Vec<(&str, &str)> = sent
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort_unstable();
    let canonical_query = pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        canonical_headers.push_str(&format!("{name}:{}\n", header(name)?));
    }
    let canonical_request = format!(
        "{}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{}",
        sent.method,
        sha256_hex(sent.body)
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = [date, region, service, "aws4_request"]
        .iter()
        .fold(format!("AWS4{secret}").into_bytes(), |key, part| hmac(&key, part));
    let signature = hex::encode(hmac(&key, &string_to_sign));
    Ok(format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    ))
}
