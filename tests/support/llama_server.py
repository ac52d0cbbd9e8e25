"""Starting llama.cpp's own ``llama-server`` (built by ``make llama-server``) for the server tests.

The binary is ``$EVALUATOR_LLAMA_SERVER``, else the one the Makefile caches under
``$EVALUATOR_CACHE/llama-server-<llama-cpp-python version>/``. Servers listen on
127.0.0.1 on a free port, with the embedded GGUF, one CPU thread, and a small context.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from evaluator.backends.catalogue import cache_dir, resolve_model

_START_TIMEOUT_S = 90.0


def binary() -> Path:
    """Where the llama-server binary is (it may not exist)."""
    named = os.environ.get("EVALUATOR_LLAMA_SERVER")
    if named:
        return Path(named)
    return cache_dir() / f"llama-server-{version('llama-cpp-python')}" / "llama-server"


def require_binary() -> Path:
    """The binary, or skip the test with what to run."""
    path = binary()
    if not path.is_file():
        pytest.skip(f"no llama-server at {path} — run `make llama-server` (or set EVALUATOR_LLAMA_SERVER)")
    return path


@dataclass
class LlamaServer:
    """A running llama-server process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        """Its (ip, port), as the socket guard lists connections."""
        return ("127.0.0.1", self.port)

    def kill(self) -> None:
        """SIGKILL, as a crashed or unplugged server; waits for the process to go."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)

    def requests_served(self) -> int:
        """Completed requests, counted from its log."""
        return self.log.read_text(errors="replace").count("stop processing: n_tokens")


def model_id(server: LlamaServer) -> str:
    """The model id the server lists (llama-server: the GGUF file name)."""
    data = httpx.get(f"{server.url}/v1/models", timeout=10, trust_env=False).json()
    return str(data["data"][0]["id"])


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(log_dir: Path, *, n_ctx: int, slots: int, api_key: str | None = None) -> LlamaServer:
    """Start llama-server with the embedded model; ``n_ctx`` is per slot. Waits until it answers."""
    port = free_port()
    log = log_dir / f"llama-server-{port}.log"
    command = [str(require_binary()), "-m", str(resolve_model(None).path), "--host", "127.0.0.1"]
    command += ["--port", str(port), "-c", str(n_ctx * slots), "-np", str(slots), "-t", "1", "-tb", "1"]
    command += ["--no-webui", "--no-warmup"]
    if api_key:
        command += ["--api-key", api_key]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = LlamaServer(process, port, log)
    _wait_ready(server)
    return server


def _wait_ready(server: LlamaServer) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"llama-server exited early:\n{server.log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"llama-server did not answer within {_START_TIMEOUT_S:g} s")
