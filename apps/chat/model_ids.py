"""Model ids of the gateway and the playground: an endpoint's base model, or one of its LoRA adapters.

The naming rule: the base model's id is the endpoint's name (`support-bot`); an adapter's id is
`<endpoint name>:<adapter name>` (`support-bot:sql`). Endpoint names never contain ':' (letters,
digits and '-') and adapter names are unique within their endpoint, so an id names one model on
the whole installation and the first ':' splits it.

What the engine is sent as `model` (`upstream_model`): the base model's served name; for an
adapter, vLLM's name for it (`--lora-modules <name>=<path>` serves the adapter as model `<name>`),
SGLang's `<served name>:<adapter>` (`--lora-paths <name>=<path>`, selected in its OpenAI API with
`model: "<base>:<adapter>"`).
"""

from dataclasses import dataclass

SEPARATOR = ":"


def model_id(endpoint_name: str, adapter: str = "") -> str:
    return f"{endpoint_name}{SEPARATOR}{adapter}" if adapter else endpoint_name


def split_model_id(model: str) -> tuple[str, str]:
    """(endpoint name, adapter name or '') of a model id."""
    endpoint_name, _, adapter = model.partition(SEPARATOR)
    return endpoint_name, adapter


def adapters(endpoint) -> list[dict]:
    """The endpoint's LoRA adapters as deployed: [{"name", "source"}], in the spec's order."""
    return [{"name": a["name"], "source": a["source"]} for a in (endpoint.spec or {}).get("lora_adapters") or ()]


def adapter_names(endpoint) -> list[str]:
    return [a["name"] for a in adapters(endpoint)]


def adapter_models(endpoint) -> list[dict]:
    """Each adapter with the model id that selects it: [{"name", "source", "model"}] (pages and the API)."""
    return [{**a, "model": model_id(endpoint.name, a["name"])} for a in adapters(endpoint)]


def serves(endpoint, model: str) -> bool:
    """Whether `model` names the endpoint's base model or one of its adapters ('bot:' names neither)."""
    endpoint_name, adapter = split_model_id(model)
    return endpoint_name == endpoint.name and model == model_id(endpoint_name, adapter) and (
        not adapter or adapter in adapter_names(endpoint))


def upstream_model(endpoint, adapter: str = "") -> str:
    """The `model` the endpoint's engine is sent for its base model or for one of its adapters."""
    if not adapter:
        return endpoint.served_model_name
    if endpoint.engine == "sglang":
        return f"{endpoint.served_model_name}{SEPARATOR}{adapter}"
    return adapter


@dataclass(frozen=True)
class ChatModel:
    """What a model id resolved to: the endpoint that answers, the id replies carry, the engine's `model`."""

    endpoint: object  # apps.endpoints.models.Endpoint
    name: str
    upstream: str

    @classmethod
    def of(cls, endpoint, adapter: str = "") -> "ChatModel":
        return cls(endpoint, model_id(endpoint.name, adapter), upstream_model(endpoint, adapter))
