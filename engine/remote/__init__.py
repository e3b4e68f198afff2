"""The remote engine: Deskhand's engine contract served by any OpenAI-compatible server
(vLLM, TGI, SGLang, llama.cpp's server, Ollama) when ENGINE_URL is set.

`RemoteEngine` (client.py) streams `/v1/chat/completions` over SSE; `wire.py` maps our
requests and the server's chunks; `tokenizer.py` loads only the tokenizer for exact counts;
`startup.py` builds it from settings; `llama_server.py` starts llama-cpp-python's server
for tests and benchmarks. Nothing here imports torch.
"""

from engine.remote.client import RemoteConfig, RemoteEngine, RemoteHandle
from engine.remote.startup import start_remote_engine

__all__ = ["RemoteConfig", "RemoteEngine", "RemoteHandle", "start_remote_engine"]
