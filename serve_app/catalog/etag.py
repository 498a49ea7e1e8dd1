"""ETags for products: the version number, quoted (`"3"`), and `If-Match` parsing.

If-Match uses the strong comparison of RFC 9110: `*` matches any existing
product, a weak tag (`W/"3"`) or anything unparseable matches nothing, so a
malformed header fails the precondition (412) instead of being ignored.
"""

from __future__ import annotations

from dataclasses import dataclass


def etag_for(version: int) -> str:
    return f'"{version}"'


@dataclass(frozen=True)
class IfMatch:
    any_version: bool
    versions: frozenset[int]

    def matches(self, version: int) -> bool:
        return self.any_version or version in self.versions


def parse_if_match(header: str | None) -> IfMatch | None:
    """None when the header is absent: the update is unconditional."""
    if header is None:
        return None
    tags = [tag.strip() for tag in header.split(",") if tag.strip()]
    if tags == ["*"]:
        return IfMatch(any_version=True, versions=frozenset())
    versions = set()
    for tag in tags:
        inner = tag[1:-1] if len(tag) >= 2 and tag[0] == tag[-1] == '"' else ""
        if inner.isascii() and inner.isdigit() and len(inner) <= 10:
            versions.add(int(inner))
    return IfMatch(any_version=False, versions=frozenset(versions))
