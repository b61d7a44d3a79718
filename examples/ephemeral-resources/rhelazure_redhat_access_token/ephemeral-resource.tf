ephemeral "rhelazure_redhat_access_token" "token" {}

resource "terraform_data" "inventory" {
  provisioner "local-exec" {
    command     = "curl -sf -H \"Authorization: Bearer $TOKEN\" https://console.redhat.com/api/inventory/v1/hosts"
    environment = { TOKEN = ephemeral.rhelazure_redhat_access_token.token.access_token }
  }
}
