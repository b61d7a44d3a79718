//! Registry-format documentation generated from the schemas themselves
//! (`docs/resources/*.md`, `docs/list-resources/*.md`, `docs/actions/*.md`,
//! `docs/data-sources/*.md`, `docs/ephemeral-resources/*.md`,
//! `docs/functions/*.md`), with hand-written
//! example blocks laid out as HashiCorp's tfplugindocs reads them
//! (`examples/provider/provider.tf`, `examples/resources/<type>/resource.tf`,
//! `examples/list-resources/<type>/list-resource.tfquery.hcl`,
//! `examples/actions/<type>/action.tf`,
//! `examples/data-sources/<type>/data-source.tf`,
//! `examples/ephemeral-resources/<type>/ephemeral-resource.tf`,
//! `examples/functions/<name>/function.tf`). Import sections stay here rather
//! than in tfplugindocs' `import.sh`: they explain adoption after interrupted
//! creates, which a shell snippet cannot. The index lists every guide in
//! `docs/guides/`, and each page links its related resources and guides.
//! `make docs` writes them; a test fails when the committed docs differ from
//! what the schemas say.

use std::collections::BTreeMap;
use std::path::Path;

use crate::plugin::schema::{
    Attribute, AttributeType, Block, BlockNesting, FunctionSignature, IdentitySchema, Schema,
};
use crate::plugin::service::{ProviderSchemas, ProviderService};

fn type_name(a: &Attribute) -> String {
    match &a.ty {
        AttributeType::Plain(t) => {
            let j = t.to_json();
            match j.as_str() {
                Some(s) => s.to_string(),
                None => match j[0].as_str() {
                    Some(kind @ ("list" | "set" | "map")) => {
                        format!("{kind} of {}", j[1].as_str().unwrap_or("object"))
                    }
                    Some(k) => k.to_string(),
                    None => "value".into(),
                },
            }
        }
        AttributeType::Nested(n) => format!("{:?} nested object", n.nesting)
            .to_lowercase()
            .replace("single ", ""),
    }
}

