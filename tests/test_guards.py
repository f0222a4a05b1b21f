import dataclasses

import pytest
from reasoning_gym.factory import create_dataset

from rg_verifiers import serialization

from rg_verifiers.scoring.guards import bounded_literal_eval, check_sympy_answer


@pytest.mark.parametrize("task,n", [("intermediate_integration", 150), ("simple_integration", 200),
                                    ("polynomial_multiplication", 200), ("countdown", 100), ("puzzle24", 50)])
def test_every_gold_answer_passes_the_sympy_guard(task, n):
    ds = create_dataset(task, seed=5, size=n)
    refused = [ds[i]["answer"] for i in range(n) if check_sympy_answer(ds[i]["answer"])]
    assert not refused, refused[:3]


@pytest.mark.parametrize("attack", [
    "9**9**9", "9^9^9", "x**(9**9)", "2**1000", "1e999999", "open(chr(120),chr(119))", "__import__('os')",
    "eval(chr(49))", "exec", "lambda x: x", "[1][0]", "x.__class__", "getattr(x, chr(95))", "9" * 40, "x" * 2000,
])
def test_attacks_are_refused(attack):
    assert check_sympy_answer(attack) is not None


def test_literal_eval_replacement_parses_literals_only():
    assert bounded_literal_eval("[[1, 0], [0, 1]]") == [[1, 0], [0, 1]]
    for bad in ("__import__('os').system('true')", "[x for x in (1,)]", "(1).__class__", "9**9**9"):
        with pytest.raises(ValueError):
            bounded_literal_eval(bad)


# Equivalent (and some inequivalent) rewritings of the gold: the guard must let through whatever
# is plain mathematics, so our score equals reasoning-gym's own score on the same string.
FORMS = {
    "simple_integration": ["{g}", "{nc} + C_1", "{nc} + K", "{nc} + const", "Rational(1, 1)*({nc}) + C",
                           "expand({nc}) + C", "simplify({nc}) + C", "Add({nc}, C, evaluate=False)",
                           "S(1)*({nc}) + C", "Pow({nc}, 1) + C", "0.5*2*({nc}) + C",
                           "{nc} + x", "{nc}", "2*({nc}) + C"],
    "intermediate_integration": ["{g}", "{nc} + C_1", "{nc} + c0", "Rational(1, 1)*({nc}) + C",
                                 "expand({nc}) + C", "{nc} + x + C"],
    "polynomial_multiplication": ["{g}", "Rational(1, 1)*({g})", "expand({g})", "expand(({g})*1)", "({g})*Rational(2, 2)",
                                  "factor({g})", "Mul(1, {g})", "Pow({g}, 1)", "S(1)*({g})", "1.0*({g})",
                                  "{g} + 1", "({g})/1"],
}


def _rg_and_ours(task, seed, n):
    from rg_verifiers.scoring import Scorer

    ds = create_dataset(task, seed=seed, size=n)
    cfg = serialization.dumps({f.name: getattr(ds.config, f.name) for f in dataclasses.fields(ds.config)})
    items, expected = [], []
    for i in range(n):
        entry = ds[i]
        gold = entry["answer"]
        no_c = gold[: -len(" + C")] if gold.endswith(" + C") else gold
        for form in FORMS[task]:
            answer = form.format(g=gold, nc=no_c)
            items.append((task, cfg, serialization.dumps(entry), answer))
            expected.append((answer, ds.score_answer(answer, entry)))
    scorer = Scorer(mode="auto", workers=1, timeout_s=30)
    try:
        got = [r.score for r in scorer.score_many(items)]
    finally:
        scorer.close()
    return expected, got


@pytest.mark.parametrize("task,n", [("simple_integration", 4), ("intermediate_integration", 3),
                                    ("polynomial_multiplication", 4)])
def test_equivalent_forms_score_as_in_reasoning_gym(task, n):
    expected, got = _rg_and_ours(task, 3, n)
    differ = [(a, rg, ours) for (a, rg), ours in zip(expected, got) if rg != ours]
    assert not differ, differ[:5]
    assert sum(rg == 1.0 for _, rg in expected) > len(expected) // 2  # most forms are correct ones
    assert any(rg == 0.0 for _, rg in expected)  # and the wrong ones are scored 0 by both


def test_string_insertion_list_form_gets_reasoning_gyms_partial_credit():
    from rg_verifiers.scoring import Scorer

    ds = create_dataset("string_insertion", seed=2, size=2)
    entry = ds[0]
    cfg = serialization.dumps({f.name: getattr(ds.config, f.name) for f in dataclasses.fields(ds.config)})
    answers = [f"list({entry['answer']!r})", repr(list(entry["answer"])), "list('x')", "list(open('f'))"]
    scorer = Scorer(mode="auto", workers=1)
    try:
        got = [r.score for r in scorer.score_many([("string_insertion", cfg, serialization.dumps(entry), a) for a in answers])]
    finally:
        scorer.close()
    assert got[:2] == [ds.score_answer(answers[0], entry), ds.score_answer(answers[1], entry)] == [0.1, 0.1]
    assert got[2:] == [0.0, 0.0]
    assert bounded_literal_eval("list('ab')") == ["a", "b"]
    with pytest.raises(ValueError):
        bounded_literal_eval("list(open('f'))")


@pytest.mark.parametrize("level", [2, 3])
def test_hard_polynomial_golds_pass_the_guard_scaled_to_the_gold(level):
    from rg_verifiers.tasks import build_config

    cfg = build_config("polynomial_multiplication", None, level, seed=7, size=15)
    ds = create_dataset("polynomial_multiplication", **{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)})
    golds = [ds[i]["answer"] for i in range(15)]
    assert max(len(g) for g in golds) > 1_000  # over the guard's floor
    assert [g for g in golds if check_sympy_answer(g, g)] == []
    # the floors still apply to other answers, and scaling does not admit attacks
    long_gold = max(golds, key=len)
    assert check_sympy_answer(long_gold) is not None
    for attack in ("9**9**9", "1e999999", "open(chr(120),chr(119))", "x" * (3 * len(long_gold) + 1)):
        assert check_sympy_answer(attack, long_gold) is not None


def test_answer_cap_scales_with_the_gold():
    from rg_verifiers.scoring.core import DEFAULT_MAX_ANSWER_CHARS, answer_cap

    assert answer_cap(None) == answer_cap("5") == DEFAULT_MAX_ANSWER_CHARS
    assert answer_cap("x" * 20_201) == 60_603
