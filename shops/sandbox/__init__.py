"""The loopback sandbox: faithful fakes of the external APIs for the demo, tests and benchmarks.

`shops.sandbox.server.SandboxServer` serves every system under /<system>/…; `demo_data` holds the
deterministic data and the demo credentials `seed_demo` stores. Run it with `manage.py sandbox`.
"""
