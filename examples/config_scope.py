"""Config scopes: the body of a function decorated with ``@ex.config`` becomes the config.

Every plain local is an entry, a comment on (or directly above) an assignment documents it,
and values given on the command line win over the scope's own values while later lines of the
scope still see them (``with batch_size=50`` makes ``batches_per_epoch`` 20).

Command lines it supports:
    python examples/config_scope.py
        -> batches per epoch: 10
        -> optimizer: adam lr=0.001 betas=[0.9, 0.999]
    python examples/config_scope.py with batch_size=50
        -> batches per epoch: 20
    python examples/config_scope.py with optimizer.lr=0.1 optimizer.betas=[0.8,0.9]
        -> optimizer: adam lr=0.1 betas=[0.8, 0.9]
    python examples/config_scope.py with n_examples=500 -s 3
        -> batches per epoch: 5
        -> seed: 3
    python examples/config_scope.py print_config
        -> examples in one training step
    python examples/config_scope.py with bach_size=50
        -> exit 2
        -> Did you mean 'batch_size'?
"""
import math

from expt import Experiment

ex = Experiment("config_scope")


@ex.config
def config():
    """Training settings."""
    n_examples = 1000  # size of the training set
    # examples in one training step
    batch_size = 100
    batches_per_epoch = math.ceil(n_examples / batch_size)  # derived: sees the final values
    optimizer = {"name": "adam", "lr": 0.001, "betas": [0.9, 0.999]}
    _scratch = "private names stay out of the config"


@ex.automain
def main(batches_per_epoch, optimizer, seed, _config):
    print(f"batches per epoch: {batches_per_epoch}")
    print(f"optimizer: {optimizer['name']} lr={optimizer['lr']} betas={optimizer['betas']}")
    print(f"seed: {seed}")
    print(f"config keys: {sorted(_config)}")
    return batches_per_epoch
