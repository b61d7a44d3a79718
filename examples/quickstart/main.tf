# Quickstart: RHEL on Azure in one apply.
#
#   1. find the newest RHEL 9 image in the Azure Marketplace (pay-as-you-go);
#   2. enrol the Azure subscription in Red Hat Cloud Access, so the
#      bring-your-own-subscription "gold images" appear;
#   3. look up the gold image and accept its Marketplace terms;
#   4. create an RHSM activation key for hosts to register with;
#   5. build a custom RHEL image with Red Hat's hosted Image Builder and have it
#      delivered into a resource group as a managed image;
#   6. run one small RHEL container host (pay-as-you-go image) with a UBI
#      container as a Podman quadlet unit.
#
# `make demo` runs it against the local cloud (emulator + Azurite). Against real
# accounts, see ../../README.md ("Pointing it at real Azure and Red Hat accounts").

terraform {
  required_version = ">= 1.11" # the oldest Terraform the tests run (functions need 1.8, ephemeral resources 1.10)
  required_providers {
    rhelazure = {
      source = "rhel-on-azure/rhelazure"
    }
  }
}

# Credentials come from the environment: ARM_SUBSCRIPTION_ID, ARM_TENANT_ID,
# ARM_CLIENT_ID, ARM_CLIENT_SECRET (or OIDC / managed identity / Azure CLI) and
# RH_OFFLINE_TOKEN (or RH_CLIENT_ID + RH_CLIENT_SECRET).
provider "rhelazure" {}

variable "location" {
  description = "Azure region to look images up in."
  type        = string
  default     = "eastus"
}

variable "resource_group_name" {
  description = "Existing resource group the built image is delivered to."
  type        = string
  default     = "rhel-demo"
}

variable "subnet" {
  description = "Existing virtual network and subnet (in resource_group_name) for the host."
  type        = object({ virtual_network = string, name = string })
  default     = { virtual_network = "rhel-demo-vnet", name = "hosts" }
}

variable "ssh_public_key" {
  description = "SSH public key for the host's administrator (make demo passes a throwaway one)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix for the names this example creates."
  type        = string
  default     = "quickstart"
}

data "rhelazure_client_config" "current" {}

# 1. Pay-as-you-go: the newest RHEL 9 x86_64 image (numeric "latest").
data "rhelazure_marketplace_image" "payg" {
  location     = var.location
  rhel_version = "9"
}

# 2. Cloud Access enrolment of the provider's subscription.
resource "rhelazure_cloud_access" "this" {
  name = "${var.name_prefix}-subscription"
}

# 3. The BYOS gold image depends on the enrolment through a normal reference.
data "rhelazure_marketplace_image" "gold" {
  location     = var.location
  rhel_version = "9.6"
  billing      = "byos"
  depends_on   = [rhelazure_cloud_access.this]
}

# Gold images are Marketplace plans: their terms must be accepted once per
# subscription. The plan comes from the pure function, known at plan time,
# not from the lookup: Terraform defers a data source that depends on a
# resource with any change planned, so an agreement fed from the lookup would
# be planned for replacement (cancelling the terms) by a mere rename of the
# enrolment. depends_on only orders it after the enrolment.
resource "rhelazure_marketplace_agreement" "gold" {
  publisher  = "redhat"
  offer      = provider::rhelazure::rhel_marketplace_sku({ rhel_version = "9.6", billing = "byos" }).offer
  plan       = provider::rhelazure::rhel_marketplace_sku({ rhel_version = "9.6", billing = "byos" }).sku
  depends_on = [rhelazure_cloud_access.this]
}

# 4. Hosts register to Red Hat with this key.
resource "rhelazure_activation_key" "hosts" {
  name                    = "${var.name_prefix}-hosts"
  service_level           = "Self-Support"
  usage                   = "Development/Test"
  role                    = "Red Hat Enterprise Linux Server"
  additional_repositories = ["rhel-9-for-x86_64-appstream-rpms"]
}

# 5. A custom RHEL 9.6 image with podman, built by Image Builder.
resource "rhelazure_image_build" "custom" {
  distribution        = "rhel-9.6"
  image_name          = "${var.name_prefix}-rhel96-podman"
  resource_group_name = var.resource_group_name
  customizations = {
    packages = ["podman", "container-tools"]
  }
}

# 6. A container host on the pay-as-you-go image (RHUI serves it: no registration).
resource "rhelazure_atomic_host" "demo" {
  name                = "${var.name_prefix}-host"
  resource_group_name = var.resource_group_name
  location            = var.location
  subnet_id           = "/subscriptions/${data.rhelazure_client_config.current.subscription_id}/resourceGroups/${var.resource_group_name}/providers/Microsoft.Network/virtualNetworks/${var.subnet.virtual_network}/subnets/${var.subnet.name}"
  size                = "Standard_B2s"
  ssh_public_keys     = [var.ssh_public_key]
  marketplace_image = {
    publisher = data.rhelazure_marketplace_image.payg.publisher
    offer     = data.rhelazure_marketplace_image.payg.offer
    sku       = data.rhelazure_marketplace_image.payg.sku
    version   = data.rhelazure_marketplace_image.payg.version
  }
  containers = [{
    name  = "web"
    image = "registry.access.redhat.com/ubi9/httpd-24:latest"
    ports = ["8080:8080"]
  }]
}

output "summary" {
  description = "What this apply made, one line each."
  value = {
    azure_subscription = data.rhelazure_client_config.current.subscription_id
    payg_image         = data.rhelazure_marketplace_image.payg.urn
    cloud_access       = rhelazure_cloud_access.this.id
    byos_gold_image    = data.rhelazure_marketplace_image.gold.urn
    terms_accepted     = "${rhelazure_marketplace_agreement.gold.offer}/${rhelazure_marketplace_agreement.gold.plan}"
    activation_key     = rhelazure_activation_key.hosts.name
    built_image        = rhelazure_image_build.custom.id
    host               = "${rhelazure_atomic_host.demo.name} (${rhelazure_atomic_host.demo.private_ip_address}) running ${join(", ", rhelazure_atomic_host.demo.containers[*].name)}"
  }
}

output "payg_sku_for_sap" {
  description = "The Marketplace SKU for RHEL 9.6 for SAP HA (a provider function)."
  value       = provider::rhelazure::rhel_marketplace_sku({ rhel_version = "9.6", variant = "sap-ha" }).sku
}
