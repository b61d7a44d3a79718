//! API models (serde structs and enums) from the vendored specs: Microsoft's
//! Swagger 2.0 (`specs/azure-rest-api-specs`) and Red Hat's OpenAPI 3.
//!
//! Written here because no maintained Rust generator reads Swagger 2.0 with
//! ARM's extensions (`x-ms-enum`, cross-file `$ref`s into `common-types`):
//! typify and progenitor read OpenAPI 3 only, and autorust (the old Azure SDK's
//! generator) went with the management crates. One generator for both keeps
//! the models alike (typify would bring its own conventions and a larger
//! dependency tree for the Red Hat half). What it does is small:
//!
//! - each listed definition becomes a serde struct with every property of the
//!   spec, its `allOf` bases merged in (so `id`, `name`, `location`, `tags` of
//!   `Resource` sit beside the definition's own), wire names kept by `rename`;
//! - a property whose definition is listed gets that type; one whose
//!   definition is not listed is kept verbatim as `serde_json::Value`, so only
//!   what the provider reads is typed and nothing is lost on the way through;
//! - string enums become Rust enums: closed where the spec closes them, open
//!   (an `Other(String)` variant) where `x-ms-enum.modelAsString` leaves them
//!   open, as Azure adds values without a new api-version;
//! - every field is an `Option`: ARM omits what is unset, read-only
//!   properties are absent from requests, and a missing field must not fail a
//!   read of a resource somebody else made.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value as Yaml;

use crate::Error;

/// One generated model file.
pub struct StructFile {
    pub output: &'static str,
    pub about: &'static str,
    /// The folder the spec paths below are relative to.
    pub root: &'static str,
    /// Read every enum as open: Red Hat's OpenAPI 3 specs have no marker for
    /// extensible enums, and their services add values (distributions,
    /// statuses) between spec releases, so a closed enum would fail a read.
    pub enums_open: bool,
    /// (spec file, definition: `definitions` in Swagger 2.0,
    /// `components.schemas` in OpenAPI 3).
    pub definitions: &'static [(&'static str, &'static str)],
    /// (spec file, JSON pointer, Rust name): schemas written inline in an
    /// operation (request bodies, response envelopes).
    pub operation_schemas: &'static [(&'static str, &'static str, &'static str)],
}

const ARM_ROOT: &str = "specs/azure-rest-api-specs/specification";

/// Spec paths under a resource provider's folder, spelt once.
macro_rules! compute {
    ($file:literal) => {
        concat!(
            "compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-03-01/",
            $file
        )
    };
}
macro_rules! gallery {
    ($file:literal) => {
        concat!(
            "compute/resource-manager/Microsoft.Compute/GalleryRP/stable/2023-07-03/",
            $file
        )
    };
}
macro_rules! network {
    ($file:literal) => {
        concat!(
            "network/resource-manager/Microsoft.Network/stable/2024-01-01/",
            $file
        )
    };
}

/// Every generated model file.
pub fn struct_files() -> impl Iterator<Item = &'static StructFile> {
    ARM_FILES.iter().chain(REDHAT_FILES.iter())
}

