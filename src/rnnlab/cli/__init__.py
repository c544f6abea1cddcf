"""The ``rnnlab`` command: train, sample and eval."""
