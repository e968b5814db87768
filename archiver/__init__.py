"""archiver: preservation packages for reports from at-risk sources.

The Python API mirrors the CLI: `build`, `validate`, `deposit`.
"""
__version__ = "0.1.0"
