"""TEST DOUBLE of vllm.distributed.utils.StatelessProcessGroup (vLLM 0.10.2).

As in vLLM: a process group that is not torch.distributed's global one, built on a TCPStore whose
server runs in rank 0 (the vf-vllm worker); the trainer joins as the last rank. Only what
PyNcclCommunicator and VLLMClient use is here: create(), barrier(), the store, rank, world_size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from torch.distributed import TCPStore


@dataclass
class StatelessProcessGroup:
    rank: int
    world_size: int
    store: TCPStore
    barrier_counter: int = field(default=0)

    @staticmethod
    def create(host: str, port: int, rank: int, world_size: int, data_expiration_seconds: int = 3600,
               store_timeout: int = 300) -> "StatelessProcessGroup":
        store = TCPStore(host_name=host, port=port, world_size=world_size, is_master=(rank == 0),
                         timeout=timedelta(seconds=store_timeout), use_libuv=False, wait_for_workers=False)
        return StatelessProcessGroup(rank=rank, world_size=world_size, store=store)

    def barrier(self, timeout: float = 300.0) -> None:
        key = f"barrier/{self.barrier_counter}"
        self.barrier_counter += 1
        arrived = self.store.add(key, 1)
        deadline = time.monotonic() + timeout
        while arrived < self.world_size:
            if time.monotonic() > deadline:
                raise RuntimeError(f"barrier {key} timed out: {arrived}/{self.world_size} ranks arrived")
            time.sleep(0.001)
            arrived = self.store.add(key, 0)
