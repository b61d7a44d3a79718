# Inventory and adoption of the RHEL VMs a subscription already runs, however
# they were made (portal, scripts, other tools). See README.md.
terraform {
  required_version = ">= 1.11" # `terraform query` needs 1.14; older Terraform ignores *.tfquery.hcl
  required_providers {
    rhelazure = {
      source = "rhel-on-azure/rhelazure"
    }
  }
}

provider "rhelazure" {}
