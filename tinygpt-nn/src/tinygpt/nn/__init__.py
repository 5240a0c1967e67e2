"""tinygpt.nn: modules, layers, losses, initialisers and functional ops.

>>> import tinygpt as tg
>>> from tinygpt import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> model(tg.randn(3, 4)).shape
(3, 2)
"""

from . import functional, init, parallel, utils
from .layers.activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh
from .layers.activations_extra import ELU, Hardtanh, Mish, Softplus, Unflatten
from .layers.adaptive_pool import AdaptiveAvgPool2d
from .layers.attention import MultiheadAttention
from .layers.container import ModuleDict, ModuleList, Residual, Sequential
from .layers.containers_param import ParameterDict, ParameterList
from .layers.conv import Conv2d
from .layers.conv1d import Conv1d
from .layers.dropout import Dropout
from .layers.embedding import Embedding
from .layers.group_norm import GroupNorm
from .layers.linear import Flatten, Identity, Linear
from .layers.loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .layers.loss_extra import BCELoss, HuberLoss, KLDivLoss, SmoothL1Loss
from .layers.normalization import BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm
from .layers.pooling import AvgPool2d, MaxPool2d
from .layers.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .layers.transformer import TransformerBlock
from .layers.transformer_decoder import Transformer, TransformerDecoder, TransformerDecoderLayer
from .layers.transformer_encoder import TransformerEncoder, TransformerEncoderLayer
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
]
