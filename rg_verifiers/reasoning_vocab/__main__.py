"""`python -m rg_verifiers.reasoning_vocab ...`: an entry point only; the commands are training's
(`rg_verifiers.train.reasoning_vocab_command`)."""

from ..errors import run_cli
from ..train.reasoning_vocab_command import main

run_cli(main)
