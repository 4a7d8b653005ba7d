"""Reading and checking a unit hierarchy file (code,name,tier,kind,parent_code)."""
from __future__ import annotations

import csv
import io
from importlib import resources

import pytest

from portal.domain.hierarchy import Existing, HierarchyError, Problem, UnitRow, parse

HEADER = "code,name,tier,kind,parent_code\n"
GOOD = HEADER + (
    "BJ,北京市市民热线服务中心,1,center,\n"
    "D1,东城区,2,district,BJ\n"
    "D2,西城区,2,district,BJ\n"
    "S11,东华门街道,3,street,D1\n"
    "S12,景山街道,3,street,D1\n"
    "S21,德胜街道,3,street,D2\n"
)
GOOD_ROWS = [
    UnitRow(2, "BJ", "北京市市民热线服务中心", 1, "center", None),
    UnitRow(3, "D1", "东城区", 2, "district", "BJ"),
    UnitRow(4, "D2", "西城区", 2, "district", "BJ"),
    UnitRow(5, "S11", "东华门街道", 3, "street", "D1"),
    UnitRow(6, "S12", "景山街道", 3, "street", "D1"),
    UnitRow(7, "S21", "德胜街道", 3, "street", "D2"),
]


def problems(text: str | bytes, existing=None) -> list[Problem]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(HierarchyError) as info:
        parse(data, existing)
    assert info.value.problems, "HierarchyError without problems"
    return info.value.problems


def only(text: str, existing=None) -> Problem:
    found = problems(text, existing)
    assert len(found) == 1, found
    return found[0]


# --- good files ------------------------------------------------------------------

def test_good_file():
    assert parse(GOOD.encode("utf-8")) == GOOD_ROWS


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_other_encodings_parse_the_same(encoding):
    data = GOOD.encode(encoding)
    assert data != GOOD.encode("utf-8")
    assert parse(data) == GOOD_ROWS


def test_crlf_blank_lines_spaces_and_header_case():
    text = ("Code, Name ,TIER,Kind,PARENT_CODE\r\n"
            " BJ , 中心 , 1 , center , \r\n"
            "\r\n"
            ",,,,\r\n"
            "D1,东城区,2,district,BJ\r\n")
    assert parse(text.encode("utf-8")) == [
        UnitRow(2, "BJ", "中心", 1, "center", None),
        UnitRow(5, "D1", "东城区", 2, "district", "BJ"),   # blank lines still count
    ]


def test_quoted_names_with_commas():
    text = HEADER + 'BJ,"中心, 12345",1,center,\n'
    assert parse(text.encode()) == [UnitRow(2, "BJ", "中心, 12345", 1, "center", None)]


def test_every_kind_is_accepted_at_its_tier():
    text = HEADER + (
        "BJ,中心,1,center,\n"
        "D,区,2,district,BJ\nW,委办局,2,department,BJ\nE,企业,2,enterprise,BJ\n"
        "S,街道,3,street,D\nT,乡镇,3,township,D\nA,地区,3,area,D\nO,开发区,3,other,D\n"
    )
    assert [r.kind for r in parse(text.encode())] == [
        "center", "district", "department", "enterprise", "street", "township", "area", "other"]


def test_parents_may_come_from_the_database():
    existing = {"BJ": Existing("BJ", 1, None), "D1": Existing("D1", 2, "BJ")}
    text = HEADER + "S13,和平里街道,3,street,D1\nD3,朝阳区,2,district,BJ\nS31,呼家楼街道,3,street,D3\n"
    assert parse(text.encode(), existing) == [
        UnitRow(2, "S13", "和平里街道", 3, "street", "D1"),
        UnitRow(3, "D3", "朝阳区", 2, "district", "BJ"),
        UnitRow(4, "S31", "呼家楼街道", 3, "street", "D3"),
    ]
    # without them the same file is refused, line by line
    assert [(p.line, p.message) for p in problems(text)] == [
        (2, "上级单位 D1 不存在"), (3, "上级单位 BJ 不存在")]


def test_existing_parent_with_the_wrong_tier():
    existing = {"S11": Existing("S11", 3, "D1")}
    p = only(HEADER + "S99,某街道,3,street,S11\n", existing)
    assert p.line == 2
    assert "层级不符" in p.message and "S11 是第 3 级" in p.message


def test_the_file_overrides_the_database():
    # S11 is a street in the database, but the file makes it a district
    existing = {"BJ": Existing("BJ", 1, None), "S11": Existing("S11", 3, "D1")}
    text = HEADER + "S11,改为区,2,district,BJ\nX1,新街道,3,street,S11\n"
    assert [r.code for r in parse(text.encode(), existing)] == ["S11", "X1"]


