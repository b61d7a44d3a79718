//! hclog-style JSON logging on stderr, with redaction.
//!
//! Terraform reads a provider's stderr line by line and re-emits JSON lines at
//! their `@level` into its own log (`TF_LOG`, `TF_LOG_PROVIDER`, `TF_LOG_PATH`).
//! Terraform does not redact anything, so we do, before a line is written:
//! every value the schema marks sensitive is registered here when it is decoded
//! (see `server::redact_sensitive`), and fields whose names say "secret" are
//! masked whatever their value.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{OnceLock, RwLock};
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

use super::value::Value;

const MASK: &str = "[REDACTED]";
/// Shorter strings are not registered: masking every "a" would garble the log
/// and reveal more than it hides.
const MIN_SECRET_LEN: usize = 4;

fn secrets() -> &'static RwLock<BTreeSet<String>> {
    static SECRETS: OnceLock<RwLock<BTreeSet<String>>> = OnceLock::new();
    SECRETS.get_or_init(Default::default)
}

/// Never log `secret` from now on (in this process).
pub fn redact(secret: &str) {
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    if let Ok(set) = secrets().read() {
        if set.contains(secret) {
            return;
        }
    }
    if let Ok(mut set) = secrets().write() {
        set.insert(secret.to_string());
    }
}

/// Registers every string inside `v` (a sensitive attribute may be a nested object).
pub fn redact_value(v: &Value) {
    match v {
        Value::String(s) => redact(s),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            items.iter().for_each(redact_value)
        }
        Value::Map(m) | Value::Object(m) => m.values().for_each(redact_value),
        _ => {}
    }
}

/// `text` with every registered secret masked.
pub fn scrub(text: &str) -> String {
    let Ok(set) = secrets().read() else {
        return text.to_string();
    };
    let mut out = text.to_string();
    // Longest first, so a secret containing another is masked whole.
    let mut list: Vec<&String> = set.iter().collect();
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in list {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}

/// Field names whose values are masked regardless of content.
fn is_secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "secret",
        "password",
        "token",
        "authorization",
        "activation_key",
        "sig",
        "api_key",
    ]
    .iter()
    .any(|k| n.contains(k))
}

/// The level Terraform asked for: `TF_LOG_PROVIDER_RHELAZURE`, `TF_LOG_PROVIDER`,
/// then `TF_LOG`. Unset means off: Terraform would discard the lines anyway.
pub fn level_from_env() -> LevelFilter {
    let raw = ["TF_LOG_PROVIDER_RHELAZURE", "TF_LOG_PROVIDER", "TF_LOG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    match raw.map(|v| v.to_ascii_uppercase()).as_deref() {
        Some("TRACE" | "JSON") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("INFO") => LevelFilter::INFO,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR") => LevelFilter::ERROR,
        Some("OFF") | None => LevelFilter::OFF,
        // Unknown values: Terraform treats them as TRACE.
        Some(_) => LevelFilter::TRACE,
    }
}

/// Installs the hclog JSON writer as the global subscriber. Our own modules log
/// at `level`; libraries (HTTP/2, TLS) only from WARN up, whatever `level` is,
/// so a trace log shows our story, not every frame.
pub fn init(level: LevelFilter) {
    let subscriber = Registry::default().with(HclogLayer { level });
    let _ = tracing::subscriber::set_global_default(subscriber);
}

struct HclogLayer {
    level: LevelFilter,
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn enabled(&self, meta: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        let ours = meta.target().starts_with("rhelazure")
            || meta.target().starts_with("terraform_provider_rhelazure");
        let limit = if ours {
            self.level
        } else {
            self.level.min(LevelFilter::WARN)
        };
        *meta.level() <= limit
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let line = format_line(event);
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
    }
}

fn format_line(event: &Event<'_>) -> String {
    let meta = event.metadata();
    let level = match *meta.level() {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    };
    let mut fields = FieldCollector::default();
    event.record(&mut fields);
    let mut obj = serde_json::Map::new();
    obj.insert("@level".into(), level.into());
    obj.insert("@message".into(), scrub(&fields.message).into());
    obj.insert("@module".into(), meta.target().into());
    obj.insert(
        "@timestamp".into(),
        humantime::format_rfc3339_micros(SystemTime::now())
            .to_string()
            .into(),
    );
    for (k, v) in fields.pairs {
        obj.insert(k, v);
    }
    let mut line = serde_json::Value::Object(obj).to_string();
    line.push('\n');
    line
}

#[derive(Default)]
struct FieldCollector {
    message: String,
    pairs: Vec<(String, serde_json::Value)>,
}

impl FieldCollector {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        let value = if is_secret_field(field.name()) {
            MASK.into()
        } else {
            value
        };
        self.pairs.push((field.name().to_string(), value));
    }
}

impl Visit for FieldCollector {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        if field.name() == "message" {
            self.message = s;
        } else {
            self.put(field, scrub(&s).into());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.put(field, scrub(value).into());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(
            field,
            serde_json::Number::from_f64(value).map_or(serde_json::Value::Null, Into::into),
        );
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_masked_longest_first() {
        redact("s3cr3t-value-xyz");
        redact("s3cr3t");
        redact("ab"); // too short to register
        let out = scrub("token=s3cr3t-value-xyz other=s3cr3t short=ab");
        assert_eq!(out, "token=[REDACTED] other=[REDACTED] short=ab");
    }

    #[test]
    fn secret_field_names_are_masked() {
        assert!(is_secret_field("client_secret"));
        assert!(is_secret_field("Authorization"));
        assert!(is_secret_field("offline_token"));
        assert!(!is_secret_field("resource_group_name"));
    }

    #[test]
    fn events_become_hclog_json_lines() {
        use std::sync::{Arc, Mutex};
        // Capture lines through a layer that uses the same formatter.
        struct Capture(Arc<Mutex<Vec<String>>>);
        impl<S: Subscriber> Layer<S> for Capture {
            fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
                self.0.lock().unwrap().push(format_line(event));
            }
        }
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sub = Registry::default().with(Capture(lines.clone()));
        redact("hunter2-password");
        tracing::subscriber::with_default(sub, || {
            tracing::info!(target: "rhelazure.test", client_secret = "plain", count = 3, "login with hunter2-password");
        });
        let line = lines.lock().unwrap()[0].clone();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["@level"], "info");
        assert_eq!(v["@module"], "rhelazure.test");
        assert_eq!(v["@message"], "login with [REDACTED]");
        assert_eq!(v["client_secret"], "[REDACTED]");
        assert_eq!(v["count"], 3);
        assert!(!line.contains("hunter2"));
    }
}