/// Microsoft's APIs (Swagger 2.0).
const ARM_FILES: &[StructFile] = &[
    StructFile {
        root: ARM_ROOT,
        enums_open: false,
        operation_schemas: &[],
        output: "src/arm/models/common.rs",
        about: "ARM's common types (`common-types/resource-management/v5`)",
        definitions: &[
            (COMMON_TYPES, "ErrorResponse"),
            (COMMON_TYPES, "ErrorDetail"),
            (COMMON_TYPES, "ErrorAdditionalInfo"),
            (COMMON_TYPES, "OperationStatusResult"),
        ],
    },
    StructFile {
        root: ARM_ROOT,
        enums_open: false,
        operation_schemas: &[],
        output: "src/arm/models/resources.rs",
        about: "Microsoft.Resources 2024-03-01",
        definitions: &[
            (RESOURCES, "Provider"),
            (RESOURCES, "ResourceGroup"),
            (RESOURCES, "ResourceGroupProperties"),
            (RESOURCES, "GenericResourceExpanded"),
        ],
    },
    StructFile {
        root: ARM_ROOT,
        enums_open: false,
        operation_schemas: &[],
        output: "src/arm/models/compute.rs",
        about: "Microsoft.Compute 2024-03-01 (`ComputeRP`)",
        definitions: &[
            (compute!("virtualMachine.json"), "VirtualMachine"),
            (compute!("virtualMachine.json"), "VirtualMachineProperties"),
            (
                compute!("virtualMachine.json"),
                "VirtualMachineInstanceView",
            ),
            (compute!("virtualMachine.json"), "VirtualMachineUpdate"),
            (compute!("virtualMachine.json"), "VirtualMachineExtension"),
            (
                compute!("virtualMachine.json"),
                "VirtualMachineExtensionProperties",
            ),
            (compute!("runCommand.json"), "VirtualMachineRunCommand"),
            (
                compute!("runCommand.json"),
                "VirtualMachineRunCommandProperties",
            ),
            (
                compute!("runCommand.json"),
                "VirtualMachineRunCommandInstanceView",
            ),
            (
                compute!("runCommand.json"),
                "VirtualMachineRunCommandScriptSource",
            ),
            (compute!("runCommand.json"), "RunCommandInputParameter"),
            (compute!("runCommand.json"), "RunCommandInput"),
            (compute!("runCommand.json"), "RunCommandResult"),
            (compute!("computeRPCommon.json"), "Plan"),
            (compute!("computeRPCommon.json"), "HardwareProfile"),
            (compute!("computeRPCommon.json"), "StorageProfile"),
            (compute!("computeRPCommon.json"), "ImageReference"),
            (compute!("computeRPCommon.json"), "OSDisk"),
            (compute!("computeRPCommon.json"), "ManagedDiskParameters"),
            (compute!("computeRPCommon.json"), "VMDiskSecurityProfile"),
            (compute!("computeRPCommon.json"), "OSProfile"),
            (compute!("computeRPCommon.json"), "LinuxConfiguration"),
            (compute!("computeRPCommon.json"), "SshConfiguration"),
            (compute!("computeRPCommon.json"), "SshPublicKey"),
            (compute!("computeRPCommon.json"), "NetworkProfile"),
            (
                compute!("computeRPCommon.json"),
                "NetworkInterfaceReference",
            ),
            (
                compute!("computeRPCommon.json"),
                "NetworkInterfaceReferenceProperties",
            ),
            (compute!("computeRPCommon.json"), "SecurityProfile"),
            (compute!("computeRPCommon.json"), "UefiSettings"),
            (compute!("computeRPCommon.json"), "InstanceViewStatus"),
            (compute!("virtualMachineImage.json"), "VirtualMachineImage"),
            (
                compute!("virtualMachineImage.json"),
                "VirtualMachineImageProperties",
            ),
            (
                compute!("virtualMachineImage.json"),
                "VirtualMachineImageResource",
            ),
            (compute!("virtualMachineImage.json"), "PurchasePlan"),
            (
                compute!("virtualMachineImage.json"),
                "VirtualMachineImageFeature",
            ),
            (
                compute!("virtualMachineImage.json"),
                "ImageDeprecationStatus",
            ),
            (compute!("image.json"), "Image"),
            (compute!("image.json"), "ImageProperties"),
            (compute!("image.json"), "ImageStorageProfile"),
            (compute!("image.json"), "ImageOSDisk"),
            (compute!("image.json"), "ImageUpdate"),
        ],
    },
    StructFile {
        root: ARM_ROOT,
        enums_open: false,
        operation_schemas: &[],
        output: "src/arm/models/gallery.rs",
        about: "Microsoft.Compute 2023-07-03 (`GalleryRP`)",
        definitions: &[
            (gallery!("gallery.json"), "Gallery"),
            (gallery!("gallery.json"), "GalleryProperties"),
            (gallery!("gallery.json"), "GalleryIdentifier"),
            (gallery!("gallery.json"), "GalleryUpdate"),
            (gallery!("gallery.json"), "GalleryImage"),
            (gallery!("gallery.json"), "GalleryImageProperties"),
            (gallery!("gallery.json"), "GalleryImageUpdate"),
            (gallery!("galleryRPCommon.json"), "GalleryImageIdentifier"),
            (gallery!("galleryRPCommon.json"), "GalleryImageFeature"),
            (gallery!("galleryRPCommon.json"), "ImagePurchasePlan"),
            (gallery!("gallery.json"), "GalleryImageVersion"),
            (gallery!("gallery.json"), "GalleryImageVersionProperties"),
            (gallery!("gallery.json"), "GalleryImageVersionUpdate"),
            (
                gallery!("gallery.json"),
                "GalleryImageVersionPublishingProfile",
            ),
            (gallery!("gallery.json"), "TargetRegion"),
            (
                gallery!("gallery.json"),
                "GalleryImageVersionStorageProfile",
            ),
            (gallery!("gallery.json"), "GalleryArtifactVersionFullSource"),
            (gallery!("gallery.json"), "GalleryOSDiskImage"),
            (gallery!("gallery.json"), "GalleryDiskImageSource"),
            (gallery!("gallery.json"), "ReplicationStatus"),
            (gallery!("gallery.json"), "RegionalReplicationStatus"),
        ],
    },
    StructFile {
        root: ARM_ROOT,
        enums_open: false,
        operation_schemas: &[],
        output: "src/arm/models/network.rs",
        about: "Microsoft.Network 2024-01-01",
        definitions: &[
            (network!("networkInterface.json"), "NetworkInterface"),
            (
                network!("networkInterface.json"),
                "NetworkInterfacePropertiesFormat",
            ),
            (
                network!("networkInterface.json"),
                "NetworkInterfaceIPConfiguration",
            ),
            (
                network!("networkInterface.json"),
                "NetworkInterfaceIPConfigurationPropertiesFormat",
            ),
            (network!("publicIpAddress.json"), "PublicIPAddress"),
            (
                network!("publicIpAddress.json"),
                "PublicIPAddressPropertiesFormat",
            ),
            (network!("publicIpAddress.json"), "PublicIPAddressSku"),
            (network!("virtualNetwork.json"), "Subnet"),
            (network!("network.json"), "TagsObject"),
        ],
    },
    StructFile {
        root: ARM_ROOT,
        enums_open: false,
        operation_schemas: &[],
        output: "src/arm/models/storage.rs",
        about: "Microsoft.Storage 2023-05-01",
        definitions: &[
            (STORAGE, "StorageAccount"),
            (STORAGE, "StorageAccountProperties"),
            (STORAGE, "StorageAccountCreateParameters"),
            (STORAGE, "Endpoints"),
            (STORAGE, "AccountSasParameters"),
            (STORAGE, "ListAccountSasResponse"),
        ],
    },
    StructFile {
        root: ARM_ROOT,
        enums_open: false,
        operation_schemas: &[],
        output: "src/arm/models/marketplace_ordering.rs",
        about: "Microsoft.MarketplaceOrdering 2021-01-01",
        definitions: &[
            (MARKETPLACE_ORDERING, "AgreementTerms"),
            (MARKETPLACE_ORDERING, "AgreementProperties"),
            (MARKETPLACE_ORDERING, "OldAgreementTerms"),
            (MARKETPLACE_ORDERING, "OldAgreementProperties"),
        ],
    },
];

