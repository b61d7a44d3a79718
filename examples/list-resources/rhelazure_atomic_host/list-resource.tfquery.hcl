# The container hosts of one resource group, with their whole state
list "rhelazure_atomic_host" "edge" {
  provider         = rhelazure
  include_resource = true
  config {
    resource_group_name = "edge-hosts"
  }
}
