from rg_verifiers.protocol import DEFAULT_SYSTEM_PROMPT, build_messages, format_ok, parse_answer


def chat(text):
    return [{"role": "assistant", "content": text}]


def test_last_answer_of_final_message_wins():
    assert parse_answer(chat("<answer>1</answer> no wait <answer> 2 </answer>")) == "2"
    msgs = [{"role": "assistant", "content": "<answer>old</answer>"}, {"role": "user", "content": "?"},
            {"role": "assistant", "content": "<answer>new</answer>"}]
    assert parse_answer(msgs) == "new"


def test_missing_tag_is_none_not_the_string_none():
    assert parse_answer(chat("The answer is 5")) is None
    assert parse_answer(chat("<answer>5")) is None
    assert parse_answer([]) is None
    assert parse_answer(chat("<answer></answer>")) == ""  # an empty answer is an answer (ab has empty golds)


def test_multiline_and_angle_brackets_survive():
    assert parse_answer(chat("<answer>\n1 > 2\n3 < 4\n</answer>")) == "1 > 2\n3 < 4"
    assert parse_answer(chat("<answer>pour A->B</answer>")) == "pour A->B"


def test_format_metric():
    assert format_ok(chat("reasoning <answer>5</answer>\n"))
    assert not format_ok(chat("<answer>5</answer> and more text"))
    assert not format_ok(chat("5"))


def test_prompt_placement():
    sys_msgs = build_messages("Q?")
    assert sys_msgs == [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}, {"role": "user", "content": "Q?"}]
    user = build_messages("Q?", placement="user")
    assert len(user) == 1 and user[0]["content"].startswith(DEFAULT_SYSTEM_PROMPT) and user[0]["content"].endswith("Q?")
    assert build_messages("Q?", system_prompt="Be brief.")[0]["content"] == "Be brief."
    assert build_messages("Q?", system_prompt="") == [{"role": "user", "content": "Q?"}]
