"""The TCA: the conditional VAE of the method, its training, and network inversion (torch).

* ``model``: ``TCA`` / ``TCADecoder`` and the decoder checkpoint (architecture: ``tca_mlp``).
* ``train``: ``train_tca``.
* ``instance_plan``: ``InversionPlan``, the per-instance / per-frame layout of a segment table.
* ``encoder``: ``encoded_codes``, per-instance means of the encoder's mu.
* ``invert``: ``invert``, batched network inversion of the frozen decoder.
* ``recipes``: named training + inversion settings (no torch).

Importing this package imports no torch; its modules (but ``recipes``) do.
"""
