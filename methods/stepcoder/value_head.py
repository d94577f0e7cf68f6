"""PPO's critic: a linear value head on the policy's last hidden state.

One scalar per position, read at the positions that predict each completion token (the state
before the token), as trl's value-head models do. It shares the policy's trunk, so the value
loss also shapes the trunk (weighted by ``value_coef``). Zero-initialised: every value starts at
0, so the first advantages are the plain discounted rewards and a run is reproducible without
drawing random numbers.
"""

from __future__ import annotations

from typing import Any

import torch


class ValueHead(torch.nn.Module):
    """hidden (float32 of any dtype's hidden states) -> value."""

    def __init__(self, hidden_size: int, device: torch.device) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(hidden_size, 1, device=device, dtype=torch.float32)
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.zero_()

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        values: torch.Tensor = self.linear(hidden.float()).squeeze(-1)
        return values

    def state(self) -> dict[str, Any]:
        """Weights as CPU tensors, for the method's checkpointed state."""
        return {key: value.detach().cpu().clone() for key, value in self.state_dict().items()}

    def restore(self, state: dict[str, Any]) -> None:
        """Load :meth:`state` in place, so the optimiser keeps holding the same parameters."""
        with torch.no_grad():
            for key, value in self.state_dict().items():
                if key not in state or tuple(state[key].shape) != tuple(value.shape):
                    raise ValueError(
                        f"value head state {key!r} does not fit a head of shape "
                        f"{tuple(value.shape)}"
                    )
                value.copy_(state[key])