def test_real_beijing_file():
    data = resources.files("portal.data").joinpath("beijing_units.csv").read_bytes()
    rows = parse(data)
    assert len(rows) == 390
    records = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == len(records)
    assert sum(1 for r in rows if r.tier == 1) == 1
    assert sum(1 for r in rows if r.kind == "district") == 16
    tier3_in_file = sum(1 for rec in records if rec["tier"].strip() == "3")
    assert tier3_in_file > 0
    assert sum(1 for r in rows if r.tier == 3) == tier3_in_file
    assert len({r.code for r in rows}) == len(rows)


# --- encodings ---------------------------------------------------------------------

ENCODING_MESSAGE = "文件编码无法识别"


@pytest.mark.parametrize("data", [
    GOOD.encode("utf-16"),                       # with BOM
    GOOD.encode("utf-16-le"),                    # without BOM: the ASCII header is full of NULs
    GOOD.encode("utf-32"),
    bytes(range(256)),
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
    b"\xff\xfe\xfd\xfc" * 20,
], ids=["utf-16", "utf-16-le", "utf-32", "all-bytes", "png", "ff-run"])
def test_unreadable_encodings_are_refused(data):
    p = only(data)
    assert p.line == 0
    assert ENCODING_MESSAGE in p.message and "UTF-8" in p.message and "GBK" in p.message
    assert str(p) == p.message   # no "line 0" prefix


# --- structure ---------------------------------------------------------------------

def test_empty_file():
    p = only("")
    assert (p.line, p.message) == (1, "文件为空")


@pytest.mark.parametrize("text", [HEADER, HEADER + "\n\n", HEADER + ",,,,\n"])
def test_header_only(text):
    p = only(text)
    assert (p.line, p.message) == (2, "文件没有任何单位")


@pytest.mark.parametrize("header", [
    "id,name,tier,kind,parent_code",
    "code,name,tier,kind",
    "code,name,tier,kind,parent_code,extra",
    "name,code,tier,kind,parent_code",
    "BJ,中心,1,center,",                       # no header at all
])
def test_wrong_header(header):
    p = only(header + "\nD1,东城区,2,district,BJ\n")
    assert p.line == 1
    assert "表头应为 code,name,tier,kind,parent_code" in p.message
    assert header in p.message
    assert str(p).startswith("第 1 行: ")


@pytest.mark.parametrize(("record", "count"), [
    ("D1,东城区,2,district", 4),
    ("D1,东城区,2,district,BJ,extra", 6),
    ("D1", 1),
])
def test_wrong_column_count(record, count):
    p = only(HEADER + "BJ,中心,1,center,\n" + record + "\n")
    assert (p.line, p.message) == (3, f"应有 5 列，实际 {count} 列")


def test_all_problems_are_reported_in_line_order():
    text = HEADER + (
        "BJ,中心,1,center,\n"
        "D1,东城区,2,district,NOPE\n"   # 3: unknown parent
        "D2,西城区\n"                   # 4: column count
        "S1,街道,3,district,D1\n"       # 5: kind
        "S2,街道,3,street,BJ\n"         # 6: tier
    )
    assert [p.line for p in problems(text)] == [3, 4, 5, 6]


# --- fields ------------------------------------------------------------------------

@pytest.mark.parametrize(("record", "fragment"), [
    (",东城区,2,district,BJ", "编码为空或过长"),
    ("D" * 33 + ",东城区,2,district,BJ", "编码为空或过长"),
    ("D1,,2,district,BJ", "名称为空或过长"),
    ("D1," + "名" * 101 + ",2,district,BJ", "名称为空或过长"),
    ("D1,东城区,4,district,BJ", "层级必须是 1、2 或 3，实际为“4”"),
    ("D1,东城区,二,district,BJ", "层级必须是 1、2 或 3，实际为“二”"),
    ("D1,东城区,,district,BJ", "层级必须是 1、2 或 3"),
])
def test_bad_fields(record, fragment):
    p = only(HEADER + "BJ,中心,1,center,\n" + record + "\n")
    assert p.line == 3
    assert fragment in p.message


def test_longest_code_and_name_are_accepted():
    text = HEADER + "BJ,中心,1,center,\n" + "D" * 32 + "," + "名" * 100 + ",2,district,BJ\n"
    assert parse(text.encode())[1].code == "D" * 32


@pytest.mark.parametrize(("record", "fragment"), [
    ("D8,东城区,2,street,BJ", "第 2 级单位的类型必须是 department、district、enterprise，实际为“street”"),
    ("S1,街道,3,district,D1", "第 3 级单位的类型必须是 area、other、street、township，实际为“district”"),
    ("C2,中心,1,district,", "第 1 级单位的类型必须是 center"),
    ("D9,东城区,2,center,BJ", "实际为“center”"),
    ("D9,东城区,2,District,BJ", "实际为“District”"),
])
def test_kind_must_match_tier(record, fragment):
    text = HEADER + "BJ,中心,1,center,\nD1,东城区,2,district,BJ\n" + record + "\n"
    p = only(text)
    assert p.line == 4
    assert fragment in p.message


