"""Ingredients: reusable parts with their own config section, named configs and commands.

The ``dataset`` ingredient's entries live under ``dataset.`` in the run's config; its named
configs are selected as ``dataset.NAME`` and its commands run as ``dataset.COMMAND``. Captured
functions of an ingredient read their parameters from its section.

Command lines it supports:
    python examples/ingredients.py
        -> loaded 100 rows from train.csv (shuffled)
        -> model: depth=3 trained on 100 rows
    python examples/ingredients.py with dataset.n_rows=20 depth=5
        -> loaded 20 rows from train.csv (shuffled)
        -> model: depth=5 trained on 20 rows
    python examples/ingredients.py with dataset.tiny
        -> loaded 5 rows from tiny.csv (in order)
    python examples/ingredients.py dataset.describe
        -> dataset train.csv: 100 rows
    python examples/ingredients.py print_config
        -> rows to load
    python examples/ingredients.py with dataset.n_rws=3
        -> exit 2
        -> Did you mean 'dataset.n_rows'
"""
from expt import Experiment, Ingredient

dataset = Ingredient("dataset")


@dataset.config
def dataset_config():
    path = "train.csv"  # file to read
    n_rows = 100  # rows to load
    shuffle = True


@dataset.named_config
def tiny():
    """A handful of rows, in file order, for smoke tests."""
    path = "tiny.csv"
    n_rows = 5
    shuffle = False


@dataset.capture
def load(path, n_rows, shuffle):
    print(f"loaded {n_rows} rows from {path} ({'shuffled' if shuffle else 'in order'})")
    return list(range(n_rows))


@dataset.command
def describe(path, n_rows):
    """Print what the dataset section of the config selects."""
    print(f"dataset {path}: {n_rows} rows")


ex = Experiment("ingredients", ingredients=[dataset])


@ex.config
def config():
    depth = 3  # depth of the model


@ex.automain
def main(depth, _run):
    rows = load()
    _run.log_scalar("rows", len(rows))
    print(f"model: depth={depth} trained on {len(rows)} rows")
    return len(rows)
