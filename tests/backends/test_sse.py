import json
import random

from hypothesis import given
from hypothesis import strategies as st

from apps.backends.sse import DONE, JSONLinesParser, SSEParser, event

EVENTS = [json.dumps({"content": text}, ensure_ascii=False) for text in ["Hé", "日本語", "🎉 ok", "a\u2028b", ""]] + [DONE]


def parse_in_pieces(data: bytes, cuts: list[int]) -> list[str]:
    parser = SSEParser()
    out, start = [], 0
    for cut in sorted(set(cuts)) + [len(data)]:
        out += parser.feed(data[start:cut])
        start = cut
    return out + parser.flush()


@given(st.lists(st.integers(min_value=0, max_value=400), max_size=60), st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_chunking_gives_the_same_events(cuts, newline):
    data = "".join(f"data: {e}{newline}{newline}" for e in EVENTS).encode()
    assert parse_in_pieces(data, [c for c in cuts if c < len(data)]) == EVENTS


def test_byte_by_byte_with_comments_and_other_fields():
    data = b": keep-alive\n\nevent: message\nid: 3\ndata: {\"a\": 1}\nretry: 5\n\ndata:no-space\n\n"
    parser = SSEParser()
    out = []
    for i in range(len(data)):
        out += parser.feed(data[i:i + 1])
    assert out == ['{"a": 1}', "no-space"]


def test_multiline_data_is_joined_and_unterminated_tail_flushed():
    parser = SSEParser()
    assert parser.feed(b"data: one\ndata: two\n\ndata: tail") == ["one\ntwo"]
    assert parser.flush() == ["tail"]
    assert parser.flush() == []


def test_crlf_split_between_chunks_is_one_line_ending():
    parser = SSEParser()
    assert parser.feed(b"data: x\r") == []
    assert parser.feed(b"\n\r\n") == ["x"]


def test_event_framing_round_trips():
    assert SSEParser().feed(event('{"k":"v"}')) == ['{"k":"v"}']


def test_json_lines_parser_any_chunking():
    lines = [json.dumps({"i": i, "t": "ü" * i}) for i in range(5)]
    data = ("\n".join(lines) + "\n").encode()
    rng = random.Random(1)
    parser, out, i = JSONLinesParser(), [], 0
    while i < len(data):
        n = rng.randint(1, 7)
        out += parser.feed(data[i:i + n])
        i += n
    assert out + parser.flush() == lines


@given(st.lists(st.integers(min_value=0, max_value=400), max_size=60), st.sampled_from(["\n", "\r\n", "\r"]))
def test_raw_events_are_the_same_events_as_bytes(cuts, newline):
    data = "".join(f"data: {e}{newline}{newline}" for e in EVENTS).encode() + b"data: \xff tail"
    parser, out, start = SSEParser(), [], 0
    for cut in sorted({c for c in cuts if c < len(data)}) + [len(data)]:
        out += parser.feed_raw(data[start:cut])
        start = cut
    out += parser.flush_raw()
    assert out == [e.encode() for e in EVENTS] + [b"\xff tail"]  # undecoded: invalid UTF-8 stays as it came
    assert SSEParser().feed(data) == EVENTS  # decoded, the unterminated tail still waiting


def test_json_lines_raw_events():
    parser = JSONLinesParser()
    assert parser.feed_raw(b'{"a": 1}\n  \ndata: {"b": "\xc3') == [b'{"a": 1}']
    assert parser.feed_raw(b'\xa9"}\n') == ['{"b": "é"}'.encode()]
    assert parser.flush_raw() == []
