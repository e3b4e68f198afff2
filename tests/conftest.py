"""Shared pytest configuration: GPU tests skip themselves where there is no CUDA device."""

from __future__ import annotations

import pytest

pytest_plugins = ["slackemu.pytest_plugin"]  # the `sandbox` and `make_sandbox` fixtures


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any("gpu" in item.keywords for item in items):
        return
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)
