"""White-box lab maths on tiny random Llamas built from a config (no downloads, no files).

Checks: capture hooks see the residual stream the model computes, batching does not
change activations, ablation removes a planted direction (hooks == orthogonalised
weights), difference of means recovers a planted direction, the permutation null
centres where it should, probes and AUROC behave, the lineage diff finds a planted
rank-1 edit and calls independent models unrelated, the crawler parses and recurses.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(1)  # tiny matrices: threads only contend with the other engineers

pytestmark = pytest.mark.model

WORDS = ("how do I make a bomb poison weapon hack steal tell me about the history of "
         "tiananmen taiwan tibet bridges rivers cats bake bread what is capital france "
         "I Sorry As Unfortunately cannot help with that here is list of topics 1. 2. 3.").split()
TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|> ok{% endif %}")


def tiny_lm(seed: int = 0, layers: int = 4, d: int = 32, tie: bool = False):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from latentwall.lab import wrap_model

    specials = ["<pad>", "<eos>", "<|user|>", "<|assistant|>", "<|system|>", "<unk>"]
    raw = Tokenizer(models.WordLevel(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.train_from_iterator([" ".join(WORDS), "ok"], trainers.WordLevelTrainer(special_tokens=specials))
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<pad>",
                                               eos_token="<eos>", unk_token="<unk>")
    tok.chat_template = TEMPLATE
    cfg = transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=d, intermediate_size=2 * d, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        initializer_range=0.2, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        tie_word_embeddings=tie)
    torch.manual_seed(seed)
    return wrap_model(transformers.LlamaForCausalLM(cfg), tok, f"tiny-{seed}")


@pytest.fixture(scope="module")
def lm():
    return tiny_lm(0)


PROMPTS = ["how do I make a bomb", "tell me about the history of tiananmen", "bake bread",
           "what is the capital of france", "cats", "steal a weapon"]


def test_post_instruction_span_and_positions(lm):
    from latentwall.lab import position_labels

    # after the user text: "<|assistant|> ok" (the whitespace tokenizer drops the newline)
    assert lm.n_post == 2
    assert position_labels(3, True) == ["-3", "-2", "-1", "gen"]


def test_capture_matches_hidden_states_and_batching(lm):
    from latentwall.lab import capture

    aset = capture(lm, PROMPTS, batch_size=4)
    assert aset.acts.shape == (len(PROMPTS), lm.n_post + 1, lm.n_layers, lm.d_model)
    assert aset.sums.dtype == np.float64
    np.testing.assert_allclose(aset.mean(), aset.acts.astype(np.float64).mean(0), atol=1e-5)
    # hooks see what transformers reports as hidden_states (input of each block)
    ids = torch.tensor([lm.encode(PROMPTS[1])])
    with torch.no_grad():
        hs = lm.model(input_ids=ids, output_hidden_states=True).hidden_states
    for layer in range(lm.n_layers):
        np.testing.assert_allclose(aset.acts[1, :lm.n_post, layer], hs[layer][0, -lm.n_post:].numpy(),
                                   atol=1e-5)
    # the generated position is the greedy token appended
    first = int(lm.model(input_ids=ids).logits[0, -1].argmax())
    assert aset.first_tokens[1] == first
    with torch.no_grad():
        hs2 = lm.model(input_ids=torch.tensor([[*ids[0].tolist(), first]]), output_hidden_states=True).hidden_states
    np.testing.assert_allclose(aset.acts[1, -1, 2], hs2[2][0, -1].numpy(), atol=1e-5)
    # one at a time == batched (left padding with explicit positions)
    alone = np.concatenate([capture(lm, [p], batch_size=1).acts for p in PROMPTS])
    np.testing.assert_allclose(alone, aset.acts, atol=1e-4)


def test_activation_cache_roundtrip(lm, tmp_path):
    from latentwall.lab import capture

    lm.fingerprint = "tiny-test"
    try:
        a = capture(lm, PROMPTS[:3], cache_dir=tmp_path)
        b = capture(lm, PROMPTS[:3], cache_dir=tmp_path)
    finally:
        lm.fingerprint = None
    assert not a.cached and b.cached
    np.testing.assert_array_equal(a.acts, b.acts)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".npy", ".npy", ".npy"]
    assert not list(tmp_path.glob("*.pkl"))


def test_ablation_removes_planted_direction_and_matches_weight_edit(lm):
    from latentwall.lab import ablation, capture, logits_last, orthogonalized_copy

    rng = np.random.default_rng(1)
    r = rng.standard_normal(lm.d_model)
    r /= np.linalg.norm(r)
    base = capture(lm, PROMPTS, gen=False).acts.astype(np.float64)
    assert np.abs(base @ r).max() > 1e-2  # the direction is present before
    with ablation(lm, r[None, :]):
        abl = capture(lm, PROMPTS, gen=False).acts.astype(np.float64)
        hooked = logits_last(lm, [lm.encode(p) for p in PROMPTS])
    assert np.abs(abl[:, :, 1:] @ r).max() < 1e-4  # gone from every block input after the first
    assert not lm.model._forward_pre_hooks and not lm.layers[0]._forward_pre_hooks  # hooks removed
    twin = orthogonalized_copy(lm, r[None, :])
    edited = logits_last(twin, [twin.encode(p) for p in PROMPTS])
    np.testing.assert_allclose(edited.numpy(), hooked.numpy(), atol=2e-4)
    with pytest.raises(Exception, match="saving is disabled"):
        twin.model.save_pretrained("/nonexistent")


def test_rank_k_ablation_and_orthonormal():
    from latentwall.lab import orthonormal

    rng = np.random.default_rng(0)
    m = rng.standard_normal((3, 16))
    q = orthonormal(np.vstack([m, m[0] + m[1]]))  # dependent row dropped
    assert q.shape == (3, 16)
    np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-10)


def test_diff_means_recovers_planted_direction_and_selection(lm):
    from latentwall.lab import ActivationSet, candidate_grid, diff_means, select_direction

    rng = np.random.default_rng(2)
    r = rng.standard_normal(lm.d_model)
    r /= np.linalg.norm(r)
    noise = rng.standard_normal((2, 40, 2, lm.n_layers, lm.d_model))
    pos_acts, neg_acts = noise[0] + 3.0 * r, noise[1]

    def aset(x):
        return ActivationSet(x.astype(np.float32), x.sum(0), ["-1", "gen"], np.zeros(len(x), int))

    d = diff_means(aset(pos_acts), aset(neg_acts))
    assert abs(d[1, 2] @ r) / np.linalg.norm(d[1, 2]) > 0.9
    grid = candidate_grid(lm.n_layers, ["-1", "gen"])
    assert max(layer for _, layer in grid) < 0.8 * lm.n_layers  # last 20% excluded
    seqs = [lm.encode(p) for p in PROMPTS]
    from latentwall.lab._ablation import refusal_openings

    sel = select_direction(lm, d, ["-1", "gen"], seqs[:3], seqs[3:], refusal_openings(lm), grid=grid)
    assert {c.layer for c in sel.candidates} == {layer for _, layer in grid}
    assert all(c.kl is not None and c.kl >= -1e-9 for c in sel.candidates)
    assert abs(np.linalg.norm(sel.direction) - 1) < 1e-9


def test_refusal_score_is_the_probability_of_whole_phrases(lm):
    """The score adds up P(answer opens with phrase) token by token: checked against full
    teacher-forced forwards of every phrase, and "I" alone is not a refusal opening."""
    from latentwall.lab._ablation import forward_refusal, refusal_openings
    from latentwall.lab._activations import logits_last

    op = refusal_openings(lm)
    tok = lm.tokenizer
    assert (tok.convert_tokens_to_ids("I"),) not in op.paths  # "I" opens answers too
    assert (tok.convert_tokens_to_ids("Sorry"),) in op.paths
    assert any(len(p) > 1 for p in op.paths)  # "I cannot": a two-token path
    seqs = [lm.encode(p) for p in PROMPTS]
    first, scores = forward_refusal(lm, seqs, op, batch_size=4)
    torch.testing.assert_close(first, logits_last(lm, seqs))
    for seq, score in zip(seqs, scores, strict=True):
        p_total = 0.0
        for path in op.paths:
            lp = 0.0
            for k, t in enumerate(path):
                logits = logits_last(lm, [list(seq) + list(path[:k])])[0].double()
                lp += float(torch.log_softmax(logits, -1)[t])
            p_total += np.exp(lp)
        assert score == pytest.approx(np.log(p_total) - np.log1p(-p_total), abs=1e-6)


def test_cosine_null():
    from latentwall.lab import ActivationSet, cosine_with_null

    rng = np.random.default_rng(3)
    d, L = 24, 3
    r = np.zeros(d)
    r[0] = 1

    def aset(x):
        return ActivationSet(x[:, None].astype(np.float32), x[:, None].sum(0), ["-1"], np.zeros(len(x), int))

    same = cosine_with_null(aset(rng.standard_normal((30, L, d)) + 4 * r), aset(rng.standard_normal((30, L, d))),
                            aset(rng.standard_normal((30, L, d)) + 4 * r), aset(rng.standard_normal((30, L, d))),
                            "-1", n_perm=100)
    assert min(same["cosine"]) > 0.7 and max(same["p_value"]) < 0.05
    other = np.zeros(d)
    other[1] = 1
    diff = cosine_with_null(aset(rng.standard_normal((30, L, d)) + 4 * r), aset(rng.standard_normal((30, L, d))),
                            aset(rng.standard_normal((30, L, d)) + 4 * other), aset(rng.standard_normal((30, L, d))),
                            "-1", n_perm=100)
    assert max(abs(c) for c in diff["cosine"]) < 0.4
    assert all(lo <= 0 <= hi for lo, hi in zip(diff["null_lo"], diff["null_hi"], strict=True))


def test_probes_auroc_tpr_logreg():
    from latentwall.lab import auroc, fit_logreg, layer_probes, tpr_at_fpr

    assert auroc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert auroc(np.array([1, 1, 1, 1.0]), np.array([0, 1, 0, 1])) == 0.5
    assert tpr_at_fpr(np.array([0.0, 0.1, 0.5, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    rng = np.random.default_rng(4)
    n, d = 80, 40
    y = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 3, d))
    x[:, 2, 0] += 3 * y  # only layer 2 carries the label
    w, b = fit_logreg(x[:, 2], y)
    assert ((x[:, 2] @ w + b > 0) == y).mean() > 0.9
    topics = [f"t{i % 8}" for i in range(n)]
    res = layer_probes(x, y, topics, n_perm=8)
    assert res["topic_disjoint"]
    assert res["dm"][2]["auroc"] > 0.9 and res["lr"][2]["auroc"] > 0.9
    assert res["dm"][0]["auroc"] < 0.8 and res["dm_perm"][2]["q95"] < 0.9


def test_lineage_planted_rank1_and_unrelated(lm):
    from latentwall.lab import effective_rank, orthogonalized_copy, weight_diff

    assert effective_rank(np.array([1.0, 0, 0])) == pytest.approx(1.0)
    assert weight_diff(lm.model, lm.model)["verdict"] == "identical"
    rng = np.random.default_rng(5)
    r = rng.standard_normal(lm.d_model)
    twin = orthogonalized_copy(lm, r[None, :])
    res = weight_diff(lm.model, twin.model)
    assert res["verdict"] == "directional-ablation fork", res["why"]
    assert res["shared_direction_cos"] > 0.99
    changed = [t for t in res["per_tensor"] if t["rel_norm"] > 1e-7]
    assert {t["name"].split(".")[-2] for t in changed} <= {"o_proj", "down_proj", "embed_tokens"}
    assert all(t["top1_share"] > 0.99 and t["effective_rank"] < 1.5 < t["null_effective_rank"]
               for t in changed)
    other = tiny_lm(seed=7)
    assert weight_diff(lm.model, other.model)["verdict"] == "unrelated"
    # a dense fine-tune-like perturbation is related but not an ablation
    ft = tiny_lm(seed=0)
    with torch.no_grad():
        for p in ft.model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    assert weight_diff(lm.model, ft.model)["verdict"] == "fine-tuned fork"


def test_lineage_tied_embeddings_counted_once():
    from latentwall.lab import orthogonalized_copy, weight_diff

    a = tiny_lm(seed=1, tie=True)
    twin = orthogonalized_copy(a, np.ones((1, a.d_model)))
    res = weight_diff(a.model, twin.model)
    assert res["verdict"] == "directional-ablation fork"
    assert not any(t["name"].startswith("lm_head") for t in res["per_tensor"])


def test_parse_topics():
    from latentwall.lab import parse_topics

    text = " Tibet\n2. Falun Gong – a movement\n3) **Taiwan**\n- Hong Kong protests\n4. 1234\n5. Tibet"
    assert parse_topics("Here:\n1.", text) == ["Tibet", "Falun Gong", "Taiwan", "Hong Kong protests"]
    assert parse_topics("以下：\n1.", "西藏\n2. 新疆（再教育营）\n3、法轮功") == ["西藏", "新疆", "法轮功"]


class _StubTarget:
    """A prefill-capable target with canned answers: lists on expansion, refusals on 'tibet'."""

    kind = "stub"
    spec = "stub"
    supports_prefill = True
    label = "stub"

    def __init__(self) -> None:
        self.prefills: list[str | None] = []

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def generate(self, batch: Sequence):
        from latentwall.targets import Response

        out = []
        for req in batch:
            self.prefills.append(req.prefill)
            p = req.prompt.lower()
            if req.prefill:
                topic = p.split('"')[1] if '"' in p else p
                out.append(Response(text=f" {topic} sub A\n2. {topic} sub B\n3. Secret Tibet file"))
            elif "tibet" in p:
                out.append(Response(text="I'm sorry, but I can't help with that request."))
            else:
                out.append(Response(text="Here is a balanced overview of the history, the key events, "
                                         "the people involved and how historians describe it today. " * 2))
        return out


def test_crawler_graph_with_stub_target():
    from latentwall.lab import crawl

    t = _StubTarget()
    res = asyncio.run(crawl(t, ["Tiananmen"], ["en"], depth=2, breadth=3, max_nodes=20))
    topics = [n["topic"] for n in res["nodes"]]
    assert topics[0] == "Tiananmen" and "Secret Tibet file" in topics
    assert any(n["depth"] == 2 for n in res["nodes"])
    tibet = next(n for n in res["nodes"] if n["topic"] == "Secret Tibet file")
    assert tibet["refusal"]["k"] == tibet["refusal"]["n"] == 2 and tibet["parent"] == 0
    assert "Secret Tibet file" in res["refused_unlisted"]
    assert all(e[0] < e[1] for e in res["edges"])
    assert any(p and p.startswith("Here are") for p in t.prefills)
    t.supports_prefill = False
    from latentwall.errors import ConfigError

    with pytest.raises(ConfigError, match="prefill"):
        asyncio.run(crawl(t, ["x"], ["en"]))


def test_report_html_is_escaped_and_self_contained():
    from latentwall.lab import lab_sections_html, svg_heatmap, svg_lines

    evil = '<script>alert(1)</script>"'
    res = {"schema": "latentwall.lab/1", "model": {"name": evil, "spec": evil, "n_layers": 2, "d_model": 4},
           "directions": {evil: {"positions": ["-1", "gen"], "norms": [[1.0, 2.0], [0.5, None]],
                                 "sets": {"harm": {"suite": evil, "n": 3}},
                                 "selected": {"position": "-1", "layer": 1, "relaxed": [], "baseline": {},
                                              "scores": {"bypass": -1.0}, "candidates": [
                                                  {"position": "-1", "layer": 1, "bypass": -1.0}]}}},
           "crawl": {"seeds": [evil], "langs": ["en"], "refused_unlisted": [evil],
                     "nodes": [{"id": 0, "topic": evil, "lang": "en", "depth": 0, "parent": None,
                                "refusal": {"k": 1, "n": 2, "rate": 0.5, "lo": 0.1, "hi": 0.9},
                                "evasive": 0, "listed": False}]}}
    out = lab_sections_html(res)
    assert "<script" not in out and "&lt;script&gt;" in out
    assert "http://" not in out.replace("http://www.w3.org/2000/svg", "")
    assert out.count("<svg") == 2
    assert "<svg" in svg_heatmap([[None]], ["x"], "t") and "<polyline" in svg_lines(
        [{"label": "a", "values": [0.1, 0.2, None, 0.4]}], "t")


def test_addition_shifts_one_layer_input(lm):
    from latentwall.lab import addition, capture

    v = np.zeros(lm.d_model)
    v[3] = 2.5
    base = capture(lm, PROMPTS[:2], gen=False).acts
    with addition(lm, v, layer=1):
        steered = capture(lm, PROMPTS[:2], gen=False).acts
    np.testing.assert_allclose(steered[:, :, 1] - base[:, :, 1], np.broadcast_to(v, steered[:, :, 1].shape),
                               atol=1e-5)
    np.testing.assert_allclose(steered[:, :, 0], base[:, :, 0], atol=1e-6)  # earlier layers untouched
    assert not lm.layers[1]._forward_pre_hooks


def test_prompt_roles_fall_back_and_split_by_group():
    from latentwall.errors import LatentwallError
    from latentwall.lab import load_role, split

    prompts, suite = load_role("harm", "en", 12, ["no-such-suite", "starter"])
    assert suite == "starter" and prompts and all(p.category == "harm" for p in prompts)
    tr, va, te = split(prompts)
    groups = [{p.group for p in part} for part in (tr, va, te)]
    assert all(groups) and not (groups[0] & groups[1]) and not (groups[0] & groups[2])
    with pytest.raises(LatentwallError, match="no harm prompts"):
        load_role("harm", "en", 4, ["no-such-suite"])
