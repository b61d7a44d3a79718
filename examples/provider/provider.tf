provider "rhelazure" {
  # Azure: the same settings and ARM_* variables as azurerm.
  subscription_id = "00000000-0000-0000-0000-000000000000" # or ARM_SUBSCRIPTION_ID

  # Red Hat: an offline token (RH_OFFLINE_TOKEN) or a service account.
  redhat {
    # offline_token = var.redhat_offline_token
  }
}
