import pytest
from reasoning_gym.factory import create_dataset

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
