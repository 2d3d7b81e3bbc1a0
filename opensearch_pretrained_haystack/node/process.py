"""Starting, health-checking and stopping the node process.

The node runs in the background (its own session, so Ctrl-C in a terminal does not reach it) and its pid
and URL are recorded in the state file, so `status` and `stop` work from any process.
"""

import json
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from opensearch_pretrained_haystack.node.config import HOST, free_port, render_java_opts, render_opensearch_yml
from opensearch_pretrained_haystack.node.errors import NodeError
from opensearch_pretrained_haystack.node.java import find_java_home
from opensearch_pretrained_haystack.node.paths import RUN_AS_USER, NodeLayout, default_node_dir, running_as_root
from opensearch_pretrained_haystack.node.provision import ensure_node_user, provision, pytorch_dir
from opensearch_pretrained_haystack.node.state import NodeState, clear_state, read_state, write_state

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 40


class TestNode:
    """One local OpenSearch node with k-NN, ML Commons and neural-search, kept in `node_dir`."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        node_dir: Path | str | None = None,
        heap: str = "2g",
        start_timeout: float = 180.0,
        stop_timeout: float = 60.0,
    ) -> None:
        self.layout = NodeLayout(Path(node_dir) if node_dir is not None else default_node_dir())
        self.heap = heap
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Provision if needed, start the node (unless it already runs), wait until green; return its URL."""
        state = self._live_state()
        if state is not None:
            logger.info("OpenSearch already running at %s (pid %d)", state.url, state.pid)
            self._wait_until_green(state)
            return state.url
        provision(self.layout)
        state = self._launch()
        try:
            self._wait_until_green(state)
        except BaseException:
            self.stop()
            raise
        logger.info("OpenSearch is green at %s", state.url)
        return state.url

    def status(self) -> str | None:
        """The URL of the running node when it answers HTTP, else None."""
        state = self._live_state()
        if state is None or _cluster_health(state.url) is None:
            return None
        return state.url

    def stop(self) -> bool:
        """SIGTERM the node, SIGKILL it if it has not exited after `stop_timeout`; False if none was running."""
        state = self._live_state()
        if state is None:
            return False
        logger.info("Stopping OpenSearch (pid %d)", state.pid)
        _signal(state.pid, signal.SIGTERM)
        if not self._wait_for_exit(state.pid, self.stop_timeout):
            logger.warning("OpenSearch did not stop within %.0f s; killing it", self.stop_timeout)
            _signal(state.pid, signal.SIGKILL)
            if not self._wait_for_exit(state.pid, 10):
                raise NodeError(f"OpenSearch (pid {state.pid}) survived SIGKILL; check `ps -p {state.pid}`.")
        clear_state(self.layout.state_file)
        return True

    def _launch(self) -> NodeState:
        java_home = find_java_home()
        http_port = free_port()
        transport_port = free_port()
        while transport_port == http_port:
            transport_port = free_port()
        self.layout.config_file.write_text(render_opensearch_yml(self.layout.home, http_port, transport_port))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.layout.home),
            "LANG": "C.UTF-8",
            "JAVA_HOME": str(java_home),
            "OPENSEARCH_JAVA_HOME": str(java_home),
            "OPENSEARCH_JAVA_OPTS": render_java_opts(self.heap, pytorch_dir(self.layout.home)),
        }
        as_user: dict[str, object] = {}
        if running_as_root():
            ensure_node_user()
            as_user = {"user": RUN_AS_USER, "group": RUN_AS_USER, "extra_groups": []}
        logger.info("Starting OpenSearch on http://%s:%d (heap %s)", HOST, http_port, self.heap)
        with self.layout.console_log.open("wb") as console:
            self._process = subprocess.Popen(
                [str(self.layout.home / "bin" / "opensearch")],
                cwd=self.layout.home,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **as_user,  # type: ignore[arg-type]
            )
        state = NodeState(pid=self._process.pid, url=f"http://{HOST}:{http_port}", started_at=time.time())
        write_state(self.layout.state_file, state)
        return state

    def _wait_until_green(self, state: NodeState) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if not self._is_running(state.pid):
                clear_state(self.layout.state_file)
                raise NodeError(
                    f"OpenSearch exited during startup; see {self.layout.console_log}\n" + self._log_tail()
                )
            if _cluster_health(state.url) == "green":
                return
            time.sleep(1)
        raise NodeError(
            f"OpenSearch was not green after {self.start_timeout:.0f} s; see {self.layout.console_log}\n"
            + self._log_tail()
        )

    def _live_state(self) -> NodeState | None:
        """The recorded state if its process still runs; a stale state file is removed."""
        state = read_state(self.layout.state_file)
        if state is not None and not self._is_running(state.pid):
            clear_state(self.layout.state_file)
            return None
        return state

    def _is_running(self, pid: int) -> bool:
        """True while `pid` is our node: alive and started from our install (not a reused pid)."""
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None
        try:
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return _is_alive(pid) and str(self.layout.home).encode() in command_line

    def _wait_for_exit(self, pid: int, timeout: float) -> bool:
        """Wait until the process is gone (a zombie counts as gone: it holds no memory, port or files)."""
        deadline = time.monotonic() + timeout
        while not self._has_exited(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def _has_exited(self, pid: int) -> bool:
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is not None  # also reaps our own child
        return not _is_alive(pid)

    def _log_tail(self) -> str:
        try:
            lines = self.layout.console_log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log written)"
        return "\n".join(lines[-LOG_TAIL_LINES:])


def _cluster_health(url: str) -> str | None:
    """The cluster's health colour, or None when the node does not answer (yet)."""
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health?wait_for_status=green&timeout=1s", timeout=5) as reply:
            return json.load(reply).get("status")
    except urllib.error.HTTPError as error:  # 408 while waiting for green still carries the health body
        try:
            return json.load(error).get("status")
        except ValueError:
            return None
    except (OSError, ValueError):
        return None


def _is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (its exit is not complete until it is reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def _signal(pid: int, signum: signal.Signals) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
    except PermissionError as error:
        raise NodeError(f"Not allowed to signal OpenSearch (pid {pid}); stop it as its owner or as root.") from error
