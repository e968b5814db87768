"""archiver: preservation packages for reports from at-risk sources.

The Python API mirrors the CLI::

    from archiver import build, validate, deposit
    results = build(["examples/reports"], "packages")      # [BuildResult]
    reports = validate(["packages/rpt-..."])                # [BagReport]
    deposits = deposit(["packages"], "ocfl:repository")     # [DepositResult]

These three names are the functions: `build` is `archiver.package.build.build`; `validate`
and `deposit` are those of the packages `archiver.validate` and `archiver.deposit`, whose other
names are reached with `from archiver.validate import BagReport` and the like.
"""
import importlib
import sys
import types

__version__ = "0.1.0"
__all__ = ["__version__", "build", "deposit", "validate"]

_API = {"build": "archiver.package.build", "deposit": "archiver.deposit", "validate": "archiver.validate"}


class _Package(types.ModuleType):
    """Loads the three functions on first use (so `archiver validate` does not pay for the
    build's imports), and keeps them the package's attributes: importing the subpackage
    `archiver.validate` would otherwise rebind `archiver.validate` to the package."""

    def __getattr__(self, name):
        if name in _API:
            return getattr(importlib.import_module(_API[name]), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name in _API and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
