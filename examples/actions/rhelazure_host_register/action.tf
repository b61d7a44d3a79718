# Register a VM made elsewhere with Red Hat; the key is write-only and can be
# ephemeral (it is kept nowhere):
#   terraform apply -invoke=action.rhelazure_host_register.app
variable "activation_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

action "rhelazure_host_register" "app" {
  config {
    virtual_machine_id = azurerm_linux_virtual_machine.app.id
    organization       = "11009103"
    activation_key_wo  = var.activation_key
  }
}
