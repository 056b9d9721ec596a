"""The connection pool: ``ConnectionPool`` and its listeners and counters.

Modules, one job each:

* ``pool``    - ``ConnectionPool``: options, the public API, close and keep-warm;
* ``calls``   - the pool as a ``Caller``: retried single calls, scanner pins;
* ``leases``  - the connections: open, lend, share, dispose, waiters;
* ``servers`` - gateway health, back-off, which gateway next (probing);
* ``events``  - ``PoolListener`` and ``PoolStats``.

The retry rules themselves live in ``txhbase._retry``.
"""
from txhbase.pool.events import EVENTS, PoolListener, PoolStats
from txhbase.pool.pool import ConnectionPool

__all__ = ["ConnectionPool", "EVENTS", "PoolListener", "PoolStats"]
