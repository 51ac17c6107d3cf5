#!/usr/bin/env python3
"""PyTorch reference speed for @codestack/runtime's bench (`npm run bench -w packages/runtime`).

The same Llama-style decoder as the runtime (RMSNorm, rotary positions, grouped-query attention,
SwiGLU feed-forward, tied embeddings), written here with PyTorch only, in float32 and eager mode.
One measurement per process, so that the bench can alternate it with its own and the thread
count is fixed before torch starts:

  python3 reference-speed.py '{"config": {...runtime ModelConfig...}, "threads": 1, "kind": "train", "steps": 5}'
      -> {"tokensPerSecond": {"wall": ..., "cpu": ...}, "threads": 1, "torch": "1.13.1"}
  python3 reference-speed.py '{"config": {...}, "threads": 1, "kind": "decode", "contexts": [64, 256, 512], "steps": 64}'
      -> {"decodeTokensPerSecond": {"64": {"wall": ..., "cpu": ...}, ...}, "threads": 1, "torch": "1.13.1"}

Rates are per wall-clock second and per CPU second of the process (all its threads).

`train` runs AdamW steps (learning rate 1e-3, weight decay 0.1) on a batch of 8 x 128 random
tokens with the next-token cross-entropy, after `warmUpSteps` untimed steps (default 20; the
bench passes its own count). `decode` feeds a random
prompt of each context length at batch 1, keeps a key/value cache, warms up 8 steps and then
times `steps` single-token steps, as generation would; an untimed pass of `warmUpSteps` steps
(default 32; the bench passes its own count) over every context comes first, the pass the
runtime's bench makes for its engine's warm-up.

Run it with OPENBLAS_NUM_THREADS (and OMP_NUM_THREADS) set to the thread count and
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset; the bench does.
"""
import json
import math
import sys
import time

import torch
from torch import nn


class RmsNorm(nn.Module):
    def __init__(self, size, epsilon):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.epsilon = epsilon

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.epsilon))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads = config["attentionHeads"]
        self.kv_heads = config["keyValueHeads"]
        self.head_dim = config["hiddenSize"] // self.heads
        hidden = config["hiddenSize"]
        self.query = nn.Linear(hidden, self.heads * self.head_dim, bias=False)
        self.key = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=False)
        self.value = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=False)
        self.output = nn.Linear(self.heads * self.head_dim, hidden, bias=False)

    def forward(self, x, cos, sin, mask, cache):
        batch, tokens, _ = x.shape
        q = self.query(x).view(batch, tokens, self.heads, self.head_dim).transpose(1, 2)
        k = self.key(x).view(batch, tokens, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.value(x).view(batch, tokens, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if cache.get("k") is not None:
                k = torch.cat((cache["k"], k), dim=2)
                v = torch.cat((cache["v"], v), dim=2)
            cache["k"], cache["v"] = k, v
        groups = self.heads // self.kv_heads
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores + mask
        attended = torch.softmax(scores, dim=-1) @ v
        return self.output(attended.transpose(1, 2).reshape(batch, tokens, self.heads * self.head_dim))


class FeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        hidden, inner = config["hiddenSize"], config["feedForwardSize"]
        self.gate = nn.Linear(hidden, inner, bias=False)
        self.up = nn.Linear(hidden, inner, bias=False)
        self.down = nn.Linear(inner, hidden, bias=False)

    def forward(self, x):
        return self.down(torch.nn.functional.silu(self.gate(x)) * self.up(x))


class Layer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention_norm = RmsNorm(config["hiddenSize"], config["normEpsilon"])
        self.attention = Attention(config)
        self.feed_forward_norm = RmsNorm(config["hiddenSize"], config["normEpsilon"])
        self.feed_forward = FeedForward(config)

    def forward(self, x, cos, sin, mask, cache):
        x = x + self.attention(self.attention_norm(x), cos, sin, mask, cache)
        return x + self.feed_forward(self.feed_forward_norm(x))


class Decoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config["vocabularySize"], config["hiddenSize"])
        self.layers = nn.ModuleList(Layer(config) for _ in range(config["layers"]))
        self.norm = RmsNorm(config["hiddenSize"], config["normEpsilon"])
        head_dim = config["hiddenSize"] // config["attentionHeads"]
        self.inverse_frequencies = 1.0 / (config["ropeTheta"] ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))

    def forward(self, tokens, caches=None, last_only=False):
        offset = 0 if caches is None or caches[0].get("k") is None else caches[0]["k"].shape[2]
        count = tokens.shape[1]
        angles = torch.outer(torch.arange(offset, offset + count, dtype=torch.float32), self.inverse_frequencies)
        angles = torch.cat((angles, angles), dim=-1)
        cos, sin = angles.cos(), angles.sin()
        mask = None if count == 1 else torch.full((count, offset + count), float("-inf")).triu(offset + 1)
        x = self.embedding(tokens)
        for index, layer in enumerate(self.layers):
            x = layer(x, cos, sin, mask, None if caches is None else caches[index])
        if last_only:
            x = x[:, -1:]
        return self.norm(x) @ self.embedding.weight.T


class Mark:
    """Wall-clock and process CPU time (all threads) since creation, as the runtime bench measures."""

    def __init__(self):
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def rate(self, units):
        """Units per wall second and per CPU second of this process (less sensitive to other load)."""
        return {"wall": round(units / (time.perf_counter() - self.wall), 1), "cpu": round(units / (time.process_time() - self.cpu), 1)}


def train(model, steps, warm_up_steps):
    vocabulary = model.config["vocabularySize"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    generator = torch.Generator().manual_seed(1)
    batch, length = 8, 128

    def step():
        tokens = torch.randint(0, vocabulary, (batch, length + 1), generator=generator)
        logits = model(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocabulary), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(warm_up_steps):
        step()
    started = Mark()
    for _ in range(steps):
        step()
    return {"tokensPerSecond": started.rate(batch * length * steps), "batch": f"{batch}x{length}"}


def decode(model, contexts, steps, warm_up_steps):
    vocabulary = model.config["vocabularySize"]
    generator = torch.Generator().manual_seed(2)
    rates = {}

    def rate(context, timed):
        caches = [{} for _ in model.layers]
        prompt = torch.randint(0, vocabulary, (1, context), generator=generator)
        token = model(prompt, caches, last_only=True)[:, -1].argmax(-1, keepdim=True)
        for _ in range(8):
            token = model(token, caches)[:, -1].argmax(-1, keepdim=True)
        started = Mark()
        for _ in range(timed):
            token = model(token, caches)[:, -1].argmax(-1, keepdim=True)
        return started.rate(timed)

    with torch.inference_mode():
        # One untimed pass over every context first, as the runtime's bench makes (it needs one for
        # its engine's warm-up): the same method on both sides.
        for context in contexts:
            rate(context, warm_up_steps)
        for context in contexts:
            rates[str(context)] = rate(context, steps)
    return {"decodeTokensPerSecond": rates}


def main():
    job = json.loads(sys.argv[1])
    torch.set_num_threads(int(job["threads"]))
    torch.manual_seed(0)
    model = Decoder(job["config"])
    if job["kind"] == "train":
        result = train(model, int(job.get("steps", 5)), int(job.get("warmUpSteps", 20)))
    else:
        result = decode(model, job.get("contexts", [64, 256, 512]), int(job.get("steps", 64)), int(job.get("warmUpSteps", 32)))
    result.update({"threads": torch.get_num_threads(), "torch": torch.__version__})
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