const RHSM: &str = "redhat-rhsm-v2/openapi.json";
const IMAGE_BUILDER: &str = "redhat-image-builder/api.yaml";
const SOURCES: &str = "redhat-sources/openapi-3-v3.1.json";

/// Red Hat's APIs (OpenAPI 3).
const REDHAT_FILES: [StructFile; 3] = [
    StructFile {
        output: "src/redhat/models/image_builder.rs",
        about: "Red Hat hosted Image Builder (`/api/image-builder/v1`)",
        root: "specs",
        enums_open: true,
        definitions: &[
            (IMAGE_BUILDER, "ComposeRequest"),
            (IMAGE_BUILDER, "ImageRequest"),
            (IMAGE_BUILDER, "UploadRequest"),
            (IMAGE_BUILDER, "AzureUploadRequestOptions"),
            (IMAGE_BUILDER, "Customizations"),
            (IMAGE_BUILDER, "User"),
            (IMAGE_BUILDER, "Subscription"),
            (IMAGE_BUILDER, "Services"),
            (IMAGE_BUILDER, "Filesystem"),
            (IMAGE_BUILDER, "ComposeResponse"),
            (IMAGE_BUILDER, "ComposeStatus"),
            (IMAGE_BUILDER, "ImageStatus"),
            (IMAGE_BUILDER, "UploadStatus"),
            (IMAGE_BUILDER, "AzureUploadStatus"),
            (IMAGE_BUILDER, "ComposeStatusError"),
            (IMAGE_BUILDER, "ComposesResponse"),
            (IMAGE_BUILDER, "ComposesResponseItem"),
            (IMAGE_BUILDER, "DistributionItem"),
        ],
        operation_schemas: &[],
    },
    StructFile {
        output: "src/redhat/models/rhsm.rs",
        about: "Red Hat Subscription Management v2 (`/api/rhsm/v2`)",
        root: "specs",
        enums_open: true,
        definitions: &[
            (RHSM, "ActivationKeys"),
            (RHSM, "AdditionalRepositories"),
            (RHSM, "CloudAccountListItem"),
            (RHSM, "OrgSimpleContentAccess"),
            (RHSM, "APIPageParam"),
        ],
        operation_schemas: &[
            (
                RHSM,
                "/paths/~1activation_keys/post/requestBody/content/application~1json/schema",
                "CreateActivationKey",
            ),
            (
                RHSM,
                "/paths/~1activation_keys~1{name}/put/requestBody/content/application~1json/schema",
                "UpdateActivationKey",
            ),
            (
                RHSM,
                "/paths/~1activation_keys/get/responses/200/content/application~1json/schema",
                "ActivationKeyList",
            ),
            (
                RHSM,
                "/paths/~1activation_keys~1{name}/get/responses/200/content/application~1json/schema",
                "ActivationKeyBody",
            ),
            (
                RHSM,
                "/paths/~1cloud_access_providers~1accounts/get/responses/200/content/application~1json/schema",
                "CloudAccountList",
            ),
            (
                RHSM,
                "/paths/~1organization/get/responses/200/content/application~1json/schema",
                "OrganizationBody",
            ),
        ],
    },
    StructFile {
        output: "src/redhat/models/sources.rs",
        about: "Red Hat Sources v3.1 (`/api/sources/v3.1`)",
        root: "specs",
        enums_open: true,
        definitions: &[
            (SOURCES, "BulkCreatePayload"),
            (SOURCES, "BulkCreateResponse"),
            (SOURCES, "Source"),
            (SOURCES, "SourceEdit"),
            (SOURCES, "SourcesCollection"),
            (SOURCES, "SourceType"),
            (SOURCES, "SourceTypesCollection"),
            (SOURCES, "Application"),
            (SOURCES, "ApplicationsCollection"),
            (SOURCES, "AuthenticationRead"),
            (SOURCES, "AuthenticationsCollection"),
            (SOURCES, "CollectionMetadata"),
        ],
        operation_schemas: &[],
    },
];

