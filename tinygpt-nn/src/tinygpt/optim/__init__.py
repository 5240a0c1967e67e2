"""`tinygpt.optim`: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, RAdam, NAdam, Adamax,
Adadelta, Rprop, ASGD, Adafactor, Muon, LBFGS) and learning-rate schedules.

    from tinygpt import optim
    opt = optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    loss.backward(); opt.step(); opt.zero_grad()

Reading order: `optimizer.py` (the base class, checkpoints) -> `sgd.py` -> `adam.py` ->
`rmsprop.py` -> `adagrad.py` -> `adam_variants.py` -> `classic.py` -> `adafactor.py` ->
`muon.py` -> `lbfgs.py` -> `line_search.py` -> `lr_scheduler.py` -> `plateau.py` ->
`schedules_more.py` -> `schedules_extra.py` -> `swa_utils.py` -> `step_hooks.py`.
"""

from . import lr_scheduler, swa_utils
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adam_variants import Adamax, NAdam, RAdam
from .classic import ASGD, Adadelta, Rprop
from .lbfgs import LBFGS
from .lr_scheduler import (
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LinearWarmupCosine,
    LRScheduler,
    MultiplicativeLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
    warmup_cosine_lr,
)
from .muon import Muon
from .optimizer import Optimizer, flatten_state_dict, unflatten_state_dict
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "ASGD",
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "MultiplicativeLR",
    "Muon",
    "NAdam",
    "PolynomialLR",
    "RAdam",
    "Rprop",
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
    "swa_utils",
    "unflatten_state_dict",
    "warmup_cosine_lr",
]
