"""Chinese word segmentation for full-text search (分词), with jieba.

Chinese has no spaces between words, so neither SQLite FTS5 nor PostgreSQL's text search
can split it. We segment with jieba and store the words separated by spaces; both engines
then index those words (FTS5's unicode61 tokenizer, PostgreSQL's ``'simple'`` configuration).

* ``index_tokens(text)``: the words to store, in search-engine mode (``cut_for_search``: a long
  word and the shorter dictionary words inside it, so "停车场" is found by "停车").
* ``query_terms(text)``: the words of a search query, stop words dropped, de-duplicated,
  capped, each made only of letters and digits, so no FTS or tsquery syntax character can
  reach the engine.

jieba's dictionary is loaded once, on first use (about a second) or when a serving process starts
(``portal.heap.settle``), with its logger quietened: it prints nothing to stdout or the logs.
"""
from __future__ import annotations

import logging
import re
import threading

MAX_QUERY_CHARS = 200      # a longer query is cut here before segmenting
MAX_TERMS = 16             # a query uses at most this many words
MAX_INDEX_CHARS = 4000     # text beyond this is not indexed

#: words too common to help find anything (kept in the index, dropped from queries)
STOP_WORDS = frozenset(
    "的 了 是 在 我 有 和 就 不 人 都 一 也 很 到 说 要 去 你 会 着 看 好 这 那 他 她 它 吗 呢 吧 啊 与 及 或 被 把 给 从 对 为 "
    "我们 你们 他们 一个 已经 现在 希望 请求 相关 部门 没有 可以 什么 怎么 怎么办 这个 那个 还是 因为 所以 但是 如果 "
    "请问 尽快 反映 情况 非常 进行 要求 如何 是否 哪里 多少".split())

_WORD = re.compile(r"[^\W_]+")          # runs of letters and digits (CJK included), nothing else
_lock = threading.Lock()
_tokenizer = None


def load():
    """The one jieba tokenizer, built on first use (or ahead of it: ``portal.heap.settle``)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba
                jieba.setLogLevel(logging.WARNING)          # no "Building prefix dict..." chatter
                logging.getLogger("jieba").propagate = False
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def _words(pieces) -> list[str]:
    out: list[str] = []
    for piece in pieces:
        out.extend(w.lower() for w in _WORD.findall(piece))
    return out


def index_tokens(text: str | None) -> str:
    """The text as space-separated words, ready to store in a search column."""
    text = (text or "")[:MAX_INDEX_CHARS]
    if not text.strip():
        return ""
    return " ".join(_words(load().cut_for_search(text, HMM=False)))


def query_terms(text: str | None, *, max_terms: int = MAX_TERMS, search_mode: bool = True) -> list[str]:
    """The distinct words of a query (stop words dropped), in order, at most ``max_terms``.

    ``search_mode`` also yields the shorter words inside long ones (for "any word" ranking);
    without it, only the words of the precise cut (for "every word" filters).
    """
    text = (text or "")[:MAX_QUERY_CHARS]
    if not _WORD.search(text):
        return []
    tk = load()
    pieces = tk.cut_for_search(text, HMM=False) if search_mode else tk.cut(text, HMM=False)
    seen: set[str] = set()
    terms: list[str] = []
    for w in _words(pieces):
        if w in STOP_WORDS or w in seen:
            continue
        seen.add(w)
        terms.append(w)
    if len(terms) > max_terms:    # keep an even spread over the whole text, not just its start
        step = len(terms) / max_terms
        terms = [terms[int(i * step)] for i in range(max_terms)]
    return terms


def fts5_query(terms: list[str], *, every: bool = False) -> str:
    """An FTS5 MATCH expression: each term a quoted string, joined with OR (or AND)."""
    return (" AND " if every else " OR ").join('"' + t.replace('"', '""') + '"' for t in terms)


def tsquery(terms: list[str], *, every: bool = False) -> str:
    """A ``to_tsquery('simple', ...)`` expression: each term a quoted lexeme, joined with | (or &)."""
    return (" & " if every else " | ").join("'" + t.replace("'", "''") + "'" for t in terms)