const RESOURCES: &str =
    "resources/resource-manager/Microsoft.Resources/stable/2024-03-01/resources.json";
const COMMON_TYPES: &str = "common-types/resource-management/v5/types.json";
const STORAGE: &str = "storage/resource-manager/Microsoft.Storage/stable/2023-05-01/storage.json";
const MARKETPLACE_ORDERING: &str =
    "marketplaceordering/resource-manager/Microsoft.MarketplaceOrdering/stable/2021-01-01/Agreements.json";

/// Loaded spec files by canonical path (relative to the file's `root`).
struct Specs {
    root: PathBuf,
    files: HashMap<PathBuf, Yaml>,
}

impl Specs {
    fn load(&mut self, file: &Path) -> Result<&Yaml, Error> {
        if !self.files.contains_key(file) {
            let path = self.root.join(file);
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| Error::Io(shown.clone(), e))?;
            let doc = serde_yaml_ng::from_str(&text).map_err(|e| Error::Yaml(shown, e))?;
            self.files.insert(file.to_path_buf(), doc);
        }
        Ok(&self.files[file])
    }

    fn definition(&mut self, at: &DefId) -> Result<Yaml, Error> {
        let doc = self.load(&at.file)?;
        let name = at.name.as_str();
        let def = if let Some(pointer) = name.strip_prefix('/') {
            // A schema inside an operation (RHSM keeps its envelopes and
            // request bodies there): a JSON pointer, `~1` for `/`.
            let mut node = doc;
            for part in pointer.split('/') {
                let key = part.replace("~1", "/").replace("~0", "~");
                node = &node[key.as_str()];
            }
            node
        } else {
            match &doc["definitions"][name] {
                Yaml::Null => &doc["components"]["schemas"][name],
                d => d,
            }
        };
        if def.is_null() {
            return Err(Error::NoDefinition(format!(
                "{}#/definitions/{}",
                at.file.display(),
                at.name
            )));
        }
        Ok(def.clone())
    }
}

