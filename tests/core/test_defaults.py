"""core.defaults: where the shipped default classifiers are found."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import defaults


def test_unknown_kind():
    with pytest.raises(ValueError, match="known: abnormal, fall"):
        defaults.default_classifier_path("theft")


def test_missing_and_present(tmp_path, monkeypatch):
    monkeypatch.setenv("POSEWATCH_RESOURCES", str(tmp_path))
    assert defaults.default_classifier_path("fall") is None
    assert defaults.default_model_card("fall") is None
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "fall_default.pt").write_bytes(b"x")
    assert defaults.default_classifier_path("fall") == tmp_path / "models" / "fall_default.pt"
    assert defaults.default_classifier_path("abnormal") is None
    assert defaults.default_model_card("fall") is None
    (tmp_path / "models" / "fall_default.md").write_text("# card\n")
    assert defaults.default_model_card("fall") == tmp_path / "models" / "fall_default.md"


def test_default_location_is_the_source_tree(monkeypatch):
    monkeypatch.delenv("POSEWATCH_RESOURCES", raising=False)
    assert defaults.resources_dir() == Path(__file__).resolve().parents[2] / "resources"
