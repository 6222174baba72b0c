"""A small ChatML renderer for previews: how one row looks to a chat model.

This is an illustration in ChatML (the format of Qwen and SmolLM2); the chat template the model
trains with (LLaMA-Factory's `template`) may wrap turns differently.
"""

PREVIEW_LABEL = "ChatML-style rendering (illustration; the model's own chat template may differ)"


def render_chatml(messages: list[dict]) -> str:
    if len(messages) == 1 and messages[0]["role"] == "text":
        return messages[0]["content"]  # pre-training text is used as it is
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