/// A definition: its file (canonical, relative to the root) and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct DefId {
    file: PathBuf,
    name: String,
}

/// `./x.json#/definitions/Y` (or `#/definitions/Y`, or OpenAPI 3's
/// `#/components/schemas/Y`) as seen from `from`.
fn resolve(from: &Path, reference: &str) -> DefId {
    let (file, name) = reference
        .split_once("#/definitions/")
        .or_else(|| reference.split_once("#/components/schemas/"))
        .unwrap_or(("", reference));
    let file = if file.is_empty() {
        from.to_path_buf()
    } else {
        let mut p = from.parent().map(Path::to_path_buf).unwrap_or_default();
        for part in file.split('/') {
            match part {
                "." | "" => {}
                ".." => {
                    p.pop();
                }
                f => p.push(f),
            }
        }
        p
    };
    DefId {
        file,
        name: name.to_string(),
    }
}

struct Field {
    wire: String,
    ty: String,
    about: String,
}

/// Whether struct `from` holds `to` in place, directly or through others.
fn reaches(holds: &BTreeMap<String, Vec<String>>, from: &str, to: &str) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(t) = todo.pop() {
        if t == to {
            return true;
        }
        if seen.insert(t.clone()) {
            todo.extend(holds.get(&t).into_iter().flatten().cloned());
        }
    }
    false
}

/// An enum met while typing the listed definitions.
struct EnumModel {
    values: Vec<String>,
    open: bool,
    description: String,
}

/// A struct to render: a listed definition or an inline object.
struct Model {
    rust_name: String,
    /// Where it comes from, for its doc comment.
    label: String,
    schema: Yaml,
    /// The definition whose file resolves its references.
    owner: DefId,
    fields: Vec<Field>,
}

fn render_struct(m: &Model, holds: &BTreeMap<String, Vec<String>>) -> String {
    let mut s = doc_comment(m.schema["description"].as_str().unwrap_or(""), "");
    s.push_str(&format!(
        "/// {}.\n\
         #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]\n\
         pub struct {} {{\n",
        m.label, m.rust_name
    ));
    for f in &m.fields {
        let ty = if reaches(holds, &f.ty, &m.rust_name) {
            format!("Box<{}>", f.ty)
        } else {
            f.ty.clone()
        };
        s.push_str(&doc_comment(&f.about, "    "));
        s.push_str(&format!(
            "    #[serde(rename = \"{}\", default, skip_serializing_if = \"Option::is_none\")]\n    pub {}: Option<{ty}>,\n",
            f.wire,
            field_name(&f.wire)
        ));
    }
    s.push_str("}\n");
    s
}

struct Generator {
    specs: Specs,
    /// Inline objects met while typing fields, not yet rendered.
    inline: Vec<Model>,
    /// Every enum of the file is open (Red Hat's specs say nothing either way).
    enums_open: bool,
    listed: BTreeMap<DefId, String>,
    enums: BTreeMap<String, EnumModel>,
}

