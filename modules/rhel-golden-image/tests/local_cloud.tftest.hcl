# The whole pipeline against the cloud the provider is configured for (in
# make test: the local cloud, with TF_VAR_subnet_id and
# TF_VAR_ssh_public_keys set by the test). terraform test destroys what it
# made when the run ends.

variables {
  name                = "golden"
  resource_group_name = "rhel-demo"
  location            = "eastus"
  gallery_name        = "golden_test"
  replica_regions     = ["westus"]
}

run "publishes_replicates_and_boots_trusted_launch_hosts" {
  command = apply

  assert {
    condition     = join(",", output.replicated_to) == "eastus,westus"
    error_message = "The version is replicated to location and the replica regions."
  }
  assert {
    condition     = output.latest_version_id == output.image_version_id
    error_message = "The hosts boot the version just published (the definition's latest)."
  }
  assert {
    condition     = length(output.hosts) == 1 && alltrue([for h in output.hosts : h.security_type == "TrustedLaunch"])
    error_message = "Every host runs with Trusted Launch."
  }
  assert {
    condition     = rhelazure_atomic_host.hosts[0].source_image_id == rhelazure_gallery_image_version.this.id
    error_message = "Hosts boot from the gallery version, not from the intermediate managed image."
  }
}