/// One attribute as a list item. `with_role` adds required / optional /
/// read-only to the flags: top-level attributes are grouped under those
/// headings instead, nested ones are not.
fn attr_line(a: &Attribute, with_role: bool, out: &mut String) {
    let role = if a.required {
        "required"
    } else if a.optional {
        "optional"
    } else {
        "read-only"
    };
    let flags: Vec<&str> = [
        (with_role, role),
        (a.sensitive, "sensitive"),
        (a.write_only, "write-only"),
        (a.deprecation.is_some(), "deprecated"),
    ]
    .iter()
    .filter(|(b, _)| *b)
    .map(|(_, s)| *s)
    .collect();
    let extra = if flags.is_empty() {
        String::new()
    } else {
        format!(", {}", flags.join(", "))
    };
    let deprecation = a
        .deprecation
        .as_deref()
        .map(|d| format!(" **Deprecated**: {d}"))
        .unwrap_or_default();
    out.push_str(&format!(
        "- `{}` ({}{extra}) {}{deprecation}\n",
        a.name,
        type_name(a),
        a.description.trim()
    ));
    if let AttributeType::Nested(n) = &a.ty {
        for c in &n.attributes {
            let mut sub = String::new();
            attr_line(c, true, &mut sub);
            for line in sub.lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
}

fn block_doc(block: &Block, out: &mut String) {
    type Pick = fn(&Attribute) -> bool;
    let groups: [(&str, Pick); 3] = [
        ("Required", |a| a.required),
        ("Optional", |a| a.optional),
        ("Read-Only", |a| a.computed && !a.optional && !a.required),
    ];
    for (title, pick) in groups {
        let attrs: Vec<&Attribute> = block.attributes.iter().filter(|a| pick(a)).collect();
        if attrs.is_empty() {
            continue;
        }
        out.push_str(&format!("\n### {title}\n\n"));
        for a in attrs {
            attr_line(a, false, out);
        }
    }
    for b in &block.blocks {
        let nesting = match b.nesting {
            BlockNesting::Single | BlockNesting::Group => "block",
            _ => "blocks",
        };
        out.push_str(&format!(
            "\n### `{}` {nesting}\n\n{}\n",
            b.type_name,
            b.block.description.trim()
        ));
        for a in &b.block.attributes {
            attr_line(a, true, out);
        }
    }
}

/// What a page links to: related resources and data sources (type names)
/// and guides (file stems in `docs/guides/`).
fn related(name: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match name {
        "rhelazure_image" => (
            &[
                "rhelazure_image_build",
                "rhelazure_atomic_host",
                "rhelazure_gallery_image",
            ],
            &["real-accounts"],
        ),
        "rhelazure_gallery" => (
            &["rhelazure_gallery_image", "rhelazure_gallery_image_version"],
            &["real-accounts"],
        ),
        "rhelazure_gallery_image" => (
            &[
                "rhelazure_gallery",
                "rhelazure_gallery_image_version",
                "rhelazure_atomic_host",
            ],
            &["real-accounts"],
        ),
        "rhelazure_gallery_image_version" => (
            &[
                "rhelazure_gallery_image",
                "rhelazure_image",
                "rhelazure_image_build",
                "rhelazure_atomic_host",
            ],
            &["real-accounts"],
        ),
        "rhelazure_image_build" => (
            &[
                "rhelazure_image",
                "rhelazure_activation_key",
                "rhelazure_atomic_host",
            ],
            &["image-mode-hosts", "real-accounts"],
        ),
        "rhelazure_cloud_access" => (
            &[
                "rhelazure_marketplace_images",
                "rhelazure_marketplace_agreement",
                "rhelazure_activation_key",
            ],
            &[
                "byos-gold-images",
                "payg-byos-hybrid-benefit",
                "real-accounts",
            ],
        ),
        "rhelazure_marketplace_agreement" => (
            &[
                "rhelazure_marketplace_image",
                "rhelazure_cloud_access",
                "rhelazure_atomic_host",
            ],
            &["byos-gold-images", "real-accounts"],
        ),
        "rhelazure_activation_key" => (
            &["rhelazure_atomic_host", "rhelazure_image_build"],
            &["byos-gold-images", "image-mode-hosts", "real-accounts"],
        ),
        "rhelazure_vm_license" => (
            &["rhelazure_cloud_access", "rhelazure_atomic_host"],
            &[
                "estate-inventory",
                "payg-byos-hybrid-benefit",
                "real-accounts",
            ],
        ),
        "rhelazure_atomic_host" => (
            &[
                "rhelazure_marketplace_image",
                "rhelazure_marketplace_agreement",
                "rhelazure_activation_key",
                "rhelazure_image_build",
                "rhelazure_vm_license",
            ],
            &["image-mode-hosts", "byos-gold-images", "real-accounts"],
        ),
        "rhelazure_marketplace_image" | "rhelazure_marketplace_images" => (
            &[
                "rhelazure_marketplace_agreement",
                "rhelazure_atomic_host",
                "rhelazure_cloud_access",
            ],
            &["byos-gold-images", "payg-byos-hybrid-benefit"],
        ),
        "rhelazure_client_config" => (&[], &["azure-authentication"]),
        "rhelazure_host_update" => (
            &["rhelazure_atomic_host", "rhelazure_vm_license"],
            &["image-mode-hosts", "estate-inventory"],
        ),
        "rhelazure_host_register" => (
            &["rhelazure_activation_key", "rhelazure_vm_license"],
            &["estate-inventory", "byos-gold-images"],
        ),
        "rhelazure_redhat_access_token" => (&[], &["real-accounts"]),
        _ => (&[], &[]),
    }
}

/// Where a type's page is, relative to another page of the docs.
fn page_link(name: &str, s: &ProviderSchemas) -> Option<String> {
    let stem = name.trim_start_matches("rhelazure_");
    let dir = if s.resources.contains_key(name) {
        "resources"
    } else if s.data_sources.contains_key(name) {
        "data-sources"
    } else if s.ephemeral_resources.contains_key(name) {
        "ephemeral-resources"
    } else {
        return None;
    };
    Some(format!("../{dir}/{stem}.md"))
}

/// A guide's title: the `page_title` of its front matter.
fn guide_title(guides: &Path, stem: &str) -> Option<String> {
    let text = std::fs::read_to_string(guides.join(format!("{stem}.md"))).ok()?;
    let line = text.lines().find(|l| l.starts_with("page_title:"))?;
    Some(
        line["page_title:".len()..]
            .trim()
            .trim_matches('"')
            .to_string(),
    )
}

fn related_section(name: &str, s: &ProviderSchemas, guides: &Path) -> String {
    let (types, guide_stems) = related(name);
    let mut items: Vec<String> = types
        .iter()
        .filter_map(|t| page_link(t, s).map(|l| format!("- [`{t}`]({l})")))
        .collect();
    items.extend(guide_stems.iter().filter_map(|g| {
        guide_title(guides, g).map(|title| format!("- Guide: [{title}](../guides/{g}.md)"))
    }));
    if items.is_empty() {
        return String::new();
    }
    format!("\n## Related\n\n{}\n", items.join("\n"))
}

fn page(
    kind: &str,
    name: &str,
    schema: &Schema,
    example: Option<&str>,
    import: Option<&str>,
) -> String {
    let mut out = format!("---\npage_title: \"{name} {kind} - rhelazure\"\nsubcategory: \"\"\ndescription: |-\n  {}\n---\n\n# {name} ({kind})\n\n{}\n", schema.block.description.lines().next().unwrap_or(""), schema.block.description.trim());
    if let Some(e) = example {
        out.push_str(&format!(
            "\n## Example Usage\n\n```terraform\n{}\n```\n",
            e.trim()
        ));
    }
    out.push_str("\n## Schema\n");
    block_doc(&schema.block, &mut out);
    if let Some(i) = import {
        out.push_str(&format!("\n## Import\n\n{i}\n"));
    }
    out
}

fn function_page(name: &str, f: &FunctionSignature, example: Option<&str>) -> String {
    let mut out = format!("---\npage_title: \"{name} function - rhelazure\"\nsubcategory: \"\"\ndescription: |-\n  {}\n---\n\n# function: {name}\n\n{}\n", f.summary, f.description.trim());
    if let Some(e) = example {
        out.push_str(&format!(
            "\n## Example Usage\n\n```terraform\n{}\n```\n",
            e.trim()
        ));
    }
    out.push_str(&format!(
        "\n## Signature\n\n```text\n{name}({}) {}\n```\n\n## Arguments\n\n",
        f.parameters
            .iter()
            .map(|p| format!("{} {}", p.name, p.ty.to_constraint()))
            .collect::<Vec<_>>()
            .join(", "),
        f.return_type.to_constraint()
    ));
    for p in &f.parameters {
        out.push_str(&format!(
            "1. `{}` (`{}`) {}\n",
            p.name,
            p.ty.to_constraint(),
            p.description
        ));
    }
    out
}

/// How each resource is imported (from its `import` implementation).
fn import_note(name: &str) -> Option<&'static str> {
    Some(match name {
        "rhelazure_activation_key" => "```shell\nterraform import rhelazure_activation_key.k <key name>\n```\n\nNames are unique in an organization. When a create finds its name taken (typically a create interrupted after RHSM made the key), the existing key is adopted if it has exactly the planned service level, usage, role, release version and description; otherwise the apply fails at `name` and asks for an import or another name.",
        "rhelazure_marketplace_agreement" => "```shell\n# terms of the provider's subscription\nterraform import rhelazure_marketplace_agreement.a redhat:rhel-byos:rhel-lvm96-gen2\n# or by ARM id, for terms of any subscription in the tenant\nterraform import rhelazure_marketplace_agreement.a /subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/redhat/offers/rhel-byos/plans/rhel-lvm96-gen2/agreements/current\n```\n\nImported terms count as adopted: destroying the resource leaves them accepted.",
        "rhelazure_cloud_access" => "```shell\nterraform import rhelazure_cloud_access.c <Red Hat Sources id>\n```",
        "rhelazure_image_build" => "```shell\nterraform import rhelazure_image_build.b /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/images/<name>\n```\n\nThe compose request is recovered from Image Builder's record of the compose. A build published to a gallery (`gallery`) is imported by the same id (its managed image is gone, and the version made from it is found) or by its version's id, which carries the compose id:\n\n```shell\nterraform import rhelazure_image_build.b /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<gallery>/images/<definition>/versions/<version>\n```\n\nA create interrupted while Image Builder was composing (provider killed, connection lost) is resumed by the next apply: it waits for the running compose that uploads to the same subscription, resource group and image name instead of starting a second one, and adopts the image when that compose already delivered it; with `gallery`, a version it already published is adopted (its creation mark, the `rhelazure-created` tag).",
        "rhelazure_image" => "```shell\nterraform import rhelazure_image.i /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/images/<name>\n```\n\nAn imported image names its blob as `source_blob_uri`.",
        "rhelazure_gallery" => "```shell\nterraform import rhelazure_gallery.g /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<name>\n```\n\nA create that finds a gallery of the same name already there fails at `name` rather than take it over: import it instead.",
        "rhelazure_gallery_image" => "```shell\nterraform import rhelazure_gallery_image.i /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<gallery>/images/<name>\n```\n\nA create that finds a definition of the same name already there fails at `name` rather than take it over (or try to reshape it, which Azure refuses): import it instead.",
        "rhelazure_gallery_image_version" => "```shell\nterraform import rhelazure_gallery_image_version.v /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<gallery>/images/<definition>/versions/<version>\n```\n\nA create that finds the version already there fails at `name` rather than take it over: import it instead. A create whose replication fails or times out leaves the version tracked (tainted), so the next apply replaces it.",
        "rhelazure_vm_license" => "```shell\nterraform import rhelazure_vm_license.l /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<name>\n```",
        "rhelazure_atomic_host" => "```shell\nterraform import rhelazure_atomic_host.h /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<name>\n```\n\nAzure never returns a VM's customData, so an imported host's first boot is unknown (`first_boot_sha256` is null): the configured `registration` and `os_disk` are adopted without a replacement, and the configured `containers` are written to the host in place by the first apply.\n\nA create interrupted after the VM was requested (provider killed, connection lost) leaves a VM Terraform does not know about. The VM carries a `rhelazure-host` tag (derived from the name and the non-secret first-boot content, hidden from `tags`), so the next apply of the same configuration adopts it (waiting for its provisioning to end) instead of failing on \"already exists\" or creating a second one.",
        _ => return None,
    })
}

/// Import by identity (Terraform 1.12+, OpenTofu 1.12+), from the identity schema.
fn identity_import(name: &str, identity: &IdentitySchema) -> String {
    let width = identity
        .attributes
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(0);
    let fields: String = identity
        .attributes
        .iter()
        .map(|a| format!("    {:width$} = \"...\"\n", a.name))
        .collect();
    let list: String = identity
        .attributes
        .iter()
        .map(|a| format!("- `{}` (string, required) {}\n", a.name, a.description))
        .collect();
    format!(
        "\n\n### By identity\n\nTerraform 1.12 and later (and OpenTofu 1.12) also import by the resource's identity, \
         which Terraform keeps in state and checks on every refresh:\n\n```terraform\nimport {{\n  to = {name}.example\n  identity = {{\n{fields}  }}\n}}\n```\n\n{}",
        list.trim_end()
    )
}

/// Every docs file (relative path -> content) for these schemas, with the
/// examples in `examples_dir` (tfplugindocs layout) and the guides of
/// `guides_dir`.
pub fn render(
    s: &ProviderSchemas,
    examples_dir: &Path,
    guides_dir: &Path,
) -> BTreeMap<String, String> {
    let example = |kind: &str, name: &str, file: &str| {
        std::fs::read_to_string(examples_dir.join(kind).join(name).join(file)).ok()
    };
    let mut files = BTreeMap::new();
    let mut index = String::from("---\npage_title: \"rhelazure Provider\"\ndescription: |-\n  RHEL on Azure: images, Red Hat subscriptions and Atomic hosts.\n---\n\n# rhelazure Provider\n\n");
    index.push_str(s.provider.block.description.trim());
    index.push('\n');
    if let Some(e) = example("provider", "", "provider.tf") {
        index.push_str(&format!(
            "\n## Example Usage\n\n```terraform\n{}\n```\n",
            e.trim()
        ));
    }
    let mut guides: Vec<(String, String)> = std::fs::read_dir(guides_dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let stem = e.path().file_stem()?.to_str()?.to_string();
                    (e.path().extension()? == "md")
                        .then(|| guide_title(guides_dir, &stem).map(|t| (stem, t)))?
                })
                .collect()
        })
        .unwrap_or_default();
    guides.sort();
    if !guides.is_empty() {
        index.push_str("\n## Guides\n\n");
        for (stem, title) in &guides {
            index.push_str(&format!("- [{title}](guides/{stem}.md)\n"));
        }
    }
    index.push_str("\n## Schema\n");
    block_doc(&s.provider.block, &mut index);
    files.insert("index.md".into(), index);
    let with_related = |name: &str, page: String| page + &related_section(name, s, guides_dir);
    for (name, schema) in &s.resources {
        let import = match (import_note(name), s.identities.get(name)) {
            (Some(note), Some(identity)) => {
                Some(format!("{note}{}", identity_import(name, identity)))
            }
            (note, _) => note.map(str::to_string),
        };
        files.insert(
            format!("resources/{}.md", name.trim_start_matches("rhelazure_")),
            with_related(
                name,
                page(
                    "Resource",
                    name,
                    schema,
                    example("resources", name, "resource.tf").as_deref(),
                    import.as_deref(),
                ),
            ),
        );
    }
    for (name, schema) in &s.list_resources {
        let results = format!(
            "\n## Results\n\nEach result is a [`{name}`](../resources/{stem}.md) object, named by its identity; \
             with `include_resource = true` it carries the whole object. \
             `terraform query -generate-config-out=FILE` writes a `resource` and an `import` block for each, \
             and the next `terraform plan` imports them with no changes. List resources need Terraform 1.14 or later.\n",
            stem = name.trim_start_matches("rhelazure_")
        );
        files.insert(
            format!(
                "list-resources/{}.md",
                name.trim_start_matches("rhelazure_")
            ),
            with_related(
                name,
                page(
                    "List Resource",
                    name,
                    schema,
                    example("list-resources", name, "list-resource.tfquery.hcl").as_deref(),
                    None,
                ) + &results,
            ),
        );
    }
    for (name, schema) in &s.data_sources {
        files.insert(
            format!("data-sources/{}.md", name.trim_start_matches("rhelazure_")),
            with_related(
                name,
                page(
                    "Data Source",
                    name,
                    schema,
                    example("data-sources", name, "data-source.tf").as_deref(),
                    None,
                ),
            ),
        );
    }
    for (name, schema) in &s.ephemeral_resources {
        files.insert(
            format!(
                "ephemeral-resources/{}.md",
                name.trim_start_matches("rhelazure_")
            ),
            with_related(
                name,
                page(
                    "Ephemeral Resource",
                    name,
                    schema,
                    example("ephemeral-resources", name, "ephemeral-resource.tf").as_deref(),
                    None,
                ),
            ),
        );
    }
    for (name, schema) in &s.actions {
        let invoking = format!(
            "\n## Invoking\n\nActions need Terraform 1.14 or later. Run one on its own with \
             `terraform apply -invoke=action.{name}.NAME`, or after a resource changes with \
             `lifecycle {{ action_trigger {{ events = [after_update] actions = [action.{name}.NAME] }} }}`. \
             Terraform checks the configuration and the target at plan time, before anything runs, and prints \
             the action's progress as it arrives.\n"
        );
        files.insert(
            format!("actions/{}.md", name.trim_start_matches("rhelazure_")),
            with_related(
                name,
                page(
                    "Action",
                    name,
                    schema,
                    example("actions", name, "action.tf").as_deref(),
                    None,
                ) + &invoking,
            ),
        );
    }
    for (name, f) in &s.functions {
        files.insert(
            format!("functions/{name}.md"),
            function_page(
                name,
                f,
                example("functions", name, "function.tf").as_deref(),
            ),
        );
    }
    files
}

/// The docs of this provider.
pub fn render_provider(repo: &Path) -> BTreeMap<String, String> {
    let registry = crate::resources::registry();
    render(
        registry.schemas(),
        &repo.join("examples"),
        &repo.join("docs/guides"),
    )
}
