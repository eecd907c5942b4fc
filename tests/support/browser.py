"""Real headless Chromium (Debian's /usr/bin/chromium) driven over the DevTools protocol.

The protocol runs over `--remote-debugging-pipe` (fd 3 in, fd 4 out, messages ended by NUL):
no port, no websocket library, no test tool's own browser download. One browser serves a whole
test session; each page opens in a fresh tab and records what a reviewer cares about: console
errors and every network request. Every step has a deadline, and `close()` always ends the
browser's whole process group, so a hung Chromium costs seconds, never the suite.

    with Chromium.launch() as browser:
        page = browser.open(Path("report.html"))
        assert page.console_errors() == []
        page.screenshot(Path("tests/actual/report.png"))
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

CHROMIUM = Path(os.environ.get("SCIM_DOCTOR_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_TIMEOUT_S = 30.0
"""The first start on a cold disk can be slow; later ones take about a second."""
STEP_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 5.0
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--remote-debugging-pipe",
)

# Maps the two pipe ends the browser inherits onto fd 3 and 4, where Chromium expects them,
# then becomes Chromium. Done in a tiny exec'd helper, since subprocess keeps inherited fds at
# their own numbers and a preexec_fn is unsafe in a process with server threads running.
_FD_SHIM = """\
import fcntl, os, sys
read_end, write_end = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3])
os.dup2(read_end, 3)
os.dup2(write_end, 4)
os.close(read_end)
os.close(write_end)
os.execv(sys.argv[3], sys.argv[3:])
"""


class BrowserUnavailable(Exception):
    """Chromium is not installed or would not start: the browser tests skip with this reason."""


class BrowserError(Exception):
    """A protocol step failed or ran out of time."""


class Chromium:
    """One headless Chromium process and its DevTools pipe."""

    def __init__(
        self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int, workdir: Path
    ) -> None:
        self._process = process
        self._to_browser = to_browser
        self._from_browser = from_browser
        self._workdir = workdir
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._responses: dict[int, dict[str, Any]] = {}
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="chromium-devtools", daemon=True)
        self._reader.start()

    # --- life cycle ---------------------------------------------------------------------------

    @classmethod
    def launch(cls, executable: Path = CHROMIUM) -> Chromium:
        """Start Chromium with a fresh profile; BrowserUnavailable says why it could not."""
        if not os.access(executable, os.X_OK):
            raise BrowserUnavailable(
                f"{executable} is not installed; `scripts/ensure-components` installs Debian's "
                "chromium package (as root)"
            )
        workdir = Path(tempfile.mkdtemp(prefix="scim-doctor-chromium-"))
        child_read, to_browser = os.pipe()
        from_browser, child_write = os.pipe()
        try:
            with open(workdir / "stderr.log", "wb") as log:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        _FD_SHIM,
                        str(child_read),
                        str(child_write),
                        str(executable),
                        *FLAGS,
                        f"--user-data-dir={workdir / 'profile'}",
                        "about:blank",
                    ],
                    pass_fds=(child_read, child_write),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    start_new_session=True,
                )
        except OSError as exc:
            for fd in (child_read, child_write, to_browser, from_browser):
                os.close(fd)
            shutil.rmtree(workdir, ignore_errors=True)
            raise BrowserUnavailable(f"cannot start {executable}: {exc}") from None
        finally:
            with contextlib.suppress(OSError):
                os.close(child_read)
            with contextlib.suppress(OSError):
                os.close(child_write)
        browser = cls(process, to_browser, from_browser, workdir)
        try:
            browser.call("Browser.getVersion", timeout=LAUNCH_TIMEOUT_S)
        except BrowserError as exc:
            log_tail = browser.stderr_tail()
            browser.close()
            raise BrowserUnavailable(f"{executable} did not start: {exc}\n{log_tail}") from None
        return browser

    def __enter__(self) -> Chromium:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def stderr_tail(self, lines: int = 8) -> str:
        with contextlib.suppress(OSError):
            text = (self._workdir / "stderr.log").read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    def close(self) -> None:
        """Ask Chromium to quit, then kill its process group if it has not; always cleans up."""
        if self._closed:
            return
        self._closed = True
        if self._process.poll() is None:
            with contextlib.suppress(BrowserError, OSError):
                self.call("Browser.close", timeout=2.0)
            try:
                self._process.wait(timeout=CLOSE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill_group()
                self._process.wait(timeout=CLOSE_TIMEOUT_S)
        self._kill_group()
        self._stopping.set()
        self._reader.join(timeout=CLOSE_TIMEOUT_S)
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _kill_group(self) -> None:
        """The browser's helpers (zygote, renderers) share its process group: end them too."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)

    # --- the protocol -------------------------------------------------------------------------

    def _read(self) -> None:
        buffer = b""
        while not self._stopping.is_set():
            try:
                ready, _, _ = select.select([self._from_browser], [], [], 0.2)
                if not ready:
                    continue
                chunk = os.read(self._from_browser, 1 << 20)
            except OSError:
                break
            if not chunk:
                break
            buffer += chunk
            *complete, buffer = buffer.split(b"\0")
            for raw in complete:
                self._messages.put(json.loads(raw))
        self._messages.put(None)

    def _pump(self, deadline: float, waiting_for: str) -> None:
        """Take one message off the pipe and file it; BrowserError when time or browser runs out."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrowserError(f"timed out waiting for {waiting_for}")
        try:
            message = self._messages.get(timeout=remaining)
        except queue.Empty:
            raise BrowserError(f"timed out waiting for {waiting_for}") from None
        if message is None:
            self._messages.put(None)
            raise BrowserError(f"the browser went away while waiting for {waiting_for}")
        if "id" in message:
            self._responses[message["id"]] = message
        else:
            self._events.setdefault(message.get("sessionId", ""), []).append(message)

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str = "",
        timeout: float = STEP_TIMEOUT_S,
    ) -> dict[str, Any]:
        """Send one command and wait for its answer."""
        if self._closed and method != "Browser.close":
            raise BrowserError("the browser is closed")
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except OSError as exc:
            raise BrowserError(f"{method}: cannot talk to the browser ({exc})") from None
        deadline = time.monotonic() + timeout
        while message_id not in self._responses:
            self._pump(deadline, method)
        answer = self._responses.pop(message_id)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error'].get('message', answer['error'])}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def events(self, session: str) -> list[dict[str, Any]]:
        return self._events.setdefault(session, [])

    def wait_for_event(self, session: str, method: str, after: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(e["method"] == method for e in self.events(session)[after:]):
            self._pump(deadline, method)

    # --- pages --------------------------------------------------------------------------------

    def open(
        self,
        path: Path | str,
        *,
        color_scheme: str = "light",
        media: str = "",
        width: int = 1100,
        height: int = 900,
    ) -> Page:
        """Load a local file (a Path) or a URL (a str, e.g. a server on loopback) in a new tab,
        with its console and network recorded from the start."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        url = path if isinstance(path, str) else path.resolve().as_uri()
        page = Page(self, target, session, url)
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable", session=session)
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            self.call(
                "Emulation.setEmulatedMedia",
                {
                    "media": media,
                    "features": [{"name": "prefers-color-scheme", "value": color_scheme}],
                },
                session=session,
            )
            already = len(self.events(session))
            navigated = self.call("Page.navigate", {"url": page.url}, session=session)
            if navigated.get("errorText"):
                raise BrowserError(f"cannot open {page.url}: {navigated['errorText']}")
            self.wait_for_event(session, "Page.loadEventFired", already, STEP_TIMEOUT_S)
        except BaseException:
            page.close()
            raise
        return page

    @contextlib.contextmanager
    def opened(self, path: Path | str, **options: Any) -> Iterator[Page]:
        page = self.open(path, **options)
        try:
            yield page
        finally:
            page.close()


