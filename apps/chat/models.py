"""Playground conversations, saved server-side per user.

A conversation talks to one endpoint, or to two side by side (lanes 0 and 1). User turns are
shared by both lanes; each assistant turn belongs to the lane (endpoint) that produced it, so
the history sent to lane L is: system prompt, every user turn, and lane L's replies.
"""

from django.conf import settings
from django.db import models

MODEL_ID_MAX = 63 + 1 + 40  # endpoint name, ':', adapter name


class Conversation(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200, default="New conversation")
    # Model ids (the gateway's `model`: an endpoint's name, or `<endpoint>:<adapter>`, see model_ids);
    # kept as names so history outlives a deleted endpoint.
    endpoint_name = models.CharField(max_length=MODEL_ID_MAX, blank=True)
    compare_endpoint_name = models.CharField(max_length=MODEL_ID_MAX, blank=True)
    system_prompt = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)  # temperature, top_p, max_tokens, stop, seed
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self):
        return self.title


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    lane = models.PositiveSmallIntegerField(null=True, blank=True)  # assistant turns only: 0 or 1
    # Plain text, or OpenAI content parts when the turn carries images.
    content = models.JSONField(default=str)
    endpoint_name = models.CharField(max_length=MODEL_ID_MAX, blank=True)  # the model id that answered
    finish_reason = models.CharField(max_length=32, blank=True)  # stop, length, cancelled, error
    error = models.TextField(blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.FloatField(null=True, blank=True)
    tokens_per_second = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.role} #{self.pk}"

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.get("text", "") for part in self.content if part.get("type") == "text")

    def as_openai(self) -> dict:
        return {"role": self.role, "content": self.content}
