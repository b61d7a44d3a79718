//! Private state: provider-only data Terraform stores beside a resource's state
//! (e.g. "this resource accepted the terms, so it may cancel them"). A small
//! JSON object of named entries, opaque to Terraform.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Private(BTreeMap<String, serde_json::Value>);

impl Private {
    /// Unreadable or empty bytes give an empty private state: it only ever holds hints.
    pub fn from_bytes(bytes: &[u8]) -> Private {
        if bytes.is_empty() {
            return Private::default();
        }
        serde_json::from_slice(bytes).map(Private).unwrap_or_else(|e| {
            tracing::warn!(target: "rhelazure.framework", error = %e, "ignoring unreadable private state");
            Private::default()
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        if self.0.is_empty() {
            return Vec::new();
        }
        serde_json::to_vec(&self.0).expect("a JSON map always serializes")
    }

    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0
            .get(key)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    pub fn set<T: Serialize>(&mut self, key: &str, value: T) {
        if let Ok(v) = serde_json::to_value(value) {
            self.0.insert(key.to_string(), v);
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.0.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let mut p = Private::default();
        p.set("accepted_by_us", true);
        let back = Private::from_bytes(&p.to_bytes());
        assert_eq!(back.get::<bool>("accepted_by_us"), Some(true));
        assert_eq!(Private::from_bytes(b"\xff not json"), Private::default());
        assert!(Private::default().to_bytes().is_empty());
    }
}