class Page:
    """One loaded tab: what it logged, what it fetched, and a way to look inside."""

    def __init__(self, browser: Chromium, target: str, session: str, url: str) -> None:
        self._browser = browser
        self._target = target
        self._session = session
        self.url = url

    def _events(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self._browser.events(self._session) if e["method"] == method]

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser-side errors (CSP, failed loads)."""
        errors = [
            " ".join(str(a.get("value", a.get("description", ""))) for a in e.get("args", []))
            for e in self._events("Runtime.consoleAPICalled")
            if e.get("type") in ("error", "assert")
        ]
        errors += [
            e["exceptionDetails"].get("exception", {}).get("description")
            or e["exceptionDetails"].get("text", "exception")
            for e in self._events("Runtime.exceptionThrown")
        ]
        errors += [
            e["entry"].get("text", "")
            for e in self._events("Log.entryAdded")
            if e["entry"].get("level") == "error"
        ]
        return errors

    def requests(self) -> list[str]:
        """Every URL the page asked for, the page itself included."""
        return [e["request"]["url"] for e in self._events("Network.requestWillBeSent")]

    def evaluate(self, expression: str) -> Any:
        """A JavaScript expression's value (JSON-compatible), evaluated in the page."""
        result = self._browser.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True},
            session=self._session,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def screenshot(self, path: Path, max_height: int = 12000) -> Path:
        """A PNG of the whole page (up to `max_height` CSS pixels)."""
        size = self._browser.call("Page.getLayoutMetrics", session=self._session)["cssContentSize"]
        clip = {
            "x": 0,
            "y": 0,
            "width": size["width"],
            "height": min(size["height"], max_height),
            "scale": 1,
        }
        shot = self._browser.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": clip,
                "optimizeForSpeed": True,
            },
            session=self._session,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        with contextlib.suppress(BrowserError):
            self._browser.call("Target.closeTarget", {"targetId": self._target})
