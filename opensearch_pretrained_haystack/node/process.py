"""
Starting, health-checking and stopping the node process.

The node runs in the background (its own session, so Ctrl-C in a terminal does not reach it) and its pid
and URL are recorded in the state file, so `status` and `stop` work from any process.  Start, stop and reset
hold one lock per node directory, so two of them at once never launch two nodes: the second waits for the
first and then finds its node.
"""

import json
import logging
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from opensearch_pretrained_haystack.node.config import (
    HOST,
    adapt_jvm_options,
    free_port,
    render_java_opts,
    render_opensearch_yml,
)
from opensearch_pretrained_haystack.node.errors import NodeError
from opensearch_pretrained_haystack.node.java import find_java_home, java_modules
from opensearch_pretrained_haystack.node.locks import exclusive_lock
from opensearch_pretrained_haystack.node.paths import (
    RUN_AS_USER,
    NodeLayout,
    default_node_dir,
    make_traversable_dir,
    running_as_root,
)
from opensearch_pretrained_haystack.node.provision import (
    ensure_node_user,
    ensure_pytorch_seeded,
    is_provisioned,
    provision,
    pytorch_dir,
)
from opensearch_pretrained_haystack.node.state import NodeState, clear_state, read_state, write_state
from opensearch_pretrained_haystack.node.versions import get_profile

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 40
# On one node, yellow means every primary shard is active and only replicas are unassigned: a single node can
# never place a replica, so an index that asks for one (e.g. the cluster default of 1) must not block the start.
READY = {"green", "yellow"}


class TestNode:
    """
    One local OpenSearch node with k-NN, ML Commons and neural-search, kept in `node_dir`.

    `version` picks the profile (default: the current line); `node_dir` defaults to that version's directory.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        node_dir: Path | str | None = None,
        heap: str = "2g",
        start_timeout: float = 180.0,
        stop_timeout: float = 60.0,
        *,
        version: str | None = None,
    ) -> None:
        self.profile = get_profile(version)
        node_path = Path(node_dir) if node_dir is not None else default_node_dir(self.profile.version)
        self.layout = NodeLayout(node_path, self.profile.version)
        self.heap = heap
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Provision if needed, start the node (unless it already runs), wait until ready; return its URL."""
        with self._exclusive():
            state = self._live_state()
            if state is not None:
                logger.info("OpenSearch already running at %s (pid %d)", state.url, state.pid)
                self._wait_until_ready(state)
                return state.url
            provision(self.layout, self.profile)
            ensure_pytorch_seeded(self.layout)
            state = self._launch()
            try:
                self._wait_until_ready(state)
            except BaseException:
                self._stop_unlocked()
                raise
            logger.info("OpenSearch %s is ready at %s", self.profile.version, state.url)
            return state.url

    def status(self) -> str | None:
        """The URL of the running node when it answers HTTP, else None."""
        state = self._live_state()
        if state is None or _cluster_health(state.url) is None:
            return None
        return state.url

    def stop(self) -> bool:
        """SIGTERM the node, SIGKILL it if it has not exited after `stop_timeout`; False if none was running."""
        with self._exclusive():
            return self._stop_unlocked()

    def reset(self) -> bool:
        """
        Stop the node if it runs and wipe its data (indices, models), keeping the provisioned install.

        The next start seeds the PyTorch natives again (they live under data/). False when nothing was there.
        """
        with self._exclusive():
            self._stop_unlocked()
            if not is_provisioned(self.layout, self.profile) or not self.layout.data_dir.exists():
                return False
            logger.info("Removing %s", self.layout.data_dir)
            shutil.rmtree(self.layout.data_dir)
            return True

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        make_traversable_dir(self.layout.node_dir)
        waiting = (
            f"Another start, stop or reset of the OpenSearch {self.profile.version} node in "
            f"{self.layout.node_dir} is running; waiting for it to finish"
        )
        with exclusive_lock(self.layout.start_lock_file, waiting):
            yield

    def _stop_unlocked(self) -> bool:
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
        java_home = find_java_home(self.profile)
        http_port = free_port()
        transport_port = free_port()
        while transport_port == http_port:
            transport_port = free_port()
        self.layout.config_file.write_text(render_opensearch_yml(self.layout.home, http_port, transport_port))
        self._fit_jvm_options_to(java_home)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.layout.home),
            "LANG": "C.UTF-8",
            "JAVA_HOME": str(java_home),
            "OPENSEARCH_JAVA_HOME": str(java_home),
            "OPENSEARCH_JAVA_OPTS": render_java_opts(self.heap, pytorch_dir(self.layout.home)),
        }
        as_root = running_as_root()
        if as_root:
            ensure_node_user()
        logger.info(
            "Starting OpenSearch %s on http://%s:%d (heap %s, Java %s)",
            self.profile.version,
            HOST,
            http_port,
            self.heap,
            java_home,
        )
        with self.layout.console_log.open("wb") as console:
            self._process = subprocess.Popen(
                [str(self.layout.home / "bin" / "opensearch")],
                cwd=self.layout.home,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=RUN_AS_USER if as_root else None,
                group=RUN_AS_USER if as_root else None,
                extra_groups=[] if as_root else None,
            )
        state = NodeState(pid=self._process.pid, url=f"http://{HOST}:{http_port}", started_at=time.time())
        write_state(self.layout.state_file, state)
        return state

    def _fit_jvm_options_to(self, java_home: Path) -> None:
        jvm_options = self.layout.config_file.with_name("jvm.options")
        modules = java_modules(java_home)
        has_vector_module = modules is None or "jdk.incubator.vector" in modules
        if not has_vector_module:
            logger.info("%s has no jdk.incubator.vector module: Lucene runs without the vector API", java_home)
        text = jvm_options.read_text()
        adapted = adapt_jvm_options(text, has_vector_module)
        if adapted != text:
            jvm_options.write_text(adapted)

    def _wait_until_ready(self, state: NodeState) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if not self._is_running(state.pid):
                clear_state(self.layout.state_file)
                raise NodeError(f"OpenSearch exited during startup; see {self.layout.console_log}\n" + self._log_tail())
            if _cluster_health(state.url) in READY:
                return
            time.sleep(1)
        raise NodeError(
            f"OpenSearch was not ready (green or yellow) after {self.start_timeout:.0f} s; "
            f"see {self.layout.console_log}\n" + self._log_tail()
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


def cluster_is_ready(url: str) -> bool:
    """True when the one-node cluster serves every index: all primaries active (green or yellow)."""
    return _cluster_health(url) in READY


def _cluster_health(url: str) -> str | None:
    """The cluster's health colour, or None when the node does not answer (yet)."""
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=5) as reply:
            return _status(json.load(reply))
    except urllib.error.HTTPError as error:  # 408 while waiting still carries the health body
        try:
            return _status(json.load(error))
        except ValueError:
            return None
    except (OSError, ValueError):
        return None


def _status(health: object) -> str | None:
    status = health.get("status") if isinstance(health, dict) else None
    return status if isinstance(status, str) else None


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
