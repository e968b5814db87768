"""What judging an archiver package or a profile needs from a BagRun."""
from __future__ import annotations


class PackageRules:
    """The profile and package-metadata part of a BagRun."""

    def facts(self, serialization: str | None, archive_name: str | None, archive_top: str | None):
        from archiver.validate.profile import BagFacts
        return BagFacts(
            version=self.decl.version, bag_info=self.bag_info,
            payload_algorithms=[m.algorithm for m in self.manifests],
            tag_algorithms=[m.algorithm for m in self.tag_manifests],
            tag_files=sorted(self.tree.tags), payload_files=self.tree.payload,
            has_fetch="fetch.txt" in self.tree.tags, read_tags=self.read_tags,
            serialization=serialization, archive_name=archive_name, archive_top=archive_top)

    def package_metadata(self) -> None:
        from archiver.metadata.check import check_package_metadata
        readable = {rel: path for rel, path in self.tree.disk.items()
                    if rel in self.tree.tags and rel not in self.tree.blocked}
        self.problems += check_package_metadata(
            self.bag_dir, manifests={m.algorithm: m.entries for m in self.manifests},
            payload=set(self.tree.payload), external_id=self.info_value("External-Identifier"),
            readable=readable, trees=self.trees)
