"""bagit.txt and the tag files a bag's judgement reads (bag-info.txt, profile tag files)."""
from __future__ import annotations

from archiver.bagit.rules import DECLARATION_LIMIT, check_bag_info, parse_declaration, parse_tag_file, unsafe_reason
from archiver.problem_codes import problem


class TagFiles:
    """The declaration and tag-file part of a BagRun."""

    def declaration(self) -> bool:
        """Read bagit.txt as the walk found it (a link out of the bag is never followed)."""
        if "bagit.txt" in self.tree.blocked:
            self.problems.append(problem("BAGIT-DECLARATION-MALFORMED", "bagit.txt",
                                         "bagit.txt is not a regular file inside the bag; not read"))
            return True
        path = self.tree.disk.get("bagit.txt")
        if path is None:
            return False
        try:
            with open(path, "rb") as f:
                data = f.read(DECLARATION_LIMIT + 1)
        except OSError as e:
            self.problems.append(problem("BAGIT-DECLARATION-MALFORMED", "bagit.txt",
                                         f"cannot read bagit.txt: {e.strerror or e}"))
            return True
        if len(data) > DECLARATION_LIMIT:
            self.problems.append(problem("BAGIT-DECLARATION-MALFORMED", "bagit.txt",
                                         f"bagit.txt is longer than {DECLARATION_LIMIT} bytes; "
                                         "a declaration is two short lines"))
            data = data[:DECLARATION_LIMIT]
        self.decl, problems = parse_declaration(data)
        self.problems += problems
        self.report.version = self.decl.version
        return True

    def bag_info_file(self) -> str | None:
        if "bag-info.txt" in self.tree.tags:
            return "bag-info.txt"
        if "package-info.txt" in self.tree.tags and (self.decl.version or "1.0") < "0.96":
            return "package-info.txt"  # what BagIt 0.93-0.95 called it
        return None

    def read_bag_info(self) -> None:
        name = self.bag_info_file()
        if name:
            self.bag_info, problems = parse_tag_file(self.tree.disk[name], name, self.decl.encoding,
                                                     self.decl.version)
            self.problems += problems + check_bag_info(self.bag_info, name)

    def read_tags(self, tag_file: str) -> list[tuple[str, str]] | None:
        """Pairs of a tag file for profile checks; None if it is absent or unsafe to open."""
        if tag_file in self._tag_cache:
            return self._tag_cache[tag_file]
        pairs = None
        if tag_file == "bagit.txt":
            if "bagit.txt" in self.tree.tags:
                pairs = [("BagIt-Version", self.decl.version or ""),
                         ("Tag-File-Character-Encoding", self.decl.declared_encoding or "")]
        elif not unsafe_reason(tag_file) and tag_file in self.tree.tags:
            pairs, problems = parse_tag_file(self.tree.disk[tag_file], tag_file, self.decl.encoding,
                                              self.decl.version)
            self.problems += problems
        self._tag_cache[tag_file] = pairs
        return pairs

    def info_value(self, label: str) -> str | None:
        for key, value in self.bag_info:
            if key.lower() == label.lower():
                return value
        return None
