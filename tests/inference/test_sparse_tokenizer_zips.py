"""Every zip the sparse tokenizer opens passes the package's own checks (issue 24): entries outside the archive,
links and members that lie about their size are refused in one line, decompression stops at the declared size,
and a bad idf.json or tokenizer.json is one line too."""

import hashlib
import json
import stat
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from opensearch_pretrained_haystack.errors import ArtifactFormatError
from opensearch_pretrained_haystack.inference.sparse_tokenizer import SparseTokenizer
from tests.conftest import TESTING

SOURCE = TESTING / "tiny-sparse-tokenizer"


def _members() -> dict[str, bytes]:
    with zipfile.ZipFile(next(SOURCE.glob("*.zip"))) as archive:
        return {Path(name).name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}


def _artifact(folder: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    """A model directory (zip and config.json with its hash) of the tiny tokenizer with ``entries`` as its zip."""
    folder.mkdir()
    zip_path = folder / "tiny-sparse-tokenizer-1.0.0-torch_script.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    _write_config(folder, zip_path)
    return folder


def _write_config(folder: Path, zip_path: Path) -> None:
    config = json.loads((SOURCE / "config.json").read_text())
    config["model_content_size_in_bytes"] = zip_path.stat().st_size
    config["model_content_hash_value"] = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    (folder / "config.json").write_text(json.dumps(config))


def _declare_size(zip_path: Path, name: str, size: int) -> None:
    """Rewrite the uncompressed size ``name`` declares, in its local header and its central directory record."""
    data = bytearray(zip_path.read_bytes())
    with zipfile.ZipFile(zip_path) as archive:
        info = archive.getinfo(name)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + name_length]).decode() == name:
            struct.pack_into("<I", data, central + 24, size)
        central = data.find(b"PK\x01\x02", central + 4)
    zip_path.write_bytes(bytes(data))


def _link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (lambda m: [("tokenizer.json", m["tokenizer.json"]), ("../idf.json", m["idf.json"])], "outside the archive"),
        (lambda m: [("tokenizer.json", m["tokenizer.json"]), (_link("idf.json"), b"/etc/passwd")], "link entry"),
        (lambda m: [("tokenizer.json", m["tokenizer.json"])], "exactly one idf.json"),
        (lambda m: [("tokenizer.json", m["tokenizer.json"]), ("idf.json", b"not json")], "idf.json is not JSON"),
        (lambda m: [("tokenizer.json", m["tokenizer.json"]), ("idf.json", b"[1, 2]")], "token: finite number"),
        (lambda m: [("tokenizer.json", m["tokenizer.json"]), ("idf.json", b'{"a": "x"}')], "token: finite number"),
        (lambda m: [("tokenizer.json", b"{}"), ("idf.json", m["idf.json"])], "tokenizer.json is not a tokenizer"),
    ],
)
def test_an_unsafe_or_bad_tokenizer_zip_is_one_line(tmp_path, entries, message):
    folder = _artifact(tmp_path / "model", entries(_members()))
    with pytest.raises(ArtifactFormatError, match=message) as raised:
        SparseTokenizer(str(folder))
    assert "\n" not in str(raised.value)


def test_backslash_entry_names_are_read_as_folders_as_the_node_reads_them(tmp_path):
    members = _members()
    folder = _artifact(
        tmp_path / "model",
        [("model\\tokenizer.json", members["tokenizer.json"]), ("model\\idf.json", members["idf.json"])],
    )
    assert SparseTokenizer(str(folder)).encode(["hello world"]) == SparseTokenizer(str(SOURCE)).encode(["hello world"])


# The peak is VmHWM, this process's own (ru_maxrss survives exec on Linux: it would report the forking pytest's).
READ_LYING_ZIP = """
import sys
from opensearch_pretrained_haystack.errors import ArtifactFormatError
from opensearch_pretrained_haystack.inference.sparse_tokenizer import SparseTokenizer

def peak_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM:"))

imported = peak_mib()  # Haystack imports torch when it is installed (the torch extra): hundreds of MiB before any read
try:
    SparseTokenizer(sys.argv[1])
except ArtifactFormatError as error:
    print(error)
print(peak_mib() - imported)
"""


def test_a_member_that_lies_about_its_size_is_refused_without_decompressing_it(tmp_path):
    """300 MB of zeros (a few hundred KB deflated) declared as 1,000 bytes: refused, and the reading process peaks
    far below the 300 MB the member would decompress to (above what its imports took)."""
    members = _members()
    folder = _artifact(
        tmp_path / "model", [("tokenizer.json", members["tokenizer.json"]), ("idf.json", bytes(300 * 2**20))]
    )
    zip_path = next(folder.glob("*.zip"))
    _declare_size(zip_path, "idf.json", 1000)
    _write_config(folder, zip_path)
    result = subprocess.run(
        [sys.executable, "-c", READ_LYING_ZIP, str(folder)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    message, peak_mib = result.stdout.strip().splitlines()
    assert "idf.json" in message and ("damaged" in message or "declares 1,000 bytes" in message)
    assert int(peak_mib) < 250, f"peak RSS grew by {peak_mib} MiB"
    print(f"peak RSS growth reading the lying zip: {peak_mib} MiB")
