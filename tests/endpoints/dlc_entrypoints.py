"""Test oracle: the SageMaker vLLM / SGLang DLC entrypoints' environment → argv rules, ported from their sources.

Each function turns a container environment into the argv the entrypoint execs, following the script
of aws/deep-learning-containers at the commit named, line for line (bash word handling included):

| function | source file @ commit | generation |
|---|---|---|
| vllm_gen1 | vllm/build_artifacts/sagemaker_entrypoint.sh @ 24c351b093 (2025-10-13) | values passed as they are |
| vllm_gen2 | scripts/docker/vllm/sagemaker_entrypoint.sh @ 959bbf5c18 (2026-06-24) | true/false switches, model default |
| vllm_gen3 | scripts/docker/vllm/sagemaker_entrypoint.sh + sagemaker_args.py @ dceae13291 (2026-08-19) | sorted keys, JSON lists split |
| sglang_old | sglang/build_artifacts/sagemaker_entrypoint.sh @ fd8fd7f8f4 (2025-11-11) | values passed as they are |
| sglang_current | scripts/docker/sglang/sagemaker_entrypoint.sh @ e0ecedea6a (2026-08-21) | true/false switches |

The bash scripts read `env | grep "^PREFIX"` line by line with `IFS='=' read -r key value`: the key
ends at the first '=', the value is the rest, except that bash drops one trailing '=' when it is the
only other '=' in the line ("a=b=" gives value "b"). `env` lists variables in environment order,
which the dicts here keep.
"""

import json

VLLM_LAUNCHER = ["python3", "-m", "vllm.entrypoints.openai.api_server"]
SGLANG_LAUNCHER = ["python3", "-m", "sglang.launch_server"]
MIDDLEWARE = ["--middleware", "sagemaker_serve.SageMakerRouteMiddleware"]  # AL2023 images only
MODEL_DIR = "/opt/ml/model"


def _bash_read(line: str) -> tuple[str, str]:
    key, _, value = line.partition("=")
    if value.endswith("=") and "=" not in value[:-1]:
        value = value[:-1]
    return key, value


def _env_lines(env: dict[str, str], prefix: str) -> list[tuple[str, str]]:
    return [_bash_read(f"{k}={v}") for k, v in env.items() if k.startswith(prefix)]


def _flag(key: str, prefix: str) -> str:
    return "--" + key[len(prefix):].lower().replace("_", "-")


def _bash_loop(env: dict[str, str], prefix: str, switches: bool) -> list[str]:
    args: list[str] = []
    for key, value in _env_lines(env, prefix):
        flag = _flag(key, prefix)
        if switches and value.lower() == "true":
            args.append(flag)
        elif switches and value.lower() == "false":
            continue
        else:
            args.append(flag)
            if value:
                args.append(value)
    return args


def vllm_gen1(env: dict[str, str]) -> list[str]:
    return VLLM_LAUNCHER + ["--port", "8080"] + _bash_loop(env, "SM_VLLM_", switches=False)


def vllm_gen2(env: dict[str, str], *, model_dir_populated: bool = True, al2023: bool = False) -> list[str]:
    args = ["--port", "8080"]
    if not env.get("SM_VLLM_MODEL"):
        if model_dir_populated:
            args += ["--model", MODEL_DIR]
        elif env.get("HF_MODEL_ID"):
            args += ["--model", env["HF_MODEL_ID"]]
    args += _bash_loop(env, "SM_VLLM_", switches=True)
    return ["standard-supervisor"] + VLLM_LAUNCHER + args + (MIDDLEWARE if al2023 else [])


def _gen3_token(element) -> str:
    if isinstance(element, dict | list):
        return json.dumps(element, separators=(",", ":"))
    if isinstance(element, bool):
        return "true" if element else "false"
    return "" if element is None else str(element)


def _gen3_objects(value: str) -> list | None:
    decoder, objects, index = json.JSONDecoder(), [], 0
    while index < len(value):
        try:
            parsed, index = decoder.raw_decode(value, index)
        except ValueError:
            return None
        if not isinstance(parsed, dict):
            return None
        objects.append(parsed)
        while index < len(value) and value[index].isspace():
            index += 1
    return objects or None


def _gen3_tokens(flag: str, value: str) -> list[str] | None:
    if not value:
        return []
    stripped = value.strip()
    if flag in ("--allowed-origins", "--allowed-methods", "--allowed-headers", "--middleware"):
        return [value]
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            return [value]
        if isinstance(parsed, list):
            return [_gen3_token(e) for e in parsed] if parsed else None
        return [value]
    if stripped.startswith("{") and stripped.endswith("}"):
        objects = _gen3_objects(stripped)
        if objects is not None and len(objects) > 1:
            return [json.dumps(o, separators=(",", ":")) for o in objects]
    return [value]


def vllm_gen3(env: dict[str, str], *, model_dir_populated: bool = True, al2023: bool = False) -> list[str]:
    args = ["--port", "8080"]
    if not env.get("SM_VLLM_MODEL"):
        if model_dir_populated:
            args += ["--model", MODEL_DIR]
        elif env.get("HF_MODEL_ID"):
            args += ["--model", env["HF_MODEL_ID"]]
    for key in sorted(env):
        if not key.startswith("SM_VLLM_"):
            continue
        flag, value = _flag(key, "SM_VLLM_"), env[key]
        lowered = value.strip().lower()
        if lowered == "true":
            args.append(flag)
            continue
        if lowered == "false":
            continue
        tokens = _gen3_tokens(flag, value)
        if tokens is None:
            continue
        args += [flag, *tokens]
    return ["standard-supervisor"] + VLLM_LAUNCHER + args + (MIDDLEWARE if al2023 else [])


def _sglang(env: dict[str, str], switches: bool) -> list[str]:
    args = _bash_loop(env, "SM_SGLANG_", switches=switches)
    joined = " " + " ".join(args) + " "  # [[ " ${ARGS[@]} " =~ " --port " ]]
    if " --port " not in joined:
        args += ["--port", env.get("SM_SGLANG_PORT") or "8080"]
    if " --host " not in joined:
        args += ["--host", env.get("SM_SGLANG_HOST") or "0.0.0.0"]
    if " --model-path " not in joined:
        args += ["--model-path", env.get("SM_SGLANG_MODEL_PATH") or MODEL_DIR]
    return SGLANG_LAUNCHER + args


def sglang_old(env: dict[str, str]) -> list[str]:
    return _sglang(env, switches=False)


def sglang_current(env: dict[str, str]) -> list[str]:
    return _sglang(env, switches=True)


GENERATIONS = {
    "vllm": {"gen1": vllm_gen1, "gen2": vllm_gen2, "gen2-al2023": lambda env: vllm_gen2(env, al2023=True),
             "gen3": vllm_gen3, "gen3-al2023": lambda env: vllm_gen3(env, al2023=True)},
    "sglang": {"old": sglang_old, "current": sglang_current},
}


def engine_args(engine: str, argv: list[str]) -> list[str]:
    """The flags after the launcher (and the supervisor), what the engine's argument parser sees."""
    launcher = VLLM_LAUNCHER if engine == "vllm" else SGLANG_LAUNCHER
    start = next(i for i in range(len(argv)) if argv[i:i + len(launcher)] == launcher)
    return argv[start + len(launcher):]
