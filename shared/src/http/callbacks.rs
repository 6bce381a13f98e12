//! `GET|POST /callbacks/{provider}`: payment systems call here. The raw bytes go to the
//! provider's adapter untouched; the answer is in the provider's own protocol.

use crate::callbacks::Callbacks;
use crate::payments::{Answer, Provider, RawCallback};
use crate::ports::{PaymentLookup, PaymentStore};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Request};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Provider callbacks are small; anything bigger is not one.
pub const MAX_CALLBACK_BYTES: usize = 64 * 1024;

pub struct CallbackApi<S, L> {
    pub callbacks: Callbacks<S, L>,
    /// The configured providers by route name (`stripe`, `yookassa`, …).
    pub providers: HashMap<&'static str, Box<dyn Provider>>,
}

/// The caller's address as the platform saw it: API Gateway's `sourceIp` on Lambda, the TCP
/// peer locally. Headers such as X-Forwarded-For are never trusted.
pub fn source_ip(req: &Request<Body>) -> Option<IpAddr> {
    if let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) =
        req.extensions().get::<lambda_http::request::RequestContext>()
    {
        return ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok());
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

pub fn answer_response(answer: Answer) -> Response {
    let mut res = (answer.status, answer.body).into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn callback<S: PaymentStore + 'static, L: PaymentLookup + 'static>(
    State(api): State<Arc<CallbackApi<S, L>>>,
    Path(provider): Path<String>,
    req: Request<Body>,
) -> Response {
    let Some(provider) = api.providers.get(provider.as_str()) else {
        return answer_response(Answer::new(
            http::StatusCode::NOT_FOUND,
            "application/json",
            r#"{"error":"unknown_provider"}"#,
        ));
    };
    let ip = source_ip(&req);
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_CALLBACK_BYTES).await else {
        return answer_response(Answer::new(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "application/json",
            r#"{"error":"payload_too_large"}"#,
        ));
    };
    let raw = RawCallback {
        method: &parts.method,
        headers: &parts.headers,
        query: parts.uri.query().unwrap_or(""),
        body: &body,
        source_ip: ip,
        now: api.callbacks.clock.now().timestamp(),
    };
    answer_response(api.callbacks.handle(provider.as_ref(), &raw).await)
}

/// `GET|POST /callbacks/{provider}`. Locally, serve with `into_make_service_with_connect_info`
/// so the caller's address is known.
pub fn callback_router<S, L>(api: Arc<CallbackApi<S, L>>) -> Router
where
    S: PaymentStore + 'static,
    L: PaymentLookup + 'static,
{
    Router::new()
        .route("/callbacks/{provider}", get(callback::<S, L>).post(callback::<S, L>))
        .with_state(api)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(forwarded_for: &str) -> Request<Body> {
        Request::builder()
            .uri("/callbacks/yookassa")
            .header("x-forwarded-for", forwarded_for)
            .header("x-real-ip", forwarded_for)
            .body(Body::empty())
            .unwrap()
    }

    #[test]
    fn the_callers_address_is_the_platforms_never_a_header() {
        // A YooKassa address claimed in headers by a caller on another address.
        let claimed = "185.71.76.1";
        let mut local = request(claimed);
        local
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 7], 40000))));
        assert_eq!(source_ip(&local), Some(IpAddr::from([203, 0, 113, 7])));

        let mut lambda = request(claimed);
        let mut ctx = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
        ctx.http.source_ip = Some("198.51.100.9".into());
        lambda
            .extensions_mut()
            .insert(lambda_http::request::RequestContext::ApiGatewayV2(ctx));
        assert_eq!(source_ip(&lambda), Some(IpAddr::from([198, 51, 100, 9])));

        // Neither: no address, so YooKassa's address check refuses it.
        assert_eq!(source_ip(&request(claimed)), None);
    }
}
