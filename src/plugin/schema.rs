//! Protocol-level schemas: blocks, attributes, nested types and functions, as
//! Terraform sees them. The framework builds these from resource definitions;
//! the server turns them into protobuf and uses [`Schema::value_type`] (built
//! once per schema) to decode values.

use std::sync::OnceLock;

use super::value::{ObjectType, Type};

#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
    /// `block.value_type()`, built on first use: every RPC decodes with it,
    /// and building it (a map of attribute names) per call was a few percent
    /// of the plugin server's CPU. A schema is not changed once served.
    value_type: OnceLock<Type>,
    /// `block.has_sensitive()`, for the same reason: every configuration
    /// decoded is searched for sensitive values, and most schemas have none.
    has_sensitive: OnceLock<bool>,
}

impl Schema {
    pub fn new(version: i64, block: Block) -> Self {
        Schema {
            version,
            block,
            value_type: OnceLock::new(),
            has_sensitive: OnceLock::new(),
        }
    }

    /// The object type this schema's values have.
    pub fn value_type(&self) -> &Type {
        self.value_type.get_or_init(|| self.block.value_type())
    }

    /// Whether any attribute, in any nested block or object, is sensitive.
    pub fn has_sensitive(&self) -> bool {
        *self
            .has_sensitive
            .get_or_init(|| self.block.has_sensitive())
    }
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    /// Markdown.
    pub description: String,
    pub deprecation: Option<String>,
}

#[derive(Clone, Debug)]
pub enum AttributeType {
    Plain(Type),
    Nested(NestedObject),
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub ty: AttributeType,
    /// Markdown.
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub write_only: bool,
    pub deprecation: Option<String>,
}

/// A resource's identity schema (Terraform 1.12+, OpenTofu 1.12+): the
/// attributes that name one object, for `import { identity = { ... } }` and
/// to check that a refresh found the same object.
#[derive(Clone, Debug, Default)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub name: String,
    pub ty: Type,
    pub required_for_import: bool,
    pub optional_for_import: bool,
    /// Markdown.
    pub description: String,
}

impl IdentitySchema {
    /// The object type identity data is encoded with.
    pub fn value_type(&self) -> Type {
        Type::Object(ObjectType {
            attrs: self
                .attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone()))
                .collect(),
            optional: Default::default(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectNesting {
    Single,
    List,
    Set,
    Map,
}

/// Protocol 6 nested attributes: `attr = { ... }` / `attr = [{ ... }]`.
#[derive(Clone, Debug)]
pub struct NestedObject {
    pub attributes: Vec<Attribute>,
    pub nesting: ObjectNesting,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockNesting {
    Single,
    Group,
    List,
    Set,
    Map,
}

/// A nested block: `timeouts { ... }`, `users { ... }` repeated.
#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub type_name: String,
    pub block: Block,
    pub nesting: BlockNesting,
    pub min_items: i64,
    pub max_items: i64,
}

impl Attribute {
    pub fn value_type(&self) -> Type {
        match &self.ty {
            AttributeType::Plain(t) => t.clone(),
            AttributeType::Nested(n) => n.value_type(),
        }
    }
}

impl NestedObject {
    pub fn object_type(&self) -> Type {
        object_of(&self.attributes, &[])
    }

    pub fn value_type(&self) -> Type {
        let o = self.object_type();
        match self.nesting {
            ObjectNesting::Single => o,
            ObjectNesting::List => Type::list(o),
            ObjectNesting::Set => Type::set(o),
            ObjectNesting::Map => Type::map(o),
        }
    }
}

impl Block {
    /// The object type values of this block have (what msgpack is decoded with).
    pub fn value_type(&self) -> Type {
        object_of(&self.attributes, &self.blocks)
    }

    /// Whether any attribute, in any nested block or object, is sensitive.
    pub fn has_sensitive(&self) -> bool {
        fn any_sensitive(attrs: &[Attribute]) -> bool {
            attrs.iter().any(|a| {
                a.sensitive
                    || matches!(&a.ty, AttributeType::Nested(n) if any_sensitive(&n.attributes))
            })
        }
        any_sensitive(&self.attributes) || self.blocks.iter().any(|b| b.block.has_sensitive())
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn nested_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.type_name == name)
    }
}

impl NestedBlock {
    pub fn value_type(&self) -> Type {
        let o = self.block.value_type();
        match self.nesting {
            BlockNesting::Single | BlockNesting::Group => o,
            BlockNesting::List => Type::list(o),
            BlockNesting::Set => Type::set(o),
            BlockNesting::Map => Type::map(o),
        }
    }
}

fn object_of(attributes: &[Attribute], blocks: &[NestedBlock]) -> Type {
    let mut o = ObjectType::default();
    for a in attributes {
        o.attrs.insert(a.name.clone(), a.value_type());
    }
    for b in blocks {
        o.attrs.insert(b.type_name.clone(), b.value_type());
    }
    Type::Object(o)
}

/// A provider-defined function's signature and docs.
#[derive(Clone, Debug)]
pub struct FunctionSignature {
    pub parameters: Vec<Parameter>,
    pub variadic: Option<Parameter>,
    pub return_type: Type,
    pub summary: String,
    /// Markdown.
    pub description: String,
    pub deprecation: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: String,
    pub ty: Type,
    pub allow_null: bool,
    pub allow_unknown: bool,
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(name: &str, sensitive: bool, ty: AttributeType) -> Attribute {
        Attribute {
            name: name.into(),
            ty,
            description: String::new(),
            required: false,
            optional: true,
            computed: false,
            sensitive,
            write_only: false,
            deprecation: None,
        }
    }

    #[test]
    fn a_sensitive_attribute_is_found_at_any_depth() {
        let plain =
            |name: &str, sensitive| attr(name, sensitive, AttributeType::Plain(Type::String));
        let none = Block {
            attributes: vec![plain("a", false)],
            ..Block::default()
        };
        assert!(!Schema::new(0, none.clone()).has_sensitive());

        let in_nested_object = Block {
            attributes: vec![attr(
                "n",
                false,
                AttributeType::Nested(NestedObject {
                    attributes: vec![plain("secret", true)],
                    nesting: ObjectNesting::List,
                }),
            )],
            ..Block::default()
        };
        assert!(Schema::new(0, in_nested_object).has_sensitive());

        let in_nested_block = Block {
            blocks: vec![NestedBlock {
                type_name: "b".into(),
                block: Block {
                    attributes: vec![plain("secret", true)],
                    ..Block::default()
                },
                nesting: BlockNesting::Single,
                min_items: 0,
                max_items: 1,
            }],
            ..none
        };
        assert!(Schema::new(0, in_nested_block).has_sensitive());
    }
}
