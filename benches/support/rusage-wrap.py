#!/usr/bin/env python3
"""Bench helper: stands in for terraform-provider-rhelazure (put in a
dev_overrides directory under that name), runs the real binary
($RHELAZURE_REAL_PROVIDER) with the same arguments and stdio, and appends the
provider's own CPU seconds (user + system) to $RHELAZURE_RUSAGE_LOG when it
exits. Terraform's CPU is not in that figure, only the provider's."""
import os
import signal
import sys

real = os.environ["RHELAZURE_REAL_PROVIDER"]
pid = os.fork()
if pid == 0:
    os.execv(real, [real] + sys.argv[1:])
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda n, _f: os.kill(pid, n))
while True:
    try:
        _, status, usage = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
with open(os.environ["RHELAZURE_RUSAGE_LOG"], "a", encoding="utf-8") as log:
    log.write(f"{usage.ru_utime + usage.ru_stime}\n")
sys.exit(os.waitstatus_to_exitcode(status))
