"""Uploaded media: type and tier checks, and nothing left behind when saving fails."""

from __future__ import annotations

import errno
import io
import os
import uuid

import pytest

from chronos_data.config import Settings
from chronos_data.errors import ValidationError
from chronos_data.uploads import LEFTOVER_AFTER_SECONDS, check_upload, remove_leftovers, store_upload

GB = 1024**3


@pytest.mark.parametrize(("tier", "limit_gb"), [("basic", 2), ("pro", 5), ("enterprise", 10)])
def test_each_tier_takes_files_up_to_its_limit(tier, limit_gb):
    check_upload("talk.mp4", limit_gb * GB, tier)
    with pytest.raises(ValidationError, match=f"the {tier} plan takes files up to {limit_gb} GB"):
        check_upload("talk.mp4", limit_gb * GB + 1, tier)


@pytest.mark.parametrize("name", ["notes.pdf", "slides.pptx", "archive.zip", "noextension"])
def test_unsupported_types_are_refused_with_the_accepted_list(name):
    with pytest.raises(ValidationError, match=r"not an audio or video file.*\.mp4"):
        check_upload(name, 10, "basic")


def test_a_stored_upload_lands_under_the_data_folder_with_a_safe_name(tmp_path):
    settings = Settings.from_env({"CHRONOS_DATA_DIR": str(tmp_path)})
    creator = uuid.uuid4()
    path = store_upload(settings, creator, "../../My Talk (final).mp4", io.BytesIO(b"video"), 5, "basic")
    assert path.startswith(f"uploads/{creator}/") and path.endswith("/My_Talk_final_.mp4")
    assert (tmp_path / path).read_bytes() == b"video"


class _DiskFull(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_says_so_and_leaves_no_partial_file(tmp_path):
    settings = Settings.from_env({"CHRONOS_DATA_DIR": str(tmp_path)})
    with pytest.raises(ValidationError, match="the disk is full"):
        store_upload(settings, uuid.uuid4(), "talk.mp4", _DiskFull(), 100, "basic")
    assert not any(p.is_file() for p in (tmp_path / "uploads").rglob("*"))


def _data(tmp_path) -> Settings:
    return Settings(database_url=None, data_dir=tmp_path / "data", openai_api_key=None, openai_base_url=None)


def test_a_kept_upload_and_its_folders_are_this_user_s_only(tmp_path):
    settings = _data(tmp_path)
    path = store_upload(settings, uuid.uuid4(), "talk.mp4", io.BytesIO(b"media"), 5, "basic")
    stored = settings.data_dir / path
    assert stored.stat().st_mode & 0o777 == 0o600
    for folder in (stored.parent, stored.parent.parent, stored.parent.parent.parent):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_copies_cut_off_by_a_killed_process_are_removed_at_start(tmp_path):
    settings = _data(tmp_path)
    kept = settings.data_dir / store_upload(settings, uuid.uuid4(), "whole.mp4", io.BytesIO(b"media"), 5, "basic")
    stale = settings.data_dir / "uploads" / str(uuid.uuid4()) / "f1" / "cut.mp4.part"
    under_way = settings.data_dir / "uploads" / str(uuid.uuid4()) / "f2" / "copying.mp4.part"
    for partial in (stale, under_way):
        partial.parent.mkdir(parents=True)
        partial.write_bytes(b"half")
    now = under_way.stat().st_mtime + 60  # a minute after the copy under way last wrote
    os.utime(stale, (now - LEFTOVER_AFTER_SECONDS - 1, now - LEFTOVER_AFTER_SECONDS - 1))
    assert remove_leftovers(settings, now=now) == 1
    assert not stale.parent.exists() and under_way.exists() and kept.exists()
