"""The corpus: every good file is detected as its format; every broken one is reported by row and problem."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from apps.catalog import inspection
from apps.catalog.readers import FileRejected, file_type_for

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED["good"]))
def test_good_file_is_detected_and_valid(name):
    expected = EXPECTED["good"][name]
    result = inspection.inspect(CORPUS / "good" / name, file_type_for(name))
    assert result.layout.format == expected["format"]
    assert result.row_count == expected["rows"]
    assert result.errors == []
    assert result.valid
    assert result.stats["rows"] == expected["rows"]
    assert result.rendered is not None and result.rendered["row"] == 1


@pytest.mark.parametrize("name", sorted(EXPECTED["broken"]))
def test_broken_file_is_reported_by_row_and_problem(name):
    expected = EXPECTED["broken"][name]
    result = inspection.inspect(CORPUS / "broken" / name, file_type_for(name))
    assert result.layout.format == expected["format"]
    assert not result.valid
    assert result.error_count == 1, result.errors
    (error,) = result.errors
    assert error["row"] == expected["row"]
    assert expected["problem"] in error["problem"]


@pytest.mark.parametrize("name", sorted(EXPECTED["rejected"]))
def test_unusable_file_is_rejected_with_a_clear_message(name):
    expected = EXPECTED["rejected"][name]
    with pytest.raises(FileRejected) as caught:
        inspection.precheck(CORPUS / "rejected" / name, file_type_for(name))
    assert caught.value.code == expected["code"]
    assert expected["message"] in caught.value.message


def test_every_format_and_error_kind_is_in_the_corpus():
    from apps.catalog.formats import DatasetFormat

    assert {e["format"] for e in EXPECTED["good"].values()} == set(DatasetFormat.values)
    problems = " ".join(e["problem"] for e in EXPECTED["broken"].values())
    for kind in ("missing field", "empty turn", "roles out of order", "no assistant turn", "wrong type"):
        assert kind in problems
    codes = {e["code"] for e in EXPECTED["rejected"].values()}
    assert {"unknown_format", "empty", "encoding"} <= codes


def _to_parquet(source: Path, target: Path) -> Path:
    from apps.catalog.readers import iter_rows

    rows = [row for _, row in iter_rows(source, file_type_for(source.name))]
    pq.write_table(pa.Table.from_pylist(rows), target, row_group_size=2)
    return target


@pytest.mark.parametrize("name", ["openai.jsonl", "preference_alpaca.jsonl", "prompt_answer.jsonl"])
def test_parquet_is_read_in_batches_and_detected(tmp_path, name):
    if name == "prompt_answer.jsonl":  # Parquet columns have one type: keep answers as text
        source = tmp_path / "pa.jsonl"
        source.write_text((CORPUS / "good" / name).read_text().replace(': 6}', ': "6"}'))
    else:
        source = CORPUS / "good" / name
    path = _to_parquet(source, tmp_path / "data.parquet")
    result = inspection.inspect(path, "parquet")
    assert result.layout.format == EXPECTED["good"][name]["format"]
    assert result.row_count == EXPECTED["good"][name]["rows"]
    assert result.valid


def test_statistics_count_rows_over_the_cutoff(tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_text('{"text": "%s"}\n{"text": "short"}\n{"text": "%s"}\n' % ("x" * 4000, "y" * 400))
    result = inspection.inspect(path, "jsonl", cutoff_len=200)
    stats = result.stats
    assert stats["rows"] == 3
    assert stats["rows_over_cutoff"] == 1  # 4000 chars ≈ 1000 tokens > 200; 400 chars ≈ 100 tokens
    assert stats["tokens"]["max"] == 1000
    assert stats["token_counter"] == "estimate (characters ÷ 4)" and stats["token_counts_exact"] is False


def test_a_real_tokenizer_plugs_in(tmp_path):
    class WordCounter:
        label, exact = "words", True

        def count(self, text):
            return len(text.split())

    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "one two three"}\n')
    stats = inspection.inspect(path, "jsonl", counter=WordCounter()).stats
    assert stats["tokens"]["max"] == 3 and stats["token_counter"] == "words"


def test_preview_renders_one_row_through_chatml():
    result = inspection.inspect(CORPUS / "good" / "openai.jsonl", "jsonl")
    rendered = result.rendered["text"]
    assert rendered == (
        "<|im_start|>system\nYou are concise.<|im_end|>\n"
        "<|im_start|>user\nCapital of Japan?<|im_end|>\n"
        "<|im_start|>assistant\nTokyo.<|im_end|>\n"
    )
    assert "ChatML" in result.rendered["label"]
    assert [p["row"] for p in result.preview] == [1, 2, 3]


def test_errors_listed_are_capped_but_all_counted(tmp_path):
    path = tmp_path / "many.jsonl"
    lines = ['{"instruction": "q", "output": "a"}'] + ['{"instruction": "q", "output": ""}'] * 250
    path.write_text("\n".join(lines) + "\n")
    result = inspection.inspect(path, "jsonl")
    assert result.error_count == 250
    assert len(result.errors) == inspection.MAX_LISTED_ERRORS
    assert result.report()["errors_truncated"] is True
    assert result.errors[0]["row"] == 2


def test_media_system_and_tools_columns_are_carried_into_the_layout(tmp_path):
    path = tmp_path / "vision.jsonl"
    path.write_text(
        '{"messages": [{"role": "user", "content": "<image>What is this?"}, {"role": "assistant", "content": "A cat."}],'
        ' "images": ["imgs/cat.jpg"], "tools": "[]"}\n'
        '{"messages": [{"role": "user", "content": "<image>And this?"}, {"role": "assistant", "content": "A dog."}],'
        ' "images": "imgs/dog.jpg", "tools": "[]"}\n'
    )
    result = inspection.inspect(path, "jsonl")
    assert result.layout.columns == {"messages": "messages", "images": "images", "tools": "tools"}
    assert result.errors == [{"row": 2, "problem": "wrong type: 'images' should be a list of file paths, got text"}]


def test_counter_uses_the_models_tokenizer_only_from_the_local_cache(monkeypatch):
    import sys
    import types

    from apps.catalog.tokens import EstimatedCounter, TokenizerCounter, counter_for

    model = types.SimpleNamespace(repo_id="Qwen/Qwen3-8B")
    monkeypatch.setitem(sys.modules, "transformers", None)  # not installed (as on the build machines)
    assert isinstance(counter_for(model), EstimatedCounter)

    calls = []

    class FakeAutoTokenizer:
        @staticmethod
        def from_pretrained(repo, local_files_only=False):
            calls.append((repo, local_files_only))
            if repo != "Qwen/Qwen3-8B":
                raise OSError("not in the local cache")
            return lambda text, add_special_tokens=False: {"input_ids": text.split()}

    monkeypatch.setitem(sys.modules, "transformers", types.SimpleNamespace(AutoTokenizer=FakeAutoTokenizer))
    counter = counter_for(model)
    assert isinstance(counter, TokenizerCounter) and counter.exact and counter.label == "Qwen/Qwen3-8B tokenizer"
    assert counter.count("a b c") == 3
    assert calls == [("Qwen/Qwen3-8B", True)]  # never a download
    assert isinstance(counter_for(types.SimpleNamespace(repo_id="other/model")), EstimatedCounter)
    assert isinstance(counter_for(None), EstimatedCounter)
