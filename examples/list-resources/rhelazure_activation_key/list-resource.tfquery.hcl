# The organization's activation keys whose name starts with "prod-"
list "rhelazure_activation_key" "prod" {
  provider = rhelazure
  config {
    name_prefix = "prod-"
  }
}
