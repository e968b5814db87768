"""What stops an executor's work: the run ends (CLI exit 2) rather than report a wrong verdict
or wait for ever."""
from __future__ import annotations

from archiver.problems import ArchiverError


class ClusterError(ArchiverError):
    """The cluster cannot do the work (no scheduler, lost scheduler, a worker that does not
    share the storage): the run stops (CLI exit 2) rather than report a wrong verdict."""


class WorkerLost(ClusterError):
    """A worker process of this machine died under a task (killed, out of memory): its
    task's result will never come, so the run stops; what was finished stands."""
