"""Training loops for the built-in packs: a VAE, or a DCGAN followed by its encoder.

A pack name maps to a `Recipe` (dataset, model keywords, epochs, batch size, learning rate).
Training is seeded, shows tqdm progress, runs on CUDA when present, and is resumable: after every
epoch it writes `<pack dir>/checkpoint.pt` (models, optimisers, epoch, RNG states) atomically, and
a later run with the same settings continues from it. When done it writes, atomically,

- `model.pt`: the explorable model's state dict in float16 (cast back to float32 on load),
- `card.json`: data, architecture, settings, timings and quality measured on the validation split,
- `samples.png`: 8×8 prior samples, and `reconstructions.png`: validation images (odd columns)
  beside their reconstructions (even columns),

then deletes the checkpoint, so a finished pack directory holds only what ships. With
`snapshots=K`, K evenly spaced epochs (the last included) also leave `snapshots/epoch-NNN.pt`: the
model's float16 state dict at the end of that epoch, written atomically and listed in the card, so
that the app can walk a J-diagram through training (explorer.packs.Pack.snapshot_model).

The whole training set lives on the device as one uint8 tensor; batches are sliced from it, so
there is no DataLoader and no per-batch host-to-device copy.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from tqdm.auto import tqdm

from explorer.atomic import atomic_file
from explorer.data.base import ImageDataset
from explorer.devices import resolve_device
from explorer.models.gan import GAN, Discriminator, recalibrate_batchnorm
from explorer.models.vae import ConvVAE, kl_per_dimension

CARD_FORMAT = 1
ACTIVE_DIM_THRESHOLD = 0.01  # Burda et al. 2016: a unit is active when Var_x(E[z|x]) > 0.01
# The encoder's real-image term is a per-pixel MSE (~0.01-0.05) beside a per-dimension latent
# MSE (~1 at the start); this weight lets both pull.
ENCODER_RECON_WEIGHT = 10.0
EVAL_BATCH = 512
SNAPSHOT_DIR = "snapshots"


@dataclass(frozen=True)
class Recipe:
    """How to train one pack: the dataset, the model kind and keywords, and optimisation settings.

    `model` holds constructor keywords besides image_size / channels, which come from the data.
    For a GAN, `epochs` are adversarial epochs and `encoder_epochs` follow with the generator frozen.
    `mirror` flips a random half of each batch left-right: it doubles a small dataset whose
    labels survive mirroring (faces), and is wrong for glyphs.
    """

    dataset: str
    kind: str  # "vae" or "gan"
    model: dict = field(default_factory=dict)
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 1e-3
    encoder_epochs: int = 0
    mirror: bool = False


RECIPES: dict[str, Recipe] = {
    "emoji": Recipe("emoji", "vae", dict(latent_dim=32, base_width=32, max_width=128, beta=8.0), epochs=400,
                    batch_size=64, mirror=True),
    "glyphs": Recipe("glyphs", "vae", dict(latent_dim=32, base_width=48, max_width=192, beta=2.0), epochs=150),
    "fashion": Recipe("fashion", "vae", dict(latent_dim=16, base_width=64, max_width=128), epochs=20),
    "fashion-gan": Recipe("fashion", "gan", dict(latent_dim=32, base_width=64, max_width=128), epochs=20,
                          learning_rate=2e-4, encoder_epochs=5),
}


def build_model(recipe: Recipe, image_shape: tuple[int, int, int]) -> ConvVAE | GAN:
    """The recipe's untrained model for images of shape (H, W, C)."""
    height, width, channels = image_shape
    if height != width:
        raise ValueError(f"built-in models need square images, got {height}×{width}")
    architectures = {"vae": ConvVAE, "gan": GAN}
    if recipe.kind not in architectures:
        raise ValueError(f"recipe kind must be one of {sorted(architectures)}, got {recipe.kind!r}")
    return architectures[recipe.kind](image_size=height, channels=channels, **recipe.model)


