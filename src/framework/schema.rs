//! Schema builders for resource authors: each attribute carries its protocol
//! flags *and* its behaviour (forces replacement, keeps state for unknown,
//! default, validators), so one declaration drives schema, plan and validation.

use std::sync::Arc;

use crate::plugin::schema::{self as ps, AttributeType, BlockNesting, ObjectNesting};
use crate::plugin::value::{Type, Value};

use super::validators::Validator;

/// How an attribute behaves beyond what Terraform's schema says.
#[derive(Clone, Default)]
pub struct Behaviour {
    /// Changing it replaces the object ("FN" in DESIGN.md).
    pub force_new: bool,
    /// A computed value that never changes after create: plan keeps the prior
    /// value instead of "(known after apply)".
    pub use_state_for_unknown: bool,
    /// Value planned when the configuration leaves it null (attribute must be computed).
    pub default: Option<Value>,
    pub validators: Vec<Arc<dyn Validator>>,
}

#[derive(Clone)]
pub struct Attr {
    pub(crate) proto: ps::Attribute,
    pub(crate) behaviour: Behaviour,
    /// Children of a nested attribute, with their own behaviours.
    pub(crate) nested: Vec<Attr>,
}

impl Attr {
    pub fn of_type(name: &str, ty: Type) -> Attr {
        Attr {
            proto: ps::Attribute {
                name: name.to_string(),
                ty: AttributeType::Plain(ty),
                description: String::new(),
                required: false,
                optional: false,
                computed: false,
                sensitive: false,
                write_only: false,
                deprecation: None,
            },
            behaviour: Behaviour::default(),
            nested: Vec::new(),
        }
    }
    pub fn string(name: &str) -> Attr {
        Self::of_type(name, Type::String)
    }
    pub fn bool(name: &str) -> Attr {
        Self::of_type(name, Type::Bool)
    }
    pub fn number(name: &str) -> Attr {
        Self::of_type(name, Type::Number)
    }
    pub fn string_list(name: &str) -> Attr {
        Self::of_type(name, Type::list(Type::String))
    }
    pub fn string_set(name: &str) -> Attr {
        Self::of_type(name, Type::set(Type::String))
    }
    pub fn string_map(name: &str) -> Attr {
        Self::of_type(name, Type::map(Type::String))
    }
    /// A protocol-6 nested attribute (`name = { ... }`, `name = [{ ... }]`).
    pub fn nested(name: &str, nesting: ObjectNesting, children: Vec<Attr>) -> Attr {
        let mut a = Self::of_type(name, Type::Dynamic);
        a.proto.ty = AttributeType::Nested(ps::NestedObject {
            attributes: children.iter().map(|c| c.proto.clone()).collect(),
            nesting,
        });
        a.nested = children;
        a
    }

    pub fn required(mut self) -> Self {
        self.proto.required = true;
        self
    }
    pub fn optional(mut self) -> Self {
        self.proto.optional = true;
        self
    }
    pub fn computed(mut self) -> Self {
        self.proto.computed = true;
        self
    }
    /// Set by the user or, when left out, by the provider.
    pub fn optional_computed(self) -> Self {
        self.optional().computed()
    }
    pub fn sensitive(mut self) -> Self {
        self.proto.sensitive = true;
        self
    }
    /// Sent in configuration only, never stored in plan or state (Terraform 1.11+).
    pub fn write_only(mut self) -> Self {
        self.proto.write_only = true;
        self
    }
    pub fn description(mut self, markdown: &str) -> Self {
        self.proto.description = markdown.to_string();
        self
    }
    pub fn deprecated(mut self, message: &str) -> Self {
        self.proto.deprecation = Some(message.to_string());
        self
    }
    pub fn force_new(mut self) -> Self {
        self.behaviour.force_new = true;
        self
    }
    pub fn use_state_for_unknown(mut self) -> Self {
        self.behaviour.use_state_for_unknown = true;
        self
    }
    /// Makes the attribute optional + computed with this default.
    pub fn default(mut self, v: impl Into<Value>) -> Self {
        self.behaviour.default = Some(v.into());
        self.optional_computed()
    }
    pub fn validate(mut self, v: impl Validator + 'static) -> Self {
        self.behaviour.validators.push(Arc::new(v));
        self
    }

    pub fn name(&self) -> &str {
        &self.proto.name
    }

    /// Paths (under `at`) of this attribute and its children that have no
    /// description of their author's: what `to_protocol` adds (defaults,
    /// allowed values, replacement) says how, not what.
    pub(crate) fn undescribed(&self, at: &str, out: &mut Vec<String>) {
        let path = format!("{at}.{}", self.proto.name);
        if self.proto.description.trim().is_empty() {
            out.push(path.clone());
        }
        for c in &self.nested {
            c.undescribed(&path, out);
        }
    }

    /// The protocol attribute, nested children included, with a description
    /// that also says what the behaviour adds: the default, what validators
    /// accept, and that a change replaces the object. Terraform's language
    /// server and the registry docs show it, so they cannot drift from the code.
    pub(crate) fn to_protocol(&self) -> ps::Attribute {
        let mut p = self.proto.clone();
        if let AttributeType::Nested(n) = &mut p.ty {
            n.attributes = self.nested.iter().map(Attr::to_protocol).collect();
        }
        let mut extra: Vec<String> = Vec::new();
        if let Some(d) = self.behaviour.default.as_ref().and_then(literal) {
            extra.push(format!("Default: `{d}`."));
        }
        extra.extend(
            self.behaviour
                .validators
                .iter()
                .filter_map(|v| v.describe()),
        );
        if self.behaviour.force_new {
            extra.push("Changing it replaces the object.".into());
        }
        if !extra.is_empty() {
            let base = p.description.trim_end();
            p.description = if base.is_empty() {
                extra.join(" ")
            } else {
                format!("{base} {}", extra.join(" "))
            };
        }
        p
    }
}

