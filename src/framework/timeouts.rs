//! The `timeouts { create = "30m" ... }` block every waiting resource offers.

use std::time::Duration;

use crate::plugin::schema::BlockNesting;
use crate::plugin::value::Value;

use super::schema::{Attr, BlockDef};
use super::validators::{duration, parse_duration};

/// The block's name in every resource schema.
pub const BLOCK: &str = "timeouts";

/// A `timeouts` block with one optional duration per operation, e.g. `&["create", "delete"]`.
pub fn block(operations: &[&str]) -> BlockDef {
    BlockDef::new(
        BLOCK,
        BlockNesting::Single,
        operations
            .iter()
            .map(|op| {
                Attr::string(op)
                    .optional()
                    .validate(duration())
                    .description(&format!(
                        "How long to wait for {op}, such as `\"30m\"` or `\"1h30m\"`."
                    ))
            })
            .collect(),
    )
    .description("How long to wait for each operation before giving up.")
}

/// The timeout for `operation` from a resource value, or `default` when not set.
pub fn get(resource: &Value, operation: &str, default: Duration) -> Duration {
    resource
        .attr(BLOCK)
        .attr(operation)
        .as_str()
        .and_then(|s| parse_duration(s).ok())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn reads_configured_or_default() {
        let t = Value::Object(BTreeMap::from([("create".to_string(), Value::from("2h"))]));
        let r = Value::Object(BTreeMap::from([("timeouts".to_string(), t)]));
        assert_eq!(
            get(&r, "create", Duration::from_secs(60)),
            Duration::from_secs(7200)
        );
        assert_eq!(
            get(&r, "delete", Duration::from_secs(60)),
            Duration::from_secs(60)
        );
        assert_eq!(
            get(&Value::Null, "create", Duration::from_secs(5)),
            Duration::from_secs(5)
        );
    }
}