def train_pack(pack: str, *, out_dir: str | Path, epochs: int | None = None, device: str | None = None,
               seed: int = 0, limit: int | None = None, resume: bool = True, progress: bool = True,
               snapshots: int = 0) -> dict:
    """Train the pack's recipe on its dataset and write out_dir/<pack>/; returns the model card."""
    if pack not in RECIPES:
        raise ValueError(f"no recipe for pack {pack!r}; known packs: {', '.join(RECIPES)}")
    from explorer.data import load_dataset

    recipe = RECIPES[pack]
    train_set = load_dataset(recipe.dataset, "train", limit=limit)
    validation_set = load_dataset(recipe.dataset, "validation", limit=limit)
    return train_model(recipe, train_set, validation_set, pack_dir=Path(out_dir) / pack, epochs=epochs,
                       device=device, seed=seed, limit=limit, resume=resume, progress=progress, snapshots=snapshots)


def train_model(recipe: Recipe, train_set: ImageDataset, validation_set: ImageDataset, *, pack_dir: str | Path,
                epochs: int | None = None, device: str | None = None, seed: int = 0, limit: int | None = None,
                resume: bool = True, progress: bool = True, snapshots: int = 0) -> dict:
    """Train `recipe` on the given splits, write the pack files into pack_dir; returns the model card.

    `snapshots` K > 0 keeps the weights of K evenly spaced epochs (see `snapshot_epochs`).
    """
    pack_dir = Path(pack_dir)
    pack_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("high")
    epochs = recipe.epochs if epochs is None else epochs
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    total_epochs = epochs + (recipe.encoder_epochs if recipe.kind == "gan" else 0)
    keep = set(snapshot_epochs(total_epochs, snapshots))
    fingerprint = dict(asdict(recipe), seed=seed, limit=limit, train_images=len(train_set))
    # A VAE may be trained on for more epochs; a GAN's adversarial epochs fix when its encoder starts.
    fingerprint.pop("encoder_epochs")
    if recipe.kind == "vae":
        fingerprint.pop("epochs")
    else:
        fingerprint["epochs"] = epochs

    torch.manual_seed(seed)
    np.random.seed(seed)
    run = _Run(recipe, build_model(recipe, train_set.image_shape).to(device), device, gan_epochs=epochs)
    checkpoint_path = pack_dir / "checkpoint.pt"
    start_epoch, seconds, history = 0, 0.0, []
    if resume and checkpoint_path.exists():
        start_epoch, seconds, history = run.restore(checkpoint_path, fingerprint)
        tqdm.write(f"resuming {pack_dir.name} from {checkpoint_path} after epoch {start_epoch}")
    if start_epoch == 0:  # a fresh run: snapshots of an earlier one would be listed beside its own
        for stale in (pack_dir / SNAPSHOT_DIR).glob("epoch-*.pt"):
            stale.unlink()

    images = torch.from_numpy(train_set.images).to(device).permute(0, 3, 1, 2).contiguous()
    for epoch in range(start_epoch, total_epochs):
        started = time.perf_counter()
        steps = max(len(images) // recipe.batch_size, 1)
        with tqdm(total=steps, desc=f"{pack_dir.name} {run.phase(epoch)} epoch {epoch + 1}/{total_epochs}",
                  unit="batch", leave=False, disable=not progress) as bar:
            losses = run.train_epoch(epoch, _batches(images, recipe.batch_size, mirror=recipe.mirror), bar)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds += time.perf_counter() - started
        if progress:
            tqdm.write(f"{pack_dir.name} epoch {epoch + 1}/{total_epochs} "
                       + " ".join(f"{name}={value:.4g}" for name, value in losses.items()))
        history.append({"phase": run.phase(epoch), **losses})
        if epoch + 1 in keep:
            half = _half_state(run.model)
            atomic_write(pack_dir / snapshot_file(epoch + 1), lambda file: torch.save(half, file))
        run.save(checkpoint_path, fingerprint, epoch + 1, seconds, history)

    card = _finish(run, recipe, train_set, validation_set, pack_dir=pack_dir, seed=seed, limit=limit, epochs=epochs,
                   seconds=seconds, history=history, snapshots=sorted(keep))
    checkpoint_path.unlink(missing_ok=True)
    return card


def snapshot_epochs(total_epochs: int, count: int) -> list[int]:
    """The epochs (1-based) whose weights a run of `total_epochs` keeps: `count` evenly spaced, the last included."""
    if count < 0:
        raise ValueError(f"snapshots must be 0 or more, got {count}")
    if count == 0:
        return []
    return sorted({max(1, int(round(epoch))) for epoch in np.linspace(total_epochs / count, total_epochs, count)})


def snapshot_file(epoch: int) -> str:
    """Where, inside a pack directory, the weights after `epoch` epochs are kept."""
    return f"{SNAPSHOT_DIR}/epoch-{epoch:03d}.pt"


def _half_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict on the CPU with floating tensors in float16, as packs ship it."""
    return {key: value.detach().cpu().half() if value.is_floating_point() else value.detach().cpu()
            for key, value in model.state_dict().items()}


class _Run:
    """The modules, optimisers and epoch loops of one training run, with checkpoint save / restore."""

    def __init__(self, recipe: Recipe, model: ConvVAE | GAN, device: torch.device, *, gan_epochs: int):
        self.model = model
        self.device = device
        self.gan_epochs = gan_epochs
        self.modules: dict[str, nn.Module] = {"model": model}
        if isinstance(model, GAN):
            self.discriminator: Discriminator = model.make_discriminator().to(device)
            self.modules["discriminator"] = self.discriminator
            betas = (0.5, 0.999)  # DCGAN's
            self.optimizers = {
                "generator": torch.optim.Adam(model.generator.parameters(), recipe.learning_rate, betas=betas),
                "discriminator": torch.optim.Adam(self.discriminator.parameters(), recipe.learning_rate, betas=betas),
                "encoder": torch.optim.Adam(model.encoder.parameters(), 1e-3),
            }
        else:
            self.optimizers = {"model": torch.optim.Adam(model.parameters(), recipe.learning_rate)}

    def phase(self, epoch: int) -> str:
        """What an epoch trains: "vae", "gan" or "encoder"."""
        if isinstance(self.model, ConvVAE):
            return "vae"
        return "gan" if epoch < self.gan_epochs else "encoder"

    def train_epoch(self, epoch: int, batches: Iterator[torch.Tensor], bar: tqdm) -> dict[str, float]:
        """One pass over the batches; returns the mean of each loss term."""
        step = {"vae": self._vae_step, "gan": self._gan_step, "encoder": self._encoder_step}[self.phase(epoch)]
        totals: dict[str, torch.Tensor] = {}
        count = 0
        for count, batch in enumerate(batches, start=1):
            for name, value in step(batch).items():
                totals[name] = totals.get(name, 0.0) + value
            bar.update()
            if count % 25 == 0:  # .item() waits for the GPU, so not every step
                bar.set_postfix({name: f"{value.item() / count:.4g}" for name, value in totals.items()})
        if self.phase(epoch) == "gan" and epoch == self.gan_epochs - 1:
            recalibrate_batchnorm(self.model.generator, self.model.latent_dim)
        return {name: value.item() / max(count, 1) for name, value in totals.items()}

    def _vae_step(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self.model.train()
        loss, parts = self.model.loss(images)
        optimizer = self.optimizers["model"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.detach(), **parts}

    def _gan_step(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        gan, critic = self.model, self.discriminator
        gan.train()
        critic.train()
        fake = gan.decode(torch.randn(len(images), gan.latent_dim, device=self.device))
        real_logits, fake_logits = critic(images), critic(fake.detach())
        d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        self.optimizers["discriminator"].zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimizers["discriminator"].step()
        fooled = critic(fake)
        g_loss = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))  # non-saturating
        self.optimizers["generator"].zero_grad(set_to_none=True)
        g_loss.backward()
        self.optimizers["generator"].step()
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    def _encoder_step(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        gan = self.model
        gan.generator.eval().requires_grad_(False)
        gan.encoder.train()
        latents = torch.randn(len(images), gan.latent_dim, device=self.device)
        with torch.no_grad():
            generated = gan.decode(latents)
        # One forward pass over both halves, so the encoder's BatchNorm sees one mixed batch.
        encoded = gan.encode(torch.cat([generated, images]))
        latent_mse = F.mse_loss(encoded[: len(images)], latents)
        recon_mse = F.mse_loss(gan.decode(encoded[len(images):]), images)
        loss = latent_mse + ENCODER_RECON_WEIGHT * recon_mse
        self.optimizers["encoder"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["encoder"].step()
        return {"latent_mse": latent_mse.detach(), "recon_mse": recon_mse.detach()}

    def save(self, path: Path, fingerprint: dict, epoch: int, seconds: float, history: list[dict]) -> None:
        """Atomically checkpoint everything needed to continue after `epoch` epochs."""
        state = {
            "fingerprint": fingerprint,
            "epoch": epoch,
            "seconds": seconds,
            "history": history,
            "modules": {name: module.state_dict() for name, module in self.modules.items()},
            "optimizers": {name: optimizer.state_dict() for name, optimizer in self.optimizers.items()},
            "rng": _rng_state(self.device),
        }
        atomic_write(path, lambda file: torch.save(state, file))

    def restore(self, path: Path, fingerprint: dict) -> tuple[int, float, list[dict]]:
        """Load a checkpoint written with the same settings; returns (epochs done, seconds spent, loss history)."""
        state = torch.load(path, map_location=self.device, weights_only=True)
        if state["fingerprint"] != fingerprint:
            changed = sorted(key for key in fingerprint.keys() | state["fingerprint"].keys()
                             if fingerprint.get(key) != state["fingerprint"].get(key))
            raise ValueError(f"checkpoint {path} was written with different settings ({', '.join(changed)}); "
                             "pass --no-resume to start over, or use the original settings")
        for name, module in self.modules.items():
            module.load_state_dict(state["modules"][name])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        _set_rng_state(state["rng"], self.device)
        return state["epoch"], state["seconds"], state["history"]


def _batches(images: torch.Tensor, batch_size: int, *, mirror: bool = False) -> Iterator[torch.Tensor]:
    """Shuffled full float batches in [0, 1] from a uint8 (N, C, H, W) tensor on the device."""
    order = torch.randperm(len(images), device=images.device)
    # Only full batches (BatchNorm dislikes a tiny last one), or one short batch if that is all.
    for start in range(0, max(len(images) - batch_size, 0) + 1, batch_size):
        batch = images[order[start : start + batch_size]].float().div_(255.0)
        if mirror:
            flip = torch.rand(len(batch), 1, 1, 1, device=batch.device) < 0.5
            batch = torch.where(flip, batch.flip(3), batch)
        yield batch


def _rng_state(device: torch.device) -> dict:
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        # Plain tensors and numbers, so checkpoints load with weights_only=True.
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "position": position,
                  "has_gauss": has_gauss, "cached_gaussian": cached_gaussian},
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"].cpu())
    numpy_state = state["numpy"]
    np.random.set_state(("MT19937", numpy_state["keys"].cpu().numpy().astype(np.uint32), numpy_state["position"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write a file through `write(file)` into a temp file beside it, then os.replace it into place."""
    with atomic_file(path) as file:
        write(file)


def _finish(run: _Run, recipe: Recipe, train_set: ImageDataset, validation_set: ImageDataset, *, pack_dir: Path,
            seed: int, limit: int | None, epochs: int, seconds: float, history: list[dict],
            snapshots: list[int]) -> dict:
    """Write model.pt, the sheets and card.json; returns the card."""
    model = run.model.eval()
    # Ship float16 and measure what ships: round the weights before evaluating.
    half = _half_state(model)
    model.load_state_dict({key: value.float() if value.is_floating_point() else value for key, value in half.items()})
    buffer = io.BytesIO()
    torch.save(half, buffer)
    weights = buffer.getvalue()
    atomic_write(pack_dir / "model.pt", lambda file: file.write(weights))

    validation = torch.from_numpy(validation_set.images).to(run.device).permute(0, 3, 1, 2).contiguous()
    quality = _evaluate(model, validation, seed)
    generator = torch.Generator(run.device).manual_seed(seed)
    with torch.no_grad():
        samples = model.decode(torch.randn(64, model.latent_dim, device=run.device, generator=generator))
        originals = validation[:32].float() / 255.0
        pairs = torch.stack([originals, model.decode(model.encode(originals))], dim=1).flatten(0, 1)
    _write_png(pack_dir / "samples.png", samples, columns=8)
    _write_png(pack_dir / "reconstructions.png", pairs, columns=8)

    device_name = torch.cuda.get_device_name(run.device) if run.device.type == "cuda" else "cpu"
    card = {
        "format": CARD_FORMAT,
        "pack": pack_dir.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": {
            "name": train_set.name,
            "licence": train_set.licence,
            "source": train_set.source,
            "image_shape": list(train_set.image_shape),
            "train_images": len(train_set),
            "validation_images": len(validation_set),
            "limit": limit,
        },
        "model": {
            "type": recipe.kind,
            "architecture": type(model).__name__,
            "config": model.config,
            "latent_dim": model.latent_dim,
            "prior": model.prior,
            "image_shape": list(model.image_shape),
            "parameters": sum(parameter.numel() for parameter in model.parameters()),
            "weights_dtype": "float16",
            "weights_sha256": hashlib.sha256(weights).hexdigest(),
        },
        "training": {
            "epochs": epochs,
            "batch_size": recipe.batch_size,
            "learning_rate": recipe.learning_rate,
            "optimizer": "Adam",
            "seed": seed,
            "device": str(run.device),
            "device_name": device_name,
            "seconds": round(seconds, 3),
            "torch": torch.__version__,
            # The last epoch's mean losses of each phase (for a GAN: adversarial, then encoder).
            "final_losses": {entry["phase"]: {name: round(value, 6) for name, value in entry.items() if name != "phase"}
                             for entry in history},
        },
        "quality": quality,
    }
    if snapshots:
        card["snapshots"] = [{"epoch": epoch, "file": snapshot_file(epoch),
                              "sha256": hashlib.sha256((pack_dir / snapshot_file(epoch)).read_bytes()).hexdigest()}
                             for epoch in snapshots]
    if recipe.kind == "gan":
        card["training"].update(
            encoder_epochs=recipe.encoder_epochs,
            encoder_recon_weight=ENCODER_RECON_WEIGHT,
            discriminator_parameters=sum(parameter.numel() for parameter in run.discriminator.parameters()),
        )
    text = json.dumps(card, indent=2) + "\n"
    atomic_write(pack_dir / "card.json", lambda file: file.write(text.encode()))
    return card


