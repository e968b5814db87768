"""archiver: preservation packages for reports from at-risk sources.

The Python API mirrors the CLI: `build`, `validate`, `deposit`.
"""
__version__ = "0.1.0"

from archiver.validate import validate  # noqa: E402  (after __version__, which it reads)
