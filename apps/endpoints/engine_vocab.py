"""What each serving engine accepts: argument names, choices, tool-call and reasoning parsers.

The deploy checks (apps/endpoints/checks.py) offer and accept only these, so a spec ModelHub takes is
not refused by the engine at start-up; the tests run every rendered argv against `FLAGS`.

Read from the engines' sources (the registries they look names up in):
- vLLM: `vllm/tool_parsers/__init__.py` (_TOOL_PARSERS_TO_REGISTER), `vllm/reasoning/__init__.py`
  (_REASONING_PARSERS_TO_REGISTER), `vllm/config/lora.py` (MaxLoRARanks), `vllm/engine/arg_utils.py` at
  commit 0064cc9cb1ae57b1308015d48a57462fa27a68f2.
- SGLang: `python/sglang/srt/function_call/function_call_parser.py` (ToolCallParserEnum) at commit
  00828e568a0030e197c825dfa20f5a180b143d04, `python/sglang/srt/parser/reasoning_parser.py`
  (ReasoningParser.DetectorMap) at 002e9bfc90a037dc912d3e8525dee06d5d789aa8, `server_args.py`.
These are the newest sources available to us, not the exact release tags of the DLC versions
ModelHub deploys by default (settings.SERVING_VERSION_*: vLLM 0.30.0, SGLang 0.5.20); `SOURCE`
records which. LMI (djl-inference) runs vLLM underneath and takes vLLM's parser names.
"""

SOURCE = {
    "vllm": {"commit": "0064cc9cb1ae57b1308015d48a57462fa27a68f2", "for_version": "0.30.0"},
    "sglang": {"commit": "00828e568a0030e197c825dfa20f5a180b143d04", "for_version": "0.5.20"},
}

TOOL_CALL_PARSERS = {
    "vllm": frozenset({
        "apertus", "cohere_command3", "cohere_command4", "deepseek_v3", "deepseek_v31", "deepseek_v32",
        "deepseek_v4", "ernie45", "functiongemma", "gemma4", "gigachat3", "glm45", "glm47", "granite",
        "granite-20b-fc", "granite4", "hermes", "hunyuan_a13b", "hy_v3", "inkling", "internlm", "jamba",
        "kimi_k2", "kimi_k3", "lfm2", "llama3_json", "llama4_json", "llama4_pythonic", "longcat", "mimo",
        "minicpm5", "minimax_m2", "minimax_m3", "mistral", "olmo3", "openai", "phi4_mini_json", "poolside_v1",
        "pythonic", "qwen3_coder", "qwen3_xml", "seed_oss", "solar_open2", "step3", "step3p5", "xlam",
    }),
    "sglang": frozenset({
        "apertus2509", "cohere_command4", "deepseekv3", "deepseekv31", "deepseekv32", "deepseekv4", "dots",
        "gemma4", "gigachat3", "gigachat35", "glm", "glm45", "glm47", "gpt-oss", "hermes", "hunyuan", "inkling",
        "interns1", "k2_horizon", "kimi_k2", "kimi_k3", "lfm2", "ling3", "llama3", "mimo", "minicpm5",
        "minimax-m2", "minimax-m3", "mistral", "muse", "poolside_v1", "pythonic", "qwen", "qwen25",
        "qwen3_coder", "spark25", "step3", "step3p5", "trinity",
    }),
}
TOOL_CALL_PARSERS["lmi"] = TOOL_CALL_PARSERS["vllm"]

REASONING_PARSERS = {
    "vllm": frozenset({
        "cohere_command3", "cohere_command4", "deepseek_r1", "deepseek_v3", "deepseek_v4", "ernie45", "gemma4",
        "glm45", "glm47", "granite", "holo2", "hunyuan_a13b", "hy_v3", "inkling", "kimi_k2", "kimi_k3", "mimo",
        "minimax_m2", "minimax_m2_append_think", "minimax_m3", "mistral", "nemotron_v3", "olmo3",
        "openai_gptoss", "poolside_v1", "qwen3", "seed_oss", "solar_open2", "step3", "step3p5",
    }),
    "sglang": frozenset({
        "apertus2509", "cohere_command4", "deepseek-r1", "deepseek-v3", "deepseek-v4", "gemma4", "glm45",
        "gpt-oss", "hunyuan", "inkling", "interns1", "kimi", "kimi_k2", "kimi_k3", "mimo", "minimax",
        "minimax-append-think", "minimax-m3", "mistral", "nemotron_3", "poolside_v1", "qwen3", "qwen3-thinking",
        "step3", "step3p5", "telechat4",
    }),
    "lmi": frozenset(),  # ModelHub passes no reasoning parser to LMI
}

