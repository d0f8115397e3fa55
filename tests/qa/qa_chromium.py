"""Headless Chromium with the network off: console errors of a page, and screenshots.

Run as a script to refresh the screenshots under docs/:
    python tests/qa/qa_chromium.py REPORT.html OUT.png [WIDTH HEIGHT]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Belt and braces besides the network namespace: no name resolves, no proxy answers.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
]

# Runs before anything else on the page: reports uncaught errors, console.error/warn and resources
# that failed to load (an external script would), then how many plots rendered.
_PROBE = """<script>
(function () {
  function report(kind, msg) { console.log("QA-PROBE " + kind + ": " + msg); }
  var err = console.error, warn = console.warn;
  console.error = function () { report("error", Array.prototype.join.call(arguments, " ")); err.apply(console, arguments); };
  console.warn = function () { report("warn", Array.prototype.join.call(arguments, " ")); warn.apply(console, arguments); };
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) { report("error", "failed to load " + (t.src || t.href)); }
    else { report("error", "uncaught " + (e.message || e)); }
  }, true);
  window.addEventListener("unhandledrejection", function (e) { report("error", "unhandled rejection " + e.reason); });
  window.addEventListener("load", function () {
    setTimeout(function () {
      var all = document.querySelectorAll(".plotly-graph-div");
      var drawn = Array.prototype.filter.call(all, function (d) { return d.querySelector(".main-svg"); });
      report("plots", all.length + " " + drawn.length);
    }, 500);
  });
})();
</script>"""


def available() -> bool:
    return Path(CHROMIUM).exists()


def _command(extra: list[str], url: str, profile: str) -> list[str]:
    cmd = [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *extra, url]
    # A fresh network namespace has no interface but a downed loopback: nothing can leave.
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        cmd = [unshare, "-n", *cmd]
    return cmd


def console_report(html_path: Path, timeout: float = 90.0) -> tuple[list[str], int, int, str]:
    """Open a copy of the page with the probe injected; return (errors, plot divs, drawn plots, log)."""
    html = html_path.read_text(encoding="utf-8")
    head = re.search(r"<head[^>]*>", html)
    assert head is not None, "the page has no <head>"
    with tempfile.TemporaryDirectory() as tmp:
        probed = Path(tmp) / "probed.html"
        probed.write_text(html[: head.end()] + _PROBE + html[head.end() :], encoding="utf-8")
        cmd = _command(
            ["--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000", "--dump-dom"],
            probed.as_uri(),
            str(Path(tmp) / "profile"),
        )
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    log = out.stderr
    messages = re.findall(r'CONSOLE[^\]]*\] "(.*?)", source:', log)
    errors = [m for m in messages if m.startswith(("QA-PROBE error", "QA-PROBE warn", "Uncaught"))]
    plots = [m for m in messages if m.startswith("QA-PROBE plots")]
    divs, drawn = (int(v) for v in plots[-1].split(": ")[1].split()) if plots else (-1, -1)
    return errors, divs, drawn, log


def screenshot(
    html_path: Path, png: Path, width: int = 1400, height: int = 2200, timeout: float = 90.0
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = _command(
            [f"--window-size={width},{height}", "--virtual-time-budget=20000", f"--screenshot={png}"],
            html_path.resolve().as_uri(),
            str(Path(tmp) / "profile"),
        )
        subprocess.run(cmd, capture_output=True, timeout=timeout, check=True)


if __name__ == "__main__":
    w, h = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (1400, 2200)
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]), w, h)
