resource "rhelazure_vm_license" "app" {
  virtual_machine_id = azurerm_linux_virtual_machine.app.id
  license_type       = "RHEL_BASE" # pay-as-you-go RHEL through Azure Hybrid Benefit
}
