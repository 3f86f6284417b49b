"""Operating the worker: health.json, the self-check (jobs.py --check), and work
on files and the state database without a cycle (validate FILE, export)."""
