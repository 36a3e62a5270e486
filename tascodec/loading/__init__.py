"""An archive's videos taken out: for training (``torch_data``: ``TaszDataset``; ``batches``:
``collate`` and samplers) and onto disk in the standard layout (``export``)."""
