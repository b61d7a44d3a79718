//! The generic parts of planning and validation, driven by the schema's
//! behaviours, so a resource only writes what is specific to it.
//!
//! Planning follows what Terraform expects of a provider: the planned state
//! starts from the proposed new state; defaults fill null optional+computed
//! attributes; computed attributes the configuration leaves null become
//! unknown when the object is created or changes (or keep their prior value
//! with `use_state_for_unknown`); write-only attributes are null; and a change
//! to a `force_new` attribute or block is reported as requiring replacement.

use std::collections::BTreeMap;

use crate::plugin::diag::{AttributePath, Diagnostics};
use crate::plugin::schema::BlockNesting;
use crate::plugin::value::Value;

use super::schema::{Attr, BlockDef, ResourceSchema};

pub struct Planned {
    pub state: Value,
    pub requires_replace: Vec<AttributePath>,
}

/// Plans an update or create; `prior` is null on create. Destroys never get here.
pub fn plan(schema: &ResourceSchema, prior: &Value, proposed: &Value, config: &Value) -> Planned {
    let creating = prior.is_null();
    let mut state = proposed.clone();
    apply_defaults_and_write_only(&schema.attrs, &schema.blocks, &mut state, config);

    if !creating && without_timeouts(&state) == without_timeouts(prior) {
        // Nothing changes, or only how long to wait: nothing in the cloud will,
        // so every computed value keeps its state value (were they unknown, everything
        // that refers to them would be re-planned, and force-new attributes
        // downstream would plan replacements for a timeout edit).
        let mut kept = prior.clone();
        if let (Some(k), Some(t)) = (kept.as_object_mut(), state.as_object()) {
            if let Some(timeouts) = t.get(super::timeouts::BLOCK) {
                k.insert(super::timeouts::BLOCK.to_string(), timeouts.clone());
            }
        }
        return Planned {
            state: kept,
            requires_replace: Vec::new(),
        };
    }
    mark_computed(
        &schema.attrs,
        &schema.blocks,
        &mut state,
        config,
        prior,
        creating,
    );

    let mut requires_replace = Vec::new();
    if !creating {
        let root = AttributePath::root();
        for a in schema.attrs.iter().filter(|a| a.behaviour.force_new) {
            if differs(prior.attr(a.name()), state.attr(a.name())) {
                requires_replace.push(root.attr(a.name()));
            }
        }
        for b in schema.blocks.iter().filter(|b| b.force_new) {
            if differs(prior.attr(&b.type_name), state.attr(&b.type_name)) {
                requires_replace.push(root.attr(&b.type_name));
            }
        }
    }
    Planned {
        state,
        requires_replace,
    }
}

