"""The registry of augmentation steps: what :func:`harness.data.augment.sample_augment` draws in
the dataloader worker and :func:`harness.data.augment.augment_clips` applies on the device.

A step (:class:`AugmentStep`) has a name, a position in the device order, the augment options
it reads, the parameter keys it draws or is given, a worker-side ``sample`` and a device-side
``apply``. The core registers the generic steps (:mod:`harness.data.augment`) at these
positions:

    10 crop -> 20 flip -> 30 colour jitter -> 40 grayscale -> 50 blur -> 60 solarize
    -> 100 normalise

Steps below 100 see colour values in [0, 1]; steps above it see normalised values. A plugin
registers its own steps (:func:`register_augment_step`) in a module its configs import (their
``custom_imports``), at free positions. A step without ``sample`` is given its parameters by a
sampler of its plugin, which writes them into the clip's ``augment`` parameters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from torch import Tensor

from harness.errors import ConfigError

#: The normalisation step's position: steps before it work on [0, 1] colour values.
NORMALISE_POSITION = 100

_HOW_TO_REGISTER = ("a plugin's steps are registered when its augment module is imported, e.g. "
                    "through the config's custom_imports")


class AugmentOptionError(ConfigError, ValueError):
    """An augment option or parameter that no registered step reads."""


@dataclass(frozen=True)
class AugmentStep:
    """One augmentation step.

    name: the step's name (unique). position: where it runs in the device order (unique; see
    the module doc for the core's positions). options: the augment options ``sample`` reads.
    params: the parameter keys the step uses; it is applied to a batch exactly when all of
    them are present (a step without params always applies).
    apply: ``apply(frames, params) -> frames`` on the device, ``frames`` a float batch
    ``[N, T, 3, H, W]`` and ``params`` the batch's parameters (each ``[N, ...]``, and ``size``,
    the output size, an int).
    sample: ``sample(options, height, width) -> {param: tensor}``, one clip's parameters drawn
    in the worker from torch's RNG (``height``, ``width``: the decoded frames' size); it may
    draw nothing (an empty dict) when its options switch it off. None when the plugin's own
    sampler writes the parameters.
    """

    name: str
    position: int
    apply: Callable[[Tensor, Mapping[str, Any]], Tensor]
    params: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    sample: Callable[[Mapping[str, Any], int, int], dict[str, Tensor]] | None = None

    def _identity(self) -> tuple:
        """What makes a re-registration (the same module imported again) the same step."""
        return (self.name, self.position, self.params, self.options,
                *(f'{f.__module__}.{f.__qualname__}' if f else None
                  for f in (self.apply, self.sample)))


#: Every registered step by name.
AUGMENT_STEPS: dict[str, AugmentStep] = {}


def register_augment_step(step: AugmentStep) -> AugmentStep:
    """Add ``step`` to :data:`AUGMENT_STEPS` and return it. Registering the same step again
    (its module imported twice) is a no-op; a step that takes another's name, position,
    option or parameter is refused with ``ValueError``."""
    known = AUGMENT_STEPS.get(step.name)
    if known is not None:
        if known._identity() == step._identity():
            return known
        raise ValueError(f'augment step {step.name!r} is already registered')
    for other in AUGMENT_STEPS.values():
        clash = ('position', {step.position} & {other.position}), \
                ('option', set(step.options) & set(other.options)), \
                ('parameter', set(step.params) & set(other.params))
        for what, shared in clash:
            if shared:
                raise ValueError(f'augment step {step.name!r} takes the {what} '
                                 f"{', '.join(map(str, sorted(shared)))} of step {other.name!r}")
    AUGMENT_STEPS[step.name] = step
    return step


def ordered_steps() -> list[AugmentStep]:
    """The registered steps in device order (by position)."""
    return sorted(AUGMENT_STEPS.values(), key=lambda step: step.position)


def known_options() -> tuple[str, ...]:
    """Every augment option a registered step reads, in device order."""
    return tuple(option for step in ordered_steps() for option in step.options)


def check_options(options: Mapping[str, Any]) -> None:
    """Refuse (:class:`AugmentOptionError`) options that no registered step reads."""
    unknown = sorted(set(options) - set(known_options()))
    if unknown:
        raise AugmentOptionError(f"unknown augment option(s) {', '.join(unknown)}; known: "
                                 f"{', '.join(known_options())} ({_HOW_TO_REGISTER})")


def check_params(params: Mapping[str, Any]) -> None:
    """Refuse (:class:`AugmentOptionError`) drawn parameters that no registered step applies
    (``size``, the output size, belongs to every clip)."""
    claimed = {key for step in AUGMENT_STEPS.values() for key in step.params}
    unknown = sorted(set(params) - claimed - {'size'})
    if unknown:
        raise AugmentOptionError(f"augment parameter(s) {', '.join(unknown)} belong to no "
                                 f'registered augment step ({_HOW_TO_REGISTER})')
