"""A golden run: a small scenario at a fixed seed whose output files are checked in (tests/data/golden/),
so that a change that moves any number, by intent or not, is seen (issue 14, section 5).

The run avoids the balance rule's matrix products (balance_rate = 0), the one part whose last bits may
depend on the machine's BLAS; it has noise, inertia, stochastic and triggered events, drawn amounts and
the mechanism templates. When a change is meant to move the numbers, regenerate the files with
`.venv/bin/python tests/test_golden.py`, look at the diff, and say why in the commit.
"""

import sys
from pathlib import Path

from conftest import DATA

from sim.cli import main

GOLDEN = DATA / "golden"
FILES = ("outcomes.csv", "timeseries.csv", "events.csv")
COMMAND = ["run", str(DATA / "mechanisms.toml"), "--reps", "30", "--seed", "11", "--no-plots", "--events", "csv",
           "--set", "parameters.inertia=0.02", "--set", "parameters.noise=0.02", "--quiet"]


def golden_run(out: Path) -> Path:
    """Run the golden command into `out`; the run's folder."""
    assert main([*COMMAND, "--out", str(out)]) == 0
    (folder,) = Path(out).glob("*/*/")
    return folder


def test_the_golden_run_writes_the_recorded_files(tmp_path):
    folder = golden_run(tmp_path)
    for name in FILES:
        assert (folder / name).read_bytes() == (GOLDEN / name).read_bytes(), (
            f"{name} differs from tests/data/golden/{name}: a number moved. If the change is meant to move it, "
            "run `.venv/bin/python tests/test_golden.py` and commit the new files, saying why")


if __name__ == "__main__":  # regenerate the golden files
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = golden_run(Path(tmp))
        GOLDEN.mkdir(exist_ok=True)
        for name in FILES:
            shutil.copyfile(folder / name, GOLDEN / name)
    print(f"wrote {', '.join(FILES)} to {GOLDEN}", file=sys.stderr)
