"""The smallest experiment: a config entry and a main function.

Command lines it supports:
    python examples/hello_world.py
    python examples/hello_world.py with message="Hello, expt!"
    python examples/hello_world.py -F runs
    python examples/hello_world.py --help
"""
from expt import Experiment

ex = Experiment("hello_world")


@ex.config
def config():
    message = "Hello world!"  # what to print


@ex.automain
def main(message, _run):
    print(message)
    _run.log_scalar("message_length", len(message))
    return len(message)
