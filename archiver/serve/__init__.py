"""archiver serve: a read-only web view of a store of packages, and its JSON API.

    from archiver.serve import serve
    serve("packages")                       # http://127.0.0.1:8000/ until interrupted

The list, search and health come from a catalogue kept outside the store (index.py); a
package page reads the package itself (describe.py); app.py answers the requests and
access.py decides who may.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from archiver.problems import ArchiverError

__all__ = ["serve"]


def open_store(store: str | os.PathLike) -> Path:
    path = Path(store)
    if not path.is_dir():
        raise ArchiverError(str(store), "no such store (a folder of packages)", "USAGE")
    if (path / "bagit.txt").exists():
        raise ArchiverError(str(store), "this is a package, not a store: give the folder that "
                            "holds it", "USAGE")
    return path


def _ledger(path: str | os.PathLike | None, store: Path):
    """The audit ledger named, else the default one when it exists, else None."""
    from archiver.audit.ledger import LedgerError, default_ledger_path
    from archiver.serve.sources import LedgerSource

    if path is None:
        path = default_ledger_path()
        if not path.is_file():
            return None
    try:
        return LedgerSource(path, store)
    except LedgerError as e:
        raise ArchiverError(str(path), str(e).removeprefix(f"{path}: "), "USAGE") from None


def serve(store: str | os.PathLike = "packages", *, host: str = "127.0.0.1", port: int = 8000,
          ledger: str | os.PathLike | None = None, index: str | os.PathLike | None = None,
          token: str | None = None, refresh: float = 30.0, due_days: float = 90,
          ready: Callable[[str], None] | None = None) -> None:
    """Serve `store` until interrupted. `ready(url)` is called once the socket listens."""
    from werkzeug.serving import make_server

    from archiver.serve import access
    from archiver.serve.app import create_app
    from archiver.serve.index import Catalogue, Indexer

    access.check_binding(host, token)
    try:
        catalogue = Catalogue(open_store(store), index)
    except ValueError as e:
        raise ArchiverError(str(index or store), str(e), "USAGE") from None
    source = _ledger(ledger, catalogue.store)
    if source is not None:
        catalogue.annotators.append(source.annotate)
    indexer = Indexer(catalogue, interval=refresh)
    server = make_server(host, port, None, threaded=True)
    server.app = create_app(catalogue, indexer=indexer, port=server.server_port, token=token,
                            due_days=due_days, ledger=source)
    indexer.start()
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.server_port}/"
    (ready or (lambda u: print(u, file=sys.stderr, flush=True)))(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        indexer.stop()
        catalogue.close()
