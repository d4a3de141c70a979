"""Specifications of explorer.devices: "auto" picks CUDA when present, and every device that cannot
work here is refused with its name and what to use, by the function and by every --device option."""

from __future__ import annotations

import pytest
import torch

from explorer import cli
from explorer.devices import resolve_device


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.mark.parametrize("auto", ["auto", None, ""])
def test_auto_device_is_cpu_without_cuda(no_cuda, auto):
    assert resolve_device(auto) == torch.device("cpu")


def test_auto_device_is_cuda_when_available(two_gpus):
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda:1")


def test_a_named_device_is_honoured(no_cuda):
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_asking_for_cuda_without_it_is_a_clear_error(no_cuda):
    with pytest.raises(ValueError, match=r"device 'cuda' asked for, but CUDA is not available here .*'auto' or 'cpu'"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="device 'cuda:0' asked for, but CUDA is not available"):
        resolve_device("cuda:0")


def test_a_gpu_this_machine_lacks_is_a_clear_error(two_gpus):
    with pytest.raises(ValueError, match=r"device 'cuda:2' asked for, but this machine has 2 CUDA device\(s\): "
                                         r"use 'cuda:0' to 'cuda:1'"):
        resolve_device("cuda:2")


@pytest.mark.parametrize("name", ["tpu-ish", "cuda:x", "gpu"])
def test_an_unknown_device_name_is_a_clear_error(name):
    with pytest.raises(ValueError, match=rf"unknown device '{name}': use 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        resolve_device(name)


def test_a_torch_device_the_explorer_does_not_run_on_is_refused():
    with pytest.raises(ValueError, match=r"device 'meta' is not supported: use 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        resolve_device("meta")


@pytest.mark.parametrize("command", [
    ["index", "--pack", "not-installed", "--device", "cuda"],
    ["pool", "--pack", "not-installed", "--device", "cuda"],
    ["serve", "--pack", "not-installed", "--no-show", "--device", "cuda"],
])
def test_commands_refuse_a_device_before_opening_anything(no_cuda, command, capsys):
    assert cli.main(command) == 2
    assert "device 'cuda' asked for, but CUDA is not available here" in capsys.readouterr().err


def test_import_refuses_a_device_with_the_same_message(no_cuda, tmp_path, capsys):
    assert cli.main(["import", "mine", "--model", "nowhere:factory", "--images", str(tmp_path), "--device", "cuda"]) == 1
    assert "latent-explorer import: device 'cuda' asked for, but CUDA is not available here" in capsys.readouterr().err
