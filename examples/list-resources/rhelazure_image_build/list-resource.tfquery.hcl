# Every image Red Hat's Image Builder delivered into the subscription
list "rhelazure_image_build" "all" {
  provider = rhelazure
}
