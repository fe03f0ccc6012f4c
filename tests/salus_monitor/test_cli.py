"""salus-train-predictor and salus-eval-predictor on a store made the real way: bags -> salus-bag2zarr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salus_data.bag_to_zarr import ConvertConfig, convert
from salus_monitor import evaluate_predictor, train_predictor
from tests.salus_data.bag_fixtures import Episode, write_bags


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("predictor_cli")
    episodes = [Episode(i, steps=15, vla=True) for i in range(1, 25)]
    episodes += [Episode(i, steps=15, vla=True, outcome="drop", onset=1.05) for i in range(25, 35)]
    episodes += [Episode(i, steps=15, vla=True, outcome="collision", onset=0.85) for i in range(35, 45)]
    write_bags(root / "bags", episodes)
    convert([root / "bags"], root / "store.zarr", ConvertConfig(images=False), log=lambda m: None)
    return root / "store.zarr"


def test_no_images_store_has_no_camera_arrays(store):
    import zarr

    root = zarr.open_consolidated(str(store), mode="r")
    assert root.attrs["cameras"] == [] and "camera_front" not in root["data"]


def test_train_then_evaluate_writes_a_checkpoint_and_a_report(store, tmp_path):
    ckpt = tmp_path / "ckpt"
    code = train_predictor.main(["--store", str(store), "--out", str(ckpt), "--epochs", "3", "--quiet"])
    assert code == 0 and (ckpt / "predictor.json").is_file()
    out = tmp_path / "report"
    assert evaluate_predictor.main(["--checkpoint", str(ckpt), "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    for needle in ("Episode-level AUROC", "Conformal threshold", "ensemble variance alone", "linear probe"):
        assert needle in report
    for png in ("roc_pr_300ms.png", "risk_timelines.png", "lead_time_hist.png", "training.png"):
        assert (out / png).stat().st_size > 1000
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_episodes"] == len(json.loads((ckpt / "predictor.json").read_text())["split"]["test"])


def test_bad_inputs_are_usage_errors(store, tmp_path, capsys):
    assert train_predictor.main(["--store", str(tmp_path / "nope.zarr"), "--out", str(tmp_path / "c")]) == 2
    assert "no such Zarr store" in capsys.readouterr().err
    assert train_predictor.main(["--store", str(store), "--out", str(tmp_path / "c"), "--window", "5"]) == 2
    assert "mlp reads one step" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochz: 3\n")
    assert (
        train_predictor.main(["--store", str(store), "--out", str(tmp_path / "c"), "--config", str(bad)]) == 2
    )
    assert "unknown keys" in capsys.readouterr().err
