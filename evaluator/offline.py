"""Keeping the process air-gapped: no library it loads may reach a hub or send telemetry.

The tool itself never opens a network connection: the model is a local GGUF file and the
store a local DuckDB file. Some libraries that may end up in the same process (Hugging Face
hub clients, anything honouring ``DO_NOT_TRACK``) would still try to download or report if
asked; these variables tell them not to. They are forced, not defaulted, because a
``HF_HUB_OFFLINE=0`` left in a shell profile must not turn an offline tool online.
"""

from __future__ import annotations

import os

OFFLINE_ENVIRONMENT: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",  # huggingface_hub: never call the Hub (llama_cpp's from_pretrained uses it)
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",  # never send a stored token anywhere
    "DO_NOT_TRACK": "1",  # the cross-tool telemetry opt-out (consoledonottrack.com)
    "DISABLE_TELEMETRY": "1",
}


def enforce_offline() -> None:
    """Set the variables that keep libraries offline; called by the CLI and the library entry points."""
    os.environ.update(OFFLINE_ENVIRONMENT)
