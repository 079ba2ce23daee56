"""Uploaded media: type and tier checks, and nothing left behind when saving fails."""

from __future__ import annotations

import errno
import io
import uuid

import pytest

from chronos_data.config import Settings
from chronos_data.errors import ValidationError
from chronos_data.uploads import check_upload, store_upload

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
