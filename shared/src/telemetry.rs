//! JSON logs for CloudWatch (and the local console). `RUST_LOG` sets the level, per target if
//! wanted (`info`, `warn,autobill=debug`); without it, or when it does not parse, `info`.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The level filter `RUST_LOG` asks for. (`Targets`, not `EnvFilter`: the same directives but
/// for span and field filters, without a regex engine in every Lambda binary.)
fn filter(spec: Option<&str>) -> Targets {
    spec.and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

pub fn init() {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    // Lambda stamps every line itself; locally the time is useful.
    let on_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let fmt = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_target(false);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if on_lambda {
        registry.with(fmt.without_time()).try_init()
    } else {
        registry.with(fmt).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn rust_log_sets_the_level_per_target() {
        let f = filter(Some("warn,autobill=debug"));
        assert!(f.would_enable("autobill::service", &Level::DEBUG));
        assert!(!f.would_enable("aws_smithy_runtime", &Level::INFO));
        let default = filter(None);
        assert!(default.would_enable("anything", &Level::INFO) && !default.would_enable("anything", &Level::DEBUG));
        // Unreadable: the default, not silence.
        assert!(filter(Some("=?!")).would_enable("autobill", &Level::INFO));
    }
}