# Choices of the arguments ModelHub renders.
DTYPES = {"vllm": ("auto", "half", "float16", "bfloat16", "float", "float32"),
          "sglang": ("auto", "half", "float16", "bfloat16", "float", "float32")}
QUANTIZATIONS = {
    "vllm": frozenset({"awq", "gptq", "fp8", "bitsandbytes"}),  # a subset of vLLM's QuantizationMethods
    "sglang": frozenset({"awq", "gptq", "fp8", "bitsandbytes"}),  # a subset of server_args QUANTIZATION_CHOICES
}
MAX_LORA_RANKS = {"vllm": (1, 8, 16, 32, 64, 128, 256, 320, 512)}

# Every flag ModelHub may pass (engines.OPTIONS plus --host/--port), with how many values it takes:
# 0 = a switch, 1 = one value, "+" = one or more.
FLAGS = {
    "vllm": {
        "--model": 1, "--served-model-name": "+", "--max-model-len": 1, "--tensor-parallel-size": 1,
        "--max-num-seqs": 1, "--gpu-memory-utilization": 1, "--dtype": 1, "--quantization": 1,
        "--enable-prefix-caching": 0, "--no-enable-prefix-caching": 0, "--enforce-eager": 0,
        "--trust-remote-code": 0, "--chat-template": 1, "--enable-auto-tool-choice": 0, "--tool-call-parser": 1,
        "--reasoning-parser": 1, "--limit-mm-per-prompt": 1, "--enable-lora": 0, "--lora-modules": "+",
        "--max-loras": 1, "--max-lora-rank": 1, "--host": 1, "--port": 1, "--middleware": 1,
    },
    "sglang": {
        "--model-path": 1, "--served-model-name": 1, "--context-length": 1, "--tp-size": 1,
        "--max-running-requests": 1, "--mem-fraction-static": 1, "--dtype": 1, "--quantization": 1,
        "--disable-radix-cache": 0, "--disable-cuda-graph": 0, "--trust-remote-code": 0, "--chat-template": 1,
        "--tool-call-parser": 1, "--reasoning-parser": 1, "--enable-lora": 0, "--lora-paths": "+",
        "--max-loras-per-batch": 1, "--max-lora-rank": 1, "--enable-metrics": 0, "--host": 1, "--port": 1,
    },
}
CHOICES = {
    "vllm": {"--dtype": DTYPES["vllm"], "--quantization": QUANTIZATIONS["vllm"],
             "--tool-call-parser": TOOL_CALL_PARSERS["vllm"], "--reasoning-parser": REASONING_PARSERS["vllm"],
             "--max-lora-rank": tuple(str(r) for r in MAX_LORA_RANKS["vllm"])},
    "sglang": {"--dtype": DTYPES["sglang"], "--quantization": QUANTIZATIONS["sglang"],
               "--tool-call-parser": TOOL_CALL_PARSERS["sglang"], "--reasoning-parser": REASONING_PARSERS["sglang"]},
}


def argv_problems(engine: str, argv: list[str]) -> list[str]:
    """Why the engine's argument parser would refuse `argv` (flags and values after the launcher); []: none."""
    flags, choices = FLAGS[engine], CHOICES[engine]
    problems, i = [], 0
    while i < len(argv):
        flag = argv[i]
        if flag not in flags:
            problems.append(f"{engine} has no argument {flag!r}")
            i += 1
            continue
        arity = flags[flag]
        values = []
        i += 1
        while i < len(argv) and not argv[i].startswith("--") and (arity == "+" or len(values) < arity):
            values.append(argv[i])
            i += 1
        if arity == 0 and values or arity == 1 and len(values) != 1 or arity == "+" and not values:
            problems.append(f"{flag} takes {arity} value(s), got {values}")
        for value in values:
            if flag in choices and value not in choices[flag]:
                problems.append(f"{flag} {value!r} is not one of {engine}'s choices")
    return problems
