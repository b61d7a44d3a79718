# Every RHEL VM of the provider's subscription, with the whole object
list "rhelazure_vm_license" "all" {
  provider         = rhelazure
  include_resource = true
}

# The RHEL VMs of one resource group that carry a tag
list "rhelazure_vm_license" "sap" {
  provider = rhelazure
  config {
    resource_group_name = "sap-prod"
    tags                = { workload = "sap" }
  }
}
