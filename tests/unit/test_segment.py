"""jieba segmentation: the words it stores and queries, and that loading it is silent."""
import subprocess
import sys

from portal.domain.segment import fts5_query, index_tokens, query_terms, tsquery


def test_loading_jieba_prints_nothing_even_with_debug_logging():
    code = ("import logging; logging.basicConfig(level=logging.DEBUG)\n"
            "from portal.domain.segment import index_tokens\n"
            "print(index_tokens('小区停车收费不合理'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "小区 停车 收费 不合 合理 不合理\n"
    assert out.stderr == ""


def test_index_keeps_long_words_and_the_words_inside_them():
    words = index_tokens("医院周边停车场收费明显高于公示标准").split()
    assert {"停车场", "停车", "收费", "公示"} <= set(words)
    assert index_tokens("，。！？") == "" and index_tokens(None) == ""


def test_queries_drop_stop_words_and_syntax():
    assert query_terms("请问小区的停车收费怎么办？") == ["小区", "停车", "收费"]
    assert query_terms("停车场", search_mode=False) == ["停车场"]
    assert query_terms('"a" OR b* NEAR(c)') == ["a", "or", "b", "near", "c"]
    assert fts5_query(["停车", "收费"]) == '"停车" OR "收费"'
    assert fts5_query(["停车", "收费"], every=True) == '"停车" AND "收费"'
    assert tsquery(["停车", "收费"]) == "'停车' | '收费'"
