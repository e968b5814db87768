"""A tar archive read to its true end: every member, then the end-of-archive marker, checked.

POSIX.1 ustar ends an archive with two 512-byte blocks of zeros. Python's tarfile ends its
iteration silently at the first header past the first member that it cannot parse (a flipped
bit, a zeroed or cut-off header): every member after it vanishes, and a compressed stream is
never read to its trailer, so gzip's CRC-32 goes unchecked. GNU tar says "Skipping to next
header" and fails. `members` yields what tarfile yields, then reads the rest of the
(decompressed) stream in blocks: it must be the end-of-archive marker and zeros only. Anything
else raises TarStreamError naming the byte offset in the tar stream.

An archive that ends exactly after a member, with no end-of-archive marker, is reported as cut
short: nothing in the stream tells a complete archive from one that lost its last members.
"""
from __future__ import annotations

import lzma
import tarfile
import zlib
from collections.abc import Iterator

BLOCKSIZE = tarfile.BLOCKSIZE
END_MARKER = 2 * BLOCKSIZE
READ = 1 << 20
_ZEROS = bytes(READ)


class TarStreamError(Exception):
    """The tar stream is damaged, cut short, or too large to read on; `code` is its problem code."""

    def __init__(self, code: str, offset: int, message: str):
        super().__init__(message)
        self.code = code
        self.offset = offset


class _Header(tarfile.TarInfo):
    """tarfile's TarInfo, remembering why the header that ended the iteration failed (tarfile
    swallows the error and ends the iteration as if the archive had ended)."""

    @classmethod
    def fromtarfile(cls, tf):
        try:
            info = super().fromtarfile(tf)
        except tarfile.HeaderError as e:
            tf.archiver_stop = (tf.offset, e)
            raise
        tf.archiver_stop = None
        return info


def open_tar(path: str | None = None, mode: str = "r:*", fileobj=None) -> tarfile.TarFile:
    """tarfile.open, with the headers `members` needs to judge where the archive ended."""
    return tarfile.open(path, mode, fileobj=fileobj, tarinfo=_Header)


def members(tf: tarfile.TarFile, limit: int | None = None) -> Iterator[tarfile.TarInfo]:
    """The members of `tf` (opened by open_tar), then the rest of the stream judged.

    `limit`: the most bytes the tar stream may hold (a compressed tail of zeros is a bomb too)."""
    if tf.tarinfo is not _Header:
        raise TypeError("open the archive with open_tar")
    try:
        yield from tf
        stop = getattr(tf, "archiver_stop", None)
        offset, error = stop if stop is not None else (tf.offset, None)
        at = f"at byte {offset} of the tar stream"
        if isinstance(error, tarfile.EOFHeaderError):
            _zero_tail(tf, offset, limit)
        elif isinstance(error, tarfile.EmptyHeaderError):
            raise TarStreamError("ARCHIVE-TRUNCATED", offset, f"the archive ends {at}, after a member, "
                                 "with no end-of-archive marker: it may have been cut short there, "
                                 "and members after it lost")
        elif isinstance(error, tarfile.TruncatedHeaderError):
            raise TarStreamError("ARCHIVE-TRUNCATED", offset, f"the archive is cut short inside the "
                                 f"header {at}: the members from there on are lost")
        else:
            raise TarStreamError("ARCHIVE-DAMAGED", offset, f"the header {at} is damaged "
                                 f"({error or 'unreadable'}): the members from there on were not read")
    except TarStreamError:
        raise
    except EOFError as e:  # a compressed stream that ends before its end-of-stream marker
        raise TarStreamError("ARCHIVE-TRUNCATED", tf.offset, f"the archive is cut short near byte "
                             f"{tf.offset} of the tar stream: {e}") from None
    except tarfile.ReadError as e:
        code = "ARCHIVE-TRUNCATED" if "unexpected end" in str(e) else "ARCHIVE-DAMAGED"
        what = "cut short" if code == "ARCHIVE-TRUNCATED" else "damaged"
        raise TarStreamError(code, tf.offset, f"the archive is {what} near byte {tf.offset} of the "
                             f"tar stream: {e}") from None
    except (OSError, zlib.error, lzma.LZMAError, ValueError) as e:  # a CRC, a corrupt deflate block
        raise TarStreamError("ARCHIVE-DAMAGED", tf.offset, f"the archive is damaged at or before byte "
                             f"{tf.offset} of the tar stream: {e}") from None


def _zero_tail(tf: tarfile.TarFile, offset: int, limit: int | None) -> None:
    """After the block of zeros at `offset`, read to the end: zeros only, at least one more block."""
    at = offset + BLOCKSIZE
    while chunk := tf.fileobj.read(READ):
        if chunk != _ZEROS[:len(chunk)]:
            first = at + len(chunk) - len(chunk.lstrip(b"\0"))
            raise TarStreamError("ARCHIVE-DAMAGED", first, f"data at byte {first} of the tar stream, "
                                 f"after the end-of-archive marker at byte {offset}: a header there "
                                 "may have been zeroed, and the members after it were not read")
        at += len(chunk)
        if limit is not None and at > limit:
            raise TarStreamError("ARCHIVE-TOO-LARGE", at, f"the tar stream runs on past {limit} bytes "
                                 "of zeros after its last member; not read further")
    if at - offset < END_MARKER:
        raise TarStreamError("ARCHIVE-TRUNCATED", offset, f"the end-of-archive marker at byte {offset} "
                             "of the tar stream is one block of zeros, not two: the archive was cut short")
