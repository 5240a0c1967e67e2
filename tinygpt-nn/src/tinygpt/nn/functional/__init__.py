"""tinygpt.nn.functional: stateless ops that the layers in `tinygpt.nn` are built from.

import tinygpt.nn.functional as F
loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
"""

from tinygpt import avg_pool2d, conv2d, max_pool2d, unfold

from .activation import gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, tanh
from .activations_extra import elu, hardtanh, mish, softplus
from .adaptive_pool import adaptive_avg_pool2d
from .attention import scaled_dot_product_attention
from .conv1d import conv1d
from .distance import cosine_similarity, normalize
from .encoding import one_hot
from .group_norm import group_norm
from .linear import dropout, embedding, linear
from .loss import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .loss_extra import binary_cross_entropy, huber_loss, kl_div, smooth_l1_loss
from .normalization import batch_norm, layer_norm, rms_norm
from .padding import pad
from .rnn import gru_cell, lstm_cell, rnn_relu_cell, rnn_tanh_cell

__all__ = [
    "batch_norm",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "embedding",
    "gelu",
    "group_norm",
    "layer_norm",
    "leaky_relu",
    "l1_loss",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "relu",
    "rms_norm",
    "sigmoid",
    "silu",
    "softmax",
    "tanh",
    # convolution, pooling, recurrent cells, attention
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "conv1d",
    "cosine_similarity",
    "conv2d",
    "gru_cell",
    "lstm_cell",
    "max_pool2d",
    "rnn_relu_cell",
    "rnn_tanh_cell",
    "scaled_dot_product_attention",
    "unfold",
    # more activations and losses, for PyTorch code
    "binary_cross_entropy",
    "elu",
    "hardtanh",
    "huber_loss",
    "kl_div",
    "mish",
    "smooth_l1_loss",
    "softplus",
]
