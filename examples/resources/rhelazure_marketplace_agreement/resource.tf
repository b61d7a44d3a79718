resource "rhelazure_marketplace_agreement" "gold" {
  publisher = "redhat"
  offer     = "rhel-byos"
  plan      = "rhel-lvm96-gen2"
}
