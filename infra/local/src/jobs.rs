//! Time travel for the scheduled jobs: `POST /_local/jobs/{job}?now=<RFC 3339>` runs
//! `renewal-reminders` or `expire-subscriptions` as of that moment (default: now), with an
//! optional `budget_seconds`, and answers with the run's report. In AWS the jobs run on their
//! schedules; here they also run on a timer (`AUTOBILL_LOCAL_JOBS_EVERY_SECONDS`, default 3600).

use autobill::app::AwsRenewals;
use autobill::http::error::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize)]
struct Params {
    now: Option<String>,
    budget_seconds: Option<u64>,
}

async fn run_job(
    State(jobs): State<Arc<AwsRenewals>>,
    Path(job): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<autobill::renewals::Report>, ApiError> {
    let now = match params.now.as_deref() {
        None | Some("") => Utc::now(),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map_err(|_| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_now",
                    "now: an RFC 3339 time, e.g. 2026-12-24T09:00:00+03:00",
                )
            })?
            .with_timezone(&Utc),
    };
    let budget = Duration::from_secs(params.budget_seconds.unwrap_or(840));
    match jobs.run(&job, now, budget).await {
        Ok(Some(report)) => Ok(Json(report)),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_job",
            "jobs: renewal-reminders, expire-subscriptions",
        )),
        Err(e) => {
            tracing::error!(job, error = %e, "local job failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "job_failed",
                "the job failed; the local stack's log says why",
            ))
        }
    }
}

pub fn router(jobs: Arc<AwsRenewals>) -> Router {
    Router::new()
        .route("/_local/jobs/{job}", post(run_job))
        .with_state(jobs)
}

/// The daily schedules of AWS, as a timer: both jobs as of now, every `every`.
pub async fn schedule(jobs: Arc<AwsRenewals>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        for job in [autobill::renewals::REMINDERS, autobill::renewals::EXPIRY] {
            if let Err(e) = jobs.run(job, Utc::now(), Duration::from_secs(600)).await {
                tracing::warn!(job, error = %e, "scheduled local job failed");
            }
        }
    }
}
