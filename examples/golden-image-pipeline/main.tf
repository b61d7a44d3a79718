# A golden-image pipeline with modules/rhel-golden-image: Red Hat's Image
# Builder composes RHEL 9.6, the image is published to an Azure Compute
# Gallery and replicated to two regions, and two hosts boot the latest
# version with Trusted Launch (Secure Boot and a vTPM).
#
# Publishing a new image: bump image_version (and change what the compose
# holds); the hosts follow the definition's latest version.

terraform {
  required_version = ">= 1.11"
  required_providers {
    rhelazure = {
      source = "rhel-on-azure/rhelazure"
    }
  }
}

provider "rhelazure" {}

variable "ssh_public_key" {
  description = "SSH public key of the hosts' administrator."
  type        = string
}

variable "resource_group_name" {
  description = "Existing resource group with the virtual network below."
  type        = string
  default     = "rhel-demo"
}

data "rhelazure_client_config" "current" {}

module "golden_image" {
  source = "../../modules/rhel-golden-image"

  name                = "rhel9-golden"
  rhel_version        = "9.6"
  image_version       = "1.0.0"
  resource_group_name = var.resource_group_name
  location            = "eastus"
  gallery_name        = "golden_pipeline"
  replica_regions     = ["westus"]
  host_count          = 2
  subnet_id           = "/subscriptions/${data.rhelazure_client_config.current.subscription_id}/resourceGroups/${var.resource_group_name}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts"
  ssh_public_keys     = [var.ssh_public_key]
}

output "image_version_id" {
  value = module.golden_image.image_version_id
}

output "hosts" {
  value = module.golden_image.hosts
}
