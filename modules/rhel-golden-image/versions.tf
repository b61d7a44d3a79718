terraform {
  # terraform test with mock_provider needs 1.7; the provider's functions 1.8.
  required_version = ">= 1.11"
  required_providers {
    rhelazure = {
      source = "rhel-on-azure/rhelazure"
    }
  }
}
