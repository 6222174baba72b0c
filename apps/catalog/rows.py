"""Row shapes: which format a row is in, what is wrong with it, and its chat messages.

A `Layout` describes a detected format the way LLaMA-Factory's dataset_info.json does
(formatting, columns, tags, ranking); `problems(row, layout)` lists what is wrong with one row
in words; `to_messages(row, layout)` gives the row as chat messages for statistics and preview.
"""

from dataclasses import dataclass, field

from .formats import DatasetFormat as F

KTO_KEYS = ("kto_tag", "label")
PROMPT_KEYS = ("problem", "prompt", "question")
ANSWER_KEYS = ("answer", "ground_truth", "reference")

# Role names of each conversation style → the kind of turn they are.
SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "observation": "observation",
                  "function_call": "function", "system": "system"}
OPENAI_ROLES = {"user": "user", "assistant": "assistant", "tool": "observation", "system": "system"}
_ASKING = ("user", "observation")
_ANSWERING = ("assistant", "function")

SHAREGPT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                 "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}
OPENAI_TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
               "observation_tag": "tool", "system_tag": "system"}


@dataclass(frozen=True)
class Layout:
    format: str
    style: str  # how prompts are written: "alpaca", "sharegpt", "openai" or "flat"
    columns: dict = field(default_factory=dict)
    ranking: bool = False

    @property
    def formatting(self) -> str:
        return "sharegpt" if self.style in ("sharegpt", "openai") else "alpaca"

    @property
    def tags(self) -> dict:
        return dict(OPENAI_TAGS) if self.style == "openai" else {}

    def as_json(self) -> dict:
        """The dataset_info.json keys this layout contributes (stored on the dataset)."""
        data: dict = {"formatting": self.formatting, "columns": dict(self.columns), "style": self.style}
        if self.tags:
            data["tags"] = self.tags
        if self.ranking:
            data["ranking"] = True
        return data

    @classmethod
    def from_json(cls, fmt: str, data: dict) -> "Layout":
        return cls(fmt, data.get("style", "alpaca"), dict(data.get("columns", {})), bool(data.get("ranking")))


def _first_key(row: dict, keys) -> str | None:
    return next((k for k in keys if k in row), None)


def _conversation_style(row: dict) -> tuple[str, str] | None:
    """("sharegpt"|"openai", column) when the row holds a list of turns."""
    for column in ("messages", "conversations"):
        turns = row.get(column)
        if isinstance(turns, list) and turns and isinstance(turns[0], dict):
            if "from" in turns[0] or "value" in turns[0]:
                return "sharegpt", column
            if "role" in turns[0] or "content" in turns[0]:
                return "openai", column
    return None


MEDIA_KEYS = ("images", "videos", "audios")


def detect(row) -> Layout | None:
    """The layout one row is in, or None when it matches no known format."""
    layout = _detect_shape(row)
    if layout is None:
        return None
    extra = {k: k for k in MEDIA_KEYS if k in row}
    if layout.style in ("sharegpt", "openai"):
        extra.update({k: k for k in ("system", "tools") if k in row})
    if extra:
        layout = Layout(layout.format, layout.style, {**layout.columns, **extra}, layout.ranking)
    return layout


def _detect_shape(row) -> Layout | None:
    if not isinstance(row, dict):
        return None
    conversation = _conversation_style(row)
    kto_key = _first_key(row, KTO_KEYS)
    if conversation:
        style, column = conversation
        if "chosen" in row and "rejected" in row:
            return Layout(F.PREFERENCE, style, {"messages": column, "chosen": "chosen", "rejected": "rejected"}, True)
        if kto_key:
            return Layout(F.KTO, style, {"messages": column, "kto_tag": kto_key})
        return Layout(F.OPENAI if style == "openai" else F.SHAREGPT, style, {"messages": column})
    if "instruction" in row and "chosen" in row and "rejected" in row:
        columns = {"prompt": "instruction", "chosen": "chosen", "rejected": "rejected"}
        if "input" in row:
            columns["query"] = "input"
        return Layout(F.PREFERENCE, "alpaca", columns, True)
    if "instruction" in row and "output" in row:
        columns = {"prompt": "instruction", "response": "output"}
        for name, key in (("query", "input"), ("system", "system"), ("history", "history")):
            if key in row:
                columns[name] = key
        if kto_key:
            return Layout(F.KTO, "alpaca", {**columns, "kto_tag": kto_key})
        return Layout(F.ALPACA, "alpaca", columns)
    prompt_key, answer_key = _first_key(row, PROMPT_KEYS), _first_key(row, ANSWER_KEYS)
    if prompt_key and answer_key:
        return Layout(F.PROMPT_ANSWER, "flat", {"prompt": prompt_key, "response": answer_key})
    if "text" in row:
        return Layout(F.TEXT, "flat", {"prompt": "text"})
    if "conversations" in row or "messages" in row:
        # An empty or malformed turn list is still a conversation row; checks will say what is wrong.
        column = "messages" if "messages" in row else "conversations"
        return Layout(F.OPENAI if column == "messages" else F.SHAREGPT,
                      "openai" if column == "messages" else "sharegpt", {"messages": column})
    return None


