# The smallest use of the module: one golden RHEL 9.6 image replicated to two
# regions and one Trusted Launch host booted from it.

terraform {
  required_providers {
    rhelazure = {
      source = "rhel-on-azure/rhelazure"
    }
  }
}

provider "rhelazure" {}

variable "subnet_id" {
  description = "Existing subnet for the host."
  type        = string
}

variable "ssh_public_key" {
  description = "SSH public key of the host's administrator."
  type        = string
}

module "golden_image" {
  source = "../.."

  name                = "rhel9-golden"
  resource_group_name = "rhel-demo"
  location            = "eastus"
  gallery_name        = "golden"
  replica_regions     = ["westus"]
  subnet_id           = var.subnet_id
  ssh_public_keys     = [var.ssh_public_key]
}

output "hosts" {
  value = module.golden_image.hosts
}
