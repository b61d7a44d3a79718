//! The configuration that manages an existing object as it is: what
//! `terraform query -generate-config-out` writes for each listed object, so
//! that the next plan imports it with no changes. Generic over the schema,
//! like planning: a resource gets it by having a list resource.

use crate::plugin::value::Value;

use super::schema::{Attr, BlockDef, ResourceSchema};
use super::timeouts;

/// `state` with everything a user would not write left null: computed-only
/// and write-only attributes, values equal to their default, and timeouts.
pub fn config_from_state(schema: &ResourceSchema, state: &Value) -> Value {
    let mut config = state.clone();
    strip(&schema.attrs, &schema.blocks, &mut config);
    if let Some(m) = config.as_object_mut() {
        m.insert(timeouts::BLOCK.to_string(), Value::Null);
    }
    config
}

fn strip(attrs: &[Attr], blocks: &[BlockDef], obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    for a in attrs {
        let Some(v) = map.get_mut(a.name()) else {
            continue;
        };
        let computed_only = a.proto.computed && !a.proto.optional && !a.proto.required;
        if computed_only || a.proto.write_only || a.behaviour.default.as_ref() == Some(v) {
            *v = Value::Null;
        } else if !a.nested.is_empty() {
            each_object(v, &mut |o| strip(&a.nested, &[], o));
        }
    }
    for b in blocks {
        if let Some(v) = map.get_mut(&b.type_name) {
            each_object(v, &mut |o| strip(&b.attrs, &b.blocks, o));
        }
    }
}

fn each_object(v: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    match v {
        Value::Object(_) => f(v),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            items.iter_mut().for_each(f)
        }
        Value::Map(m) => m.values_mut().for_each(f),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_a_user_writes_and_nothing_else() {
        let schema = ResourceSchema::new(
            "t",
            vec![
                Attr::string("id").computed(),
                Attr::string("name").required(),
                Attr::string("size").optional(),
                Attr::string("generation").default("V2"),
                Attr::string("zone").optional_computed(),
                Attr::string("secret_wo").optional().write_only(),
            ],
        )
        .blocks(vec![timeouts::block(&["create"])]);
        let state = Value::Object(
            [
                ("id", Value::from("/x")),
                ("name", "a".into()),
                ("size", Value::Null),
                ("generation", "V2".into()),
                ("zone", "z1".into()),
                ("secret_wo", Value::Null),
                ("timeouts", Value::Object(Default::default())),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
        let c = config_from_state(&schema, &state);
        assert_eq!(c.attr("id"), &Value::Null, "computed only");
        assert_eq!(c.attr("name"), &Value::from("a"));
        assert_eq!(c.attr("generation"), &Value::Null, "the default");
        assert_eq!(c.attr("zone"), &Value::from("z1"), "optional and computed");
        assert_eq!(c.attr("timeouts"), &Value::Null);
    }
}
