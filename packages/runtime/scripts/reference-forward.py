#!/usr/bin/env python3
"""Reference forward pass of Hugging Face `llama`, `qwen2` and `qwen3` causal language models.

Written from the architecture definitions (not copied from transformers), with PyTorch only, to
check @codestack/runtime's numerics: it reads a checkpoint directory (`config.json` with
`model.safetensors` or `model.safetensors.index.json` and its shards; F32, F16, BF16 weights,
computed in float32) and answers jobs read as JSON from stdin:

  [{"directory": "...", "tokens": [1, 2, 3], "greedySteps": 8}, ...]
      -> [{"logits": [[...] per position], "greedy": [8 token ids]}, ...]
  [{"directory": "...", "bench": {"promptTokens": 1000, "decodeTokens": 32}}]
      -> [{"timeToFirstTokenSeconds": ..., "decodeTokensPerSecond": ...}]

`greedy` is computed by a full forward over the growing sequence at every step (no cache), so it
also checks a cache-based decoder. The bench uses a key/value cache, as generation would.

Usage: python3 reference-forward.py < jobs.json > answers.json
"""
import json
import math
import os
import struct
import sys
import time

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as handle:
        data = handle.read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + length])
    start = 8 + length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = bytearray(data[start + begin : start + end])
        tensors[name] = torch.frombuffer(raw, dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"]).to(torch.float32)
    return tensors


def read_weights(directory):
    single = os.path.join(directory, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    with open(os.path.join(directory, "model.safetensors.index.json")) as handle:
        index = json.load(handle)
    weights = {}
    for shard in sorted(set(index["weight_map"].values())):
        weights.update(read_safetensors(os.path.join(directory, shard)))
    return weights


class Model:
    """The decoder of LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM, in float32."""

    def __init__(self, directory):
        with open(os.path.join(directory, "config.json")) as handle:
            config = json.load(handle)
        self.config = config
        self.type = config.get("model_type", "llama")
        assert self.type in ("llama", "mistral", "qwen2", "qwen3"), self.type
        self.weights = read_weights(directory)
        self.hidden = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads") or self.heads
        default_head = 128 if self.type == "qwen3" else self.hidden // self.heads
        self.head_dim = config.get("head_dim") or default_head
        self.layers = config["num_hidden_layers"]
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.tied = config.get("tie_word_embeddings", False)
        self.inv_freq = self.rope_frequencies()

    def rope_frequencies(self):
        config = self.config
        base = config.get("rope_theta", 10000.0)
        dim = self.head_dim
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(torch.float64) / dim))
        scaling = config.get("rope_scaling")
        kind = None if scaling is None else scaling.get("rope_type", scaling.get("type"))
        if kind == "linear":
            inv_freq = inv_freq / scaling["factor"]
        elif kind == "llama3":
            factor = scaling["factor"]
            low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
            original = scaling["original_max_position_embeddings"]
            wavelength = 2 * math.pi / inv_freq
            scaled = torch.where(wavelength > original / low, inv_freq / factor, inv_freq)
            smooth = (original / wavelength - low) / (high - low)
            smoothed = (1 - smooth) * scaled / factor + smooth * scaled
            medium = (wavelength >= original / high) & (wavelength <= original / low)
            inv_freq = torch.where(medium, smoothed, scaled)
        else:
            assert kind in (None, "default"), kind
        return inv_freq

    def weight(self, name):
        return self.weights[name]

    def linear(self, x, name):
        out = x @ self.weight(name + ".weight").T
        bias = self.weights.get(name + ".bias")
        return out if bias is None else out + bias

    def rms_norm(self, x, weight):
        variance = x.pow(2).mean(-1, keepdim=True)
        return weight * (x * torch.rsqrt(variance + self.eps))

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def forward(self, tokens, cache=None):
        """Logits [len(tokens), vocabulary] for `tokens` continuing the cached ones (cache: list of (k, v) per layer)."""
        offset = 0 if cache is None or cache[0] is None else cache[0][0].shape[1]
        count = len(tokens)
        x = self.weight("model.embed_tokens.weight")[torch.tensor(tokens)]
        positions = torch.arange(offset, offset + count, dtype=torch.float64)
        angles = torch.outer(positions, self.inv_freq)
        angles = torch.cat((angles, angles), dim=-1)
        cos, sin = angles.cos().to(torch.float32), angles.sin().to(torch.float32)
        mask = torch.full((count, offset + count), float("-inf")).triu(offset + 1)
        groups = self.heads // self.kv_heads
        for layer in range(self.layers):
            prefix = f"model.layers.{layer}"
            h = self.rms_norm(x, self.weight(f"{prefix}.input_layernorm.weight"))
            q = self.linear(h, f"{prefix}.self_attn.q_proj").view(count, self.heads, self.head_dim)
            k = self.linear(h, f"{prefix}.self_attn.k_proj").view(count, self.kv_heads, self.head_dim)
            v = self.linear(h, f"{prefix}.self_attn.v_proj").view(count, self.kv_heads, self.head_dim)
            if self.type == "qwen3":
                q = self.rms_norm(q, self.weight(f"{prefix}.self_attn.q_norm.weight"))
                k = self.rms_norm(k, self.weight(f"{prefix}.self_attn.k_norm.weight"))
            q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)  # [heads, tokens, head_dim]
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if cache is not None:
                if cache[layer] is not None:
                    k = torch.cat((cache[layer][0], k), dim=1)
                    v = torch.cat((cache[layer][1], v), dim=1)
                cache[layer] = (k, v)
            k = k.repeat_interleave(groups, dim=0)
            v = v.repeat_interleave(groups, dim=0)
            scores = q @ k.transpose(1, 2) / math.sqrt(self.head_dim) + mask
            attended = (torch.softmax(scores, dim=-1) @ v).transpose(0, 1).reshape(count, self.heads * self.head_dim)
            x = x + self.linear(attended, f"{prefix}.self_attn.o_proj")
            h = self.rms_norm(x, self.weight(f"{prefix}.post_attention_layernorm.weight"))
            gate = torch.nn.functional.silu(self.linear(h, f"{prefix}.mlp.gate_proj"))
            x = x + self.linear(gate * self.linear(h, f"{prefix}.mlp.up_proj"), f"{prefix}.mlp.down_proj")
        x = self.rms_norm(x, self.weight("model.norm.weight"))
        head = self.weight("model.embed_tokens.weight" if self.tied else "lm_head.weight")
        return x @ head.T


def answer(job):
    model = Model(job["directory"])
    with torch.no_grad():
        if "bench" in job:
            settings = job["bench"]
            prompt = [index % model.config["vocab_size"] for index in range(settings["promptTokens"])]
            cache = [None] * model.layers
            started = time.perf_counter()
            token = int(model.forward(prompt, cache)[-1].argmax())
            first = time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(settings["decodeTokens"]):
                token = int(model.forward([token], cache)[-1].argmax())
            decode = time.perf_counter() - started
            return {
                "timeToFirstTokenSeconds": first,
                "decodeTokensPerSecond": settings["decodeTokens"] / decode,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
            }
        tokens = list(job["tokens"])
        logits = model.forward(tokens)
        greedy = []
        sequence = list(tokens)
        for _ in range(job.get("greedySteps", 0)):
            token = int(model.forward(sequence)[-1].argmax())
            greedy.append(token)
            sequence.append(token)
        return {"logits": logits.tolist(), "greedy": greedy}


def main():
    jobs = json.load(sys.stdin)
    json.dump([answer(job) for job in jobs], sys.stdout)


if __name__ == "__main__":
    main()
