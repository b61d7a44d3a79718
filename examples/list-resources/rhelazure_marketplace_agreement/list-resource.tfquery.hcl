# The gold-image terms accepted in the provider's subscription
list "rhelazure_marketplace_agreement" "gold" {
  provider = rhelazure
  config {
    offer = "rhel-byos"
  }
}
