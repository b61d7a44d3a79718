resource "rhelazure_cloud_access" "this" {
  name = "production-subscription"

  timeouts {
    create = "3h" # Red Hat documents enablement taking hours
  }
}
