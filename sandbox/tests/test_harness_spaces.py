"""The harness's EBS space helpers find every difference a restore could make."""

from __future__ import annotations

from pathlib import Path

from studio_sandbox.harness.scenario import compare_space, snapshot_space, write_space_home


def test_an_identical_copy_compares_clean_and_every_difference_is_reported(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_space_home(home)
    (home / ".studio-recovery").mkdir()
    (home / ".studio-recovery" / "state.json").write_text("{}")  # the agent's, ignored
    before = snapshot_space(home)
    assert ".studio-recovery" not in before
    assert before["train.sh"].mode == 0o750
    assert before["latest.ipynb"].kind == "link"
    assert compare_space(before, home) == []

    (home / "train.sh").chmod(0o700)
    (home / "notebooks" / "EMPTY").unlink()
    (home / "notebooks" / "analysis.ipynb").write_text("the user's own\n")
    (home / "stray.txt").write_text("not backed up")

    problems = compare_space(before, home)
    assert "train.sh: mode 700, was 750" in problems
    assert "notebooks/EMPTY: missing" in problems
    assert "notebooks/analysis.ipynb: content differs" in problems
    assert "stray.txt: not in the backed-up home" in problems
    kept = compare_space(before, home, kept={"notebooks/analysis.ipynb": b"the user's own\n"})
    assert not [p for p in kept if p.startswith("notebooks/analysis.ipynb")]
    wrong = compare_space(before, home, kept={"notebooks/analysis.ipynb": b"other"})
    assert "notebooks/analysis.ipynb: the user's own file was not kept" in wrong
