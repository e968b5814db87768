"""archiver: preservation packages for reports from at-risk sources.

The Python API mirrors the CLI::

    from archiver import build, validate, deposit
    results = build(["examples/reports"], "packages")      # [BuildResult]
    reports = validate(["packages/rpt-..."])                # [BagReport]
    deposits = deposit(["packages"], "ocfl:repository")     # [DepositResult]

These three names are the functions; the modules of the same names are still reached
with `from archiver.build import BuildResult` and the like.
"""
import importlib
import sys
import types

__version__ = "0.1.0"
__all__ = ["__version__", "build", "deposit", "validate"]

_API = ("build", "deposit", "validate")  # each a function of the module of the same name


class _Package(types.ModuleType):
    """Loads the three functions on first use (so `archiver validate` does not pay for the
    build's imports), and keeps them the package's attributes: importing the submodule
    `archiver.build` would otherwise rebind `archiver.build` to the module."""

    def __getattr__(self, name):
        if name in _API:
            return getattr(importlib.import_module(f"{__name__}.{name}"), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name in _API and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
