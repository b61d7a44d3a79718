resource "rhelazure_activation_key" "hosts" {
  name          = "rhel-hosts"
  service_level = "Premium"
  usage         = "Production"
  role          = "Red Hat Enterprise Linux Server"
  additional_repositories = [
    "codeready-builder-for-rhel-9-x86_64-rpms",
  ]
}
