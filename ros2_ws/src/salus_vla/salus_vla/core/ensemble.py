"""K action samples from one SmolVLA observation with one shared VLM-prefix pass, plus the VLA's internals.

SmolVLA (lerobot 0.6.1, ``VLAFlowMatching.sample_actions``) embeds the prefix (camera images, task tokens,
state), runs it once through the VLM to fill a ``DynamicCache`` of per-layer keys/values, then integrates
the flow from noise to actions with ``num_steps`` Euler steps of ``denoise_step``, each of which runs only the
action expert against that cache (and crops the cache back to the prefix afterwards). The prefix does not
depend on the noise, so :class:`EnsembleSampler` runs it once, repeats the cache K times along the batch
(``DynamicCache.batch_repeat_interleave``) and integrates K noise draws as one batch of K, using lerobot's
own ``embed_prefix``, ``denoise_step`` and ``euler_integrate``. The result equals K separate
``predict_action_chunk`` calls with the same noise (the test suite checks this), at about the cost of one.

Internals are captured in the same pass without changing any number:

* attention probabilities of the prefix: lerobot's ``SmolVLMWithExpertModel`` computes them inside
  ``eager_attention_forward`` and discards them. For the prefix pass only, that method is shadowed on the
  instance by a wrapper that calls the original (whose output is used unchanged) and recomputes
  ``softmax(QK^T/sqrt(d) masked)`` from the same query/key/mask for the summary. Forward hooks cannot do
  this (``vlm_with_expert.forward`` is called directly and the probabilities are never a module output).
* the final prefix hidden state: the first output of the prefix ``vlm_with_expert.forward`` (after
  ``text_model.norm``), which ``sample_actions`` throws away.
* expert hidden states: a forward hook on ``lm_expert.norm`` (it fires), kept for the last flow step.

Observations are lerobot observation dicts, what the policy's preprocessor takes (see
:func:`make_observation`). Batch size is 1 (one robot); the K samples are the batch of the flow.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from lerobot.utils.constants import OBS_STATE

from salus_common.lerobot_keys import as_image_key
from salus_vla.core.policy_loader import LoadedPolicy

TASK_KEY = "task"


@dataclass
class EnsembleChunk:
    """K sampled action chunks for one observation, and the VLA internals of that same forward pass.

    Attributes:
        samples: (K, chunk_size, action_dim) float32, in the robot's action space (unnormalised by the
            policy's postprocessor, trimmed to the real action dim): joint targets [rad], fingers [m].
        mean: (chunk_size, action_dim) mean over the K samples.
        std: (chunk_size, action_dim) population standard deviation over the K samples (0 for K = 1).
        attention_entropy: (num_vlm_layers,) per VLM layer, the mean over heads and over valid (non-padding)
            prefix query tokens of the entropy [nats] of that query's attention distribution over the
            prefix keys, in the prefix pass.
        prefix_hidden: (num_valid_prefix_tokens, vlm_hidden) float32, the VLM's final (normed) hidden state
            of every valid prefix token (image tokens of each camera, task tokens, state token, in that
            order).
        expert_hidden: (K, expert_hidden) float32 or None, the action expert's final (normed) hidden state
            at the last flow step, averaged over the chunk's action tokens, one row per sample.
        attention_probs: None, or (when asked for) one (heads, L, L) float32 array per VLM layer for the
            prefix pass (L = prefix length incl. padding).
        timing_ms: wall-clock milliseconds of the stages (preprocess, prefix, denoise, postprocess, total),
            with the device synchronised at stage boundaries.
    """

    samples: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    attention_entropy: np.ndarray
    prefix_hidden: np.ndarray
    expert_hidden: np.ndarray | None = None
    attention_probs: list[np.ndarray] | None = None
    timing_ms: dict[str, float] = field(default_factory=dict)

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def chunk_size(self) -> int:
        return int(self.samples.shape[1])

    @property
    def variance(self) -> np.ndarray:
        """(chunk_size, action_dim) population variance over the K samples."""
        return self.std**2


def make_observation(
    images: Mapping[str, np.ndarray],
    state: np.ndarray,
    task: str,
) -> dict[str, Any]:
    """A lerobot observation dict (unbatched) from camera frames, the joint state and the task text.

    Args:
        images: camera name (``front``) or key (``observation.images.front``) -> frame, (H, W, 3) uint8 RGB
            (or float in [0, 1]). Frames may have any size: SmolVLA resizes them with padding.
        state: (state_dim,) joint positions [rad] and finger positions [m], as the policy was trained with.
        task: the instruction, e.g. ``"pick up the red cube and place it in the bin"``.

    Returns ``{"observation.images.<cam>": float32 (3, H, W) in [0, 1], "observation.state": float32
    (state_dim,), "task": str}`` as CPU tensors; the policy's preprocessor adds the batch dimension,
    tokenises the task, moves everything to the device and normalises the state.
    """
    import torch

    if not isinstance(task, str) or not task.strip():
        raise ValueError("task must be a non-empty string")
    obs: dict[str, Any] = {}
    for name, frame in images.items():
        arr = np.asarray(frame)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"camera {name!r}: expected an (H, W, 3) RGB frame, got shape {arr.shape}")
        if arr.dtype == np.uint8:
            chw = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().div_(255.0)
        elif np.issubdtype(arr.dtype, np.floating):
            chw = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32))
        else:
            raise ValueError(f"camera {name!r}: frames must be uint8 or float in [0, 1], got {arr.dtype}")
        obs[as_image_key(name)] = chw
    s = np.asarray(state, dtype=np.float32)
    if s.ndim != 1:
        raise ValueError(f"state must be a 1-D vector, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("state holds non-finite values")
    obs[OBS_STATE] = torch.from_numpy(s.copy())
    obs[TASK_KEY] = task
    return obs


def _attention_probs(mask, head_dim: int, query_states, key_states):
    """softmax(Q K^T / sqrt(d)) with masked keys excluded, in float32: (B, heads, L, S).

    Q is (B, L, heads, d), K is (B, S, kv_heads, d) (grouped-query: query head h reads kv head
    h // (heads / kv_heads)), mask is (B, L, S) bool (True = may attend).
    """
    import torch

    q = query_states.float()
    k = key_states.float()
    groups = q.shape[2] // k.shape[2]
    if groups > 1:
        k = k.repeat_interleave(groups, dim=2)
    scores = torch.einsum("blhd,bshd->bhls", q, k) * (head_dim**-0.5)
    scores = scores.masked_fill(~mask[:, None, :, :], torch.finfo(scores.dtype).min)
    return torch.softmax(scores, dim=-1)


class _LastOutput:
    """Forward hook keeping a module's last output in one fixed slot.

    A stable callable object with a fixed slot (rather than a fresh closure appending to a list) keeps
    ``torch.compile`` from recompiling the hooked code on every call.
    """

    def __init__(self) -> None:
        self.value = None

    def __call__(self, _module, _args, output) -> None:
        self.value = output


@contextmanager
def _capture_attention(vlm_with_expert, on_probs):
    """Shadow ``eager_attention_forward`` on this instance: original output, probabilities to ``on_probs``."""
    original = vlm_with_expert.eager_attention_forward

    def eager_attention_with_capture(
        attention_mask, batch_size, head_dim, query_states, key_states, value_states
    ):
        out = original(attention_mask, batch_size, head_dim, query_states, key_states, value_states)
        on_probs(_attention_probs(attention_mask, head_dim, query_states, key_states))
        return out

    vlm_with_expert.eager_attention_forward = eager_attention_with_capture
    try:
        yield
    finally:
        vlm_with_expert.__dict__.pop("eager_attention_forward", None)


class EnsembleSampler:
    """Samples K action chunks per observation with one shared prefix pass (see the module docstring).

    Args:
        loaded: the policy and its processors (:func:`salus_vla.core.policy_loader.load_policy`).
        num_samples: K >= 1.
        seed: seed of the sampler's own noise generator (CPU generator, so draws do not depend on the device).
        capture_attention_probs: also return the full prefix attention probabilities (large for big models).
        capture_expert: capture the expert's final hidden states.
    """

    def __init__(
        self,
        loaded: LoadedPolicy,
        num_samples: int,
        seed: int = 0,
        *,
        capture_attention_probs: bool = False,
        capture_expert: bool = True,
    ) -> None:
        import torch

        if int(num_samples) < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        config = loaded.policy.config
        if not config.use_cache:
            raise ValueError("the shared-prefix ensemble needs SmolVLA's KV cache (config.use_cache=True)")
        if config.adapt_to_pi_aloha:
            raise ValueError("adapt_to_pi_aloha policies are not supported by the ensemble")
        if config.rtc_config is not None and config.rtc_config.enabled:
            raise ValueError("real-time chunking (rtc_config.enabled) is not supported by the ensemble")
        self.loaded = loaded
        self.num_samples = int(num_samples)
        self.capture_attention_probs = capture_attention_probs
        self.capture_expert = capture_expert
        self._generator = torch.Generator(device="cpu")
        self.reseed(seed)
        self._expert_out = _LastOutput()

    # -- helpers -------------------------------------------------------------------------------------------

    def reseed(self, seed: int) -> None:
        """Restart the noise generator: the same seed gives the same noise draws again (exact replays)."""
        self._generator.manual_seed(int(seed))

    @property
    def noise_shape(self) -> tuple[int, int, int]:
        """(K, chunk_size, max_action_dim): the shape of the noise ``sample`` takes."""
        c = self.loaded.policy.config
        return (self.num_samples, int(c.chunk_size), int(c.max_action_dim))

    def draw_noise(self, num_samples: int | None = None):
        """Standard-normal float32 noise from the sampler's generator, on the policy's device."""
        import torch

        k = self.num_samples if num_samples is None else int(num_samples)
        shape = (k, *self.noise_shape[1:])
        return torch.randn(shape, generator=self._generator, dtype=torch.float32).to(self.loaded.device)

    def _check_noise(self, noise, k: int):
        import torch

        expected = (k, *self.noise_shape[1:])
        if tuple(noise.shape) != expected:
            raise ValueError(f"noise must have shape {expected}, got {tuple(noise.shape)}")
        return noise.to(device=self.loaded.device, dtype=torch.float32)

    def _sync(self) -> None:
        import torch

        if self.loaded.device.type == "cuda":
            torch.cuda.synchronize(self.loaded.device)

    def preprocess(self, observation: Mapping[str, Any]) -> dict[str, Any]:
        """Run the policy's preprocessor on a raw observation dict (batch size must come out as 1)."""
        batch = self.loaded.preprocessor(dict(observation))
        state = batch.get(OBS_STATE)
        if state is None or state.shape[0] != 1:
            raise ValueError("the ensemble samples one observation at a time (batch size 1)")
        return batch

    # -- sampling ------------------------------------------------------------------------------------------

    def sample(self, observation: Mapping[str, Any], noise=None) -> EnsembleChunk:
        """K action chunks for one raw observation (see :func:`make_observation`), one prefix pass.

        ``noise``: optional (K, chunk_size, max_action_dim) tensor; by default drawn from the sampler's
        generator.
        """
        import torch

        t0 = time.perf_counter()
        batch = self.preprocess(observation)
        self._sync()
        t1 = time.perf_counter()
        noise = self.draw_noise() if noise is None else self._check_noise(noise, self.num_samples)
        with torch.no_grad():
            chunk = self._sample_batch(batch, noise)
        chunk.timing_ms["preprocess"] = (t1 - t0) * 1e3
        chunk.timing_ms["total"] = (time.perf_counter() - t0) * 1e3
        return chunk

    def _sample_batch(self, batch: dict[str, Any], noise) -> EnsembleChunk:
        import torch
        from lerobot.policies.common.flow_matching import euler_integrate
        from lerobot.policies.common.vla_utils import make_att_2d_masks
        from lerobot.utils.constants import OBS_LANGUAGE_ATTENTION_MASK, OBS_LANGUAGE_TOKENS

        policy = self.loaded.policy
        policy.eval()
        model = policy.model
        vwe = model.vlm_with_expert
        config = policy.config
        k = int(noise.shape[0])
        timing: dict[str, float] = {}

        t0 = time.perf_counter()
        images, img_masks = policy.prepare_images(batch)
        state = policy.prepare_state(batch)
        prefix_embs, prefix_pad_masks, prefix_att_masks = model.embed_prefix(
            images, img_masks, batch[OBS_LANGUAGE_TOKENS], batch[OBS_LANGUAGE_ATTENTION_MASK], state=state
        )
        prefix_att_2d = make_att_2d_masks(prefix_pad_masks, prefix_att_masks)
        prefix_positions = torch.cumsum(prefix_pad_masks, dim=1) - 1

        valid = prefix_pad_masks[0]
        entropies: list = []
        probs_kept: list[np.ndarray] = []

        def on_probs(probs) -> None:  # probs: (1, heads, L, L) float32
            ent = -torch.special.xlogy(probs, probs).sum(dim=-1)  # (1, heads, L)
            entropies.append(ent[0][:, valid].mean())
            if self.capture_attention_probs:
                probs_kept.append(probs[0].cpu().numpy())

        with _capture_attention(vwe, on_probs):
            (prefix_out, _), cache = vwe.forward(
                attention_mask=prefix_att_2d,
                position_ids=prefix_positions,
                past_key_values=None,
                inputs_embeds=[prefix_embs, None],
                use_cache=True,
            )
        prefix_hidden = prefix_out[0][valid].float()
        self._sync()
        t1 = time.perf_counter()
        timing["prefix"] = (t1 - t0) * 1e3

        if k > 1:
            cache.batch_repeat_interleave(k)
            prefix_pad_masks = prefix_pad_masks.repeat_interleave(k, dim=0)
        self._expert_out.value = None
        hook = None
        if self.capture_expert:
            hook = vwe.lm_expert.norm.register_forward_hook(self._expert_out)
        try:
            x = euler_integrate(
                lambda x_t, timestep: model.denoise_step(
                    prefix_pad_masks=prefix_pad_masks, past_key_values=cache, x_t=x_t, timestep=timestep
                ),
                noise,
                int(config.num_steps),
            )
        finally:
            if hook is not None:
                hook.remove()
        actions = x[:, :, : int(config.action_feature.shape[0])]
        self._sync()
        t2 = time.perf_counter()
        timing["denoise"] = (t2 - t1) * 1e3

        samples = self.loaded.postprocessor(actions)
        samples = samples.detach().float().cpu().numpy().astype(np.float32, copy=False)
        expert_hidden = None
        if self._expert_out.value is not None:  # the last flow step's output
            last = self._expert_out.value[:, -int(config.chunk_size) :]
            expert_hidden = last.float().mean(dim=1).cpu().numpy()
            self._expert_out.value = None
        attention_entropy = torch.stack(entropies).cpu().numpy().astype(np.float32)
        prefix_hidden_np = prefix_hidden.cpu().numpy()
        timing["postprocess"] = (time.perf_counter() - t2) * 1e3
        return EnsembleChunk(
            samples=samples,
            mean=samples.mean(axis=0),
            std=samples.std(axis=0),
            attention_entropy=attention_entropy,
            prefix_hidden=prefix_hidden_np,
            expert_hidden=expert_hidden,
            attention_probs=probs_kept if self.capture_attention_probs else None,
            timing_ms=timing,
        )

    def sample_separately(self, observation: Mapping[str, Any], noise=None):
        """K separate calls of the policy's own ``predict_action_chunk``, one per noise draw (the reference).

        Returns a (K, chunk_size, action_dim) float32 numpy array in the robot's action space (each call's
        output through the postprocessor). ``noise`` as in :meth:`sample`.
        """
        import torch

        noise = self.draw_noise() if noise is None else self._check_noise(noise, int(noise.shape[0]))
        batch = self.preprocess(observation)
        policy = self.loaded.policy
        out = []
        with torch.no_grad():
            for i in range(int(noise.shape[0])):
                actions = policy.predict_action_chunk(dict(batch), noise=noise[i : i + 1])
                out.append(self.loaded.postprocessor(actions)[0])
        return torch.stack(out).float().cpu().numpy()
