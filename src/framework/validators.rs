//! Attribute validators. Each reports problems at the attribute's path, and
//! skips null and unknown values (those are checked again when known).

use std::collections::BTreeSet;
use std::time::Duration;

use crate::plugin::diag::{AttributePath, Diagnostics};
use crate::plugin::value::Value;

pub trait Validator: Send + Sync {
    /// Called only with known, non-null values.
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics);

    /// What the validator accepts, as one markdown sentence for the
    /// attribute's description (as terraform-plugin-framework validators'
    /// `MarkdownDescription`); None when the description says it already.
    fn describe(&self) -> Option<String> {
        None
    }
}

/// The string is one of `allowed`.
pub fn one_of(allowed: &[&str]) -> OneOf {
    OneOf(allowed.iter().map(|s| s.to_string()).collect())
}

pub struct OneOf(Vec<String>);

impl Validator for OneOf {
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if !self.0.iter().any(|a| a == s) {
                diags.error_at(
                    path.clone(),
                    "Invalid value",
                    format!("{path} must be one of {}; got {s:?}.", quoted_list(&self.0)),
                );
            }
        }
    }

    fn describe(&self) -> Option<String> {
        let values: Vec<String> = self.0.iter().map(|v| format!("`{v}`")).collect();
        Some(format!("Allowed values: {}.", values.join(", ")))
    }
}

/// A string check with a human description of what is expected
/// (e.g. "letters, digits, '-' and '_'").
pub fn string_matches(expected: &'static str, check: fn(&str) -> bool) -> StringMatches {
    StringMatches { expected, check }
}

pub struct StringMatches {
    expected: &'static str,
    check: fn(&str) -> bool,
}

impl Validator for StringMatches {
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if !(self.check)(s) {
                diags.error_at(
                    path.clone(),
                    "Invalid value",
                    format!("{path} must be {}; got {s:?}.", self.expected),
                );
            }
        }
    }

    fn describe(&self) -> Option<String> {
        Some(format!("Must be {}.", self.expected))
    }
}

/// String length (in characters) within bounds.
pub fn length_between(min: usize, max: usize) -> LengthBetween {
    LengthBetween { min, max }
}

pub struct LengthBetween {
    min: usize,
    max: usize,
}

impl Validator for LengthBetween {
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            let n = s.chars().count();
            if n < self.min || n > self.max {
                diags.error_at(
                    path.clone(),
                    "Invalid length",
                    format!(
                        "{path} must be {} to {} characters long; got {n}.",
                        self.min, self.max
                    ),
                );
            }
        }
    }

    fn describe(&self) -> Option<String> {
        Some(format!("{} to {} characters.", self.min, self.max))
    }
}

/// An integer within bounds.
pub fn int_between(min: i64, max: i64) -> IntBetween {
    IntBetween { min, max }
}

pub struct IntBetween {
    min: i64,
    max: i64,
}

impl Validator for IntBetween {
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(n) = value.as_number() {
            match n.to_i64() {
                Some(i) if (self.min..=self.max).contains(&i) => {}
                _ => diags.error_at(
                    path.clone(),
                    "Invalid number",
                    format!(
                        "{path} must be a whole number from {} to {}; got {n}.",
                        self.min, self.max
                    ),
                ),
            }
        }
    }

    fn describe(&self) -> Option<String> {
        Some(format!("A whole number from {} to {}.", self.min, self.max))
    }
}

/// A duration such as "30s", "20m", "1h30m".
pub fn duration() -> DurationValidator {
    DurationValidator
}

pub struct DurationValidator;

impl Validator for DurationValidator {
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if let Err(e) = parse_duration(s) {
                diags.error_at(path.clone(), "Invalid duration", format!("{path}: {e}"));
            }
        }
    }

    fn describe(&self) -> Option<String> {
        Some("A duration such as `30s`, `20m` or `1h30m`.".into())
    }
}

/// Go-style durations as Terraform users write them: "90s", "20m", "1h30m".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        format!("{s:?} is not a duration ({e}); use a number followed by s, m or h, such as \"30s\", \"20m\" or \"1h30m\"")
    })
}

/// Runs `validators` on every element of a list/set of strings, checking duplicates too.
pub fn unique_elements() -> UniqueElements {
    UniqueElements
}

pub struct UniqueElements;

impl Validator for UniqueElements {
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        let Some(items) = value.as_elements() else {
            return;
        };
        let mut seen = BTreeSet::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(s) = item.as_str() {
                if !seen.insert(s) {
                    diags.error_at(
                        path.index(i),
                        "Duplicate value",
                        format!("{s:?} appears more than once in {path}."),
                    );
                }
            }
        }
    }

    fn describe(&self) -> Option<String> {
        Some("No value may appear twice.".into())
    }
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: &dyn Validator, value: Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        v.validate(&value, &AttributePath::attrs(&["x"]), &mut d);
        d
    }

    #[test]
    fn one_of_points_at_the_attribute() {
        let d = run(&one_of(&["V1", "V2"]), "V3".into());
        assert!(d.has_errors());
        assert_eq!(d.0[0].path, Some(AttributePath::attrs(&["x"])));
        assert!(d.0[0].detail.contains("\"V1\", \"V2\""));
        assert!(!run(&one_of(&["V1", "V2"]), "V2".into()).has_errors());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("45s").unwrap(), Duration::from_secs(45));
        assert!(run(&duration(), "soon".into()).has_errors());
    }

    #[test]
    fn lengths_numbers_and_duplicates() {
        assert!(run(&length_between(1, 3), "abcd".into()).has_errors());
        assert!(run(&int_between(1, 10), 11i64.into()).has_errors());
        assert!(!run(&int_between(1, 10), 10i64.into()).has_errors());
        let list = Value::List(vec!["a".into(), "b".into(), "a".into()]);
        let d = run(&unique_elements(), list);
        assert_eq!(d.0[0].path, Some(AttributePath::attrs(&["x"]).index(2)));
    }
}
