"""The layers of tinygpt.nn, one family per file (re-exported by `tinygpt.nn`)."""

from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh
from .activations_extra import ELU, Hardtanh, Mish, Softplus, Unflatten
from .adaptive_pool import AdaptiveAvgPool2d
from .attention import MultiheadAttention
from .container import ModuleDict, ModuleList, Residual, Sequential
from .containers_param import ParameterDict, ParameterList
from .conv import Conv2d
from .conv1d import Conv1d
from .dropout import Dropout
from .embedding import Embedding
from .group_norm import GroupNorm
from .linear import Flatten, Identity, Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .loss_extra import BCELoss, HuberLoss, KLDivLoss, SmoothL1Loss
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm
from .pooling import AvgPool2d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .transformer import TransformerBlock
from .transformer_decoder import Transformer, TransformerDecoder, TransformerDecoderLayer
from .transformer_encoder import TransformerEncoder, TransformerEncoderLayer

__all__ = [
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "Conv1d",
    "GroupNorm",
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
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
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "GELU",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "ModuleDict",
    "ModuleList",
    "RMSNorm",
    "ReLU",
    "Residual",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
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
