"""Locust users for `bench/bench_load.py`: a signed-in API client reading its lists, and a /v1 gateway client.

The host is the ModelHub server; MH_TOKEN is an API token of a user owning the endpoint MH_MODEL (the gateway
relays to a fake upstream, so chat requests measure ModelHub, not a model).
"""

import json
import os

from locust import HttpUser, between, task

TOKEN = os.environ.get("MH_TOKEN", "")
MODEL = os.environ.get("MH_MODEL", "bench")
CHAT = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "go"}], "stream": True})


class ApiUser(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self):
        self.client.headers["Authorization"] = f"Bearer {TOKEN}"

    @task(3)
    def jobs(self):
        self.client.get("/api/v1/jobs/?page_size=50", name="/api/v1/jobs/")

    @task(2)
    def endpoints(self):
        self.client.get("/api/v1/endpoints/", name="/api/v1/endpoints/")

    @task(1)
    def me(self):
        self.client.get("/api/v1/me", name="/api/v1/me")


class GatewayUser(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self):
        self.client.headers.update({"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})

    @task(1)
    def models(self):
        self.client.get("/v1/models", name="/v1/models")

    @task(3)
    def chat(self):
        with self.client.post("/v1/chat/completions", data=CHAT, name="/v1/chat/completions",
                              catch_response=True) as response:
            if b"data: [DONE]" not in response.content:
                response.failure("the stream did not end with [DONE]")
