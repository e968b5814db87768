"""The BagIt format itself (RFC 8493): parsing, writing bag files, serialized bags; used by both
the stage that writes packages and the one that judges bags."""
