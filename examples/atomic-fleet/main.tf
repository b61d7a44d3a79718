# A small fleet of RHEL container hosts on BYOS gold images:
#
#   Cloud Access enrolment -> gold image -> terms -> activation key
#   -> three hosts that register with Red Hat on first boot and run a UBI
#      container as a Podman quadlet unit.
#
# Change `containers` or `host_size` and apply: the hosts are updated in place
# (Run Command / resize), never replaced.

terraform {
  required_version = ">= 1.8"
  required_providers {
    rhelazure = {
      source = "rhel-on-azure/rhelazure"
    }
  }
}

provider "rhelazure" {}

variable "redhat_organization" {
  description = "Red Hat organization id the hosts register to (console.redhat.com)."
  type        = number
}

variable "ssh_public_key" {
  description = "SSH public key for the hosts' administrator."
  type        = string
}

variable "hosts" {
  description = "How many hosts."
  type        = number
  default     = 3
}

variable "host_size" {
  description = "VM size of every host (changes in place)."
  type        = string
  default     = "Standard_B2s"
}

variable "location" {
  type    = string
  default = "eastus"
}

variable "resource_group_name" {
  description = "Existing resource group with the virtual network."
  type        = string
  default     = "rhel-demo"
}

variable "subnet" {
  description = "Existing virtual network and subnet the hosts join."
  type        = object({ virtual_network = string, name = string })
  default     = { virtual_network = "rhel-demo-vnet", name = "hosts" }
}

data "rhelazure_client_config" "current" {}

resource "rhelazure_cloud_access" "fleet" {
  name = "atomic-fleet"
}

data "rhelazure_marketplace_image" "gold" {
  location     = var.location
  rhel_version = "9.6"
  billing      = "byos"
  depends_on   = [rhelazure_cloud_access.fleet]
}

resource "rhelazure_marketplace_agreement" "gold" {
  publisher = data.rhelazure_marketplace_image.gold.plan.publisher
  offer     = data.rhelazure_marketplace_image.gold.plan.product
  plan      = data.rhelazure_marketplace_image.gold.plan.name
}

resource "rhelazure_activation_key" "fleet" {
  name          = "atomic-fleet"
  service_level = "Premium"
  usage         = "Production"
  role          = "Red Hat Enterprise Linux Server"
}

resource "rhelazure_atomic_host" "fleet" {
  count = var.hosts

  name                = "fleet-${count.index}"
  resource_group_name = var.resource_group_name
  location            = var.location
  subnet_id           = "/subscriptions/${data.rhelazure_client_config.current.subscription_id}/resourceGroups/${var.resource_group_name}/providers/Microsoft.Network/virtualNetworks/${var.subnet.virtual_network}/subnets/${var.subnet.name}"
  size                = var.host_size
  ssh_public_keys     = [var.ssh_public_key]

  marketplace_image = {
    publisher = data.rhelazure_marketplace_image.gold.publisher
    offer     = data.rhelazure_marketplace_image.gold.offer
    sku       = data.rhelazure_marketplace_image.gold.sku
    version   = data.rhelazure_marketplace_image.gold.version
  }
  marketplace_agreement_id = rhelazure_marketplace_agreement.gold.id

  registration = {
    organization   = var.redhat_organization
    activation_key = rhelazure_activation_key.fleet.name
  }

  containers = [{
    name    = "hello"
    image   = "registry.access.redhat.com/ubi9/ubi-minimal:latest"
    command = ["sleep", "infinity"]
  }]

  tags = { fleet = "atomic" }
}

output "hosts" {
  description = "Name -> private IP of every host."
  value       = { for h in rhelazure_atomic_host.fleet : h.name => h.private_ip_address }
}