pub fn render_struct_file(root: &Path, file: &StructFile) -> Result<String, Error> {
    let mut g = Generator {
        specs: Specs {
            root: root.join(file.root),
            files: HashMap::new(),
        },
        listed: file
            .definitions
            .iter()
            .map(|(f, n)| {
                (
                    DefId {
                        file: PathBuf::from(f),
                        name: n.to_string(),
                    },
                    n.to_string(),
                )
            })
            .collect(),
        enums: BTreeMap::new(),
        inline: Vec::new(),
        enums_open: file.enums_open,
    };
    // The listed definitions, then the inline objects met in them (named
    // after their parent and property), each with its fields.
    let mut models: Vec<Model> = Vec::new();
    let named = file
        .definitions
        .iter()
        .map(|(spec, name)| (spec, name, name));
    let in_operations = file
        .operation_schemas
        .iter()
        .map(|(spec, at, name)| (spec, at, name));
    for (spec, at, name) in named.chain(in_operations) {
        let id = DefId {
            file: PathBuf::from(spec),
            name: at.to_string(),
        };
        let schema = g.specs.definition(&id)?;
        models.push(Model {
            rust_name: name.to_string(),
            label: format!(
                "`{}`: `{at}`",
                id.file.file_name().and_then(|f| f.to_str()).unwrap_or("")
            ),
            schema,
            owner: id,
            fields: Vec::new(),
        });
    }
    let mut next = 0;
    while next < models.len() {
        let (owner, schema, name) = {
            let m = &models[next];
            (m.owner.clone(), m.schema.clone(), m.rust_name.clone())
        };
        models[next].fields = g.fields(&owner, &schema, &name)?;
        models.append(&mut g.inline);
        next += 1;
    }
    // Which structs hold which others in place (an `Option<T>` field, not a
    // `Vec` or map): a cycle of those has no size, so a field that closes one
    // is boxed (`PublicIPAddress` -> its properties -> `servicePublicIPAddress`).
    let holds: BTreeMap<String, Vec<String>> = models
        .iter()
        .map(|m| {
            (
                m.rust_name.clone(),
                m.fields.iter().map(|f| f.ty.clone()).collect(),
            )
        })
        .collect();
    let mut structs = String::new();
    for m in &models {
        structs.push('\n');
        structs.push_str(&render_struct(m, &holds));
    }
    let mut out = format!(
        "// @generated by `make models` (codegen/) from {}: do not edit.\n\
         //! {}: the definitions the provider reads and writes, as the spec has\n\
         //! them. Definitions not listed in `codegen/src/structs.rs` stay JSON.\n\
         //! A spec update that changes them changes this file, and the compiler\n\
         //! then shows every place that depends on it.\n",
        file.root, file.about
    );
    out.push_str(&structs);
    for (name, e) in &g.enums {
        out.push('\n');
        out.push_str(&render_enum(name, e)?);
    }
    Ok(out)
}

impl Generator {
    /// Own properties after those of the `allOf` bases, bases first.
    fn properties(&mut self, id: &DefId, def: &Yaml) -> Result<Vec<(String, Yaml, DefId)>, Error> {
        let mut props = Vec::new();
        if let Some(bases) = def["allOf"].as_sequence() {
            for base in bases {
                if let Some(r) = base["$ref"].as_str() {
                    let base_id = resolve(&id.file, r);
                    let base_def = self.specs.definition(&base_id)?;
                    props.extend(self.properties(&base_id, &base_def)?);
                } else {
                    // An inline part of the definition (OpenAPI 3 specs use these).
                    props.extend(self.properties(id, base)?);
                }
            }
        }
        if let Some(own) = def["properties"].as_mapping() {
            for (k, v) in own {
                let Some(k) = k.as_str() else { continue };
                props.retain(|(name, _, _)| name != k);
                props.push((k.to_string(), v.clone(), id.clone()));
            }
        }
        Ok(props)
    }

    /// The fields of a listed definition: wire name, Rust type, doc text.
    /// The fields of a definition or inline object: wire name, Rust type, doc.
    fn fields(
        &mut self,
        owner: &DefId,
        schema: &Yaml,
        rust_name: &str,
    ) -> Result<Vec<Field>, Error> {
        let mut out = Vec::new();
        for (wire, prop, prop_owner) in self.properties(owner, schema)? {
            let ty = self.rust_type(&prop_owner, &prop, rust_name, &wire)?;
            let mut about = prop["description"].as_str().unwrap_or("").to_string();
            if prop["readOnly"].as_bool() == Some(true) {
                about = format!("(read-only) {about}");
            }
            out.push(Field { wire, ty, about });
        }
        Ok(out)
    }

