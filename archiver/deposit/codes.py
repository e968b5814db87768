"""Every code a failed deposit records (a DepositError's `code`: the receipt's `error-code`,
`--json`'s results), with what it means. A code keeps its meaning once released."""
from __future__ import annotations

# code: what happened
CODES: dict[str, str] = {
    "DEPOSIT-FAILED": "the target failed in a way no more specific code names (the message says how)",
    "DEPOSIT-PENDING-UNREADABLE": "the record of an earlier deposit in flight (.archiver-pending/) "
                                  "cannot be read; nothing was sent",
    "DEPOSIT-BUSY": "another archiver process is depositing the package right now; this run left it alone",
    # -- OCFL
    "OCFL-NOT-A-ROOT": "the path is a file, or a folder that is not an OCFL storage root",
    "OCFL-ROOT": "the storage root or its layout cannot be used (unreadable, unsupported, malformed)",
    "OCFL-NO-LAYOUT": "the root names no storage layout archiver can place objects with",
    "OCFL-IDENTIFIER": "the layout cannot place an object of this identifier",
    "OCFL-ID-MISMATCH": "the object at the package's place holds another identifier",
    "OCFL-INVALID": "the object already there is not valid OCFL (never repaired)",
    "OCFL-SOURCE-CHANGED": "a file changed between the package's validation and its copy",
    "OCFL-LINK": "the package holds a link OCFL cannot store",
    "OCFL-PATH": "a file name that is not UTF-8",
    "OCFL-WRITE": "writing into the root failed (disk full, permissions)",
    # -- S3
    "S3-ACCESS-DENIED": "the endpoint refused the credentials or access",
    "S3-NO-BUCKET": "no such bucket at the endpoint",
    "S3-NO-CREDENTIALS": "no credentials in archiver.toml or the environment",
    "S3-UNREACHABLE": "the endpoint could not be reached (retried)",
    "S3-STORED-CHANGED": "the stored copy of an unchanged package is no longer what was deposited (left as it is)",
    "S3-VERIFY-MISMATCH": "the stored object's size or SHA-256 differs from what was sent (it was removed)",
    "S3-ERROR": "any other error the endpoint answered",
    # -- SWORD
    "SWORD-UNREACHABLE": "the server could not be reached, or a transfer broke off (retried)",
    "SWORD-REQUEST-FAILED": "the request could not be sent",
    "SWORD-UNAUTHORIZED": "the server refused the credentials (HTTP 401)",
    "SWORD-NO-COLLECTION": "no collection to deposit into: none listed, none of the name given, or a choice needed",
    "SWORD-BAD-RESPONSE": "the server's answer is not what SWORD 2.0 prescribes (no receipt, no Edit-IRI, not XML)",
    "SWORD-VERIFY-MISMATCH": "what the server holds differs from the package (kept there; the next run replaces it)",
    "SWORD-HTTP-ERROR": "an HTTP error with no SWORD error document",
    # the server's own SWORD error document names the error (SWORD 2.0 profile section 12)
    "SWORD-ErrorContent": "the server does not accept the package's format or packaging (or the collection refuses BagIt)",
    "SWORD-ErrorChecksumMismatch": "the server computed another checksum than the Content-MD5 sent",
    "SWORD-ErrorBadRequest": "the server did not understand a header or parameter",
    "SWORD-TargetOwnerUnknown": "the server does not know the On-Behalf-Of user",
    "SWORD-MediationNotAllowed": "the server does not allow On-Behalf-Of",
    "SWORD-MethodNotAllowed": "the server does not allow that operation on that IRI",
    "SWORD-MaxUploadSizeExceeded": "the package is larger than the server accepts",
}