/// After an apply: each of `planned`'s top-level values where it is known,
/// else what `done` holds (what the apply found out so far), else null.
pub fn known_or(planned: &Value, done: &Value) -> Value {
    match (planned.as_object(), done.as_object()) {
        (Some(p), Some(done)) => Value::Object(
            p.iter()
                .map(|(k, v)| {
                    let v = if v.is_unknown() {
                        done.get(k).cloned().unwrap_or(Value::Null)
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        _ => done.clone(),
    }
}

/// The object without its `timeouts` block (null stays null).
fn without_timeouts(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove(super::timeouts::BLOCK);
    }
    v
}

/// Unknown counts as different: it may well change.
fn differs(prior: &Value, planned: &Value) -> bool {
    !planned.is_fully_known() || prior != planned
}

fn apply_defaults_and_write_only(
    attrs: &[Attr],
    blocks: &[BlockDef],
    obj: &mut Value,
    config: &Value,
) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    for a in attrs {
        if a.proto.write_only {
            map.insert(a.name().to_string(), Value::Null);
        } else if let Some(d) = &a.behaviour.default {
            if config.attr(a.name()).is_null() {
                map.insert(a.name().to_string(), d.clone());
            }
        }
        // Nested attributes carry their own defaults.
        if !a.nested.is_empty() {
            let cfg = config.attr(a.name()).clone();
            if let Some(v) = map.get_mut(a.name()) {
                match v {
                    Value::Object(_) => apply_defaults_and_write_only(&a.nested, &[], v, &cfg),
                    Value::List(items) | Value::Set(items) => {
                        let cfg_items = cfg.as_elements().unwrap_or(&[]).to_vec();
                        for (i, item) in items.iter_mut().enumerate() {
                            apply_defaults_and_write_only(
                                &a.nested,
                                &[],
                                item,
                                cfg_items.get(i).unwrap_or(&Value::Null),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for b in blocks {
        for_each_block_object(b, map, config, &mut |o, c| {
            apply_defaults_and_write_only(&b.attrs, &b.blocks, o, c)
        });
    }
}

fn mark_computed(
    attrs: &[Attr],
    blocks: &[BlockDef],
    obj: &mut Value,
    config: &Value,
    prior: &Value,
    creating: bool,
) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    for a in attrs
        .iter()
        .filter(|a| a.proto.computed && a.behaviour.default.is_none())
    {
        if !config.attr(a.name()).is_null() {
            continue;
        }
        let keep =
            !creating && a.behaviour.use_state_for_unknown && !prior.attr(a.name()).is_null();
        let v = if keep {
            prior.attr(a.name()).clone()
        } else {
            Value::unknown()
        };
        map.insert(a.name().to_string(), v);
    }
    for b in blocks {
        // Positional matching of prior blocks is only meaningful for single and list nesting.
        let prior_block = prior.attr(&b.type_name).clone();
        let mut index = 0usize;
        for_each_block_object(b, map, config, &mut |o, c| {
            let p = match (&b.nesting, &prior_block) {
                (BlockNesting::Single | BlockNesting::Group, p) => p.clone(),
                (BlockNesting::List, Value::List(items)) => {
                    items.get(index).cloned().unwrap_or(Value::Null)
                }
                _ => Value::Null,
            };
            index += 1;
            mark_computed(&b.attrs, &b.blocks, o, c, &p, creating || p.is_null());
        });
    }
}

/// Calls `f` with each object of block `b` inside `map`, and its configuration
/// counterpart (matched by position, or by key for map nesting).
fn for_each_block_object(
    b: &BlockDef,
    map: &mut BTreeMap<String, Value>,
    config: &Value,
    f: &mut dyn FnMut(&mut Value, &Value),
) {
    let cfg = config.attr(&b.type_name);
    match map.get_mut(&b.type_name) {
        Some(v @ Value::Object(_)) => f(v, cfg),
        Some(Value::List(items) | Value::Set(items)) => {
            let cfg_items = cfg.as_elements().unwrap_or(&[]);
            for (i, item) in items.iter_mut().enumerate() {
                f(item, cfg_items.get(i).unwrap_or(&Value::Null));
            }
        }
        Some(Value::Map(entries)) => {
            for (k, item) in entries.iter_mut() {
                let c = cfg
                    .as_object()
                    .and_then(|m| m.get(k))
                    .cloned()
                    .unwrap_or(Value::Null);
                f(item, &c);
            }
        }
        _ => {}
    }
}

/// Runs every attribute's validators over `config`, nested attributes and blocks included.
pub fn validate(schema: &ResourceSchema, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    validate_level(
        &schema.attrs,
        &schema.blocks,
        config,
        &AttributePath::root(),
        &mut diags,
    );
    diags
}

fn validate_level(
    attrs: &[Attr],
    blocks: &[BlockDef],
    obj: &Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
) {
    for a in attrs {
        let v = obj.attr(a.name());
        let checked = !v.is_null() && !v.is_unknown() && !a.behaviour.validators.is_empty();
        if !checked && a.nested.is_empty() {
            // Nothing to check here: no path is built (an allocation per attribute).
            continue;
        }
        let p = path.attr(a.name());
        if checked {
            for val in &a.behaviour.validators {
                val.validate(v, &p, diags);
            }
        }
        if !a.nested.is_empty() {
            each_element(v, &p, &mut |o, op| {
                validate_level(&a.nested, &[], o, op, diags)
            });
        }
    }
    for b in blocks {
        let v = obj.attr(&b.type_name);
        let p = path.attr(&b.type_name);
        each_element(v, &p, &mut |o, op| {
            validate_level(&b.attrs, &b.blocks, o, op, diags)
        });
    }
}

fn each_element(v: &Value, path: &AttributePath, f: &mut dyn FnMut(&Value, &AttributePath)) {
    match v {
        Value::Object(_) => f(v, path),
        // Set elements have no path step of their own: point at the set.
        Value::Set(items) => items.iter().for_each(|i| f(i, path)),
        Value::List(items) | Value::Tuple(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, x)| f(x, &path.index(i))),
        Value::Map(m) => m.iter().for_each(|(k, x)| f(x, &path.key(k))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::Attr;
    use crate::framework::validators::one_of;

    fn schema() -> ResourceSchema {
        ResourceSchema::new(
            "",
            vec![
                Attr::string("id").computed().use_state_for_unknown(),
                Attr::string("name").required().force_new(),
                Attr::string("size").required(),
                Attr::string("generation")
                    .default("V2")
                    .force_new()
                    .validate(one_of(&["V1", "V2"])),
                Attr::string("etag").computed(),
                Attr::string("password").optional().write_only(),
            ],
        )
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        let mut m: BTreeMap<String, Value> =
            ["id", "name", "size", "generation", "etag", "password"]
                .iter()
                .map(|k| (k.to_string(), Value::Null))
                .collect();
        for (k, v) in pairs {
            m.insert(k.to_string(), v.clone());
        }
        Value::Object(m)
    }

    #[test]
    fn create_marks_computed_unknown_and_applies_defaults() {
        let config = obj(&[
            ("name", "a".into()),
            ("size", "s".into()),
            ("password", "pw12345".into()),
        ]);
        let p = plan(&schema(), &Value::Null, &config, &config);
        assert!(p.state.attr("id").is_unknown());
        assert!(p.state.attr("etag").is_unknown());
        assert_eq!(p.state.attr("generation"), &Value::from("V2"));
        assert!(
            p.state.attr("password").is_null(),
            "write-only never planned"
        );
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn no_change_keeps_prior_state() {
        let prior = obj(&[
            ("id", "i".into()),
            ("name", "a".into()),
            ("size", "s".into()),
            ("generation", "V2".into()),
            ("etag", "e1".into()),
        ]);
        let config = obj(&[("name", "a".into()), ("size", "s".into())]);
        let p = plan(&schema(), &prior, &prior, &config);
        assert_eq!(p.state, prior);
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn in_place_change_and_replacement() {
        let prior = obj(&[
            ("id", "i".into()),
            ("name", "a".into()),
            ("size", "s".into()),
            ("generation", "V2".into()),
            ("etag", "e1".into()),
        ]);
        let config = obj(&[("name", "a".into()), ("size", "big".into())]);
        let proposed = obj(&[
            ("id", "i".into()),
            ("name", "a".into()),
            ("size", "big".into()),
            ("generation", "V2".into()),
            ("etag", "e1".into()),
        ]);
        let p = plan(&schema(), &prior, &proposed, &config);
        assert_eq!(
            p.state.attr("id"),
            &Value::from("i"),
            "use_state_for_unknown keeps the id"
        );
        assert!(p.state.attr("etag").is_unknown());
        assert!(p.requires_replace.is_empty(), "size is updated in place");

        let config = obj(&[("name", "b".into()), ("size", "s".into())]);
        let proposed = obj(&[
            ("id", "i".into()),
            ("name", "b".into()),
            ("size", "s".into()),
            ("generation", "V2".into()),
            ("etag", "e1".into()),
        ]);
        let p = plan(&schema(), &prior, &proposed, &config);
        assert_eq!(p.requires_replace, vec![AttributePath::attrs(&["name"])]);
    }

    #[test]
    fn a_timeouts_only_change_keeps_every_computed_value() {
        let mut prior = obj(&[
            ("id", "i".into()),
            ("name", "a".into()),
            ("size", "s".into()),
            ("generation", "V2".into()),
            ("etag", "e1".into()),
        ]);
        let timeouts =
            |create: &str| Value::Object(BTreeMap::from([("create".to_string(), create.into())]));
        prior
            .as_object_mut()
            .unwrap()
            .insert("timeouts".into(), timeouts("30m"));
        let mut proposed = prior.clone();
        proposed
            .as_object_mut()
            .unwrap()
            .insert("timeouts".into(), timeouts("3h"));
        let mut config = obj(&[("name", "a".into()), ("size", "s".into())]);
        config
            .as_object_mut()
            .unwrap()
            .insert("timeouts".into(), timeouts("3h"));
        let p = plan(&schema(), &prior, &proposed, &config);
        assert_eq!(p.state, proposed, "etag is not made unknown");
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn validation_reports_attribute_path() {
        let config = obj(&[("name", "a".into()), ("generation", "V9".into())]);
        let d = validate(&schema(), &config);
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].path, Some(AttributePath::attrs(&["generation"])));
        let unknown = obj(&[("generation", Value::unknown())]);
        assert!(
            validate(&schema(), &unknown).is_empty(),
            "unknown values are checked later"
        );
    }
}
