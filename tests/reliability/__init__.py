"""Fault suite: the worker killed mid-cycle, staff editing during a cycle, Google
and SMTP faults over a replayed season, logs that never leak. The default run is
sized for `make test`; SOAK=1 (or pytest --soak) runs the long version.
See docs/reliability.md."""
