output "sap" {
  value = provider::rhelazure::rhel_marketplace_sku({ rhel_version = "9.6", variant = "sap-ha" })
  # { offer = "RHEL-SAP-HA", sku = "96sapha-gen2" }
}
