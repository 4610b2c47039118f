"""shared.embedded.environment: variables for a block, put back after, even on failure."""

import os

import pytest

from shared.embedded import environment


def test_sets_unsets_and_restores(monkeypatch):
    monkeypatch.setenv("REKAP_T_A", "before")
    monkeypatch.delenv("REKAP_T_B", raising=False)
    with environment(REKAP_T_A=None, REKAP_T_B="inside"):
        assert "REKAP_T_A" not in os.environ
        assert os.environ["REKAP_T_B"] == "inside"
        os.environ["REKAP_T_B"] = "changed in the block"
    assert os.environ["REKAP_T_A"] == "before"
    assert "REKAP_T_B" not in os.environ


def test_restores_when_the_block_fails(monkeypatch):
    monkeypatch.setenv("REKAP_T_A", "before")
    with pytest.raises(RuntimeError), environment(REKAP_T_A="inside"):
        raise RuntimeError("boom")
    assert os.environ["REKAP_T_A"] == "before"
