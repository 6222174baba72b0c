"""What an endpoint's model reads: text only, or images too, as far as ModelHub knows."""


def accepts_images(endpoint) -> bool | None:
    """True for a vision catalog model, False for a text one, None when the model is not in the catalog
    (a Hugging Face repo or an S3 prefix deployed directly): the model server will say."""
    base_model = endpoint.base_model if endpoint.base_model_id else None
    if base_model is None:
        return None
    return base_model.modality == "vision"
