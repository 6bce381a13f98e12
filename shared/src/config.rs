//! Configuration: the seller's billing profile and plans (a documented file or inline JSON),
//! and the deployment settings every function reads from its environment.

use crate::domain::Catalogue;
use crate::domain::order::SellerProfile;
use serde::Deserialize;
use std::time::Duration;

/// What the vendor configures: who issues invoices, on what terms, for which plans.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingConfig {
    pub seller: SellerProfile,
    pub plans: Catalogue,
    /// Webhook endpoints seeded into the table (operators then edit them there).
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// Renewal reminders and expiry.
    #[serde(default)]
    pub renewals: crate::domain::renewal::RenewalPolicy,
}

/// A webhook endpoint as configured; the secret is generated when not given.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub conditions: Vec<crate::webhooks::Condition>,
    #[serde(default)]
    pub fields: Vec<String>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl WebhookConfig {
    pub fn endpoint(&self) -> Result<crate::webhooks::Endpoint, String> {
        let secret = match &self.secret {
            Some(s) => s.clone(),
            None => {
                let mut random = [0u8; 32];
                getrandom::fill(&mut random).map_err(|e| format!("webhook {}: no randomness: {e}", self.id))?;
                crate::webhooks::Secret::generate(random).1
            }
        };
        Ok(crate::webhooks::Endpoint {
            id: self.id.clone(),
            url: self.url.clone(),
            secret,
            events: self.events.clone(),
            conditions: self.conditions.clone(),
            fields: self.fields.clone(),
            enabled: true,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

fn invalid(name: &'static str, reason: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.to_string(),
    }
}

impl BillingConfig {
    /// Parses TOML or JSON (by `format`) and checks every requisite and plan.
    pub fn parse(text: &str, format: ConfigFormat) -> Result<Self, String> {
        let cfg: BillingConfig = match format {
            ConfigFormat::Json => serde_json::from_str(text).map_err(|e| e.to_string())?,
            ConfigFormat::Toml => toml::from_str(text).map_err(|e| e.to_string())?,
        };
        cfg.seller.validate()?;
        cfg.plans.validate()?;
        cfg.renewals.validate()?;
        let today = cfg.seller.local_date(chrono::Utc::now());
        for plan in &cfg.plans.0 {
            if cfg.seller.vat_rates.rate(plan.vat, today).is_none() {
                return Err(format!(
                    "plan {:?}: no VAT rate for {:?} is in force on {today}",
                    plan.id, plan.vat
                ));
            }
        }
        Ok(cfg)
    }

    /// `AUTOBILL_CONFIG` (inline JSON, as the SAM template passes it) or `AUTOBILL_CONFIG_FILE`
    /// (a `.toml` or `.json` file, as the local stack uses).
    pub fn from_env() -> Result<Self, ConfigError> {
        if let Some(text) = var("AUTOBILL_CONFIG") {
            return Self::parse(&text, ConfigFormat::Json).map_err(|e| invalid("AUTOBILL_CONFIG", e));
        }
        let path =
            var("AUTOBILL_CONFIG_FILE").ok_or(ConfigError::Missing("AUTOBILL_CONFIG or AUTOBILL_CONFIG_FILE"))?;
        let text =
            std::fs::read_to_string(&path).map_err(|e| invalid("AUTOBILL_CONFIG_FILE", format!("{path}: {e}")))?;
        let format = if path.ends_with(".json") {
            ConfigFormat::Json
        } else {
            ConfigFormat::Toml
        };
        Self::parse(&text, format).map_err(|e| invalid("AUTOBILL_CONFIG_FILE", format!("{path}: {e}")))
    }
}

impl BillingConfig {
    /// Days after a plan's period ends until an unpaid subscription expires.
    pub fn grace_days(&self, plan: &crate::domain::Plan) -> u32 {
        self.renewals.grace(plan.billing, self.seller.payment_terms_days)
    }
}

#[derive(Clone, Copy, Debug)]
pub enum ConfigFormat {
    Json,
    Toml,
}

/// Deployment settings. Secrets are kept out of `Debug`.
#[derive(Clone)]
pub struct Settings {
    pub table: String,
    pub bucket: String,
    /// Signs invoice links (`?token=`); at least 32 bytes.
    pub link_secret: Vec<u8>,
    /// The link secret before a rotation: links made with it keep opening while it is set.
    pub previous_link_secret: Option<Vec<u8>>,
    /// Base of the links we hand out, e.g. `https://billing.example.com`; derived from the
    /// request's Host when empty.
    pub public_url: Option<String>,
    /// Origins allowed to call the API from a browser; none means same-origin only.
    pub cors_origins: Vec<String>,
    /// How long a presigned PDF link stays valid. At most 12 h: on Lambda a presigned URL dies
    /// with the role's temporary credentials anyway, so long-lived links use `/invoices/{id}/pdf`.
    pub pdf_link_ttl: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("table", &self.table)
            .field("bucket", &self.bucket)
            .field("link_secret", &"<redacted>")
            .field(
                "previous_link_secret",
                &self.previous_link_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("public_url", &self.public_url)
            .field("cors_origins", &self.cors_origins)
            .field("pdf_link_ttl", &self.pdf_link_ttl)
            .finish()
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let link_secret = var("AUTOBILL_LINK_SECRET").ok_or(ConfigError::Missing("AUTOBILL_LINK_SECRET"))?;
        if link_secret.len() < 32 {
            return Err(invalid("AUTOBILL_LINK_SECRET", "use at least 32 characters"));
        }
        let previous_link_secret = var("AUTOBILL_PREVIOUS_LINK_SECRET");
        if previous_link_secret.as_ref().is_some_and(|s| s.len() < 32) {
            return Err(invalid(
                "AUTOBILL_PREVIOUS_LINK_SECRET",
                "use at least 32 characters, or leave it empty",
            ));
        }
        let public_url = var("AUTOBILL_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &public_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(invalid("AUTOBILL_PUBLIC_URL", "must start with https:// or http://"));
        }
        let ttl = match var("AUTOBILL_PDF_LINK_TTL_SECONDS") {
            None => 3600,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|s| (60..=43_200).contains(s))
                .ok_or_else(|| invalid("AUTOBILL_PDF_LINK_TTL_SECONDS", "60 to 43200 seconds"))?,
        };
        Ok(Settings {
            table: var("AUTOBILL_TABLE").ok_or(ConfigError::Missing("AUTOBILL_TABLE"))?,
            bucket: var("AUTOBILL_BUCKET").ok_or(ConfigError::Missing("AUTOBILL_BUCKET"))?,
            link_secret: link_secret.into_bytes(),
            previous_link_secret: previous_link_secret.map(String::into_bytes),
            public_url,
            cors_origins: var("AUTOBILL_CORS_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            pdf_link_ttl: Duration::from_secs(ttl),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_valid() {
        let text = include_str!("../../infra/local/config.toml");
        let cfg = BillingConfig::parse(text, ConfigFormat::Toml).unwrap();
        assert!(cfg.plans.get("start").is_some());
    }

    #[test]
    fn typos_and_gaps_in_the_config_are_refused() {
        let demo = include_str!("../../infra/local/config.toml");
        let typo = demo.replace("kpp = \"773601001\"", "kp = \"773601001\"");
        assert!(
            BillingConfig::parse(&typo, ConfigFormat::Toml)
                .unwrap_err()
                .contains("unknown field")
        );
        let no_kpp = demo.replace("kpp = \"773601001\"\n", "");
        assert!(
            BillingConfig::parse(&no_kpp, ConfigFormat::Toml)
                .unwrap_err()
                .contains("kpp")
        );
        let only_reduced = demo.replace(
            "[seller.requisites]",
            "[[seller.vat_rates]]\ncategory = \"reduced\"\nrate = 10\nfrom = \"2004-01-01\"\n\n[seller.requisites]",
        );
        let err = BillingConfig::parse(&only_reduced, ConfigFormat::Toml).unwrap_err();
        assert!(err.contains("no VAT rate"), "{err}");
        let bad_prefix = demo.replace("number_prefix = \"\"", "number_prefix = \"А\\\"Б\"");
        assert!(
            BillingConfig::parse(&bad_prefix, ConfigFormat::Toml)
                .unwrap_err()
                .contains("number_prefix")
        );
    }

    #[test]
    fn webhook_endpoints_come_from_the_config_with_a_generated_secret() {
        let text = format!(
            "{}\n[[webhooks]]\nid = \"crm\"\nurl = \"https://crm.example.com/hook\"\nevents = [\"invoice.paid\"]\n\
             conditions = [{{ path = \"data.plan\", op = \"eq\", value = \"pro\" }}]\n",
            include_str!("../../infra/local/config.toml")
        );
        let cfg = BillingConfig::parse(&text, ConfigFormat::Toml).unwrap();
        let (a, b) = (cfg.webhooks[0].endpoint().unwrap(), cfg.webhooks[0].endpoint().unwrap());
        assert!(
            a.secret.starts_with("whsec_") && a.secret != b.secret,
            "a fresh random secret each time"
        );
        a.validate(crate::webhooks::UrlPolicy::Production).unwrap();
        assert!(!format!("{a:?}").contains(&a.secret), "Debug never shows the secret");
    }

    #[test]
    fn the_compiled_in_time_zones_are_europe_asia_and_utc() {
        let demo = include_str!("../../infra/local/config.toml");
        for zone in ["Europe/Kaliningrad", "Asia/Vladivostok", "Asia/Almaty", "UTC"] {
            let text = demo.replace("\"Europe/Moscow\"", &format!("{zone:?}"));
            let cfg = BillingConfig::parse(&text, ConfigFormat::Toml).unwrap();
            assert_eq!(cfg.seller.time_zone.name(), zone);
        }
        let elsewhere = demo.replace("\"Europe/Moscow\"", "\"America/New_York\"");
        let err = BillingConfig::parse(&elsewhere, ConfigFormat::Toml).unwrap_err();
        assert!(err.contains("America/New_York"), "{err}");
    }

    #[test]
    fn a_bad_seller_account_is_refused() {
        let text =
            include_str!("../../infra/local/config.toml").replace("40702810238000001234", "40702810338000001234");
        let err = BillingConfig::parse(&text, ConfigFormat::Toml).unwrap_err();
        assert!(err.contains("account"), "{err}");
    }
}
