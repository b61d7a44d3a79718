# Every Cloud Access enrolment of the Red Hat organization
list "rhelazure_cloud_access" "all" {
  provider         = rhelazure
  include_resource = true
}
