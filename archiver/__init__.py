"""archiver: preservation packages for reports from at-risk sources.

The Python API mirrors the CLI::

    from archiver import build, validate, deposit
    results = build(["examples/reports"], "packages")      # [BuildResult]
    reports = validate(["packages/rpt-..."])                # [BagReport]
    deposits = deposit(["packages"], "ocfl:repository")     # [DepositResult]

These three names are the functions; the modules of the same names are still reached
with `from archiver.build import BuildResult` and the like.
"""
__version__ = "0.1.0"

# imported after __version__, which these modules read
from archiver.build import build  # noqa: E402
from archiver.deposit import deposit  # noqa: E402
from archiver.validate import validate  # noqa: E402

__all__ = ["__version__", "build", "deposit", "validate"]