def _type_name(value) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _text_problem(row: dict, key: str, *, required: bool = True, allow_number: bool = False) -> str | None:
    if key not in row or row[key] is None:
        return f"missing field '{key}'" if required else None
    value = row[key]
    if allow_number and isinstance(value, int | float) and not isinstance(value, bool):
        return None
    if not isinstance(value, str):
        return f"wrong type: '{key}' should be text, got {_type_name(value)}"
    if required and not value.strip():
        return f"empty field '{key}'"
    return None


def _turn_text(turn: dict, content_key: str):
    content = turn.get(content_key)
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content


def _turn_problems(turns, column: str, style: str, *, final: str) -> list[str]:
    """Problems with a list of turns; `final` is the kind the last turn must be ("assistant" or "user")."""
    if not isinstance(turns, list):
        return [f"wrong type: '{column}' should be a list of turns, got {_type_name(turns)}"]
    if not turns:
        return [f"empty field '{column}': no turns"]
    role_key, content_key = ("from", "value") if style == "sharegpt" else ("role", "content")
    roles = SHAREGPT_ROLES if style == "sharegpt" else OPENAI_ROLES
    problems, kinds = [], []
    for position, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict):
            problems.append(f"wrong type: turn {position} should be an object, got {_type_name(turn)}")
            continue
        role = turn.get(role_key)
        if role is None:
            problems.append(f"missing field '{role_key}' in turn {position}")
            continue
        if role not in roles:
            problems.append(f"unknown role '{role}' in turn {position} (expected one of {', '.join(roles)})")
            continue
        text = _turn_text(turn, content_key)
        if content_key not in turn or text is None:
            problems.append(f"missing field '{content_key}' in turn {position}")
        elif not isinstance(text, str):
            problems.append(f"wrong type: '{content_key}' of turn {position} should be text, got {_type_name(text)}")
        elif not text.strip() and roles[role] != "function":
            problems.append(f"empty turn {position} ({role})")
        kinds.append((position, role, roles[role]))
    if problems:
        return problems
    if kinds and kinds[0][2] == "system":
        kinds = kinds[1:]
    for index, (position, role, kind) in enumerate(kinds):
        expected = _ASKING if index % 2 == 0 else _ANSWERING
        if kind not in expected:
            wanted = "a user turn" if index % 2 == 0 else "an assistant turn"
            return [f"roles out of order: turn {position} is '{role}' where {wanted} was expected"]
    if final == "assistant":
        if not any(kind == "assistant" for _, _, kind in kinds):
            return ["no assistant turn"]
        if kinds[-1][2] not in _ANSWERING:
            return [f"the conversation ends with '{kinds[-1][1]}': the last turn must be the assistant's"]
    elif kinds and kinds[-1][2] not in _ASKING:
        return ["the conversation must end with a user turn (the answers are in 'chosen' and 'rejected')"]
    return []


