//! Diagnostics and attribute paths: how every error and warning reaches the user.
//!
//! Errors about configuration or API results travel to Terraform as diagnostics
//! (never as gRPC errors), with an attribute path when one attribute is to blame
//! so Terraform can underline it in the configuration.

use std::fmt;

/// One step into a value: an object attribute, a map key or a list index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathStep {
    Attr(String),
    Key(String),
    Index(i64),
}

/// Where in a resource's value something is: `os_disk.size_gb`, `tags["env"]`, `users[0].name`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AttributePath(Vec<PathStep>);

impl AttributePath {
    pub fn root() -> Self {
        AttributePath(Vec::new())
    }

    /// A path of object attributes: `AttributePath::attrs(&["os_disk", "size_gb"])`.
    pub fn attrs(names: &[&str]) -> Self {
        AttributePath(
            names
                .iter()
                .map(|n| PathStep::Attr((*n).to_string()))
                .collect(),
        )
    }

    pub fn attr(&self, name: &str) -> Self {
        self.with(PathStep::Attr(name.to_string()))
    }

    pub fn key(&self, key: &str) -> Self {
        self.with(PathStep::Key(key.to_string()))
    }

    pub fn index(&self, i: usize) -> Self {
        self.with(PathStep::Index(i as i64))
    }

    fn with(&self, step: PathStep) -> Self {
        let mut steps = self.0.clone();
        steps.push(step);
        AttributePath(steps)
    }

    pub fn steps(&self) -> &[PathStep] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where a walk over a value is, kept on the walker's stack: one step and a
/// reference to the trail of its parent. The codecs pass this down instead of
/// an [`AttributePath`] and build the path only when they report an error, so
/// reading or writing a value allocates nothing for paths (cloning a path
/// per attribute, and freeing it, was the largest part of decoding a value).
#[derive(Clone, Copy, Debug)]
pub enum Trail<'a> {
    Root,
    Attr(&'a Trail<'a>, &'a str),
    Key(&'a Trail<'a>, &'a str),
    Index(&'a Trail<'a>, usize),
}

impl<'a> Trail<'a> {
    pub fn attr(&'a self, name: &'a str) -> Trail<'a> {
        Trail::Attr(self, name)
    }

    pub fn key(&'a self, key: &'a str) -> Trail<'a> {
        Trail::Key(self, key)
    }

    pub fn index(&'a self, i: usize) -> Trail<'a> {
        Trail::Index(self, i)
    }

    /// The path this trail stands for, root first.
    pub fn to_path(&self) -> AttributePath {
        let mut steps = Vec::new();
        let mut at = self;
        loop {
            let (parent, step) = match *at {
                Trail::Root => break,
                Trail::Attr(p, n) => (p, PathStep::Attr(n.to_string())),
                Trail::Key(p, k) => (p, PathStep::Key(k.to_string())),
                Trail::Index(p, i) => (p, PathStep::Index(i as i64)),
            };
            steps.push(step);
            at = parent;
        }
        steps.reverse();
        AttributePath(steps)
    }
}

impl From<Vec<PathStep>> for AttributePath {
    fn from(steps: Vec<PathStep>) -> Self {
        AttributePath(steps)
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attr(n) if i == 0 => write!(f, "{n}")?,
                PathStep::Attr(n) => write!(f, ".{n}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub path: Option<AttributePath>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        }
    }

    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        }
    }

    /// Points the diagnostic at an attribute (the root path means "no attribute").
    pub fn at(mut self, path: AttributePath) -> Self {
        self.path = (!path.is_root()).then_some(path);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.is_error() { "Error" } else { "Warning" };
        write!(f, "{level}: {}", self.summary)?;
        if let Some(p) = &self.path {
            write!(f, " (at {p})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// A list of diagnostics collected over one RPC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::error(summary, detail));
    }

    pub fn error_at(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Diagnostic::error(summary, detail).at(path));
    }

    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::warning(summary, detail));
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Diagnostics(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_terraform_addresses() {
        let p = AttributePath::attrs(&["customizations", "users"])
            .index(0)
            .attr("name");
        assert_eq!(p.to_string(), "customizations.users[0].name");
        assert_eq!(
            AttributePath::attrs(&["tags"]).key("env").to_string(),
            "tags[\"env\"]"
        );
    }

    #[test]
    fn a_trail_names_the_path_a_walk_took() {
        let root = Trail::Root;
        let users = root.attr("customizations");
        let users = users.attr("users");
        let first = users.index(0);
        let name = first.attr("name");
        assert_eq!(
            name.to_path(),
            AttributePath::attrs(&["customizations", "users"])
                .index(0)
                .attr("name")
        );
        let tags = root.attr("tags");
        assert_eq!(tags.key("env").to_path().to_string(), "tags[\"env\"]");
        assert!(Trail::Root.to_path().is_root());
    }

    #[test]
    fn root_path_means_no_attribute() {
        assert_eq!(
            Diagnostic::error("x", "").at(AttributePath::root()).path,
            None
        );
    }
}