@torch.no_grad()
def _evaluate(model: ConvVAE | GAN, images: torch.Tensor, seed: int) -> dict:
    """Reconstruction error per pixel on the validation images, plus KL (VAE) or latent error (GAN)."""
    mse = bce = 0.0
    kl_sum = torch.zeros(model.latent_dim, device=images.device, dtype=torch.float64)
    means = []
    for start in range(0, len(images), EVAL_BATCH):
        batch = images[start : start + EVAL_BATCH].float() / 255.0
        if isinstance(model, ConvVAE):
            mean, logvar = model.posterior(batch)
            kl_sum += kl_per_dimension(mean, logvar).double().sum(dim=0)
            means.append(mean.double())
        else:
            mean = model.encode(batch)
        logits = model.decode_logits(mean)
        mse += (torch.sigmoid(logits) - batch).square().double().sum().item()
        bce += F.binary_cross_entropy_with_logits(logits, batch, reduction="sum").double().item()
    pixels = images.numel()
    quality = {"split": "validation", "images": len(images), "recon_mse_per_pixel": round(mse / pixels, 6),
               "recon_bce_per_pixel": round(bce / pixels, 6)}
    if isinstance(model, ConvVAE):
        kl = (kl_sum / len(images)).tolist()
        variance = torch.cat(means).var(dim=0) if len(images) > 1 else torch.zeros(model.latent_dim)
        quality.update(kl_per_dim=[round(value, 4) for value in kl], kl_total=round(sum(kl), 4),
                       active_dims=int((variance > ACTIVE_DIM_THRESHOLD).sum()),
                       active_dim_threshold=ACTIVE_DIM_THRESHOLD)
    else:
        generator = torch.Generator(images.device).manual_seed(seed)
        latents = torch.randn(1024, model.latent_dim, device=images.device, generator=generator)
        quality["latent_mse"] = round(F.mse_loss(model.encode(model.decode(latents)), latents).item(), 6)
    return quality


def _write_png(path: Path, images: torch.Tensor, *, columns: int) -> None:
    """Save float (N, C, H, W) images in [0, 1] as a PNG grid, nearest-upscaled to at least 64 px a tile."""
    array = (images.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    count, height, width, channels = array.shape
    rows = -(-count // columns)
    grid = np.full((rows * height, columns * width, channels), 255, np.uint8)
    for i, tile in enumerate(array):
        row, column = divmod(i, columns)
        grid[row * height : (row + 1) * height, column * width : (column + 1) * width] = tile
    scale = max(1, 64 // min(height, width))
    image = Image.fromarray(grid[:, :, 0] if channels == 1 else grid)
    image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write(path, lambda file: file.write(buffer.getvalue()))
