data "rhelazure_client_config" "current" {}

output "subscription" {
  value = data.rhelazure_client_config.current.subscription_id
}
