import re

from django.conf import settings
from rest_framework import serializers

from apps.endpoints.models import Endpoint
from apps.users.ownership import visible_to

from .completions import SAMPLING, check_sampling
from .errors import GatewayError
from .modality import accepts_images
from .model_ids import serves, split_model_id
from .models import Conversation, Message

DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$")


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "role", "lane", "content", "endpoint_name", "finish_reason", "error", "prompt_tokens",
                  "completion_tokens", "ttft_ms", "tokens_per_second", "created_at"]
        read_only_fields = fields


class ConversationSerializer(serializers.ModelSerializer):
    title = serializers.CharField(max_length=200, required=False)
    params = serializers.JSONField(required=False)

    class Meta:
        model = Conversation
        fields = ["id", "title", "endpoint_name", "compare_endpoint_name", "system_prompt", "params",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def _check_endpoint(self, name: str) -> str:
        """`name` is a model id: an endpoint's name, or `<endpoint>:<adapter>` for one of its adapters."""
        if not name:
            return name
        endpoint_name, adapter = split_model_id(name)
        endpoint = visible_to(Endpoint.objects.live(), self.context["request"].user).filter(name=endpoint_name).first()
        if endpoint is None:
            raise serializers.ValidationError(f"No endpoint named “{endpoint_name}” that you may use.")
        if not serves(endpoint, name):
            raise serializers.ValidationError(f"The endpoint “{endpoint_name}” serves no adapter named “{adapter}”.")
        return name

    def validate_endpoint_name(self, value):
        return self._check_endpoint(value)

    def validate_compare_endpoint_name(self, value):
        return self._check_endpoint(value)

    def validate_params(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        unknown = set(value) - set(SAMPLING)
        if unknown:
            raise serializers.ValidationError(f"Unknown parameter: {sorted(unknown)[0]}.")
        cleaned = {k: v for k, v in value.items() if v not in (None, "", [])}
        try:
            check_sampling(cleaned)
        except GatewayError as exc:
            raise serializers.ValidationError({exc.param: [exc.message]}) from None
        return cleaned


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = ConversationSerializer.Meta.fields + ["messages"]
        read_only_fields = ConversationSerializer.Meta.read_only_fields + ["messages"]


class UserTurnSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, required=False, default="", max_length=200_000)
    images = serializers.ListField(child=serializers.CharField(), required=False, default=list, max_length=4)

    def validate_images(self, value):
        limit = settings.CHAT_MAX_IMAGE_BYTES
        for url in value:
            if not DATA_IMAGE.match(url):
                raise serializers.ValidationError("Each image must be a base64 data URL of a PNG, JPEG, GIF or WebP.")
            if len(url) * 3 // 4 > limit:
                raise serializers.ValidationError(f"Each image must be at most {limit // (1024 * 1024)} MiB.")
        return value

    def validate(self, attrs):
        if not attrs.get("text", "").strip() and not attrs.get("images"):
            raise serializers.ValidationError({"text": ["Write a message or attach an image."]})
        conversation = self.context.get("conversation")
        if attrs.get("images") and conversation is not None:
            names = [split_model_id(n)[0] for n in (conversation.endpoint_name, conversation.compare_endpoint_name)]
            text_only = [e.name for e in Endpoint.objects.filter(name__in=[n for n in names if n])
                         .select_related("base_model") if accepts_images(e) is False]
            if text_only:
                raise serializers.ValidationError({"images": [
                    f"{' and '.join(sorted(text_only))} read{'' if len(text_only) > 1 else 's'} text only: "
                    "send the message without images, or choose a vision model."]})
        return attrs

    def content(self):
        text, images = self.validated_data["text"], self.validated_data["images"]
        if not images:
            return text
        parts = [{"type": "text", "text": text}] if text else []
        return parts + [{"type": "image_url", "image_url": {"url": url}} for url in images]
