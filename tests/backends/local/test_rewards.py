"""The GRPO family's built-in rewards as the local target scores them (apps/backends/local/rewards.py).
Pure Python: no ML environment needed."""

from apps.backends.local.rewards import dapo_score, last_boxed, load, math_score, r1v_score, same_answer, score


def test_math_rewards_format_and_boxed_accuracy():
    good = "<think>7 + 5 = 12</think> The answer is \\boxed{12}."
    scores = math_score([{"response": good, "ground_truth": "12"},
                         {"response": "The answer is \\boxed{12}.", "ground_truth": "12"},
                         {"response": "<think>hm</think> \\boxed{13}", "ground_truth": "12"}])
    assert [s["accuracy"] for s in scores] == [1.0, 1.0, 0.0]
    assert [s["format"] for s in scores] == [1.0, 0.0, 1.0]
    assert [round(s["overall"], 2) for s in scores] == [1.0, 0.9, 0.1]


def test_answers_compare_after_normalisation():
    assert last_boxed("\\boxed{\\frac{1}{2}} and \\boxed{x^{2}}") == "x^{2}"
    assert same_answer(" $12$. ", "12") and same_answer("0.5", "1/2") and same_answer("\\text{Paris}", "paris")
    assert not same_answer(None, "1") and not same_answer("13", "12")


def test_r1v_scores_one_answer_at_a_time():
    result = r1v_score({"response": "<think>sum</think> <answer>25</answer>", "ground_truth": "25"})
    assert result == {"overall": 1.0, "format": 1.0, "accuracy": 1.0}
    assert r1v_score({"response": "25", "ground_truth": "25"})["overall"] == 0.0


def test_dapo_signs_the_answer_and_penalises_overlong_responses():
    right = {"response": "work\nAnswer: 6", "ground_truth": "6", "response_length": 10}
    long_ = {**right, "response_length": 90}
    wrong = {"response": "Answer: 7", "ground_truth": "6", "response_length": 10}
    scores = dapo_score([right, long_, wrong], max_response_length=100, overlong_buffer_length=20)
    assert [s["overall"] for s in scores] == [1.0, 0.5, -1.0]


def test_builtin_and_custom_rewards_load_by_type(tmp_path):
    assert load({"name": "r1v"})[0] == "sequential"
    module = tmp_path / "reward_function.py"
    module.write_text('REWARD_TYPE = "batch"\n\ndef compute_score(reward_inputs, format_weight=0.1):\n'
                      '    return [{"overall": len(r["response"])} for r in reward_inputs]\n')
    kind, compute = load({"name": "custom", "path": str(module)})
    assert score(kind, compute, [{"response": "abc", "ground_truth": ""}], {}) == [{"overall": 3}]
