"""A standby controller on etcd (docs/redundancy.md): the etcd v3 JSON gateway (sans-I/O
`protocol.py`, a thin aiohttp `client.py`), the leader election with its lease as the fencing
token (`election.py`, pure), and the fenced journal replica (`replica.py`)."""
