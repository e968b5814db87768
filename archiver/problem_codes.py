"""Every problem code the validator can report, in one table.

A code names the rule it enforces and never changes meaning once released. Each entry gives
the default severity and the clause it comes from: an RFC 8493 section ("RFC 8493 §2.1.3"),
the BagIt Profiles specification 1.4 ("Profiles §Bag-Info"), DART's profile format, or the
project's own safety rules ("archiver"). `problem()` builds a Problem from a code so the
severity is decided here, not at each call site.
"""
from __future__ import annotations

from archiver.problems import ERROR, WARNING, Problem

E, W = ERROR, WARNING

# code: (default severity, source clause, what the rule says)
CODES: dict[str, tuple[str, str, str]] = {
    # -- the input itself --------------------------------------------------------------
    "VALIDATE-PATH-MISSING": (E, "archiver", "the path given does not exist or cannot be read"),
    "VALIDATE-NOT-A-BAG": (E, "RFC 8493 §2.1.1", "a bag is a directory holding bagit.txt"),
    "VALIDATE-INTERNAL-ERROR": (E, "archiver", "the validator met something it could not handle"),
    "VALIDATE-NOT-RECORDED": (W, "archiver", "--record applies to archiver packages on disk only"),
    "VALIDATE-NESTED-BAG": (W, "RFC 8493 §2.1.2", "a payload directory holds another bag; "
                            "it is payload here and is validated only when named itself"),
    # -- bag declaration, bagit.txt ----------------------------------------------------
    "BAGIT-DECLARATION-MISSING": (E, "RFC 8493 §2.1.1", "every bag has bagit.txt"),
    "BAGIT-DECLARATION-BOM": (E, "RFC 8493 §2.1.1", "bagit.txt MUST NOT begin with a byte-order mark"),
    "BAGIT-DECLARATION-NOT-UTF8": (E, "RFC 8493 §2.1.1", "bagit.txt MUST be encoded in UTF-8"),
    "BAGIT-DECLARATION-MALFORMED": (E, "RFC 8493 §2.1.1", "bagit.txt is exactly two lines: "
                                    "BagIt-Version, then Tag-File-Character-Encoding"),
    "BAGIT-DECLARATION-WHITESPACE": (E, "RFC 8493 §2.1.1", "bagit.txt lines are 'Label: value' "
                                     "with one space and no stray whitespace"),
    "BAGIT-VERSION-MALFORMED": (E, "RFC 8493 §2.1.1", "BagIt-Version is M.N"),
    "BAGIT-VERSION-UNSUPPORTED": (E, "RFC 8493 §2.1.1", "this validator reads BagIt 0.93 to 1.0"),
    "BAGIT-ENCODING-UNSUPPORTED": (E, "RFC 8493 §2.1.1", "Tag-File-Character-Encoding names "
                                   "an encoding this validator cannot decode"),
    "BAGIT-ENCODING-NOT-UTF8": (W, "RFC 8493 §2.1.1", "BagIt 1.0 tag files SHOULD be UTF-8"),
    # -- payload directory ---------------------------------------------------------------
    "BAGIT-PAYLOAD-DIR-MISSING": (E, "RFC 8493 §2.1.2", "every bag has exactly one data/ directory"),
    "BAGIT-PAYLOAD-EMPTY-DIRECTORY": (W, "RFC 8493 §2.1.3", "manifests list files, not "
                                      "directories: an empty directory is not preserved"),
    "BAGIT-PAYLOAD-SPECIAL-FILE": (E, "archiver", "payload holds a device, FIFO or socket; not read"),
    # -- manifests -------------------------------------------------------------------------
    "BAGIT-MANIFEST-NONE": (E, "RFC 8493 §2.1.3", "every bag has at least one payload manifest"),
    "BAGIT-MANIFEST-UNREADABLE": (E, "RFC 8493 §2.1.3", "a manifest could not be read or decoded"),
    "BAGIT-MANIFEST-UNSUPPORTED-ALGORITHM": (W, "RFC 8493 §2.4", "a manifest uses an algorithm "
                                             "this validator cannot compute; its digests are not checked"),
    "BAGIT-MANIFEST-NO-SUPPORTED-ALGORITHM": (E, "RFC 8493 §3", "no payload manifest uses an "
                                              "algorithm this validator can compute"),
    "BAGIT-MANIFEST-WEAK-ALGORITHM": (W, "RFC 8493 §2.4", "md5 and sha1 SHOULD NOT be used alone"),
    "BAGIT-MANIFEST-ALGORITHM-CASE": (W, "RFC 8493 §2.4", "algorithm names in manifest file "
                                      "names are lowercase"),
    "BAGIT-MANIFEST-LINE-MALFORMED": (E, "RFC 8493 §2.1.3", "manifest lines are "
                                      "'checksum<whitespace>filepath'"),
    "BAGIT-MANIFEST-BAD-DIGEST": (E, "RFC 8493 §2.1.3", "a checksum is hex of the algorithm's length"),
    "BAGIT-MANIFEST-DUPLICATE-ENTRY": (W, "RFC 8493 §2.1.3", "a file is listed once per manifest "
                                       "(here twice with the same checksum)"),
    "BAGIT-MANIFEST-CONFLICTING-ENTRY": (E, "RFC 8493 §2.1.3", "a file is listed twice in one "
                                         "manifest with different checksums"),
    "BAGIT-MANIFEST-OUTSIDE-PAYLOAD": (E, "RFC 8493 §2.1.3", "a payload manifest lists only "
                                       "files under data/"),
    "BAGIT-MANIFEST-MISSING-FILE": (E, "RFC 8493 §3", "every file a manifest lists is present"),
    "BAGIT-MANIFEST-UNLISTED-FILE": (E, "RFC 8493 §3", "every payload file is listed in every "
                                     "payload manifest"),
    "BAGIT-MANIFEST-DIRECTORY": (E, "RFC 8493 §2.1.3", "a manifest MUST NOT list directories"),
    "BAGIT-MANIFEST-PERCENT-ENCODING": (W, "RFC 8493 §2.1.3", "only CR, LF and % are "
                                        "percent-encoded in manifest paths, and % always is"),
    "BAGIT-MANIFEST-BINARY-MARKER": (W, "RFC 8493 §2.1.3", "a '*' before a path (md5sum binary "
                                     "mode) is not part of the BagIt manifest format"),
    "BAGIT-CHECKSUM-MISMATCH": (E, "RFC 8493 §3", "every checksum in every manifest matches the file"),
    "BAGIT-FILE-UNREADABLE": (E, "RFC 8493 §3", "a listed file could not be read to verify it"),
    "BAGIT-UNICODE-NORMALIZATION": (W, "RFC 8493 §4.1", "a manifest path and a file name differ "
                                    "only in Unicode normalization (NFC/NFD)"),
    "BAGIT-PATH-CASE-COLLISION": (W, "RFC 8493 §4.1", "two names differ only in case; they "
                                  "collide on case-insensitive file systems"),
    "BAGIT-PATH-NOT-NORMALIZED": (W, "RFC 8493 §2.1.3", "manifest paths are plain relative "
                                  "paths: no './' or empty components"),
    "BAGIT-PATH-BACKSLASH": (W, "RFC 8493 §2.1.3", "'/' is the only path separator; a backslash "
                             "is read as part of a name"),
    # -- tag manifests and tag files -------------------------------------------------------
    "BAGIT-TAGMANIFEST-LISTS-TAGMANIFEST": (E, "RFC 8493 §2.2.1", "a tag manifest MUST NOT "
                                            "list tag manifests"),
    "BAGIT-TAGMANIFEST-LISTS-PAYLOAD": (W, "RFC 8493 §2.2.1", "tag manifests list tag files; "
                                        "payload files belong in payload manifests"),
    "BAGIT-TAGMANIFEST-UNLISTED-FILE": (W, "RFC 8493 §2.2.1", "a tag manifest SHOULD list every "
                                        "tag file"),
    "BAGIT-TAGMANIFEST-ALGORITHM-WITHOUT-MANIFEST": (W, "RFC 8493 §2.2.1", "a tag manifest "
                                                     "algorithm SHOULD match a payload manifest's"),
    "BAGIT-TAGFILE-UNREADABLE": (E, "RFC 8493 §2.2.2", "a tag file could not be decoded in the "
                                 "declared encoding"),
    "BAGIT-TAGFILE-LINE-MALFORMED": (E, "RFC 8493 §2.2.2", "tag lines are 'Label: value' or "
                                     "continuation lines starting with whitespace"),
    "BAGIT-TAGFILE-LABEL-WHITESPACE": (E, "RFC 8493 §2.2.2", "labels do not begin or end with "
                                       "whitespace"),
    # -- bag-info.txt ------------------------------------------------------------------------
    "BAGIT-INFO-REPEATED-LABEL": (W, "RFC 8493 §2.2.2", "a reserved label that describes the "
                                  "whole bag appears more than once"),
    "BAGIT-INFO-BAD-DATE": (W, "RFC 8493 §2.2.2", "Bagging-Date is YYYY-MM-DD"),
    "BAGIT-INFO-BAD-BAG-COUNT": (W, "RFC 8493 §2.2.2", "Bag-Count is 'N of T' (T may be '?')"),
    "BAGIT-INFO-BAD-BAG-SIZE": (W, "RFC 8493 §2.2.2", "Bag-Size is a size such as '260 GB'"),
    "BAGIT-OXUM-MALFORMED": (E, "RFC 8493 §2.2.2", "Payload-Oxum is octetcount.streamcount"),
    "BAGIT-OXUM-MISMATCH": (E, "RFC 8493 §2.2.2", "Payload-Oxum matches the payload's bytes and files"),
    "BAGIT-OXUM-ABSENT": (W, "RFC 8493 §2.2.2", "--fast checks sizes through Payload-Oxum, which "
                          "this bag lacks"),
    # -- fetch.txt -----------------------------------------------------------------------------
    "BAGIT-FETCH-LINE-MALFORMED": (E, "RFC 8493 §2.2.3", "fetch lines are 'url length filepath'"),
    "BAGIT-FETCH-BAD-URL": (E, "RFC 8493 §2.2.3", "fetch URLs are absolute URIs"),
    "BAGIT-FETCH-TAG-FILE": (E, "RFC 8493 §2.2.3", "fetch.txt MUST NOT list tag files"),
    "BAGIT-FETCH-NOT-IN-MANIFEST": (E, "RFC 8493 §2.2.3", "every file in fetch.txt is listed in "
                                    "every payload manifest"),
    "BAGIT-FETCH-FILE-ABSENT": (E, "RFC 8493 §3", "a holey bag is not complete until its files are "
                                "fetched (URLs are never followed)"),
    "BAGIT-FETCH-LENGTH-MISMATCH": (E, "RFC 8493 §2.2.3", "a fetched file has the length fetch.txt gives"),
    # -- paths and safety ----------------------------------------------------------------------
    "BAGIT-PATH-UNSAFE": (E, "RFC 8493 §6", "paths are relative and stay inside the bag: no '..', "
                          "absolute paths, '~', drive letters or UNC names; never followed"),
    "BAGIT-SYMLINK-OUTSIDE": (E, "RFC 8493 §6", "a symbolic link points outside the bag; not read"),
    "BAGIT-SYMLINK-BROKEN": (E, "archiver", "a symbolic link points at nothing"),
    "BAGIT-SYMLINK-DIRECTORY": (W, "archiver", "a symbolic link to a directory is not followed"),
    # -- serialized bags -----------------------------------------------------------------------
    "ARCHIVE-UNREADABLE": (E, "RFC 8493 §4.2", "the archive could not be opened or read"),
    "ARCHIVE-UNSAFE-MEMBER": (E, "RFC 8493 §6", "a member name escapes the extraction directory "
                              "(absolute, '..', drive letter); nothing extracted"),
    "ARCHIVE-LINK-OUTSIDE": (E, "RFC 8493 §6", "a link member points outside the bag; nothing extracted"),
    "ARCHIVE-SPECIAL-MEMBER": (E, "archiver", "a device, FIFO or other special member; nothing extracted"),
    "ARCHIVE-TOP-LEVEL": (E, "RFC 8493 §4.2", "a serialized bag unpacks to exactly one top-level "
                          "directory holding the bag"),
    "ARCHIVE-TOO-LARGE": (E, "archiver", "the archive expands beyond the space or limits allowed"),
    "ARCHIVE-DAMAGED": (E, "POSIX.1 ustar; RFC 1952 §2.3.1", "the archive is damaged at a byte "
                        "offset of its tar stream (a header that does not parse, data after the "
                        "end-of-archive marker, a compressed stream that fails its check): the "
                        "members from there on are not read; nothing extracted"),
    "ARCHIVE-TRUNCATED": (E, "POSIX.1 ustar", "the archive is cut short (inside a header or member, "
                          "or with no end-of-archive marker of two zero blocks): members may be "
                          "lost; nothing extracted"),
    "ARCHIVE-DUPLICATE-MEMBER": (E, "RFC 8493 §4.2", "two members of the same name: which one a "
                                 "reader gets depends on the extractor; nothing extracted"),
    # -- archiver packages ---------------------------------------------------------------------
    "PACKAGE-UPDATE-INTERRUPTED": (E, "archiver", "an update of the package (a recorded event) "
                                   "died past its commit point, or cannot be completed: its "
                                   "files are not all in place until the next record completes it"),
    "PACKAGE-DEPOSIT-PENDING": (W, "archiver", "a deposit died between sending the package and "
                                "recording its receipt: the next deposit to that target "
                                "finishes it, or finds the container it made"),
    "PACKAGE-TEMPORARY-LEFTOVER": (W, "archiver", "a temporary of a killed archiver run outside "
                                   "data/: not part of the bag, removed by the next record"),
    "PACKAGE-METADATA-MISSING": (E, "archiver", "an archiver package carries metadata/dc.xml, "
                                 "premis.xml and report.json"),
    "PACKAGE-XML-MALFORMED": (E, "archiver", "dc.xml and premis.xml are well-formed XML "
                              "without a DOCTYPE"),
    "PACKAGE-DC-INVALID": (E, "archiver", "dc.xml is valid against schemas/archiver-dc.xsd and "
                           "names a title and an identifier"),
    "PACKAGE-PREMIS-INVALID": (E, "archiver", "premis.xml is valid against schemas/archiver-premis.xsd"),
    "PACKAGE-REPORT-JSON-INVALID": (E, "archiver", "report.json is UTF-8 JSON valid against "
                                    "schemas/report.schema.json"),
    "PACKAGE-IDENTIFIER-MISMATCH": (E, "archiver", "dc.xml and report.json name the package by its "
                                    "External-Identifier"),
    "PACKAGE-PREMIS-OBJECT-MISSING": (E, "archiver", "PREMIS has one object per payload file and "
                                      "none for files not in the payload"),
    "PACKAGE-PREMIS-FIXITY-MISMATCH": (E, "archiver", "PREMIS fixity equals the payload manifests"),
    "PACKAGE-METS-INVALID": (E, "archiver", "mets.xml, where present, is valid against "
                             "schemas/archiver-mets.xsd"),
    "PACKAGE-METS-FILE": (E, "archiver", "the METS fileSec lists every payload file, and only "
                          "those, with the manifest's SHA-256"),
    # -- the cluster (archiver.executor): the run stops, exit 2, rather than give a verdict --------
    "CLUSTER-UNREACHABLE": (E, "archiver", "no Dask scheduler, or one without workers, answers at "
                            "the address given"),
    "CLUSTER-LOST": (E, "archiver", "the scheduler went away during the run, or a task was lost with "
                     "every worker that ran it"),
    "CLUSTER-VERSION": (E, "archiver", "every worker runs the same archiver version as the client"),
    "CLUSTER-STORAGE-NOT-SHARED": (E, "archiver", "workers see the client's files under the same "
                                   "paths (a shared file system) and can write into the store"),
    # -- BagIt Profiles --------------------------------------------------------------------------
    "PROFILE-UNREADABLE": (E, "Profiles §Implementation", "the profile could not be read as JSON"),
    "PROFILE-INVALID": (E, "Profiles §Implementation", "the profile document breaks the BagIt "
                        "Profiles schema (schemas/bagit-profile.schema.json) or DART's format"),
    "PROFILE-IDENTIFIER-MISSING": (E, "Profiles §Implementation", "conforming bags declare "
                                   "BagIt-Profile-Identifier in bag-info.txt"),
    "PROFILE-IDENTIFIER-MISMATCH": (W, "Profiles §Implementation", "the bag declares a different "
                                    "profile than the one checked"),
    "PROFILE-TAG-MISSING": (E, "Profiles §Bag-Info", "a required tag is absent"),
    "PROFILE-TAG-EMPTY": (E, "DART tags.emptyOk", "a required tag has an empty value"),
    "PROFILE-TAG-VALUE": (E, "Profiles §Bag-Info", "a tag's value is not one of those allowed"),
    "PROFILE-TAG-REPEATED": (E, "Profiles §Bag-Info", "a non-repeatable tag appears more than once"),
    "PROFILE-TAG-RECOMMENDED": (W, "BTR profile", "a recommended tag is absent"),
    "PROFILE-TAG-FILE-MISSING": (E, "DART tags.tagFile", "a tag file the profile defines tags for "
                                 "is absent"),
    "PROFILE-MANIFEST-REQUIRED": (E, "Profiles §Manifests-Required", "a required payload manifest "
                                  "is absent"),
    "PROFILE-MANIFEST-NOT-ALLOWED": (E, "Profiles §Manifests-Allowed", "a payload manifest uses an "
                                     "algorithm the profile does not allow"),
    "PROFILE-TAGMANIFEST-REQUIRED": (E, "Profiles §Tag-Manifests-Required", "a required tag "
                                     "manifest is absent"),
    "PROFILE-TAGMANIFEST-NOT-ALLOWED": (E, "Profiles §Tag-Manifests-Allowed", "a tag manifest "
                                        "uses an algorithm the profile does not allow"),
    "PROFILE-TAG-FILE-REQUIRED": (E, "Profiles §Tag-Files-Required", "a required tag file is absent"),
    "PROFILE-TAG-FILE-NOT-ALLOWED": (E, "Profiles §Tag-Files-Allowed", "a tag file matches no "
                                     "allowed pattern"),
    "PROFILE-PAYLOAD-FILE-REQUIRED": (E, "Profiles §Payload-Files-Required", "a required payload "
                                      "file or directory is absent"),
    "PROFILE-PAYLOAD-FILE-NOT-ALLOWED": (E, "Profiles §Payload-Files-Allowed", "a payload file "
                                         "matches no allowed pattern"),
    "PROFILE-FETCH-NOT-ALLOWED": (E, "Profiles §Allow-Fetch.txt", "fetch.txt is not allowed"),
    "PROFILE-FETCH-REQUIRED": (E, "Profiles §Fetch.txt-Required", "fetch.txt is required"),
    "PROFILE-DATA-NOT-EMPTY": (E, "Profiles §Data-Empty", "data/ holds no files or one empty file"),
    "PROFILE-SERIALIZATION-REQUIRED": (E, "Profiles §Serialization", "the bag must be serialized"),
    "PROFILE-SERIALIZATION-FORBIDDEN": (E, "Profiles §Serialization", "the bag must not be serialized"),
    "PROFILE-SERIALIZATION-NOT-ACCEPTED": (E, "Profiles §Accept-Serialization", "the archive "
                                           "format is not accepted"),
    "PROFILE-BAGIT-VERSION": (E, "Profiles §Accept-BagIt-Version", "the BagIt version is not accepted"),
    "PROFILE-TAR-DIR-NAME": (E, "DART tarDirMustMatchName", "a tarred bag unpacks to a directory "
                             "named like the tar file"),
    "PROFILE-FILE-NAME": (E, "DART file-name rules", "a file name breaks the profile's naming rule"),

    # -- audit (archiver audit: a package against its manifests and the ledger) ---------------
    "AUDIT-FILE-CHANGED": (E, "RFC 8493 §3; OCFL 1.1 §3.5.3", "a file's bytes differ from the "
                           "digest its manifest (or OCFL inventory) gives it"),
    "AUDIT-FILE-MISSING": (E, "RFC 8493 §3", "a file the manifests or the ledger list is absent"),
    "AUDIT-FILE-NEW": (E, "RFC 8493 §3", "a file no manifest lists, or one added since the "
                       "package was first seen"),
    "AUDIT-FILE-MOVED": (E, "archiver audit", "a file first seen at one path is at another "
                         "(same digest)"),
    "AUDIT-FILE-UNREADABLE": (E, "archiver audit", "a file could not be read to be checked"),
    "AUDIT-REWRITTEN": (E, "archiver audit", "the bag agrees with its manifests, but a file or "
                        "manifest differs from what the ledger first recorded (or PREMIS lost "
                        "an element)"),
    "AUDIT-PACKAGE-GONE": (E, "archiver audit", "a package the ledger knows is no longer there"),
    "AUDIT-PACKAGE-MOVED": (W, "archiver audit", "a package the ledger knows was found at another "
                            "location; its record follows it"),
    "AUDIT-PACKAGE-UNREADABLE": (E, "archiver audit", "a package could not be read at all"),
    "AUDIT-ARCHIVE-DAMAGED": (E, "archiver audit", "a serialized package cannot be read to its end"),
    "AUDIT-OCFL-INVENTORY": (E, "OCFL 1.1 §3.5", "an OCFL object's inventory is unreadable, does "
                             "not match its digest sidecar, or names unsafe paths"),
    "AUDIT-LEDGER-CHAIN": (E, "archiver audit", "a ledger record was changed, removed or "
                           "inserted after it was written (hash chain broken)"),
    "AUDIT-LEDGER-TABLE": (E, "archiver audit", "a ledger summary disagrees with the records"),
    "AUDIT-LEDGER-SEAL": (E, "archiver audit; RFC 3161", "a round's sealed chain head is not the "
                          "head the records give, or its time-stamp proof does not verify"),
    "AUDIT-EVIDENCE-CHANGED": (E, "archiver audit; archiver evidence", "a file of an evidence record "
                               "(evidence/NNNN/) differs from what the ledger first recorded, or was "
                               "added to a record it knew: records may only be added"),
    "AUDIT-EVIDENCE-REMOVED": (E, "archiver audit; archiver evidence", "an evidence record (or a "
                               "file of one) the ledger recorded is gone"),
    # -- evidence: seals, timestamps, signatures (archiver.evidence) -------------------------
    "EVIDENCE-NOT-SEALED": (E, "archiver evidence", "the package has no seal (no evidence/ record)"),
    "EVIDENCE-NOT-A-PACKAGE": (E, "archiver evidence", "only archiver packages are sealed"),
    "EVIDENCE-PACKAGE-DAMAGED": (E, "archiver evidence", "a package that disagrees with its "
                                 "manifests is not sealed: a seal must not pin damage"),
    "EVIDENCE-PAYLOAD-CHANGED": (E, "archiver evidence", "the payload is not what the first seal "
                                 "pinned (payload rewritten after sealing)"),
    "EVIDENCE-METADATA-CHANGED": (E, "archiver evidence", "tag files changed after the last signed "
                                  "record (the events recorded since are named; validate: growth "
                                  "is a warning, a rewrite an error)"),
    "EVIDENCE-CHAIN-BROKEN": (E, "archiver evidence", "a record does not pin the records before "
                              "it, or a record is missing"),
    "EVIDENCE-RECORD-UNREADABLE": (E, "archiver evidence", "a record's files are missing or malformed"),
    "EVIDENCE-SIGNATURE-INVALID": (E, "archiver evidence", "the signature over a statement does not "
                                   "verify with its key"),
    "EVIDENCE-SIGNER-UNKNOWN": (E, "archiver evidence", "the signing key is not one the verifier "
                                "named (a warning when none was named)"),
    "EVIDENCE-TOKEN-UNREADABLE": (E, "RFC 3161 §2.4.2", "not a TimeStampResp"),
    "EVIDENCE-TOKEN-WRONG-DIGEST": (E, "RFC 3161 §2.4.2", "the token (or the batch path to its "
                                    "root) is for another digest"),
    "EVIDENCE-TOKEN-INVALID": (E, "RFC 3161 §2.4.2", "the token's signature, signing certificate "
                               "or EKU does not verify"),
    "EVIDENCE-TSA-UNTRUSTED": (E, "RFC 3161 §4", "the authority's path does not end at an anchor "
                               "the verifier trusts"),
    "EVIDENCE-CERT-CHAIN-INCOMPLETE": (E, "RFC 5280 §6", "an issuer certificate is neither in the "
                                       "package nor among the anchors"),
    "EVIDENCE-CERT-NOT-VALID-AT-GENTIME": (E, "RFC 3161 §4", "a certificate of the path was not "
                                           "valid at the token's genTime"),
    "EVIDENCE-TSA-REVOKED": (E, "RFC 3161 §4", "a certificate of the path was revoked before the "
                             "token's genTime"),
    "EVIDENCE-REVOCATION-UNKNOWN": (W, "RFC 3161 §4", "no revocation data for a certificate of the "
                                    "path was obtained at sealing time"),
    "EVIDENCE-TSA-FAILED": (E, "RFC 3161 §3.4", "an authority did not answer with a token "
                            "(a warning when others did)"),
    "EVIDENCE-INTERRUPTED": (W, "archiver evidence", "a seal was interrupted; the next seal "
                             "completes or undoes it"),
    "EVIDENCE-STRAY-FILE": (W, "archiver evidence", "evidence/ holds something that is no record, "
                            "or a record a file it does not list"),
    "EVIDENCE-CONFIG": (E, "archiver evidence", "[evidence] of archiver.toml or the options are unusable"),
    "EVIDENCE-KEY": (E, "archiver evidence", "a signing or signer key file is unusable (named, "
                     "never quoted)"),
    "EVIDENCE-TRUST": (E, "archiver evidence", "a trust anchor file is not PEM certificates"),


    # -- the web view (archiver serve) ----------------------------------------------------
    "SERVE-METADATA-UNREADABLE": (E, "archiver", "a package file the web view shows (bag-info.txt, "
                                  "metadata/*, a manifest, a deposit receipt) is missing, not a "
                                  "regular file, too large or not well-formed"),
}


def problem(code: str, path: str, message: str, severity: str | None = None) -> Problem:
    """A Problem with the table's severity for `code` (unknown codes are a bug: KeyError)."""
    default, _, _ = CODES[code]
    return Problem(code, path, message, severity or default)


def describe(code: str) -> str:
    severity, source, rule = CODES[code]
    return f"{code} ({severity}, {source}): {rule}"
