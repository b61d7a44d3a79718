#!/usr/bin/env python3
"""Bench helper: stands in for terraform-provider-rhelazure (put in a
dev_overrides directory under that name), runs the real binary
($RHELAZURE_REAL_PROVIDER) with the same arguments and stdio, and appends the
provider's own CPU seconds (user + system) and its peak resident memory (KiB)
to $RHELAZURE_RUSAGE_LOG when it exits, one "cpu_s max_rss_kib" line per
process. Terraform's CPU and memory are not in these figures, only the
provider's."""
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
    log.write(f"{usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}\n")
sys.exit(os.waitstatus_to_exitcode(status))
