"""Named configs: sets of values applied only when named after ``with``.

A named config can be a decorated function (``@ex.named_config``), a dict or a .json/.yaml
file (``ex.add_named_config``), or any config file given by its path on the command line. They
apply in the order given, each seeing the ones before; ``key=value`` updates win over all.

Command lines it supports:
    python examples/named_configs.py
        -> model=small depth=2 width=64 lr=0.01 epochs=10
    python examples/named_configs.py with large
        -> model=large depth=8 width=512 lr=0.001 epochs=10
    python examples/named_configs.py with large quick
        -> model=large depth=8 width=512 lr=0.1 epochs=1
    python examples/named_configs.py with quick large
        -> model=large depth=8 width=512 lr=0.001 epochs=1
    python examples/named_configs.py with large depth=4
        -> model=large depth=4 width=512 lr=0.001 epochs=10
    python examples/named_configs.py with tuned
        -> model=small depth=2 width=64 lr=0.003 epochs=30
    python examples/named_configs.py with large examples/named_configs_long.yaml
        -> model=large depth=8 width=512 lr=0.001 epochs=100
    python examples/named_configs.py print_named_configs
        -> large
    python examples/named_configs.py with lage
        -> exit 2
        -> Did you mean 'large'?
"""
import os

from expt import Experiment

ex = Experiment("named_configs")


@ex.config
def config():
    model = "small"
    depth = 2  # number of layers
    width = 64 if depth < 4 else 512  # sees the depth chosen by a named config or update
    lr = 0.01
    epochs = 10


@ex.named_config
def large():
    """A bigger model with a smaller learning rate."""
    model = "large"
    depth = 8
    lr = 0.001


ex.add_named_config("quick", {"epochs": 1, "lr": 0.1})  # the later named config wins
ex.add_named_config("tuned", os.path.join(os.path.dirname(__file__), "named_configs_tuned.json"))


@ex.automain
def main(model, depth, width, lr, epochs):
    print(f"model={model} depth={depth} width={width} lr={lr} epochs={epochs}")
