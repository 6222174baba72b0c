"""Model facts from a model's own config.json, for models the catalog does not describe.

The deploy checks need the context length (the default max model length), the attention and KV
heads (which tensor parallel sizes the engines accept) and the layer sizes (KV cache per token).
For a model in S3 (a registered prefix or a finished job's output) ModelHub reads
`<prefix>config.json`; a Hugging Face repo id outside the catalog is not looked up (ModelHub never
calls the Hub from the web process). When the file cannot be read, `ConfigRead.problem` says why
and the checks ask the user for what they would otherwise have to guess.
"""

import json
from dataclasses import dataclass, field

# config.json key(s) per fact, first match wins; vision-language models keep them under text_config.
KEYS = {
    "context_length": ("max_position_embeddings", "seq_length", "max_sequence_length", "n_positions"),
    "num_layers": ("num_hidden_layers", "num_layers", "n_layer"),
    "hidden_size": ("hidden_size", "n_embd", "d_model"),
    "num_attention_heads": ("num_attention_heads", "n_head"),
    "num_kv_heads": ("num_key_value_heads", "multi_query_group_num"),
    "head_dim": ("head_dim",),
}
MAX_CONFIG_BYTES = 1_000_000
MAX_CACHED = 256
_READ: dict[str, "ConfigRead"] = {}


@dataclass(frozen=True)
class ConfigRead:
    facts: dict = field(default_factory=dict)
    problem: str = ""  # why nothing was read ('' when facts were)


def facts_from_config(config: dict) -> dict:
    """The facts a config.json states (ints only; missing ones left out)."""
    sections = [config.get("text_config") or {}, config.get("llm_config") or {}, config]
    facts = {}
    for name, keys in KEYS.items():
        for section in sections:
            value = next((section[k] for k in keys if isinstance(section.get(k), int)
                          and not isinstance(section.get(k), bool)), None)
            if value is not None:
                facts[name] = value
                break
    return facts


def read_model_config(source_uri: str) -> ConfigRead:
    """Facts from `<source_uri>/config.json` for s3:// and file:// prefixes (cached per URI)."""
    if not source_uri.startswith(("s3://", "file://")):
        return ConfigRead(problem="ModelHub does not read config.json from the Hugging Face Hub")
    uri = source_uri.rstrip("/") + "/config.json"
    if uri not in _READ:  # a model's config does not change; failures are retried on the next request
        result = _read(uri)
        if not result.facts:
            return result
        if len(_READ) >= MAX_CACHED:
            _READ.clear()
        _READ[uri] = result
    return _READ[uri]


def _read(uri: str) -> ConfigRead:
    from apps.backends import storage

    try:
        with storage.local_copy(uri) as path:
            if path.stat().st_size > MAX_CONFIG_BYTES:
                return ConfigRead(problem=f"{uri} is larger than a model config")
            config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ConfigRead(problem=f"{uri} does not exist")
    except Exception as exc:  # any storage or parse failure: say it, never guess
        return ConfigRead(problem=f"{uri} could not be read ({type(exc).__name__}: {str(exc)[:200]})")
    if not isinstance(config, dict):
        return ConfigRead(problem=f"{uri} is not a JSON object")
    facts = facts_from_config(config)
    return ConfigRead(facts=facts) if facts else ConfigRead(problem=f"{uri} states no context length or layers")