/// A default as Terraform source would write it (scalars only).
fn literal(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(format!("{s:?}")),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A nested block (`timeouts { ... }`, repeated `users { ... }`).
#[derive(Clone)]
pub struct BlockDef {
    pub type_name: String,
    pub nesting: BlockNesting,
    pub min_items: i64,
    pub max_items: i64,
    pub attrs: Vec<Attr>,
    pub blocks: Vec<BlockDef>,
    pub description: String,
    /// Any change inside the block replaces the object.
    pub force_new: bool,
}

impl BlockDef {
    pub fn new(type_name: &str, nesting: BlockNesting, attrs: Vec<Attr>) -> Self {
        BlockDef {
            type_name: type_name.to_string(),
            nesting,
            min_items: 0,
            // Terraform requires min == max for single blocks; 0/0 means optional.
            max_items: 0,
            attrs,
            blocks: Vec::new(),
            description: String::new(),
            force_new: false,
        }
    }
    pub fn description(mut self, markdown: &str) -> Self {
        self.description = markdown.to_string();
        self
    }
    pub fn items(mut self, min: i64, max: i64) -> Self {
        self.min_items = min;
        self.max_items = max;
        self
    }
    pub fn blocks(mut self, blocks: Vec<BlockDef>) -> Self {
        self.blocks = blocks;
        self
    }
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }

    fn to_protocol(&self) -> ps::NestedBlock {
        ps::NestedBlock {
            type_name: self.type_name.clone(),
            block: block(&self.attrs, &self.blocks, &self.description),
            nesting: self.nesting,
            min_items: self.min_items,
            max_items: self.max_items,
        }
    }
}

/// The schema of a resource, data source, ephemeral resource or the provider block.
#[derive(Clone, Default)]
pub struct ResourceSchema {
    pub version: i64,
    pub description: String,
    pub attrs: Vec<Attr>,
    pub blocks: Vec<BlockDef>,
}

impl ResourceSchema {
    pub fn new(description: &str, attrs: Vec<Attr>) -> Self {
        ResourceSchema {
            version: 0,
            description: description.to_string(),
            attrs,
            blocks: Vec::new(),
        }
    }
    pub fn version(mut self, v: i64) -> Self {
        self.version = v;
        self
    }
    pub fn blocks(mut self, blocks: Vec<BlockDef>) -> Self {
        self.blocks = blocks;
        self
    }

    pub fn to_protocol(&self) -> ps::Schema {
        ps::Schema::new(
            self.version,
            block(&self.attrs, &self.blocks, &self.description),
        )
    }

    pub fn value_type(&self) -> Type {
        self.to_protocol().block.value_type()
    }

    /// Paths (under `at`) of attributes and blocks without their author's
    /// description, the schema's own included.
    pub(crate) fn undescribed(&self, at: &str) -> Vec<String> {
        fn blocks(list: &[BlockDef], at: &str, out: &mut Vec<String>) {
            for b in list {
                let path = format!("{at}.{}", b.type_name);
                if b.description.trim().is_empty() {
                    out.push(format!("{path} (block)"));
                }
                for a in &b.attrs {
                    a.undescribed(&path, out);
                }
                blocks(&b.blocks, &path, out);
            }
        }
        let mut out = Vec::new();
        if self.description.trim().is_empty() {
            out.push(format!("{at} (schema)"));
        }
        for a in &self.attrs {
            a.undescribed(at, &mut out);
        }
        blocks(&self.blocks, at, &mut out);
        out
    }
}

fn block(attrs: &[Attr], blocks: &[BlockDef], description: &str) -> ps::Block {
    ps::Block {
        attributes: attrs.iter().map(Attr::to_protocol).collect(),
        blocks: blocks.iter().map(BlockDef::to_protocol).collect(),
        description: description.to_string(),
        deprecation: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_protocol_flags_and_behaviour() {
        let a = Attr::string("name")
            .required()
            .force_new()
            .description("The name.");
        assert!(a.proto.required && !a.proto.optional && a.behaviour.force_new);
        let d = Attr::string("generation").default("V2");
        assert!(d.proto.optional && d.proto.computed);
        assert_eq!(d.behaviour.default, Some(Value::from("V2")));
    }

    #[test]
    fn value_type_covers_attributes_and_blocks() {
        let s = ResourceSchema::new("", vec![Attr::string("a").optional()]).blocks(vec![
            BlockDef::new("b", BlockNesting::List, vec![Attr::number("n").optional()]),
        ]);
        let want = Type::object([
            ("a", Type::String),
            ("b", Type::list(Type::object([("n", Type::Number)]))),
        ]);
        assert_eq!(s.value_type(), want);
    }
}

#[cfg(test)]
mod single_block_tests {
    use super::*;

    #[test]
    fn single_blocks_have_equal_min_and_max() {
        // Terraform refuses a schema whose single block has min != max.
        let b = BlockDef::new("timeouts", BlockNesting::Single, vec![]).to_protocol();
        assert_eq!((b.min_items, b.max_items), (0, 0));
    }
}
