"""The pure validation core: cell rules, grid -> DataFrame, per-row verdicts,
cross-OPD rules and an OPD's state. No files, network or clock (checked by
tests/test_architecture.py); see docs/architecture.md."""
