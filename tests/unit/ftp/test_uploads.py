"""Uploads in progress (gateways/ftp/uploads.py): what the scanner may take, and why not."""

from __future__ import annotations

from pathlib import Path

from gateways.ftp.uploads import INCOMPLETE, RENAMED_EARLY, Uploads


def test_a_whole_upload_leaves_nothing_behind(tmp_path: Path) -> None:
    uploads = Uploads(tmp_path / "state")
    path = tmp_path / "S1.data"
    uploads.begin(path)
    assert uploads.busy(path)
    assert uploads.verdict(path) is None  # busy: the scanner waits
    uploads.finished(path, complete=True)
    assert not uploads.busy(path)
    assert uploads.verdict(path) is None


def test_a_broken_data_upload_is_incomplete_and_a_broken_loading_is_forgotten(
    tmp_path: Path,
) -> None:
    uploads = Uploads(tmp_path / "state")
    data, loading = tmp_path / "S1.data", tmp_path / "S2.loading"
    uploads.begin(data)
    uploads.begin(loading)
    uploads.finished(data, complete=False)
    uploads.finished(loading, complete=False)
    assert uploads.verdict(data) == INCOMPLETE
    assert uploads.verdict(loading) is None
    uploads.forget(data)
    assert uploads.verdict(data) is None


def test_markers_survive_a_restart_and_follow_a_rename(tmp_path: Path) -> None:
    first = Uploads(tmp_path / "state")
    loading = tmp_path / "S1.loading"
    first.begin(loading)  # then the gateway is killed
    again = Uploads(tmp_path / "state")
    again.renamed(loading, tmp_path / "S1.data")
    assert again.verdict(tmp_path / "S1.data") == INCOMPLETE


def test_renamed_to_data_while_written_is_refused_once_it_ends(tmp_path: Path) -> None:
    uploads = Uploads(tmp_path / "state")
    loading, data = tmp_path / "S1.loading", tmp_path / "S1.data"
    uploads.begin(loading)
    uploads.renamed(loading, data)
    assert uploads.busy(data)
    uploads.finished(loading, complete=True)  # pyftpdlib names the file it opened
    assert not uploads.busy(data)
    assert uploads.verdict(data) == RENAMED_EARLY


def test_the_new_name_is_busy_from_before_the_rename_on_disk(tmp_path: Path) -> None:
    # The scanner may list the folder between the rename on disk and renamed(): the file
    # under its new name must already be busy (a 3-worker make test caught it taken half
    # written in that window).
    uploads = Uploads(tmp_path / "state")
    loading, data = tmp_path / "S1.loading", tmp_path / "S1.data"
    uploads.begin(loading)
    uploads.renaming(loading, data)
    assert uploads.busy(data)
    uploads.renamed(loading, data)
    assert uploads.busy(data)
    uploads.finished(loading, complete=True)  # pyftpdlib reports the old name
    assert not uploads.busy(data)
    assert uploads.verdict(data) == RENAMED_EARLY


def test_a_rename_that_failed_leaves_the_upload_as_it_was(tmp_path: Path) -> None:
    uploads = Uploads(tmp_path / "state")
    loading, data = tmp_path / "S1.loading", tmp_path / "S1.data"
    uploads.begin(loading)
    uploads.renaming(loading, data)
    uploads.rename_failed(loading, data)
    assert not uploads.busy(data)
    assert uploads.busy(loading)
    uploads.finished(loading, complete=True)
    assert uploads.verdict(loading) is None


def test_a_broken_file_is_incomplete_under_its_new_name_from_before_the_rename(
    tmp_path: Path,
) -> None:
    uploads = Uploads(tmp_path / "state")
    loading, data = tmp_path / "S1.loading", tmp_path / "S1.data"
    Uploads(tmp_path / "state").begin(loading)  # a gateway killed mid-upload
    uploads.renaming(loading, data)
    assert uploads.verdict(data) == INCOMPLETE
    uploads.renamed(loading, data)
    assert uploads.verdict(data) == INCOMPLETE