def _kto_problem(row: dict, key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return f"missing field '{key}'"
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return None  # CSV cells are text
    return f"wrong type: '{key}' should be true or false, got {_type_name(value)}"


def _answer_problem(row: dict, key: str, style: str) -> str | None:
    """A preference answer: text (alpaca style) or one assistant message (conversation styles)."""
    if style == "alpaca":
        return _text_problem(row, key)
    value = row.get(key)
    if value is None:
        return f"missing field '{key}'"
    if not isinstance(value, dict):
        return f"wrong type: '{key}' should be an assistant message object, got {_type_name(value)}"
    role_key, content_key = ("from", "value") if style == "sharegpt" else ("role", "content")
    roles = SHAREGPT_ROLES if style == "sharegpt" else OPENAI_ROLES
    if roles.get(value.get(role_key)) != "assistant":
        return f"'{key}' must be an assistant message (got role '{value.get(role_key)}')"
    text = _turn_text(value, content_key)
    if not isinstance(text, str):
        return f"wrong type: '{key}.{content_key}' should be text, got {_type_name(text)}"
    if not text.strip():
        return f"empty field '{key}'"
    return None


def problems(row, layout: Layout) -> list[str]:
    """Everything wrong with `row` read as `layout`; empty when the row is usable."""
    if not isinstance(row, dict):
        return [f"wrong type: a row should be an object, got {_type_name(row)}"]
    cols = layout.columns
    found: list[str | None] = []
    if layout.style in ("sharegpt", "openai"):
        final = "user" if layout.ranking else "assistant"
        found.extend(_turn_problems(row.get(cols["messages"]), cols["messages"], layout.style, final=final))
    elif layout.style == "alpaca":
        found.append(_text_problem(row, cols["prompt"]))
        if "query" in cols:
            found.append(_text_problem(row, cols["query"], required=False))
        if "response" in cols:
            found.append(_text_problem(row, cols["response"]))
        if "system" in cols:
            found.append(_text_problem(row, cols["system"], required=False))
        if "history" in cols and row.get(cols["history"]) is not None:
            history = row[cols["history"]]
            if not isinstance(history, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(t, str) for t in p) for p in history
            ):
                found.append("wrong type: 'history' should be a list of [question, answer] text pairs")
    elif layout.format == F.PROMPT_ANSWER:
        found.append(_text_problem(row, cols["prompt"]))
        found.append(_text_problem(row, cols["response"], allow_number=True))
    else:
        found.append(_text_problem(row, cols["prompt"]))
    if layout.ranking:
        found.append(_answer_problem(row, "chosen", layout.style))
        found.append(_answer_problem(row, "rejected", layout.style))
    if "kto_tag" in cols:
        found.append(_kto_problem(row, cols["kto_tag"]))
    for key in MEDIA_KEYS:
        value = row.get(cols[key]) if key in cols else None
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            found.append(f"wrong type: '{key}' should be a list of file paths, got {_type_name(value)}")
    return [p for p in found if p]


def to_messages(row: dict, layout: Layout) -> list[dict]:
    """The row as chat messages ({"role", "content"}); a preference row uses its chosen answer."""
    cols = layout.columns
    if layout.style in ("sharegpt", "openai"):
        role_key, content_key = ("from", "value") if layout.style == "sharegpt" else ("role", "content")
        roles = SHAREGPT_ROLES if layout.style == "sharegpt" else OPENAI_ROLES
        kinds = {"observation": "tool", "function": "assistant"}
        messages = [
            {"role": kinds.get(roles.get(t.get(role_key), "user"), roles.get(t.get(role_key), "user")),
             "content": str(_turn_text(t, content_key) or "")}
            for t in row.get(cols["messages"]) or [] if isinstance(t, dict)
        ]
        if layout.ranking and isinstance(row.get("chosen"), dict):
            messages.append({"role": "assistant", "content": str(_turn_text(row["chosen"], content_key) or "")})
        return messages
    if layout.style == "alpaca":
        messages = []
        if row.get(cols.get("system", "")):
            messages.append({"role": "system", "content": str(row[cols["system"]])})
        for question, answer in row.get(cols.get("history", ""), None) or []:
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        prompt = str(row.get(cols["prompt"]) or "")
        query = row.get(cols.get("query", ""), "")
        if query:
            prompt = f"{prompt}\n{query}"
        answer = row.get("chosen") if layout.ranking else row.get(cols.get("response", ""), "")
        return messages + [{"role": "user", "content": prompt}, {"role": "assistant", "content": str(answer or "")}]
    if layout.format == F.PROMPT_ANSWER:
        return [{"role": "user", "content": str(row.get(cols["prompt"]) or "")},
                {"role": "assistant", "content": str(row.get(cols["response"]) or "")}]
    return [{"role": "text", "content": str(row.get(cols["prompt"]) or "")}]
