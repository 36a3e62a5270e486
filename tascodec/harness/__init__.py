"""The fidelity harness (``tascodec eval``): segmentation models (``mstcn``, ``asformer``, by
name in ``backbones``; their batches in ``seg_batches``), metrics (``metrics``), the items a
model trains on (``items``), the run (``evaluate``, worker processes in ``pool``) and its result
(``fidelity_result``)."""
