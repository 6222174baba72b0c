"""A small OpenAI-compatible chat server on transformers, for local endpoints without vLLM/SGLang.

    <LOCAL_PYTHON> apps/backends/local/server.py --model <folder> --served-model-name <name> --port <n>

Why ours and not `transformers serve`: the transformers that LLaMA-Factory 0.9.4 pins (4.57.1) has
`transformers serve`, but a generation error there leaves the stream open forever (the worker thread
dies, no chunk and no end follow), `/v1/models` lists Hub models rather than the one served, and its
stream has no `data: [DONE]`. This server loads one model (a full model folder, or a LoRA adapter
folder merged into its base), answers `GET /health` only once the model is loaded, serves
`GET /v1/models` and `POST /v1/chat/completions` (streamed as SSE chunks ending with `data: [DONE]`,
or whole), one generation at a time, and stops generating when the client goes away.
Runs in the ML environment; offline (HF_HUB_OFFLINE).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
import uuid
from pathlib import Path

import torch
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

DEFAULT_MAX_TOKENS = 256


def load(folder: str, device: str):
    path = Path(folder)
    if (path / "adapter_config.json").exists():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(folder).merge_and_unload()
        base = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
        tokenizer_from = folder if (path / "tokenizer_config.json").exists() else base
    else:
        model = AutoModelForCausalLM.from_pretrained(folder)
        tokenizer_from = folder
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_from)
    return model.to(device).eval(), tokenizer


class Cancelled(StoppingCriteria):
    def __init__(self):
        self.event = threading.Event()

    def __call__(self, input_ids, scores, **kwargs):
        return self.event.is_set()


def error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)


class ChatServer:
    def __init__(self, model, tokenizer, served_name: str):
        self.model, self.tokenizer, self.name = model, tokenizer, served_name
        self.lock = asyncio.Lock()

    def prepare(self, body: dict):
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValueError("messages must be a non-empty list")
        for message in messages:
            if isinstance(message.get("content"), list):  # OpenAI content parts: keep the text ones
                message["content"] = "".join(p.get("text", "") for p in message["content"] if isinstance(p, dict))
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
        max_tokens = int(body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS)
        temperature = 1.0 if body.get("temperature") is None else float(body["temperature"])
        kwargs = {"input_ids": ids.to(self.model.device), "attention_mask": torch.ones_like(ids).to(self.model.device),
                  "max_new_tokens": max_tokens, "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id}
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_p=float(body.get("top_p") or 1.0))
        else:
            kwargs.update(do_sample=False)
        if body.get("seed") is not None:
            torch.manual_seed(int(body["seed"]))
        return kwargs

    def start(self, kwargs) -> tuple[TextIteratorStreamer, Cancelled, dict, threading.Thread]:
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        cancel = Cancelled()
        result: dict = {}

        def generate():
            try:
                out = self.model.generate(**kwargs, streamer=streamer, stopping_criteria=StoppingCriteriaList([cancel]))
                result["completion_tokens"] = int(out.shape[-1] - kwargs["input_ids"].shape[-1])
            except Exception as exc:  # noqa: BLE001 - reported to the client, never a hung stream
                result["error"] = f"{type(exc).__name__}: {exc}"
                streamer.end()

        thread = threading.Thread(target=generate, daemon=True)
        thread.start()
        return streamer, cancel, result, thread

    def usage(self, kwargs, result) -> dict:
        prompt = int(kwargs["input_ids"].shape[-1])
        completion = result.get("completion_tokens", 0)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    @staticmethod
    def finish_reason(kwargs, result) -> str:
        return "length" if result.get("completion_tokens", 0) >= kwargs["max_new_tokens"] else "stop"

    async def chat(self, request: Request):
        try:
            body = await request.json()
            kwargs = self.prepare(body)
        except (ValueError, TypeError, KeyError) as exc:
            return error(400, f"Invalid request: {exc}")
        created, cid = int(time.time()), f"chatcmpl-{uuid.uuid4().hex}"
        if body.get("stream"):
            return StreamingResponse(self.stream(kwargs, body, cid, created), media_type="text/event-stream")
        async with self.lock:
            streamer, _, result, thread = self.start(kwargs)
            text = "".join([piece async for piece in _aiter(streamer)])
            await asyncio.get_running_loop().run_in_executor(None, thread.join)
        if "error" in result:
            return error(500, result["error"], "server_error")
        return JSONResponse({
            "id": cid, "object": "chat.completion", "created": created, "model": self.name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": self.finish_reason(kwargs, result)}],
            "usage": self.usage(kwargs, result)})

    async def stream(self, kwargs, body, cid, created):
        def chunk(delta, finish=None, **extra):
            data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": self.name,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
            return f"data: {json.dumps(data)}\n\n".encode()

        async with self.lock:
            streamer, cancel, result, thread = self.start(kwargs)
            try:
                yield chunk({"role": "assistant", "content": ""})
                async for piece in _aiter(streamer):
                    if piece:
                        yield chunk({"content": piece})
                await asyncio.get_running_loop().run_in_executor(None, thread.join)
                if "error" in result:
                    yield f"data: {json.dumps({'error': {'message': result['error'], 'type': 'server_error'}})}\n\n".encode()
                else:
                    include_usage = (body.get("stream_options") or {}).get("include_usage")
                    extra = {"usage": self.usage(kwargs, result)} if include_usage else {}
                    yield chunk({}, self.finish_reason(kwargs, result), **extra)
                yield b"data: [DONE]\n\n"
            finally:
                cancel.event.set()  # the client went away (or we finished): stop generating

    async def models(self, request: Request):
        return JSONResponse({"object": "list", "data": [{"id": self.name, "object": "model", "owned_by": "modelhub"}]})

    async def health(self, request: Request):
        return JSONResponse({"status": "ok"})


async def _aiter(streamer: TextIteratorStreamer):
    """The streamer's pieces without blocking the event loop."""
    loop = asyncio.get_running_loop()
    sentinel = object()
    while True:
        piece = await loop.run_in_executor(None, next, streamer, sentinel)
        if piece is sentinel:
            return
        yield piece


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--served-model-name", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    started = time.monotonic()
    model, tokenizer = load(args.model, args.device)
    print(f"[modelhub-local] loaded {args.model} on {args.device} in {time.monotonic() - started:.1f} s", flush=True)
    server = ChatServer(model, tokenizer, args.served_model_name)
    app = Starlette(routes=[
        Route("/health", server.health), Route("/v1/models", server.models),
        Route("/v1/chat/completions", server.chat, methods=["POST"]),
    ])
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
