"""The skeleton classifiers of models/: shapes, gradients, learning, the ST-GCN graph, sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.classify import with_graph
from core.layouts import COMMON13, common_adjacency, skeleton_graph
from models import DEFAULT_CONFIGS, MODELS, SKELETON_MODELS, VIDEO_MODELS, build_model, takes_graph
from models.stgcn import STGCN, partitioned_adjacency

GRAPH = skeleton_graph("common13")

NAMES = sorted(SKELETON_MODELS)


@pytest.fixture(autouse=True)
def _one_thread():
    """These tiny models run far faster on one thread; with two intra-op threads on a busy 2-core machine
    each step can take 50x longer (threads spin waiting for each other)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _model(name: str, num_classes: int = 3, in_channels: int = 3, **over) -> torch.nn.Module:
    return build_model(name, with_graph(name, dict(DEFAULT_CONFIGS[name], num_classes=num_classes,
                                                   in_channels=in_channels, **over)))


def test_registry_names_and_defaults():
    assert set(MODELS) == {"lstm", "transformer", "stgcn", "scene_mlp", "scene_forest", "r2plus1d", "fusion"}
    assert set(SKELETON_MODELS) == {"lstm", "transformer", "stgcn"}
    assert set(VIDEO_MODELS) == {"r2plus1d", "fusion"}  # RGB clips (N, 3, T, H, W): tests/core/test_rgb.py
    from core import choices
    from models.fusion import SKELETON_STREAMS
    from models.r2plus1d import ARCHS

    # the CLI's choice lists (core.choices, read without torch) are the registry's
    assert set(choices.MODEL_NAMES) == set(SKELETON_MODELS) | set(VIDEO_MODELS)
    assert choices.VIDEO_MODEL_NAMES == VIDEO_MODELS and choices.RGB_ARCHS == ARCHS
    assert choices.SKELETON_STREAMS == SKELETON_STREAMS and set(choices.DISTILL_STUDENTS) == set(SKELETON_MODELS)
    assert set(DEFAULT_CONFIGS) == set(MODELS)
    with pytest.raises(KeyError, match="known: "):
        build_model("nope", {"num_classes": 2})


def test_seed_lstm_old_signature_still_builds():
    m = build_model("lstm", {"num_classes": 2})
    assert m(torch.zeros(1, 3, 16, 13)).shape == (1, 2)  # extra channels ignored, as before


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("channels", [2, 3, 5])
def test_output_shape(name, channels):
    torch.manual_seed(0)
    m = _model(name, num_classes=4, in_channels=channels).eval()
    for t in (8, 16, 32):
        out = m(torch.randn(5, channels, t, 13))
        assert out.shape == (5, 4) and out.dtype == torch.float32
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["transformer", "stgcn"])
def test_wrong_channel_count_is_a_clear_error(name):
    m = _model(name, in_channels=3)
    with pytest.raises(ValueError, match="expected input"):
        m(torch.randn(2, 5, 16, 13))


def test_transformer_window_longer_than_max_len():
    m = _model("transformer", max_len=16)
    with pytest.raises(ValueError, match="max_len"):
        m(torch.randn(1, 3, 17, 13))


@pytest.mark.parametrize("name,over", [(n, {}) for n in NAMES]
                         + [("transformer", {"pool": "cls", "positional": "sinusoidal"}),
                            ("stgcn", {"extra_64": True, "partition": "uniform"})])
def test_gradients_reach_every_parameter(name, over):
    torch.manual_seed(0)
    m = _model(name, **over).train()
    x = torch.randn(6, 3, 16, 13)
    loss = torch.nn.functional.cross_entropy(m(x), torch.tensor([0, 1, 2, 0, 1, 2]))
    loss.backward()
    for pname, p in m.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", NAMES)
def test_overfits_a_tiny_set(name):
    """8 random windows with 2 classes: every model reaches 100 % training accuracy (seeded)."""
    torch.manual_seed(0)
    m = _model(name, num_classes=2, in_channels=3)
    x = torch.randn(8, 3, 16, 13)
    y = torch.tensor([0, 1] * 4)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    acc = 0.0
    for step in range(300):
        m.train()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
        if step % 20 == 19:
            m.eval()
            with torch.no_grad():
                acc = (m(x).argmax(1) == y).float().mean().item()
            if acc == 1.0:
                break
    assert acc == 1.0


@pytest.mark.parametrize("name", NAMES)
def test_default_parameter_count_is_small(name):
    n = sum(p.numel() for p in _model(name, num_classes=4, in_channels=5).parameters())
    assert 10_000 < n < 1_000_000


def test_stgcn_extra_64_adds_one_block():
    assert len(_model("stgcn").blocks) == 3
    assert len(_model("stgcn", extra_64=True).blocks) == 4
    with pytest.raises(ValueError, match="skeleton graph"):
        STGCN(2, 3, num_joints=17)  # no graph given
    with pytest.raises(ValueError, match="bone"):
        STGCN(2, 3, num_joints=5, edges=[[0, 7]], centre=[0])


def test_graph_models_get_the_graph_from_core():
    assert takes_graph("stgcn") and not takes_graph("lstm") and not takes_graph("transformer")
    cfg = with_graph("stgcn", {"num_classes": 2})
    assert cfg["edges"] == [list(b) for b in COMMON13.bones] and cfg["num_joints"] == 13
    assert [COMMON13.joints[i] for i in cfg["centre"]] == ["SHOULDER_LEFT", "SHOULDER_RIGHT", "HIP_LEFT", "HIP_RIGHT"]
    assert with_graph("lstm", {"num_classes": 2}) == {"num_classes": 2}
    mine = {"num_classes": 2, "edges": [[0, 1]], "centre": [0], "num_joints": 2}
    assert with_graph("stgcn", mine) == mine  # a given graph is kept