    fn rust_type(
        &mut self,
        from: &DefId,
        schema: &Yaml,
        parent: &str,
        property: &str,
    ) -> Result<String, Error> {
        if let Some(r) = schema["$ref"].as_str() {
            let target = resolve(&from.file, r);
            if let Some(name) = self.listed.get(&target) {
                return Ok(name.clone());
            }
            let def = self.specs.definition(&target)?;
            if def["enum"].is_sequence() {
                return self.enum_type(&def, &target.name);
            }
            // A named scalar (Sources' `ID` is a string) is its scalar.
            if matches!(
                def["type"].as_str(),
                Some("string" | "integer" | "number" | "boolean")
            ) {
                return self.rust_type(&target, &def, parent, property);
            }
            return Ok("serde_json::Value".into());
        }
        if schema["enum"].is_sequence() {
            let fallback = format!("{parent}{}", pascal(property));
            return self.enum_type(schema, &fallback);
        }
        Ok(match schema["type"].as_str() {
            Some("string") => "String".into(),
            Some("integer") if schema["format"].as_str() == Some("int32") => "i32".into(),
            Some("integer") => "i64".into(),
            Some("number") => "f64".into(),
            Some("boolean") => "bool".into(),
            Some("array") => format!(
                "Vec<{}>",
                self.rust_type(from, &schema["items"], parent, property)?
            ),
            _ if schema["properties"].is_mapping() => {
                // An inline object: a struct of its own, named after where it is.
                let name = format!("{parent}{}", pascal(property));
                if !self.inline.iter().any(|m| m.rust_name == name) {
                    self.inline.push(Model {
                        rust_name: name.clone(),
                        label: format!("`{parent}.{property}`"),
                        schema: schema.clone(),
                        owner: from.clone(),
                        fields: Vec::new(),
                    });
                }
                name
            }
            Some("object") if schema["additionalProperties"].is_mapping() => format!(
                "std::collections::BTreeMap<String, {}>",
                self.rust_type(from, &schema["additionalProperties"], parent, property)?
            ),
            _ => "serde_json::Value".into(),
        })
    }

