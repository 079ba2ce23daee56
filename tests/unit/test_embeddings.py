"""Embedding providers: the shipped local model, and OpenAI through its real client."""

from __future__ import annotations

import numpy as np
import pytest

from chronos_data.config import Settings
from chronos_data.embeddings import CachedEmbedder, LocalEmbedder, OpenAIEmbedder, embedder_for
from chronos_data.errors import SourceError
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    return LocalEmbedder()


def test_the_local_model_understands_meaning_offline(local):
    question, answer, unrelated = local.embed([
        "How do I reverse a list in Python?",
        "You can flip the order of the items with slicing and a negative step, or call reversed().",
        "The bakery opens at seven and sells sourdough bread.",
    ])
    assert question.shape == (384,) and np.linalg.norm(question) == pytest.approx(1.0, abs=1e-5)
    assert float(question @ answer) > float(question @ unrelated) + 0.2


def test_the_local_model_is_deterministic_and_batches(local):
    texts = [f"sentence number {i} about databases" for i in range(70)]
    once, again = local.embed(texts), local.embed(texts[::-1])[::-1]
    assert once.shape == (70, 384) and np.allclose(once, again, atol=1e-5)


def _settings(key: str, base_url: str) -> Settings:
    return Settings.from_env({"OPENAI_API_KEY": key, "OPENAI_BASE_URL": base_url})


def test_openai_embeddings_in_batches_through_the_real_client():
    with FakeOpenAI() as api:
        embedder = OpenAIEmbedder(_settings("sk-good", api.base_url))
        vectors = embedder.embed([f"chunk {i}" for i in range(300)])
    assert vectors.shape == (300, 1536)
    assert [len(r["body"]["input"]) for r in api.requests] == [256, 44]
    assert embedder.tokens_used == 600 and embedder.model == "text-embedding-3-small"


def test_a_rejected_key_says_so():
    with FakeOpenAI() as api, pytest.raises(SourceError, match="OpenAI rejected the API key") as error:
        OpenAIEmbedder(_settings("sk-rejected", api.base_url)).embed(["x"])
    assert not error.value.transient


def test_rate_limits_are_retried_by_the_sdk_then_reported_as_transient():
    with FakeOpenAI() as api, pytest.raises(SourceError, match="rate-limiting") as error:
        OpenAIEmbedder(_settings("sk-ratelimited", api.base_url), max_retries=2).embed(["x"])
    assert error.value.transient and len(api.requests) == 3  # one call plus the SDK's two retries


def test_one_server_error_is_absorbed_by_the_sdk_retry():
    with FakeOpenAI() as api:
        assert OpenAIEmbedder(_settings("sk-flaky", api.base_url)).embed(["x"]).shape == (1, 1536)
    assert len(api.requests) == 2


def test_the_provider_follows_the_key():
    assert isinstance(embedder_for(Settings.from_env({})), LocalEmbedder)
    assert isinstance(embedder_for(Settings.from_env({"OPENAI_API_KEY": "sk"})), OpenAIEmbedder)


class _Counting:
    """A model that numbers texts and counts what it was asked to embed."""

    model, dimensions = "counting", 2

    def __init__(self) -> None:
        self.asked: list[str] = []

    def embed(self, texts):
        self.asked.extend(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_the_cache_embeds_each_text_once_and_answers_in_the_order_asked():
    inner = _Counting()
    cached = CachedEmbedder(inner)
    first = cached.embed(["a", "bb", "a"])
    second = cached.embed(["bb", "ccc"])
    assert inner.asked == ["a", "bb", "ccc"]
    assert first[:, 0].tolist() == [1, 2, 1] and second[:, 0].tolist() == [2, 3]
    assert cached.embed([]).shape == (0, 2)


def test_the_cache_forgets_the_least_recently_used_texts_past_its_size():
    inner = _Counting()
    cached = CachedEmbedder(inner, max_bytes=2 * 4 * inner.dimensions)  # room for two vectors
    cached.embed(["a", "b"])
    cached.embed(["a"])  # "a" is now the most recent
    cached.embed(["c"])  # "b" goes
    cached.embed(["a", "b"])
    assert inner.asked == ["a", "b", "c", "b"] and len(cached) == 2
