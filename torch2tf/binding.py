"""How the model's inputs reach forward(): by keyword where a parameter has their name, else by position.

Hugging Face users name their inputs (``input_ids``, ``attention_mask``) and expect them to land on
the parameters of that name, whatever forward()'s order (GPT-2's second parameter is
``past_key_values``, not ``attention_mask``). An input whose name matches no parameter takes the
next free positional parameter; a ``forward(*args)`` wrapper gets them all by position. A
``use_cache`` parameter nobody binds is set to False: a KV cache is decoding state, not an output a
converted model returns.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field, replace
from typing import Any

from torch2tf.errors import InputSpecError, UsageError

FIXED_KEYWORDS = {"use_cache": False}


@dataclass(frozen=True)
class ForwardSignature:
    """forward()'s parameters, as far as binding needs them."""

    params: tuple[str, ...] = ()  # positional-or-keyword, in order
    keyword_only: tuple[str, ...] = ()
    var_positional: str | None = None  # the name of *args
    var_keyword: str | None = None  # the name of **kwargs
    defaults: tuple[tuple[str, str], ...] = ()  # (parameter, repr of its default) for those that have one

    @classmethod
    def of(cls, function: Any) -> ForwardSignature:
        try:
            parameters = list(inspect.signature(function).parameters.values())
        except (TypeError, ValueError):
            return cls(var_positional="args")
        kinds = inspect.Parameter
        return cls(params=tuple(p.name for p in parameters if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)),
                   keyword_only=tuple(p.name for p in parameters if p.kind == kinds.KEYWORD_ONLY),
                   var_positional=next((p.name for p in parameters if p.kind == kinds.VAR_POSITIONAL), None),
                   var_keyword=next((p.name for p in parameters if p.kind == kinds.VAR_KEYWORD), None),
                   defaults=tuple((p.name, repr(p.default)) for p in parameters if p.default is not p.empty))


@dataclass(frozen=True)
class ForwardCall:
    """The inputs (by name) split into forward()'s positional and keyword arguments."""

    positional: tuple[str, ...] = ()  # input names passed by position, in order
    keyword: tuple[tuple[str, str], ...] = ()  # (parameter, input name) passed by keyword, in --input order
    slots: tuple[tuple[str, str | None], ...] = ()  # (input name, parameter it lands on; None: into *args)
    varargs: str | None = None  # the name of forward()'s *args when inputs land there
    fixed: dict[str, Any] = field(default_factory=dict)  # extra keyword arguments (use_cache=False)

    @property
    def order(self) -> list[str]:
        """Input names in the order exporters flatten them: positional, then keyword."""
        return list(self.positional) + [name for _, name in self.keyword]

    def split(self, values: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
        args = tuple(values[name] for name in self.positional)
        kwargs = {param: values[name] for param, name in self.keyword}
        return args, {**kwargs, **self.fixed}

    def dynamic_shapes(self, per_input: dict[str, Any]) -> dict[str, Any]:
        """torch.export's dynamic_shapes keyed by forward()'s parameter names (a tuple for *args)."""
        shapes: dict[str, Any] = {param: per_input[name] for name, param in self.slots if param is not None}
        if self.varargs:
            shapes[self.varargs] = tuple(per_input[name] for name, param in self.slots if param is None)
        return shapes


def bind_inputs(signature: ForwardSignature, names: list[str], fixed_keywords: bool = True) -> ForwardCall:
    """Decide how each input reaches forward(); InputSpecError when one has nowhere to go."""
    named = set(signature.params) | set(signature.keyword_only)
    taken = {n for n in names if n in named}
    free = [p for p in signature.params if p not in taken]
    slots: list[tuple[str, str | None]] = []
    for name in names:
        if name in named:
            slots.append((name, name))
        elif free:
            slots.append((name, free.pop(0)))
        elif signature.var_positional:
            return _by_position(signature, names, fixed_keywords)
        elif signature.var_keyword:
            slots.append((name, name))
        else:
            takes = ", ".join(signature.params + signature.keyword_only) or "nothing"
            raise InputSpecError(f"{len(names)} inputs given but forward() takes {len(named)}: {takes}",
                                 hint=f"input {name!r} matches no parameter of forward()")
    return ForwardCall(keyword=tuple((param, name) for name, param in slots), slots=tuple(slots),
                       fixed=_fixed(named - taken, fixed_keywords))


def bind_by_position(signature: ForwardSignature, names: list[str]) -> ForwardCall:
    """Every input by position, in --input order: how a TorchScript or ExportedProgram module takes them."""
    if len(names) > len(signature.params) and not signature.var_positional and signature.params:
        raise InputSpecError(f"{len(names)} inputs given but forward() takes {len(signature.params)}: "
                             f"{', '.join(signature.params)}")
    return _by_position(signature, names, fixed_keywords=False)


def _by_position(signature: ForwardSignature, names: list[str], fixed_keywords: bool) -> ForwardCall:
    """Some inputs can only go through *args: then every input goes by position, in --input order."""
    slots = [(name, signature.params[i] if i < len(signature.params) else None) for i, name in enumerate(names)]
    for name, param in slots:
        if name in signature.params and param != name:
            raise InputSpecError(f"input {name!r} is forward()'s parameter {name!r} but reaches it by position "
                                 f"as {param or '*' + signature.var_positional!r}",
                                 hint=f"give --input in forward()'s order: {', '.join(signature.params)}, then *args")
    unbound = (set(signature.params[len(names):]) | set(signature.keyword_only))
    return ForwardCall(positional=tuple(names), slots=tuple(slots), varargs=signature.var_positional,
                       fixed=_fixed(unbound, fixed_keywords))


def with_arguments(binding: ForwardCall, signature: ForwardSignature, args: dict[str, Any]) -> ForwardCall:
    """``binding`` with forward() parameters set to constants (--arg NAME=VALUE) for the export and every run.

    UsageError for a name forward() does not take, or one an input already reaches."""
    named = signature.params + signature.keyword_only
    for name in args:
        if name not in named and not signature.var_keyword:
            raise UsageError(f"--arg {name}: forward() has no parameter {name!r}",
                             hint=f"it takes: {', '.join(named) or 'no named parameters'}")
        taken = next((given for given, param in binding.slots if param == name), None)
        if taken is not None:
            raise UsageError(f"--arg {name}: that parameter already receives the input {taken!r}")
    return replace(binding, fixed={**binding.fixed, **args})


def left_at_default(binding: ForwardCall, signature: ForwardSignature) -> list[str]:
    """forward()'s parameters that neither an input nor a constant sets: ``name=default`` each."""
    set_here = {param for _, param in binding.slots} | set(binding.fixed)
    return [f"{name}={default}" for name, default in signature.defaults if name not in set_here]


def _fixed(unbound: set[str], fixed_keywords: bool) -> dict[str, Any]:
    return {k: v for k, v in FIXED_KEYWORDS.items() if fixed_keywords and k in unbound}
