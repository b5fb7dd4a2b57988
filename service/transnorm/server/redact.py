"""What a response may say of the host: no filesystem paths (errors reach clients without a key)."""

from __future__ import annotations

import re

#: An absolute path of two or more components (POSIX or Windows), up to its last component.
_PATH = re.compile(r"(?<![\w.:/])(?:[A-Za-z]:)?(?:[/\\][^\s/\\'\"():,;\[\]]+)+(?=[/\\][^\s/\\'\"():,;\[\]]+)")


def public(text: str) -> str:
    """``text`` without the directories of the filesystem paths it names (``…/model.bin``):
    errors reach clients that have no key."""
    return _PATH.sub("…", text)
