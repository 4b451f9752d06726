"""Headless Chromium driven over the DevTools protocol, for tests that look at pages as a reader.

The browser is Debian's ``chromium`` package (``make browser-check`` installs it). It is started
with ``--remote-debugging-pipe``: protocol messages are JSON objects ended by a NUL byte, read by
the browser from file descriptor 3 and written to file descriptor 4, so no port is opened and no
client library is needed. Host names resolve to nothing but ``127.0.0.1``: a page that asks for
anything outside the machine sees the request fail.

    with Chromium.start(binary, profile_dir) as browser:
        page = browser.new_page()
        report = page.open("http://127.0.0.1:8000/")   # requests, failures, console errors
        page.evaluate("document.title")
        page.screenshot(path)
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Chromium", "Page", "PageReport", "find_chromium"]

#: command names to look for, in order; the environment variable CHROMIUM overrides them
BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _above_four(fd: int) -> int:
    """``fd`` moved to a descriptor number of 10 or more (close-on-exec, like the original)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


def find_chromium() -> str | None:
    """The path of a Chromium binary, or ``None`` when there is none."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next((shutil.which(name) for name in BINARIES if shutil.which(name)), None)


@dataclass
class PageReport:
    """What happened while a page loaded.

    Attributes:
        requests: every URL the page asked for, in order.
        failed: ``"URL: reason"`` for each request that failed or got an HTTP status >= 400.
        console_errors: console errors and uncaught exceptions, one line each.
    """

    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


class Chromium:
    """One headless browser process and its protocol connection."""

    def __init__(self, process: subprocess.Popen, to_browser: int, from_browser: int):
        self.process, self._out, self._in = process, to_browser, from_browser
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []  # events not yet handed to a page

    @classmethod
    def start(cls, binary: str, profile_dir: Path, width: int = 1280, height: int = 900) -> Chromium:
        """Start ``binary`` headless with a fresh profile in ``profile_dir``."""
        commands_read, commands_write = os.pipe()   # we write, the browser reads on fd 3
        events_read, events_write = os.pipe()       # the browser writes on fd 4, we read
        # the browser's ends, moved above 4 so that putting them on 3 and 4 cannot clobber them
        commands_read, events_write = _above_four(commands_read), _above_four(events_write)

        def child_fds():  # runs in the child before exec: put the pipe ends on fds 3 and 4
            os.dup2(commands_read, 3)  # dup2 leaves 3 and 4 inheritable: the browser keeps them
            os.dup2(events_write, 4)

        args = [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                f"--user-data-dir={profile_dir}", f"--window-size={width},{height}", "about:blank"]
        # close_fds=False: the parent's other descriptors are close-on-exec anyway (PEP 446)
        process = subprocess.Popen(args, close_fds=False, preexec_fn=child_fds,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(commands_read)
        os.close(events_write)
        return cls(process, commands_write, events_read)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Ask the browser to quit; kill it if it does not within five seconds."""
        try:
            self.send("Browser.close", timeout=5)
        except (OSError, TimeoutError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._out, self._in):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- the protocol ---------------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict:
        """The next message from the browser; ``TimeoutError`` after ``deadline``."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise TimeoutError("no message from Chromium in time")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium closed the connection (exit status {self.process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30) -> dict:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for_event(self, method: str, session: str, timeout: float = 30) -> dict:
        """Wait for the event ``method`` of ``session`` (events seen before are searched first)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def new_page(self) -> Page:
        """A new tab with the Page, Runtime, Network and Log domains switched on."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable", session=session)
        return Page(self, session)


class Page:
    """One tab: open a URL, run JavaScript in it, take a screenshot."""

    def __init__(self, browser: Chromium, session: str):
        self.browser, self.session = browser, session

    def open(self, url: str, timeout: float = 60) -> PageReport:
        """Load ``url``, wait for its load event, and report its requests and errors so far."""
        self.browser.events = [e for e in self.browser.events if e.get("sessionId") != self.session]
        self.browser.send("Page.navigate", {"url": url}, self.session)
        self.browser.wait_for_event("Page.loadEventFired", self.session, timeout)
        return self.report()

    def report(self) -> PageReport:
        """Requests, failures and console errors among the events received so far."""
        self.evaluate("0")  # a round trip: the events sent before it have arrived
        report, urls = PageReport(), {}
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                continue
            name, params = event.get("method"), event.get("params", {})
            if name == "Network.requestWillBeSent":
                urls[params["requestId"]] = params["request"]["url"]
                report.requests.append(params["request"]["url"])
            elif name == "Network.loadingFailed" and not params.get("canceled"):
                report.failed.append(f"{urls.get(params['requestId'], '?')}: {params.get('errorText')}")
            elif name == "Network.responseReceived" and params["response"]["status"] >= 400:
                report.failed.append(f"{params['response']['url']}: HTTP {params['response']['status']}")
            elif name == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
                report.console_errors.append(f"console.{params['type']}: {text}")
            elif name == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text", "")
                report.console_errors.append(f"uncaught: {text.splitlines()[0] if text else '?'}")
            elif name == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                where = entry.get("url", "")
                report.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {where}")
        return report

    def evaluate(self, expression: str, timeout: float = 30):
        """The value of a JavaScript expression (promises are awaited)."""
        result = self.browser.send("Runtime.evaluate", {
            "expression": expression, "awaitPromise": True, "returnByValue": True,
            "timeout": int(timeout * 1000)}, self.session, timeout=timeout + 5)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(details.get("exception", {}).get("description") or details.get("text"))
        return result["result"].get("value")

    def type_text(self, text: str) -> None:
        """Type ``text`` into the focused element, as a keyboard would (one key-up at the end)."""
        self.browser.send("Input.insertText", {"text": text}, self.session)
        self.browser.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "End", "code": "End"},
                          self.session)

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the whole page to ``path``."""
        shot = self.browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                                 self.session, timeout=60)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
