"""TEST DOUBLE of vllm.distributed.device_communicators.pynccl.PyNcclCommunicator (vLLM 0.10.2).

Same constructor and broadcast semantics as the NCCL one (a collective: every rank calls it in the
same order; the source's tensor is written in place into every other rank's tensor of the same
shape and dtype). The transport is the group's TCPStore instead of NCCL, so it runs on a CPU.
"""

from __future__ import annotations

import torch


class PyNcclCommunicator:
    def __init__(self, group, device=0, library_path=None):
        self.group = group
        self.rank, self.world_size = group.rank, group.world_size
        self.device = device
        self.available = self.disabled = False
        self._calls = 0

    def broadcast(self, tensor: torch.Tensor, src: int, stream=None) -> None:
        key = f"pynccl/broadcast/{self._calls}"
        self._calls += 1
        store = self.group.store
        if self.rank == src:
            store.set(key, tensor.detach().contiguous().cpu().view(torch.uint8).numpy().tobytes())
            return
        data = store.get(key)
        received = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(tensor.dtype).reshape(tensor.shape)
        with torch.no_grad():
            tensor.copy_(received)
        # the last receiver frees the bytes: the store lives in the server's memory
        if store.add(f"{key}/received", 1) == self.world_size - 1:
            store.delete_key(key)
