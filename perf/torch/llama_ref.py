"""PyTorch twin of code2lora's Llama model, for the parity check and the speed benchmark.

Reads weights from a safetensors file (parsed here with json+struct+numpy: torch 1.13 from Debian has
no safetensors module) so both frameworks start from identical bytes.

  llama_ref.py parity IN_DIR OUT_FILE   -> logits, loss and LoRA gradients as safetensors
  llama_ref.py peft MODEL_DIR ADAPTER_DIR INPUTS OUT_FILE
                                        -> logits with and without a PEFT adapter directory, read as
                                           PEFT reads it (peft_lora below)
  llama_ref.py bench  CONFIG_JSON       -> {"tokens_per_s": ...} for full training steps
"""
import json
import math
import re
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        arr = np.frombuffer(raw[base + b:base + e], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def write_safetensors(path, tensors):
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().cpu().numpy().astype(np.float32))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        chunks.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Llama(torch.nn.Module):
    """Hugging Face Llama semantics: RMSNorm, rotate_half RoPE, GQA, SwiGLU, no biases.

    model_type "qwen2" adds the q/k/v projection biases (Qwen2Attention); "qwen3" applies an RMSNorm
    over each head's head_dim values of q and k before the rotary step (Qwen3Attention's q_norm/k_norm).
    """

    def __init__(self, cfg, weights, lora=None, lora_scaling=1.0):
        super().__init__()
        self.cfg = cfg
        self.w = torch.nn.ParameterDict({k.replace(".", "__"): torch.nn.Parameter(v) for k, v in weights.items()})
        self.lora = lora or {}
        self.scaling = lora_scaling
        D = cfg["head_dim"]
        inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
        self.inv_freq = inv

    def p(self, name):
        return self.w[name.replace(".", "__")]

    def has(self, name):
        return name.replace(".", "__") in self.w

    def proj(self, x, layer, module, weight, bias=None):
        y = x @ weight.t()
        if bias is not None:
            y = y + bias
        key = f"{layer}.{module}"
        if key in self.lora:
            A, B, *s = self.lora[key]  # an optional third item is a per-projection scaling
            y = y + (s[0] if s else self.scaling) * ((x @ A.t()) @ B.t())
        return y

    def rms(self, x, w):
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.cfg["rms_norm_eps"]) * w

    def forward(self, ids, mask):
        cfg = self.cfg
        B, T = ids.shape
        H, KV, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
        pos = (mask.long().cumsum(-1) - 1).clamp(min=0) * mask.long()
        ang = pos[..., None].float() * self.inv_freq  # [B,T,D/2]
        cos = torch.cat((ang.cos(), ang.cos()), -1)[:, :, None, :]
        sin = torch.cat((ang.sin(), ang.sin()), -1)[:, :, None, :]
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        allowed = causal[None, None] & mask.bool()[:, None, None, :]  # [B,1,T,T]
        visible = allowed.any(-1, keepdim=True)  # [B,1,T,1]
        x = self.p("model.embed_tokens.weight")[ids]
        for l in range(cfg["num_hidden_layers"]):
            pre = f"model.layers.{l}."
            h = self.rms(x, self.p(pre + "input_layernorm.weight"))
            qwen2 = cfg.get("model_type") == "qwen2"
            bias = (lambda m: self.p(pre + f"self_attn.{m}.bias")) if qwen2 else (lambda m: None)
            q = self.proj(h, l, "q_proj", self.p(pre + "self_attn.q_proj.weight"), bias("q_proj")).view(B, T, H, D)
            k = self.proj(h, l, "k_proj", self.p(pre + "self_attn.k_proj.weight"), bias("k_proj")).view(B, T, KV, D)
            v = self.proj(h, l, "v_proj", self.p(pre + "self_attn.v_proj.weight"), bias("v_proj")).view(B, T, KV, D)
            if cfg.get("model_type") == "qwen3":
                q = self.rms(q, self.p(pre + "self_attn.q_norm.weight"))
                k = self.rms(k, self.p(pre + "self_attn.k_norm.weight"))
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            rep = H // KV
            if rep > 1:
                k = k.repeat_interleave(rep, dim=2)
                v = v.repeat_interleave(rep, dim=2)
            q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B,H,T,D]
            s = (q @ k.transpose(-1, -2)) / math.sqrt(D)
            # A query with no visible key (a left pad) outputs zeros, as in code2lora, without NaNs.
            s = s.masked_fill(~allowed, float("-inf")).masked_fill(~visible, 0.0)
            pr = torch.softmax(s, -1) * visible
            a = (pr @ v).transpose(1, 2).reshape(B, T, H * D)
            x = x + self.proj(a, l, "o_proj", self.p(pre + "self_attn.o_proj.weight"))
            h2 = self.rms(x, self.p(pre + "post_attention_layernorm.weight"))
            g = self.proj(h2, l, "gate_proj", self.p(pre + "mlp.gate_proj.weight"))
            u = self.proj(h2, l, "up_proj", self.p(pre + "mlp.up_proj.weight"))
            x = x + self.proj(F.silu(g) * u, l, "down_proj", self.p(pre + "mlp.down_proj.weight"))
        x = self.rms(x, self.p("model.norm.weight"))
        head = self.p("model.embed_tokens.weight") if cfg.get("tie_word_embeddings") else self.p("lm_head.weight")
        return x @ head.t()


