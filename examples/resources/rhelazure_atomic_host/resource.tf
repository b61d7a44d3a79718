resource "rhelazure_atomic_host" "web" {
  name                = "web-1"
  resource_group_name = "hosts"
  location            = "eastus"
  subnet_id           = azurerm_subnet.hosts.id
  size                = "Standard_B2s"
  ssh_public_keys     = [file("~/.ssh/id_ed25519.pub")]

  # A BYOS gold image: its purchase plan is derived; the agreement orders the two.
  marketplace_image = {
    publisher = "RedHat"
    offer     = "rhel-byos"
    sku       = "rhel-lvm96-gen2"
  }
  marketplace_agreement_id = rhelazure_marketplace_agreement.gold.id

  registration = {
    organization   = 12345678
    activation_key = rhelazure_activation_key.hosts.name
  }

  # Changed in place through Run Command; only changed containers restart.
  containers = [{
    name  = "web"
    image = "registry.access.redhat.com/ubi9/httpd-24"
    ports = ["8080:8080"]
  }]
}
