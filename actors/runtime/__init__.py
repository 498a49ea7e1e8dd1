"""The virtual-actor runtime: a few Ray shard actors host many virtual actors.

See DESIGN.md "Virtual actors". Pieces:
- `placement`: key -> shard, stable everywhere.
- `entity`: what an entity kind supplies (load, apply, persist).
- `virtual`: one virtual actor: mailbox, activation, group commit, passivation.
- `shard`: `ShardCore` (epoch fencing, registry) and the Ray actor around it.
- `client`: how callers reach a key: per-shard micro-batching, bounded retries.
"""
