from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def write_toml(tmp_path):
    """Write TOML text to a file in a temp dir and return its path."""

    def write(text: str, name: str = "s.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def made(root: Path) -> Path:
    """The one folder a command wrote inside its --out root."""
    (folder,) = [p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")]
    return folder
