"""The fake OpenAI server's Chat Completions endpoint, driven by the real `openai` client."""

from __future__ import annotations

import httpx2
import openai
import pytest

from tests.fakes.openai_server import FakeOpenAI

ANSWER_SYSTEM = "You are the teaching assistant of an online course. You answer a student's question ..."
REWRITE_SYSTEM = "You rewrite a student's follow-up question into one stand-alone search query ..."
PASSAGES = (
    "Passages:\n\n"
    "[1] Python lists (01:23–02:10)\n"
    "A list is an ordered, mutable sequence. You can append items to it.\n\n"
    "[2] Tuples (02:10–03:00)\n"
    "Tuples cannot change after creation! They are often used as keys.\n\n"
    "[3] Sets (03:00–04:00)\n"
    "Sets hold unique items.\n\n"
    "Question: How do lists and tuples differ?"
)
GROUNDED = ("From the videos: A list is an ordered, mutable sequence. [1] "
            "Tuples cannot change after creation! [2]")


def _client(fake: FakeOpenAI, key: str = "sk-good", max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=fake.base_url, max_retries=max_retries)


def _answer_messages(user: str = PASSAGES) -> list[dict[str, str]]:
    return [{"role": "system", "content": ANSWER_SYSTEM}, {"role": "user", "content": user}]


def test_a_non_streamed_answer_cites_the_first_two_passages():
    with FakeOpenAI() as fake:
        reply = _client(fake).chat.completions.create(model="gpt-4o-mini", messages=_answer_messages())
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
    assert reply.model == "gpt-4o-mini"
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert choice.message.content == GROUNDED
    assert reply.usage.completion_tokens == len(GROUNDED.split())
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert fake.requests[0]["path"] == "/v1/chat/completions" and fake.requests[0]["key"] == "sk-good"
    assert fake.requests[0]["body"]["messages"][1]["content"] == PASSAGES


def test_one_passage_gives_one_citation_and_none_gives_the_not_found_sentence():
    one = "Passages:\n\n[1] Loops (00:05–00:40)\nA for loop walks over any iterable\n\nQuestion: What is a loop?"
    with FakeOpenAI() as fake:
        client = _client(fake)
        single = client.chat.completions.create(model="gpt-4.1", messages=_answer_messages(one))
        empty = client.chat.completions.create(
            model="gpt-4.1", messages=_answer_messages("Passages:\n\n\n\nQuestion: What is a monad?"))
    assert single.choices[0].message.content == "From the videos: A for loop walks over any iterable [1]"
    assert single.model == "gpt-4.1"
    assert empty.choices[0].message.content == "I could not find this in the videos."


def test_a_streamed_answer_arrives_in_pieces_and_reassembles_to_the_same_text():
    with FakeOpenAI() as fake:
        client = _client(fake)
        whole = client.chat.completions.create(model="gpt-4o-mini", messages=_answer_messages())
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=_answer_messages(), stream=True,
                                                     stream_options={"include_usage": True}))
    assert all(chunk.object == "chat.completion.chunk" and chunk.model == "gpt-4o-mini" for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1
    first, *middle, finish, usage = chunks
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    deltas = [chunk.choices[0].delta.content for chunk in middle]
    assert len(deltas) > 1 and "".join(deltas) == whole.choices[0].message.content == GROUNDED
    assert finish.choices[0].finish_reason == "stop" and finish.choices[0].delta.content is None
    assert usage.choices == [] and usage.usage == whole.usage
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_without_include_usage_the_stream_has_no_usage_chunk():
    with FakeOpenAI() as fake:
        chunks = list(_client(fake).chat.completions.create(model="gpt-4o-mini", messages=_answer_messages(),
                                                            stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.choices and chunk.usage is None for chunk in chunks)


def test_a_rewrite_request_gets_the_follow_up_made_stand_alone():
    user = ("Conversation so far:\n"
            "user: What is a variable?\n"
            "assistant: A name bound to a value [1].\n"
            "user: How do Python lists work?\n"
            "assistant: They are ordered, mutable sequences [1].\n\n"
            "Follow-up question: and tuples?")
    with FakeOpenAI() as fake:
        client = _client(fake)
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "system", "content": REWRITE_SYSTEM},
                                           {"role": "user", "content": user}])
        streamed = client.chat.completions.create(
            model="gpt-4o-mini", stream=True, messages=[{"role": "system", "content": REWRITE_SYSTEM},
                                                        {"role": "user", "content": user}])
        text = "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices)
    assert reply.choices[0].message.content == "How do Python lists work? and tuples?" == text


def test_a_rejected_key_raises_authentication_error():
    with FakeOpenAI() as fake, pytest.raises(openai.AuthenticationError) as error:
        _client(fake, "sk-rejected").chat.completions.create(model="gpt-4o-mini", messages=_answer_messages(),
                                                             stream=True)
    assert error.value.status_code == 401 and error.value.code == "invalid_api_key"


def test_one_server_error_is_absorbed_by_the_sdk_retry():
    with FakeOpenAI() as fake:
        reply = _client(fake, "sk-flaky", max_retries=2).chat.completions.create(
            model="gpt-4o-mini", messages=_answer_messages())
    assert reply.choices[0].message.content == GROUNDED and len(fake.requests) == 2


def test_rate_limiting_raises_rate_limit_error_without_retries():
    with FakeOpenAI() as fake, pytest.raises(openai.RateLimitError) as error:
        _client(fake, "sk-ratelimited").chat.completions.create(model="gpt-4o-mini", messages=_answer_messages())
    assert error.value.status_code == 429 and len(fake.requests) == 1


def test_a_stream_dropped_mid_way_raises_a_connection_error_after_two_deltas():
    received: list[str] = []
    with FakeOpenAI() as fake:
        stream = _client(fake, "sk-dropstream").chat.completions.create(
            model="gpt-4o-mini", messages=_answer_messages(), stream=True)
        with pytest.raises(openai.APIConnectionError) as error:
            for chunk in stream:
                received.append(chunk.choices[0].delta.content)
    assert received[0] == "" and len(received) == 3  # the role chunk and two content deltas
    assert GROUNDED.startswith("".join(received)) and "".join(received) != GROUNDED
    assert isinstance(error.value.__cause__, httpx2.RemoteProtocolError)
    assert "incomplete chunked read" in str(error.value.__cause__)
