"""Build a tiny random chat model (Qwen2 architecture, a locally trained tokenizer, a ChatML template).

Runs in the ML environment (LOCAL_PYTHON), never in the web app:

    .venv-local/bin/python apps/backends/local/tiny_model.py <folder>

Nothing is downloaded: the tokenizer is a byte-level BPE trained on the corpus below, the weights are
random (seeded, so two builds are identical). Its answers are gibberish by design; it exists so that
every job type, the deploy path and the chat path run end to end in seconds on a CPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

SEED = 1234
VOCAB_SIZE = 384
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = [
    "You are a helpful assistant.",
    "What is the capital of France? The capital of France is Paris.",
    "Write a short poem about the sea. The sea is wide and blue, it sings the whole night through.",
    "Translate hello into Spanish. Hola.",
    "What is two plus three? Two plus three is five. The answer is \\boxed{5}.",
    "Summarize: the cat sat on the mat. A cat sat on a mat.",
    "Explain gradient descent in one sentence. It takes small steps downhill on the loss.",
    "<think>Add the numbers.</think> The final answer is \\boxed{12}.",
    "system user assistant instruction input output chosen rejected question answer",
    "0 1 2 3 4 5 6 7 8 9 + - * / = ( ) [ ] { } . , ; : ! ? ' \" # $ % & @ _ < > |",
    "the quick brown fox jumps over the lazy dog THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
]


def build(folder: Path) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(SEED)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        additional_special_tokens=["<|im_start|>"], chat_template=CHAT_TEMPLATE,
                                        model_input_names=["input_ids", "attention_mask"])
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024, tie_word_embeddings=True,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    print(f"tiny chat model: {sum(p.numel() for p in model.parameters())} parameters in {folder}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: tiny_model.py <folder>")
    build(Path(sys.argv[1]))
