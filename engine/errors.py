"""Errors the engine raises to its callers. Each message is safe to log, never to show raw.

Callers map these types to user-facing sentences; they never show exception text to users.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class for everything the engine raises on purpose."""


class EngineOverloaded(EngineError):
    """The running batch and the queue are both full; try again later."""

    def __init__(self, running: int, queued: int) -> None:
        super().__init__(f"engine overloaded: {running} running, {queued} queued")
        self.running, self.queued = running, queued


class PromptTooLong(EngineError):
    """The prompt does not fit the context window together with room to answer."""

    def __init__(self, prompt_tokens: int, context_window: int) -> None:
        super().__init__(
            f"prompt is {prompt_tokens} tokens; the context window is {context_window} "
            "(trim the conversation: count_tokens() measures it)"
        )
        self.prompt_tokens, self.context_window = prompt_tokens, context_window


class EngineDead(EngineError):
    """The device failed; every request was failed and the process should restart."""


class EngineShutdown(EngineError):
    """submit() after shutdown()."""


class ModelLoadError(EngineError):
    """The configured model could not be found or loaded; the message says how to fix it."""


class OutOfDeviceMemory(EngineError):
    """A model step ran out of device memory; a smaller batch may fit (raised by the runner)."""


class DeviceFailure(EngineError):
    """The device itself failed (a CUDA error): nothing on it can be trusted any more."""


class UnsupportedModel(ModelLoadError):
    """The model's architecture or configuration is one the engine cannot run exactly."""


class EngineUnreachable(EngineError):
    """A remote engine (ENGINE_URL) could not be reached or refused the request."""
