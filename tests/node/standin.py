"""A stand-in for an installed node's `bin/opensearch`, to test our process bookkeeping without a JVM.

It does only what that bookkeeping relies on: it reads http.port from config/opensearch.yml, takes an exclusive
lock in data/ as OpenSearch's node lock does (a second process on the same data/ exits with an error), takes a
second to start, and answers /_cluster/health with the colour in <home>/health (default green).  What OpenSearch
itself does is tested against the real node (tests/node/test_integration.py).
"""

import sys
import zipfile
from pathlib import Path

from opensearch_pretrained_haystack.node import provision as prov
from opensearch_pretrained_haystack.node import versions as v
from opensearch_pretrained_haystack.node.paths import NodeLayout, write_json_atomically

SCRIPT = """\
#!{python}
import fcntl, http.server, json, pathlib, re, sys, time
home = pathlib.Path(__file__).resolve().parents[1]
port = int(re.search(r"^http.port: (\\d+)", (home / "config/opensearch.yml").read_text(), re.M).group(1))
(home / "data").mkdir(exist_ok=True)
lock = open(home / "data/node.lock", "a")
try:
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit("failed to obtain node locks on " + str(home / "data"))
time.sleep(1)
health = home / "health"
colour = health.read_text().strip() if health.exists() else "green"

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({{"status": colour}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""


JVM_OPTIONS = "-XX:+UseG1GC\n20-:--add-modules=jdk.incubator.vector\n"


def install_standin(layout: NodeLayout, profile: v.NodeProfile, health: str = "green") -> None:
    """A provisioned-looking install (marker, seeded PyTorch natives) whose bin/opensearch is the stand-in."""
    (layout.home / "bin").mkdir(parents=True)
    (layout.home / "config").mkdir()
    (layout.home / "logs").mkdir()
    launcher = layout.home / "bin" / "opensearch"
    launcher.write_text(SCRIPT.format(python=sys.executable))
    launcher.chmod(0o755)
    (layout.home / "health").write_text(health)
    (layout.home / "config" / "jvm.options").write_text(JVM_OPTIONS)
    fake_jars(layout.node_dir / "jars")
    prov._seed_pytorch(layout.node_dir / "jars", prov.pytorch_dir(layout.home))
    write_json_atomically(layout.marker, prov.recipe(profile))


def fake_jars(downloads: Path) -> None:
    """The two PyTorch jars, with one tiny library each (what seeding reads from Maven's copies)."""
    downloads.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(downloads / v.artifact_file_name(v.PYTORCH_NATIVE_JAR), "w") as native:
        native.writestr("pytorch/cpu/linux-x86_64/libtorch.so", b"t")
    with zipfile.ZipFile(downloads / v.artifact_file_name(v.PYTORCH_JNI_JAR), "w") as jni:
        jni.writestr(f"jnilib/linux-x86_64/{v.PYTORCH_FLAVOR}/libdjl_torch.so", b"j")


def processes_running_from(home: Path) -> list[int]:
    """Pids of live processes whose command line names `home` (our node, or a stray second one)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if str(home).encode() in (proc / "cmdline").read_bytes() and " Z " not in (proc / "stat").read_text():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


__all__ = ["fake_jars", "install_standin", "processes_running_from"]