def test_duplicate_code_names_both_lines():
    text = HEADER + "BJ,中心,1,center,\nD1,东城区,2,district,BJ\nD2,西城区,2,district,BJ\nD1,又一个,2,district,BJ\n"
    p = only(text)
    assert p.line == 5
    assert p.message == "编码 D1 重复（与第 3 行）"
    assert str(p) == "第 5 行: 编码 D1 重复（与第 3 行）"


# --- the tree ----------------------------------------------------------------------

def test_unknown_parent():
    p = only(HEADER + "BJ,中心,1,center,\nD1,东城区,2,district,BJ\nS1,街道,3,street,D9\n")
    assert (p.line, p.message) == (4, "上级单位 D9 不存在")


def test_street_under_the_center():
    p = only(HEADER + "BJ,中心,1,center,\nS1,街道,3,street,BJ\n")
    assert (p.line, p.message) == (3, "层级不符：第 3 级单位的上级必须是第 2 级，BJ 是第 1 级")


def test_district_under_a_street():
    text = HEADER + "BJ,中心,1,center,\nD1,东城区,2,district,BJ\nS1,街道,3,street,D1\nD2,西城区,2,district,S1\n"
    p = only(text)
    assert (p.line, p.message) == (5, "层级不符：第 2 级单位的上级必须是第 1 级，S1 是第 3 级")


def test_street_under_a_street():
    text = HEADER + "BJ,中心,1,center,\nD1,东城区,2,district,BJ\nS1,街道,3,street,D1\nS2,街道,3,street,S1\n"
    p = only(text)
    assert p.line == 5 and "S1 是第 3 级" in p.message


@pytest.mark.parametrize("tier_kind", ["2,district", "3,street"])
def test_unit_below_the_center_needs_a_parent(tier_kind):
    tier = tier_kind[0]
    p = only(HEADER + "BJ,中心,1,center,\nX1,某单位," + tier_kind + ",\n")
    assert (p.line, p.message) == (3, f"第 {tier} 级单位必须有上级单位")


def test_center_with_a_parent():
    text = HEADER + "BJ,中心,1,center,\nBJ2,第二中心,1,center,BJ\n"
    p = only(text)
    assert (p.line, p.message) == (3, "第 1 级单位（热线中心）不能有上级")


def test_self_parent():
    text = HEADER + "BJ,中心,1,center,\nD1,东城区,2,district,D1\n"
    p = only(text)
    assert (p.line, p.message) == (3, "单位 D1 不能以自己为上级")


def test_two_districts_that_are_each_others_parent():
    text = HEADER + "BJ,中心,1,center,\nD1,东城区,2,district,D2\nD2,西城区,2,district,D1\n"
    found = problems(text)
    loops = [p for p in found if "循环" in p.message]
    assert len(loops) == 1, found
    assert loops[0].line == 3
    assert "D1" in loops[0].message and "D2" in loops[0].message
    # the tier check fires on both lines too
    assert {p.line for p in found if "层级不符" in p.message} == {3, 4}
    assert [p.line for p in found] == sorted(p.line for p in found)


def test_a_longer_loop_is_reported_once_at_its_first_line():
    text = HEADER + (
        "BJ,中心,1,center,\n"
        "S1,街道一,3,street,S3\n"
        "S2,街道二,3,street,S1\n"
        "S3,街道三,3,street,S2\n"
    )
    found = problems(text)
    loops = [p for p in found if "循环" in p.message]
    assert len(loops) == 1, found
    assert loops[0].line == 3
    assert all(code in loops[0].message for code in ("S1", "S2", "S3"))


def test_loop_through_the_database():
    # the file says D1 is under X, the database says X is under D1
    existing = {"X": Existing("X", 1, "D1")}
    found = problems(HEADER + "D1,东城区,2,district,X\n", existing)
    assert [(p.line, "循环" in p.message) for p in found] == [(2, True)]
    assert "D1 → X → D1" in found[0].message


def test_error_message_joins_every_problem():
    text = HEADER + "BJ,中心,1,center,\nS1,街道,3,street,BJ\nD1,东城区,2,street,BJ\n"
    with pytest.raises(HierarchyError) as info:
        parse(text.encode())
    assert str(info.value).startswith("第 3 行: ")
    assert "; 第 4 行: " in str(info.value)
    assert isinstance(info.value, ValueError)
