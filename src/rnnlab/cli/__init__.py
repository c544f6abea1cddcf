"""The ``rnnlab`` command: train, sample, eval and inspect."""
