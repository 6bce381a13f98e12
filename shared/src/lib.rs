//! autobill's library. Layers depend one way only:
//! `domain` (pure) ← `ports` (traits) ← `adapters` (AWS, in-memory) and `render` (documents)
//! ← `service` ← `http` (axum routers, hosted on Lambda or locally) ← `app` (wiring).

pub mod adapters;
pub mod admin;
pub mod app;
pub mod aws;
pub mod callbacks;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod events;
pub mod fulfil;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod outbox;
pub mod payments;
pub mod ports;
pub mod render;
pub mod renewals;
pub mod samples;
pub mod service;
pub mod statements;
pub mod telemetry;
pub mod webhooks;
