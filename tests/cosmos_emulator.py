"""A throwaway Cosmos DB emulator for tests: ``@vercel/cosmosdb-server``, patched, on a free loopback port.

The npm project in ``tests/cosmos_emulator/`` pins the server; ``npm ci`` installs it and its ``postinstall``
(patch-package) applies ``tests/cosmos_emulator/patches/``, which fix what the emulator gets wrong (docs/cosmos.md).
:func:`cosmos_emulator` installs it when needed (once; a file lock keeps parallel sessions from racing), starts it on
a port the OS picks, waits until it answers and stops it afterwards. Every step is bounded by a timeout.

The emulator accepts any well-formed key; tests use the well-known key of Microsoft's emulator (:data:`EMULATOR_KEY`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.servers import terminate

__all__ = ["EMULATOR_DIR", "EMULATOR_KEY", "cosmos_emulator", "install"]

EMULATOR_DIR = Path(__file__).resolve().parent / "cosmos_emulator"
#: The published key of Microsoft's Cosmos DB emulator; the npm emulator accepts any base64 key.
EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nqT1XUTOLLCCISYWSWE2qhazSVaqrQaTkgTCLrOZdQ=="
_SERVER = EMULATOR_DIR / "node_modules" / "@vercel" / "cosmosdb-server"
_CLI = _SERVER / "lib" / "cli.js"
_LAUNCHER = EMULATOR_DIR / "server.js"  # starts it with keep-alive connections, like the real service
_PATCH_MARKER = _SERVER / "lib" / "handler" / "read-document.js"  # contains "patched:" once the patches are applied
_READY = re.compile(rb"Ready to accept HTTPS connections at [^\s:]+:(\d+)")


def _installed() -> bool:
    return _CLI.is_file() and _PATCH_MARKER.is_file() and b"patched:" in _PATCH_MARKER.read_bytes()


def install(timeout: float = 300.0) -> None:
    """``npm ci`` in tests/cosmos_emulator unless the patched emulator is already there (idempotent)."""
    if _installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the Cosmos DB emulator needs Node.js 18+ and npm")
    # The lock lives outside the project (npm ci deletes node_modules; the tree stays clean).
    lock_path = (
        Path(tempfile.gettempdir()) / f"cosmos-emulator-{hashlib.sha256(bytes(EMULATOR_DIR)).hexdigest()[:12]}.lock"
    )
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed():
            return
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=EMULATOR_DIR,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0 or not _installed():
            output = (result.stdout + result.stderr).decode(errors="replace")[-4000:]
            raise RuntimeError(f"npm ci in {EMULATOR_DIR} failed ({result.returncode}):\n{output}")


def _wait_until_answering(endpoint: str, deadline: float, process: subprocess.Popen[bytes]) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the emulator's certificate is self-signed; loopback only
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the Cosmos DB emulator exited with {process.returncode}")
        try:
            with urllib.request.urlopen(endpoint, context=context, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the Cosmos DB emulator at {endpoint} did not answer in time")
        time.sleep(0.05)


@contextlib.contextmanager
def cosmos_emulator(startup_timeout: float = 30.0, install_timeout: float = 300.0) -> Iterator[str]:
    """Run the emulator on a free loopback port; yields its endpoint, ``https://127.0.0.1:PORT/``."""
    install(install_timeout)
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed: the Cosmos DB emulator needs Node.js 18+")
    with tempfile.TemporaryFile() as log:
        # Port 0: the OS picks a free port and the server prints it, so there is no race for the port.
        process = subprocess.Popen(
            [node, str(_LAUNCHER), "127.0.0.1", "0"],
            cwd=EMULATOR_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        ports: list[int] = []
        reader = threading.Thread(target=_read_port, args=(process, ports), name="cosmos-emulator-out", daemon=True)
        reader.start()
        try:
            try:
                deadline = time.monotonic() + startup_timeout
                while not ports:
                    if process.poll() is not None:
                        raise RuntimeError(f"the emulator exited with {process.returncode} before it was ready")
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the emulator did not start within {startup_timeout} s")
                    time.sleep(0.02)
                endpoint = f"https://127.0.0.1:{ports[0]}/"
                _wait_until_answering(endpoint, deadline, process)
            except Exception as error:
                log.seek(0)
                tail = log.read()[-4000:].decode(errors="replace")
                raise RuntimeError(f"the Cosmos DB emulator did not start: {error}\n{tail}") from error
            yield endpoint
        finally:
            terminate(process)
            reader.join(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


def _read_port(process: subprocess.Popen[bytes], ports: list[int]) -> None:
    """Find the port in "Ready to accept HTTPS connections at HOST:PORT", then drain stdout until it closes."""
    assert process.stdout is not None
    for line in process.stdout:
        match = _READY.search(line)
        if match and not ports:
            ports.append(int(match.group(1)))
