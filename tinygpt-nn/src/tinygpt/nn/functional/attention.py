"""Scaled dot-product attention, PyTorch's `F.scaled_dot_product_attention`.

    out = softmax(q @ k^T * scale + mask) @ v

It lives in core (`tinygpt.ops.attention`, next to the fused attention kernel it uses
whenever there is no mask or dropout); this module re-exports it under PyTorch's name.

>>> import tinygpt as tg
>>> from tinygpt.nn.functional import scaled_dot_product_attention
>>> q = k = v = tg.ones(1, 2, 3, 4)  # (B, nh, T, hs)
>>> scaled_dot_product_attention(q, k, v, is_causal=True).shape
(1, 2, 3, 4)
"""

from tinygpt import scaled_dot_product_attention

__all__ = ["scaled_dot_product_attention"]
