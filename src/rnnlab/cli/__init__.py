"""The ``rnnlab`` command: prepare, train, sample, eval and inspect."""
