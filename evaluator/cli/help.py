"""Help text as a user reads it: click's plain value names, not Typer's Python type labels."""

from __future__ import annotations

from collections.abc import Callable


def plain_help_labels() -> None:
    """Show click's plain value names in help (PATH, INTEGER...), none on flags.

    Recent Typer releases label every option with its Python type (``<bool>`` on a flag,
    ``<list[Path]>``), which reads as internals to a user. Applied only where Typer has
    that hook, so an older or newer Typer keeps its own labels.
    """
    from typer import core

    for cls in (getattr(core, "TyperOption", None), getattr(core, "TyperArgument", None)):
        original = getattr(cls, "display_type_rich", None)
        if cls is None or original is None or getattr(original, "_plain", False):
            continue

        def display(self: object, ctx: object, _original: Callable[..., str | None] = original) -> str | None:
            if getattr(self, "is_flag", False) or getattr(self, "metavar", None):
                return getattr(self, "metavar", None)
            label = _original(self, ctx)
            return _plain_label(label) if label else label

        display._plain = True  # type: ignore[attr-defined]
        setattr(cls, "display_type_rich", display)  # noqa: B010


_LABELS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "path": "PATH", "bool": "BOOLEAN"}


def _plain_label(label: str) -> str:
    """'<int range>' -> 'INTEGER', '<list[Path]>' -> 'PATH...', '<path>...' -> 'PATH...'."""
    inner = label.strip("<>.").removeprefix("list[").rstrip("]").split()[0] if label.startswith("<") else label
    repeated = label.endswith("...") or label.startswith("<list[")
    plain = _LABELS.get(inner.lower(), inner if "|" in inner else inner.upper())  # choices stay as typed
    return plain + ("..." if repeated else "")