    fn enum_type(&mut self, schema: &Yaml, fallback: &str) -> Result<String, Error> {
        let name = schema["x-ms-enum"]["name"]
            .as_str()
            .map(pascal)
            .unwrap_or_else(|| fallback.to_string());
        let values: Vec<String> = schema["enum"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let open = schema["x-ms-enum"]["modelAsString"].as_bool() == Some(true) || self.enums_open;
        match self.enums.get(&name) {
            Some(e) if e.values != values || e.open != open => {
                return Err(Error::EnumConflict(name));
            }
            Some(_) => {}
            None => {
                self.enums.insert(
                    name.clone(),
                    EnumModel {
                        values,
                        open,
                        description: schema["description"].as_str().unwrap_or("").to_string(),
                    },
                );
            }
        }
        Ok(name)
    }
}

/// The first sentence of a spec description, as a doc comment.
fn doc_comment(text: &str, indent: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let first = match flat.find(". ") {
        Some(i) => &flat[..=i],
        None => flat.as_str(),
    };
    if first.is_empty() {
        return String::new();
    }
    format!("{indent}/// {}\n", first.replace("<br>", " "))
}

/// `vmSize` -> `vm_size`, `hyperVGeneration` -> `hyper_v_generation`,
/// `diskSizeGB` -> `disk_size_gb`; `type` -> `r#type`.
pub fn field_name(wire: &str) -> String {
    let chars: Vec<char> = wire.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let after_lower = prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            let ends_acronym = prev.is_some_and(|p| p.is_ascii_uppercase())
                && next.is_some_and(|n| n.is_ascii_lowercase());
            if after_lower || ends_acronym {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    match out.as_str() {
        "type" | "ref" | "self" | "match" | "move" => format!("r#{out}"),
        _ => out,
    }
}

/// `RHEL_BYOS` -> `RhelByos`, `TrustedLaunch` -> `TrustedLaunch`,
/// `Standard_LRS` -> `StandardLrs`, `V2` -> `V2`.
pub fn pascal(value: &str) -> String {
    let mut out = String::new();
    for part in value.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut c = part.chars();
        let Some(head) = c.next() else { continue };
        let rest = c.as_str();
        // Between two numbers a separator must stay: rhel-9.6 is not rhel-96.
        if head.is_ascii_digit() && out.ends_with(|c: char| c.is_ascii_digit()) {
            out.push('_');
        }
        out.push(head.to_ascii_uppercase());
        if part.chars().all(|c| !c.is_ascii_lowercase()) {
            out.push_str(&rest.to_ascii_lowercase());
        } else {
            out.push_str(rest);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

fn render_enum(name: &str, e: &EnumModel) -> Result<String, Error> {
    let variants: Vec<String> = e.values.iter().map(|v| pascal(v)).collect();
    for (i, a) in variants.iter().enumerate() {
        if variants[..i].contains(a) || (e.open && a == "Other") {
            return Err(Error::EnumConflict(format!("{name}::{a}")));
        }
    }
    let mut s = doc_comment(&e.description, "");
    if e.open {
        s.push_str(&format!(
            "/// Open: Azure may answer values this spec does not list (`Other`).\n\
             #[derive(Clone, Debug, PartialEq, Eq, Hash)]\npub enum {name} {{\n"
        ));
        for v in &variants {
            s.push_str(&format!("    {v},\n"));
        }
        s.push_str("    Other(String),\n}\n\n");
    } else {
        s.push_str(&format!(
            "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]\npub enum {name} {{\n"
        ));
        for (v, n) in e.values.iter().zip(&variants) {
            s.push_str(&format!("    #[serde(rename = \"{v}\")]\n    {n},\n"));
        }
        s.push_str("}\n\n");
    }
    s.push_str(&format!(
        "impl {name} {{\n    /// The values the spec lists, in its order.\n    pub const KNOWN: &'static [{name}] = &[\n"
    ));
    for v in &variants {
        s.push_str(&format!("        {name}::{v},\n"));
    }
    s.push_str("    ];\n\n    /// The value as the API spells it.\n    pub fn as_str(&self) -> &str {\n        match self {\n");
    for (v, n) in e.values.iter().zip(&variants) {
        s.push_str(&format!("            {name}::{n} => \"{v}\",\n"));
    }
    if e.open {
        s.push_str(&format!("            {name}::Other(s) => s,\n"));
    }
    s.push_str("        }\n    }\n}\n\n");
    // Parsing and printing (and serde, for open enums) are the same for
    // every enum: macros in the hand-written models module.
    if e.open {
        s.push_str(&format!("super::open_enum_impls!({name});\n"));
    } else {
        s.push_str(&format!("super::closed_enum_impls!({name});\n"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(field_name("vmSize"), "vm_size");
        assert_eq!(field_name("hyperVGeneration"), "hyper_v_generation");
        assert_eq!(field_name("diskSizeGB"), "disk_size_gb");
        assert_eq!(field_name("osDisk"), "os_disk");
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(pascal("RHEL_BYOS"), "RhelByos");
        assert_eq!(pascal("TrustedLaunch"), "TrustedLaunch");
        assert_eq!(pascal("Standard_LRS"), "StandardLrs");
        assert_eq!(pascal("V2"), "V2");
        assert_eq!(pascal("rhel-9.6"), "Rhel9_6");
        assert_eq!(pascal("rhel-96"), "Rhel96");
        assert_eq!(pascal("rhel-9.6-nightly"), "Rhel9_6Nightly");
        assert_eq!(pascal("aws.s3"), "AwsS3");
        assert_eq!(pascal("bootable-container-iso"), "BootableContainerIso");
    }

    #[test]
    fn references_resolve_across_files() {
        let from = Path::new("compute/x/stable/2024-03-01/virtualMachine.json");
        assert_eq!(
            resolve(
                from,
                "../../../common-types/v1/common.json#/definitions/Resource"
            ),
            DefId {
                file: PathBuf::from("compute/common-types/v1/common.json"),
                name: "Resource".into()
            }
        );
        assert_eq!(resolve(from, "#/definitions/Plan").file, from);
    }
}
