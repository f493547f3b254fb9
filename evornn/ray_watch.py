"""Telling a lost Ray cluster from a lost worker: the driver's own raylet and the GCS are
probed, so that a run ends with a message instead of Ray ending the process.

Ray's driver keeps running for a while after its node's raylet or the cluster's GCS
dies (actor calls go straight to the actors), then exits the process from C++ with
status 1 and no message: on its next use of the object store, when the GCS marks its
node dead (15 s) or when it gives up reconnecting to the GCS (60 s). A TCP connection to
each of them, opened at every generation's start, before every object store write and
at least once a second while waiting, finds them gone within a second instead.
"""
from __future__ import annotations

import socket
import time


class ClusterLost(RuntimeError):
    """Ray itself failed (the raylet, the GCS or the connection to them is gone): no worker
    can finish the generation, whatever the problem does."""


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    return host, int(port)


def driver_endpoints(ray, address: str | None) -> dict[str, tuple[str, int]]:
    """What this driver cannot work without, by name: its node's raylet and the GCS, or the
    Ray client server of a ray:// address."""
    if address and address.startswith("ray://"):
        return {f"the Ray client server at {address}": _host_port(address)}
    ctx = ray.get_runtime_context()
    out = {f"the GCS at {ctx.gcs_address}": _host_port(ctx.gcs_address)}
    me = next((n for n in ray.nodes() if n["NodeID"] == ctx.get_node_id()), None)
    if me is not None:
        where = (me["NodeManagerAddress"], int(me["NodeManagerPort"]))
        out[f"this node's raylet at {where[0]}:{where[1]}"] = where
    return out


class ClusterWatch:
    """Probes endpoints (name -> (host, port)) with a TCP connection, at most every ``every``
    seconds unless forced; ClusterLost names the first that does not answer."""

    def __init__(self, endpoints: dict[str, tuple[str, int]], every: float = 0.25,
                 timeout: float = 5.0):
        self.endpoints, self.every, self.timeout = endpoints, every, timeout
        self.lost: str | None = None
        self._last = -float("inf")

    def check(self, force: bool = False) -> None:
        """ClusterLost if a probed endpoint is gone (once lost, always lost)."""
        if self.lost is None and (force or time.monotonic() - self._last >= self.every):
            self._last = time.monotonic()
            for name, where in self.endpoints.items():
                try:
                    socket.create_connection(where, timeout=self.timeout).close()
                except OSError as e:
                    self.lost = f"{name} does not answer ({e})"
                    break
        if self.lost is not None:
            raise ClusterLost(self.lost)

    def failed(self, error: Exception) -> ClusterLost:
        """The ClusterLost for an error Ray raised about itself, naming a probe that fails
        if one does."""
        try:
            self.check(force=True)
        except ClusterLost as lost:
            return lost
        self.lost = f"Ray failed ({type(error).__name__}: {error})"
        return ClusterLost(self.lost)
