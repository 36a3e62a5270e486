"""A rank of ``tests/runtime/test_parallel.py``'s torchrun runs: ``tascodec``'s CLI, with test hooks.

``TASCODEC_TEST_KILL_RANK=R``: rank R kills itself (SIGKILL, no cleanup, as the OOM killer
would) when the inversion starts, so the test sees how the other ranks fail. The hook lives
here, not in the library: this script patches ``tascodec.tca.invert.invert`` before running
``tascodec.cli.main``.
``TASCODEC_TEST_HANG_RANK=R``: rank R goes silent (sleeps) when the inversion starts, so the
others' collectives time out (``TASCODEC_DIST_TIMEOUT``).
``TASCODEC_TEST_OWN_GROUP=1``: the script initialises the process group itself (gloo) and
calls ``tascodec.encode`` from Python, as a user's script under torchrun would.
"""

from __future__ import annotations

import os
import signal
import sys


def main() -> int:
    rank = int(os.environ.get("RANK", "0"))
    if os.environ.get("TASCODEC_TEST_KILL_RANK") == str(rank):
        import tascodec.tca.invert as invert_mod

        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)

        invert_mod.invert = die
    if os.environ.get("TASCODEC_TEST_HANG_RANK") == str(rank):
        import time

        import tascodec.tca.invert as invert_mod

        def hang(*args, **kwargs):
            time.sleep(120)

        invert_mod.invert = hang
    if os.environ.get("TASCODEC_TEST_OWN_GROUP") == "1":
        import torch.distributed as dist

        import tascodec

        dist.init_process_group("gloo")
        dataset, out, *rest = sys.argv[1:]
        summary = tascodec.encode(dataset, out, codec="inversion", recipe="quick", device="cpu", progress=False,
                                  overwrite=True)
        # the group is the caller's: still initialised after encode
        print(f"rank {rank}: initialised={dist.is_initialized()} codes={summary.codes}")
        dist.destroy_process_group()
        return 0
    from tascodec.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
