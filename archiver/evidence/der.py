"""Just enough DER to put a timestamp token's certificate SET in DER order.

RFC 3161 tokens are CMS SignedData; its `certificates` field is a SET OF, which DER sorts by
encoding (X.690 §11.6). OpenSSL 3.0's `ts -reply` with `certs` in its configuration writes the
set unsorted, and rfc3161-client refuses such a token outright. The certificates lie outside
what the authority signed (its signature covers the signed attributes), so sorting them in a
copy made for parsing changes nothing the token proves; the file kept is the one received.
"""
from __future__ import annotations


class DERError(ValueError):
    pass


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at `at`."""
    if at + 2 > len(data):
        raise DERError("truncated element")
    tag, first = data[at], data[at + 1]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte tags are not used in timestamp tokens")
    start = at + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DERError("indefinite length (BER) is not DER")
    else:
        n = first & 0x7F
        if n > 4 or start + n > len(data):
            raise DERError("bad length")
        length = int.from_bytes(data[start:start + n], "big")
        start += n
    end = start + length
    if end > len(data):
        raise DERError("element runs past the end")
    return tag, start, end


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, content start, end) of each element between start and end."""
    out, at = [], start
    while at < end:
        tag, cstart, cend = _tlv(data, at)
        out.append((tag, at, cstart, cend))
        at = cend
    return out


def sort_token_certificates(response: bytes) -> bytes:
    """A TimeStampResp whose SignedData certificate SET is in DER order (same length, same
    signed content). Returns the bytes unchanged when there is nothing to sort."""
    tag, start, end = _tlv(response, 0)
    if tag != 0x30:
        raise DERError("a TimeStampResp is a SEQUENCE")
    fields = _children(response, start, end)
    if len(fields) < 2:
        return response  # a status without a token
    _, _, token_start, token_end = fields[1]  # ContentInfo SEQUENCE
    content = _children(response, token_start, token_end)
    if len(content) < 2 or content[1][0] != 0xA0:
        raise DERError("the token has no [0] content")
    _, _, explicit_start, explicit_end = content[1]
    signed = _children(response, explicit_start, explicit_end)
    if not signed or signed[0][0] != 0x30:
        raise DERError("the token's content is not SignedData")
    signed_fields = _children(response, signed[0][2], signed[0][3])
    for tag, _, cstart, cend in signed_fields:
        if tag == 0xA0:  # certificates [0] IMPLICIT SET OF CertificateChoices
            items = [response[s:e] for _, s, _, e in _children(response, cstart, cend)]
            ordered = sorted(items, key=lambda b: b.ljust(max(map(len, items)), b"\x00"))
            if ordered == items:
                return response
            return response[:cstart] + b"".join(ordered) + response[cend:]
    return response
