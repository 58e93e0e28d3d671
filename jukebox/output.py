"""Where a command's progress lines go: `print` on the command line, a list's `append` in tests."""

from __future__ import annotations

from collections.abc import Callable

Out = Callable[[str], None]
