//! The provider's resources, data sources, ephemeral resources and functions:
//! one file each, schema next to behaviour. Nothing here knows about gRPC.

pub mod activation_key;
pub mod atomic_host;
pub mod client_config;
pub mod cloud_access;
mod common;
mod creation_marker;
mod disk_upload;
pub mod gallery;
pub mod gallery_image;
pub mod gallery_image_version;
pub mod gallery_image_version_data;
mod gallery_publish;
pub mod host_register;
pub mod host_render;
mod host_target;
pub mod host_update;
mod hybrid_benefit;
pub mod image;
pub mod image_build;
pub mod image_urn;
pub mod marketplace_agreement;
pub mod marketplace_image;
pub mod redhat_token;
pub mod rhel_sku;
pub mod rhel_vm;
mod run_command;
pub mod vm_license;

use crate::framework::Registry;
use crate::provider::{ProviderData, RhelAzureProvider};

/// Everything the provider serves.
pub fn registry() -> Registry<ProviderData> {
    Registry::new(RhelAzureProvider::default())
        .resource(activation_key::ActivationKey)
        .list_resource(activation_key::ActivationKeys)
        .resource(marketplace_agreement::MarketplaceAgreement)
        .list_resource(marketplace_agreement::MarketplaceAgreements)
        .resource(cloud_access::CloudAccess)
        .list_resource(cloud_access::CloudAccesses)
        .resource(image_build::ImageBuild)
        .list_resource(image_build::IMAGE_BUILDS)
        .resource(image::Image)
        .list_resource(image::IMAGES)
        .resource(gallery::Gallery)
        .list_resource(gallery::Galleries)
        .resource(gallery_image::GalleryImage)
        .list_resource(gallery_image::GalleryImages)
        .resource(gallery_image_version::GalleryImageVersion)
        .list_resource(gallery_image_version::GalleryImageVersions)
        .resource(vm_license::VmLicense)
        .list_resource(vm_license::VmLicenses)
        .resource(atomic_host::AtomicHost)
        .list_resource(atomic_host::AtomicHosts)
        .data_source(client_config::ClientConfig)
        .data_source(marketplace_image::MarketplaceImage)
        .data_source(marketplace_image::MarketplaceImages)
        .data_source(gallery_image_version_data::GalleryImageVersionData)
        .ephemeral_resource(redhat_token::RedHatAccessToken)
        .action(host_update::HostUpdate)
        .action(host_register::HostRegister)
        .function(rhel_sku::RhelMarketplaceSku)
        .function(image_urn::ParseImageUrn)
        .function(image_urn::BuildImageUrn)
}
