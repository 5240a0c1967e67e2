"""tinygpt.nn: modules, layers, losses, initialisers and functional ops.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> model(tg.randn(3, 4)).shape
(3, 2)
"""

from . import functional, init, parallel, utils
from .buffer import Buffer
from .layers.activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh
from .layers.activations_extra import ELU, Hardtanh, Mish, Softplus, Unflatten
from .layers.activations_more import (
    CELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    LogSigmoid,
    PReLU,
    ReLU6,
    RReLU,
    Softmax2d,
    Softmin,
    Softshrink,
    Softsign,
    Tanhshrink,
    Threshold,
)
from .layers.adaptive_pool import AdaptiveAvgPool2d
from .layers.adaptive_softmax import AdaptiveLogSoftmaxWithLoss
from .layers.aliases_more import Container, NLLLoss2d, RNNBase, RNNCellBase
from .layers.attention import MultiheadAttention
from .layers.container import ModuleDict, ModuleList, Residual, Sequential
from .layers.containers_param import ParameterDict, ParameterList
from .layers.conv import Conv2d
from .layers.conv1d import Conv1d
from .layers.conv_transpose import (
    ConvTranspose1d,
    ConvTranspose2d,
)
from .layers.dropout import Dropout
from .layers.dropout_more import (
    AlphaDropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    FeatureAlphaDropout,
)
from .layers.embedding import Embedding
from .layers.embedding_bag import (
    EmbeddingBag,
)
from .layers.group_norm import GroupNorm
from .layers.lazy import LazyLinear, UninitializedBuffer, UninitializedParameter
from .layers.lazy_more import (
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
    LazyConv1d,
    LazyConv2d,
    LazyConv3d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyConvTranspose3d,
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyInstanceNorm3d,
)
from .layers.linear import Flatten, Identity, Linear
from .layers.linear_ce import LinearCrossEntropyLoss
from .layers.loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .layers.loss_extra import BCELoss, HuberLoss, KLDivLoss, SmoothL1Loss
from .layers.loss_more import (
    CosineEmbeddingLoss,
    CTCLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    MarginRankingLoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    PoissonNLLLoss,
    SoftMarginLoss,
    TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)
from .layers.norm_distance import (
    Bilinear,
    CosineSimilarity,
    CrossMapLRN2d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LocalResponseNorm,
    PairwiseDistance,
)
from .layers.normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm, RMSNorm
from .layers.padding import (
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)
from .layers.parallel_compat import DataParallel, LinearCrossEntropyOptions, SyncBatchNorm
from .layers.pooling import AvgPool2d, MaxPool2d
from .layers.pooling_more import (
    AdaptiveAvgPool1d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    FractionalMaxPool2d,
    FractionalMaxPool3d,
    LPPool1d,
    LPPool2d,
    MaxPool1d,
)
from .layers.resample import (
    ChannelShuffle,
    Fold,
    PixelShuffle,
    PixelUnshuffle,
    Unfold,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
from .layers.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .layers.three_d import (
    AdaptiveAvgPool3d,
    AdaptiveMaxPool3d,
    AvgPool3d,
    Conv3d,
    ConvTranspose3d,
    LPPool3d,
    MaxPool3d,
)
from .layers.transformer import TransformerBlock
from .layers.transformer_decoder import Transformer, TransformerDecoder, TransformerDecoderLayer
from .layers.transformer_encoder import TransformerEncoder, TransformerEncoderLayer
from .layers.unpool import MaxUnpool1d, MaxUnpool2d, MaxUnpool3d
from .module import IncompatibleKeys, Module, StateDictError
from .parameter import Parameter

__all__ = [
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "GELU",
    "Identity",
    "IncompatibleKeys",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "RMSNorm",
    "ReLU",
    "Residual",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "Tanh",
    "functional",
    "init",
    "parallel",
    "utils",
    # convolution, pooling, recurrent layers, attention
    "AvgPool2d",
    "Conv2d",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "MaxPool2d",
    "MultiheadAttention",
    "RNN",
    "RNNCell",
    "TransformerBlock",
    # PyTorch layers added for parity: 1-D conv, group norm, adaptive pooling, encoder
    "AdaptiveAvgPool2d",
    "Conv1d",
    "GroupNorm",
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    # more layers for PyTorch code: activations, losses, parameter containers
    "BCELoss",
    "ELU",
    "Hardtanh",
    "HuberLoss",
    "KLDivLoss",
    "Mish",
    "ParameterDict",
    "ParameterList",
    "SmoothL1Loss",
    "Softplus",
    "Unflatten",
    # PyTorch parity: activations, dropout, pooling, padding, resampling, losses, ...
    "ReLU6",
    "Hardswish",
    "Hardsigmoid",
    "Hardshrink",
    "Softshrink",
    "Tanhshrink",
    "Threshold",
    "SELU",
    "CELU",
    "GLU",
    "LogSigmoid",
    "Softsign",
    "Softmin",
    "Softmax2d",
    "PReLU",
    "RReLU",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
    "MaxPool1d",
    "AvgPool1d",
    "AdaptiveAvgPool1d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "LPPool1d",
    "LPPool2d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ReflectionPad3d",
    "ReplicationPad3d",
    "Upsample",
    "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
    "PixelShuffle",
    "PixelUnshuffle",
    "ChannelShuffle",
    "Fold",
    "Unfold",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "Bilinear",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LocalResponseNorm",
    "CosineSimilarity",
    "PairwiseDistance",
    "EmbeddingBag",
    "PoissonNLLLoss",
    "GaussianNLLLoss",
    "MarginRankingLoss",
    "HingeEmbeddingLoss",
    "CosineEmbeddingLoss",
    "SoftMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "MultiLabelMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
    "Buffer",
    # 3-D layers, unpooling, lazy linear
    "BatchNorm3d",
    "Conv3d",
    "ConvTranspose3d",
    "MaxPool3d",
    "AvgPool3d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool3d",
    "LPPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "LazyLinear",
    "UninitializedParameter",
    "CTCLoss",
    "MaxUnpool3d",
    "NLLLoss2d",
    "RNNBase",
    "RNNCellBase",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "AdaptiveLogSoftmaxWithLoss",
    "LinearCrossEntropyLoss",
    "CrossMapLRN2d",
    "UninitializedBuffer",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
    "DataParallel",
    "LinearCrossEntropyOptions",
    "SyncBatchNorm",
    "Container",
]
