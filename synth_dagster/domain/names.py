"""The one way a user-given name (table, column, generator) becomes a file or folder name.

Names come from configs, DataFrames, databases and imported ZIPs; any of them may be hostile
(`../../etc/x`, `/tmp/x`, `a\\b`). `path_component` keeps ordinary names as they are and
percent-encodes what could leave the folder it is joined to, so that no name ever reaches a path
unchecked. The encoding is injective (`%` itself is encoded), so two names never share a path.
"""

from __future__ import annotations

import hashlib

from synth_dagster.domain.errors import ConfigError

# Characters with a meaning in paths here or on other systems: separators, the escape itself, and
# what Windows and object-store consoles refuse.
_ENCODED = frozenset('/\\%<>:"|?*')
# Most file systems allow 255 bytes per name; leave room for suffixes such as "-training.parquet".
MAX_COMPONENT_BYTES = 200


def control_characters(name: str) -> list[str]:
    """The control characters in a name (as escapes), which no name may hold."""
    return sorted({repr(c)[1:-1] for c in name if ord(c) < 32 or 127 <= ord(c) < 160})


def check_name(name: object, what: str) -> str:
    """A name as a non-empty string without control characters; ConfigError otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{what} must be a non-empty string, got {str(name)[:60]!r}; give it a name")
    bad = control_characters(name)
    if bad:
        raise ConfigError(
            f"{what} {name[:60]!r} contains control characters ({', '.join(bad)}); remove them from the name"
        )
    return name


def path_component(name: str, what: str = "name") -> str:
    """`name` as one safe file or folder name: no separator, not `.` or `..`, not hidden, bounded.

    Ordinary names come back unchanged, so paths stay readable.
    """
    check_name(name, what)
    out = "".join(f"%{ord(c):02X}" if c in _ENCODED else c for c in name)
    if out.startswith("."):
        out = "%2E" + out[1:]  # `.` and `..` would leave the folder; hidden files would vanish
    if len(out.encode()) > MAX_COMPONENT_BYTES:
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        head = out.encode()[: MAX_COMPONENT_BYTES - 17].decode(errors="ignore")
        out = f"{head}~{digest}"
    return out
