"""The assistant: finding the transcript passages that answer a question, and answering with them."""

from .answer import (
    OFFLINE_LABEL,
    OFFLINE_MODEL,
    Answer,
    AnswerRun,
    Assistant,
    QuestionNotAnswered,
    model_label,
    session_scope,
    standalone_query,
)
from .citations import Citation
from .llm import AnswerError, ChatModel, OpenAIChat, chat_model_for
from .retrieve import Scope, Source, retrieve
from .search import SEARCH_MODES, Passage, hybrid_search

__all__ = [
    "OFFLINE_LABEL",
    "OFFLINE_MODEL",
    "SEARCH_MODES",
    "Answer",
    "AnswerError",
    "AnswerRun",
    "Assistant",
    "ChatModel",
    "Citation",
    "OpenAIChat",
    "Passage",
    "QuestionNotAnswered",
    "Scope",
    "Source",
    "chat_model_for",
    "hybrid_search",
    "model_label",
    "retrieve",
    "session_scope",
    "standalone_query",
]
