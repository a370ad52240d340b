"""Hello world with a file observer; the driver times the whole process.

Run as:
    BENCH_FRAMEWORK=sacred|expt python hello.py -F DIR       (command line, like a user)
    BENCH_FRAMEWORK=sacred|expt python hello.py --api DIR    (observers.append + ex.run())
"""
from __future__ import annotations

import sys

from _framework import Experiment, FileStorageObserver

ex = Experiment("hello_world")


@ex.config
def cfg():
    message = "Hello world!"  # what to print


@ex.main
def main(message):
    print(message)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--api":
        ex.observers.append(FileStorageObserver(sys.argv[2]))
        ex.run()
    else:
        ex.run_commandline()