def parity(in_dir, out_file):
    cfg = json.load(open(f"{in_dir}/config.json"))
    if cfg.get("head_dim") is None:
        cfg["head_dim"] = cfg["hidden_size"] // cfg["num_attention_heads"]
    weights = read_safetensors(f"{in_dir}/model.safetensors")
    extra = read_safetensors(f"{in_dir}/inputs.safetensors")
    meta = json.load(open(f"{in_dir}/lora.json"))
    lora = {}
    for key in meta["keys"]:
        A = extra[f"{key}.A"].clone().requires_grad_(True)
        B = extra[f"{key}.B"].clone().requires_grad_(True)
        lora[key] = (A, B)
    model = Llama(cfg, weights, lora, meta["alpha"] / meta["rank"])
    for p in model.parameters():
        p.requires_grad_(False)
    ids = extra["ids"].long()
    mask = extra["mask"].long()
    targets = extra["targets"].long()
    logits = model(ids, mask)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)
    loss.backward()
    out = {"logits": logits, "loss": loss.reshape(1)}
    for key, (A, B) in lora.items():
        out[f"{key}.A.grad"] = A.grad
        out[f"{key}.B.grad"] = B.grad
    write_safetensors(out_file, out)


PEFT_PREFIX = "base_model.model."


def _pattern_value(patterns, module_name, default):
    """PEFT's rank_pattern / alpha_pattern lookup: the first key matching the module's full name."""
    for key, value in patterns.items():
        if re.fullmatch(rf"(.*\.)?{key}", module_name):
            return value
    return default


def peft_lora(adapter_dir, cfg):
    """A LoRA adapter directory read as PEFT (LoraConfig + set_peft_model_state_dict) reads it.

    Refuses what PEFT would compute differently from y = W x + (lora_alpha / r) B A x: fan_in_fan_out
    (transposed weights), DoRA, biases, extra saved modules, layers_to_transform. use_rslora scales by
    alpha / sqrt(r), rank_pattern / alpha_pattern override r / alpha per module, as in PEFT.
    Returns {"layer.module": (A, B, scaling)}.
    """
    conf = json.load(open(f"{adapter_dir}/adapter_config.json"))
    if conf.get("peft_type") != "LORA":
        raise SystemExit(f"peft_type {conf.get('peft_type')!r} is not LORA")
    for key, ok in (("fan_in_fan_out", False), ("use_dora", False), ("bias", "none"), ("modules_to_save", None),
                    ("layers_to_transform", None)):
        if conf.get(key, ok) not in (ok, [] if ok is None else ok):
            raise SystemExit(f"adapter_config.json: {key} = {conf.get(key)!r} is not supported here")
    targets = conf["target_modules"]
    r0, alpha0 = conf["r"], conf["lora_alpha"]
    tensors = read_safetensors(f"{adapter_dir}/adapter_model.safetensors")
    name_re = re.compile(r"model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_([AB])(?:\.default)?\.weight")
    found = {}
    for name, t in tensors.items():
        if not name.startswith(PEFT_PREFIX):
            raise SystemExit(f"{name}: PEFT names start with {PEFT_PREFIX}")
        m = name_re.fullmatch(name[len(PEFT_PREFIX):])
        if not m:
            raise SystemExit(f"{name}: not a LoRA factor of a decoder projection")
        layer, parent, module, factor = m.groups()
        full = f"model.layers.{layer}.{parent}.{module}"
        matched = re.fullmatch(targets, full) if isinstance(targets, str) else module in targets
        if not matched:
            raise SystemExit(f"{name}: {module} is not in target_modules {targets}")
        found.setdefault(f"{layer}.{module}", {})[factor] = (t, full)
    lora = {}
    for key, f in found.items():
        (A, full), (B, _) = f["A"], f["B"]
        r = _pattern_value(conf.get("rank_pattern") or {}, full, r0)
        alpha = _pattern_value(conf.get("alpha_pattern") or {}, full, alpha0)
        if A.shape[0] != r or B.shape[1] != r:
            raise SystemExit(f"{full}: A {list(A.shape)} / B {list(B.shape)} do not have rank {r}")
        scaling = alpha / math.sqrt(r) if conf.get("use_rslora") else alpha / r
        lora[key] = (A, B, scaling)
    return lora


