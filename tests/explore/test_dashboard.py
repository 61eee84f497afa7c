"""`hwgen explore --dashboard PORT` serves the study with optuna-dashboard on 127.0.0.1 only, while it runs."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request

import psutil

from hwgen.explore.study import STUDY_NAME
from tests.explore.test_faults import SPACE, _env, _wait


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _studies(port: int) -> list:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as reply:
            return json.loads(reply.read())["study_summaries"]
    except OSError:
        return []


def test_dashboard_serves_the_study_on_loopback(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    port = _free_port()
    code = "import sys; from hwgen.cli import main; sys.exit(main())"
    driver = subprocess.Popen([sys.executable, "-c", code, "explore", str(space), "-o", str(tmp_path / "out"),
                               "--trials", "2", "--jobs", "1", "--fidelity", "standin", "--dashboard", str(port),
                               "--quiet"], env=_env(2.0), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        studies = _wait(lambda: _studies(port), 90, "the dashboard")  # a busy machine: slow imports
        assert [s["study_name"] for s in studies] == [STUDY_NAME]
        listening = [c.laddr for c in psutil.Process(driver.pid).net_connections("tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        assert listening and all(addr.ip == "127.0.0.1" for addr in listening)
        out, _ = driver.communicate(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0, out
    assert f"http://127.0.0.1:{port}/" in out and (tmp_path / "out" / "report.html").exists()
    # the dashboard thread ended with the driver: nothing is left listening
    assert not any(c.laddr.port == port for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN)
