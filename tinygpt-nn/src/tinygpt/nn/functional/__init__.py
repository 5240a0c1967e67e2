"""tinygpt.nn.functional: stateless ops that the layers in `tinygpt.nn` are built from.

import tinygpt.nn.functional as F
loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
"""

from tinygpt import conv2d

from .activation import gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, tanh
from .activations_extra import elu, hardtanh, mish, softplus
from .activations_more import (
    celu,
    celu_,
    elu_,
    glu,
    gumbel_softmax,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh_,
    leaky_relu_,
    logsigmoid,
    prelu,
    relu6,
    relu_,
    rrelu,
    rrelu_,
    selu,
    selu_,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
    threshold_,
)
from .adaptive_more import (
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d,
    adaptive_max_pool2d_with_indices,
)
from .adaptive_pool import adaptive_avg_pool2d
from .attention import scaled_dot_product_attention
from .conv1d import conv1d
from .conv3d import conv3d, conv_transpose3d
from .conv_tbc import conv_tbc
from .conv_transpose import (
    conv_transpose1d,
    conv_transpose2d,
)
from .cross_entropy import cross_entropy, nll_loss
from .ctc import ctc_loss
from .distance import cosine_similarity, normalize
from .dropout_more import (
    alpha_dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
from .embedding_bag import (
    embedding_bag,
)
from .encoding import one_hot
from .fractional_pool import (
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)
from .grid_sample import affine_grid, grid_sample
from .group_norm import group_norm
from .linear import dropout, embedding, linear
from .linear_ce import linear_cross_entropy
from .loss import binary_cross_entropy_with_logits, l1_loss, mse_loss
from .loss_extra import binary_cross_entropy, huber_loss, kl_div, smooth_l1_loss
from .loss_more import (
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from .mha import multi_head_attention_forward
from .norm_distance import (
    bilinear,
    instance_norm,
    local_response_norm,
    pairwise_distance,
    pdist,
)
from .normalization import batch_norm, layer_norm, rms_norm
from .padding import pad
from .pooling3d import (
    adaptive_avg_pool3d,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
    avg_pool3d,
    lp_pool3d,
    max_pool3d,
    max_pool3d_with_indices,
)
from .pooling_more import (
    avg_pool1d,
    avg_pool2d,
    lp_pool1d,
    lp_pool2d,
    max_pool1d,
    max_pool1d_with_indices,
    max_pool2d,
    max_pool2d_with_indices,
)
from .resample import (
    interpolate,
    upsample,
    upsample_bilinear,
    upsample_nearest,
)
from .rnn import gru_cell, lstm_cell, rnn_relu_cell, rnn_tanh_cell
from .shuffle_fold import (
    channel_shuffle,
    fold,
    pixel_shuffle,
    pixel_unshuffle,
    unfold,
)
from .shuffle_fold import channel_shuffle as native_channel_shuffle
from .unpool import max_unpool1d, max_unpool2d, max_unpool3d

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
    # PyTorch parity: activations, dropout, pooling, resampling, conv-transpose, losses
    "relu6",
    "hardswish",
    "hardsigmoid",
    "hardshrink",
    "softshrink",
    "tanhshrink",
    "threshold",
    "selu",
    "celu",
    "glu",
    "logsigmoid",
    "softsign",
    "softmin",
    "prelu",
    "rrelu",
    "gumbel_softmax",
    "relu_",
    "elu_",
    "leaky_relu_",
    "hardtanh_",
    "selu_",
    "celu_",
    "threshold_",
    "rrelu_",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "avg_pool1d",
    "lp_pool1d",
    "lp_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices",
    "interpolate",
    "upsample",
    "upsample_nearest",
    "upsample_bilinear",
    "pixel_shuffle",
    "pixel_unshuffle",
    "channel_shuffle",
    "fold",
    "conv_transpose1d",
    "conv_transpose2d",
    "bilinear",
    "instance_norm",
    "local_response_norm",
    "pairwise_distance",
    "pdist",
    "embedding_bag",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "cosine_embedding_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    # 3-D pooling and convolution, unpooling
    "conv3d",
    "conv_transpose3d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
    "avg_pool3d",
    "lp_pool3d",
    "max_pool3d",
    "max_pool3d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "ctc_loss",
    "affine_grid",
    "grid_sample",
    "max_unpool3d",
    "native_channel_shuffle",
    "linear_cross_entropy",
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
    "multi_head_attention_forward",
    "conv_tbc",
]
