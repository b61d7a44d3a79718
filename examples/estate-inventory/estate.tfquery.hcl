# `terraform query` lists every RHEL VM of the subscription: Marketplace
# pay-as-you-go images, Red Hat gold images (Cloud Access), VMs converted with
# Azure Hybrid Benefit, and custom images carrying a RHEL plan or license.
# Each line names the VM and says how its RHEL is billed.
list "rhelazure_vm_license" "rhel_vms" {
  provider = rhelazure

  # Narrow it down when the subscription is large:
  # config {
  #   resource_group_name = "app-prod"
  #   tags                = { owner = "platform" }
  # }
}
