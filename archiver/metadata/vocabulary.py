"""Library of Congress preservation vocabularies (id.loc.gov/vocabulary/preservation)."""
from __future__ import annotations

LOC = "http://id.loc.gov/vocabulary/preservation/"

EVENT_TYPES = {
    "cap": "capture",
    "cre": "creation",
    "dig": "digital signature validation",
    "dsg": "digital signature generation",
    "fix": "fixity check",
    "for": "format identification",
    "ing": "ingestion",
    "mee": "metadata extraction",
    "mes": "message digest calculation",
    "rep": "replication",
    "tra": "transfer",
    "val": "validation",
}

AGENT_TYPES = {"software": "sof", "person": "per", "organization": "org"}

AGENT_ROLES = {
    "executing program": "exe",
    "implementer": "imp",
    "authorizer": "aut",
    "validator": "val",
}

# PREMIS messageDigestAlgorithm labels (LoC cryptographicHashFunctions vocabulary)
HASH_LABELS = {
    "md5": "MD5", "sha1": "SHA-1", "sha224": "SHA-224", "sha256": "SHA-256",
    "sha384": "SHA-384", "sha512": "SHA-512", "blake2b": "BLAKE2b-512",
}
HASH_CODES = {
    "md5": "md5", "sha1": "sha1", "sha224": "sha224", "sha256": "sha256",
    "sha384": "sha384", "sha512": "sha512", "blake2b": "blake2b-512",
}
