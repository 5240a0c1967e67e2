"""`tinygpt.optim`: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) and learning-rate schedules.

    from tinygpt import optim
    opt = optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    loss.backward(); opt.step(); opt.zero_grad()

Reading order: `optimizer.py` (the base class, checkpoints) -> `sgd.py` -> `adam.py` ->
`rmsprop.py` -> `adagrad.py` -> `lr_scheduler.py` -> `plateau.py` -> `schedules_more.py`.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LinearWarmupCosine,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
    warmup_cosine_lr,
)
from .optimizer import Optimizer, flatten_state_dict, unflatten_state_dict
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "LinearWarmupCosine",
    "MultiStepLR",
    "OneCycleLR",
    "Optimizer",
    "RMSprop",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
    "flatten_state_dict",
    "lr_scheduler",
    "unflatten_state_dict",
    "warmup_cosine_lr",
]