def test_stgcn_on_another_graph():
    """models/ knows no layout: the same class runs on a 17-joint COCO graph passed in."""
    g = skeleton_graph("coco17")
    m = STGCN(3, 2, num_joints=17, edges=g["edges"], centre=g["centre"]).eval()
    assert m(torch.randn(2, 2, 16, 17)).shape == (2, 3)


@pytest.mark.parametrize("strategy", ["spatial", "uniform"])
def test_normalised_adjacency(strategy):
    a = partitioned_adjacency(strategy, GRAPH["edges"], 13, GRAPH["centre"]).numpy()
    assert a.shape == ((3 if strategy == "spatial" else 1), 13, 13) and a.dtype == np.float32
    total = a.sum(axis=0)
    np.testing.assert_allclose(total.sum(axis=0), np.ones(13), rtol=1e-6)  # columns sum to 1
    # support = the bones of the common graph plus self loops, nothing else
    np.testing.assert_array_equal(total > 0, (common_adjacency() + np.eye(13)) > 0)
    if strategy == "spatial":
        # partitions are disjoint, the root partition holds every self loop
        assert ((a > 0).sum(axis=0) <= 1).all()
        assert (np.diag(a[0]) > 0).all()
    with pytest.raises(ValueError):
        partitioned_adjacency("distance", GRAPH["edges"], 13, GRAPH["centre"])


def test_stgcn_uses_the_graph():
    """A left/right swap is an automorphism of the graph that keeps every joint's distance to the centre:
    the (fresh, eval-mode) network's output must not change. Swapping two joints that are not
    symmetric in the graph (a wrist and the head) must change it."""
    torch.manual_seed(0)
    m = _model("stgcn", num_classes=4).eval()
    x = torch.randn(4, 3, 16, 13)
    flip = list(range(13))
    for i, j in COMMON13.flip_pairs:
        flip[i], flip[j] = j, i
    a = common_adjacency()
    assert (a[np.ix_(flip, flip)] == a).all()
    wrong = list(range(13))
    w, h = COMMON13.index("WRIST_LEFT"), COMMON13.index("HEAD")
    wrong[w], wrong[h] = h, w
    with torch.no_grad():
        base = m(x)
        torch.testing.assert_close(m(x[..., flip]), base, rtol=1e-4, atol=1e-5)
        assert (m(x[..., wrong]) - base).abs().max() > 1e-3


def test_shipped_checkpoints_without_a_stored_graph_load_and_give_the_same_outputs():
    """resources/models/*.pt were written before the graph was stored in their model_config: they still load
    (the common graph is filled in), the rebuilt adjacency equals the one saved in their weights, and their
    logits on a fixed input equal those recorded before the graph moved out of models/
    (tests/data/shipped_logits.json, keyed by the file's SHA-256)."""
    import hashlib
    import json

    from core.classify import TrackClassifier
    from core.defaults import resources_dir
    from tests.conftest import ROOT

    ref = json.loads((ROOT / "tests" / "data" / "shipped_logits.json").read_text())
    checked = 0
    for name, r in ref.items():
        path = resources_dir() / "models" / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != r["sha256"]:
            continue  # retrained since: its new checkpoint carries its graph
        clf = TrackClassifier(path)
        assert "edges" not in clf.ckpt.model_config  # an old checkpoint indeed
        rebuilt = with_graph(clf.ckpt.model_name, clf.ckpt.model_config)
        fresh = build_model(clf.ckpt.model_name, rebuilt)
        torch.testing.assert_close(fresh.A, clf.ckpt.state_dict["A"], rtol=0, atol=0)
        x = torch.randn(*r["shape"], generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            out = clf.model.eval()(x).numpy()
        np.testing.assert_allclose(out, np.asarray(r["logits"], np.float32), rtol=1e-5, atol=1e-5)
        checked += 1
    assert checked >= 1, "no shipped checkpoint matches the recorded references"


def test_scene_forest_gives_the_fitted_forests_probabilities():
    """models.scene_forest: a scikit-learn ExtraTrees forest converted to tensors gives the same class
    probabilities as scikit-learn (softmax of its output), survives a state_dict round trip at the sizes its
    config names, and refuses a wrong feature count."""
    import numpy as np
    from sklearn.ensemble import ExtraTreesClassifier

    from models.scene_forest import SceneForest

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 7)).astype(np.float32)
    y = ((X[:, 0] + 0.5 * X[:, 3] ** 2 + 0.3 * rng.normal(size=400)) > 0.6).astype(int)
    et = ExtraTreesClassifier(25, min_samples_leaf=3, max_features=0.5, random_state=0).fit(X, y)
    m = SceneForest.from_sklearn(et, 2, 7)
    Xt = rng.normal(size=(64, 7)).astype(np.float32)
    ref = et.predict_proba(Xt)
    with torch.no_grad():
        got = torch.softmax(m(torch.from_numpy(Xt)), -1).numpy()
    assert np.abs(got - ref).max() < 2e-3  # leaf frequencies stored in half precision
    assert 0.05 < ref[:, 1].mean() < 0.95  # a forest that says something, not a constant
    cfg = SceneForest.config_of(et)
    m2 = build_model("scene_forest", {"num_classes": 2, "in_channels": 7, **cfg})
    m2.load_state_dict(m.state_dict())
    with torch.no_grad():
        assert torch.allclose(m2(torch.from_numpy(Xt)), m(torch.from_numpy(Xt)))
    with pytest.raises(ValueError, match=r"expected input \(N, 7\)"):
        m(torch.zeros(2, 6))
    with pytest.raises(ValueError, match="features"):
        SceneForest.from_sklearn(et, 2, 8)
