# Package updates on an existing RHEL VM, rebooting when dnf says so:
#   terraform apply -invoke=action.rhelazure_host_update.packages
action "rhelazure_host_update" "packages" {
  config {
    virtual_machine_id = azurerm_linux_virtual_machine.app.id
    mode               = "dnf_upgrade"
    reboot             = "if_needed"
    timeout            = "45m"
  }
}

# An image-mode host follows its bootc image whenever the wanted one changes.
variable "os_image" {
  type    = string
  default = "quay.io/acme/rhel-edge:9.6"
}

action "rhelazure_host_update" "os_image" {
  config {
    virtual_machine_id = rhelazure_atomic_host.web.id
    mode               = "bootc_switch"
    image              = var.os_image
  }
}

resource "terraform_data" "os_image" {
  input = var.os_image
  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.rhelazure_host_update.os_image]
    }
  }
}