def peft_logits(model_dir, adapter_dir, inputs_file, out_file):
    cfg = json.load(open(f"{model_dir}/config.json"))
    if cfg.get("head_dim") is None:
        cfg["head_dim"] = cfg["hidden_size"] // cfg["num_attention_heads"]
    weights = read_safetensors(f"{model_dir}/model.safetensors")
    extra = read_safetensors(inputs_file)
    ids, mask = extra["ids"].long(), extra["mask"].long()
    with torch.no_grad():
        base = Llama(cfg, weights)(ids, mask)
        adapted = Llama(cfg, weights, peft_lora(adapter_dir, cfg))(ids, mask)
    write_safetensors(out_file, {"logits": adapted, "base_logits": base})


def bench(config_path):
    b = json.load(open(config_path))
    torch.manual_seed(b.get("seed", 0))
    torch.set_num_threads(b["threads"])
    cfg = b["model"]
    cfg.setdefault("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    C, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, KV, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    w = {"model.embed_tokens.weight": torch.randn(V, C) * 0.02, "model.norm.weight": torch.ones(C)}
    if not cfg.get("tie_word_embeddings"):
        w["lm_head.weight"] = torch.randn(V, C) * 0.02
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = torch.ones(C)
        w[p + "post_attention_layernorm.weight"] = torch.ones(C)
        w[p + "self_attn.q_proj.weight"] = torch.randn(H * D, C) * 0.02
        w[p + "self_attn.k_proj.weight"] = torch.randn(KV * D, C) * 0.02
        w[p + "self_attn.v_proj.weight"] = torch.randn(KV * D, C) * 0.02
        w[p + "self_attn.o_proj.weight"] = torch.randn(C, H * D) * 0.02
        w[p + "mlp.gate_proj.weight"] = torch.randn(I, C) * 0.02
        w[p + "mlp.up_proj.weight"] = torch.randn(I, C) * 0.02
        w[p + "mlp.down_proj.weight"] = torch.randn(C, I) * 0.02
    model = Llama(cfg, w)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    Bsz, T = b["batch"], b["seq"]
    ids = torch.randint(0, V, (Bsz, T + 1))
    mask = torch.ones(Bsz, T, dtype=torch.long)
    times = []
    for step in range(b["warmup"] + b["steps"]):
        t0 = time.perf_counter()
        logits = model(ids[:, :-1], mask)
        loss = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step >= b["warmup"]:
            times.append(time.perf_counter() - t0)
    best = min(times)
    med = sorted(times)[len(times) // 2]
    print(json.dumps({"tokens_per_s": Bsz * T / med, "best_tokens_per_s": Bsz * T / best,
                      "median_step_s": med, "loss": float(loss), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    if sys.argv[1] == "parity":
        parity(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "peft":
        peft_logits(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif sys.argv[1] == "bench":
        bench(sys.argv[2])
    else:
        raise SystemExit(f"unknown mode {sys.argv[1]}")
