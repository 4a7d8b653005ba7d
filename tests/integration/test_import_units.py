"""``flask portal import-units FILE`` on the seeded database (390 Beijing units).

A clean file is applied in one transaction; a file with any problem exits non-zero, names
the line and the reason, and leaves the units table exactly as it was.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

import portal
from portal.domain.access import Actor, Role
from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.models import Unit
from portal.services.tickets import load_ticket_for

BEIJING = Path(portal.__file__).parent / "data" / "beijing_units.csv"
HEADER = "code,name,tier,kind,parent_code\n"


def table() -> list[tuple]:
    """The whole units table (the columns an import may touch, and the path it rebuilds)."""
    return sorted(tuple(r) for r in db.session.execute(
        select(Unit.code, Unit.name, Unit.parent_id, Unit.tier, Unit.active, Unit.kind, Unit.path, Unit.updated_at)))


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


@pytest.fixture
def run(app, tmp_path):
    """run(text_or_bytes, encoding="utf-8") writes the file and invokes the command on it."""
    def _run(content: str | bytes | None, encoding: str = "utf-8", name: str = "units.csv"):
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        result = app.test_cli_runner().invoke(args=["portal", "import-units", str(path)])
        db.session.expire_all()
        return result
    return _run


def test_reimporting_beijing_adds_nothing(app, run):
    before = table()
    assert len(before) == 390
    result = run(BEIJING.read_bytes())
    assert result.exit_code == 0, result.output
    assert "新增 0 个单位，更名 0 个，调整上级 0 个，未变 390 个。" in result.output
    assert table() == before
    assert db.session.scalar(select(func.count(func.distinct(Unit.code)))) == 390


def test_a_renamed_unit_and_a_new_street(app, run):
    before = {row[0]: row for row in table()}
    chaoyang = unit("110105")
    result = run(HEADER + "110105999,朝阳区测试街道,3,street,110105\n110105,朝阳区（新名）,2,district,BJ12345\n")
    assert result.exit_code == 0, result.output
    assert "新增 1 个单位，更名 1 个，调整上级 0 个，未变 0 个。" in result.output
    after = {row[0]: row for row in table()}
    assert set(after) == set(before) | {"110105999"}
    assert unit("110105").name == "朝阳区（新名）"
    assert after["110105"][7] > before["110105"][7]                     # updated_at moved
    street = unit("110105999")
    assert (street.name, street.tier, street.kind, street.parent_id, street.active) == (
        "朝阳区测试街道", 3, "street", chaoyang.id, True)
    assert street.path == f"{chaoyang.path}{street.id}/"
    assert {k: v for k, v in after.items() if k not in ("110105", "110105999")} == \
        {k: v for k, v in before.items() if k != "110105"}


def test_moving_a_street_rebuilds_its_path_and_scope(app, run, make_ticket):
    t = make_ticket(Status.HANDLING, unit="110105001")
    chaoyang, haidian = Actor(Role.HANDLER, unit("110105").id, 2), Actor(Role.HANDLER, unit("110108").id, 2)
    assert load_ticket_for(chaoyang, t.id) is not None and load_ticket_for(haidian, t.id) is None
    result = run(HEADER + "110105001,建外街道,3,street,110108\n")
    assert result.exit_code == 0, result.output
    assert "调整上级 1 个" in result.output
    street, district = unit("110105001"), unit("110108")
    assert street.parent_id == district.id and street.path == f"{district.path}{street.id}/"
    assert load_ticket_for(chaoyang, t.id) is None and load_ticket_for(haidian, t.id) is not None


def test_a_gbk_file_is_accepted(app, run):
    result = run(HEADER + "110105996,测试乡（GBK）,3,township,110105\n", encoding="gbk")
    assert result.exit_code == 0, result.output
    assert unit("110105996").name == "测试乡（GBK）"


def test_a_utf8_file_with_bom_is_accepted(app, run):
    result = run("\ufeff" + HEADER + "110105995,测试地区,3,area,110105\n")
    assert result.exit_code == 0, result.output
    assert unit("110105995").kind == "area"


BAD_FILES = {
    # name: (content, what the output must say)
    "cycle_in_file": (HEADER + "X1,甲区,2,district,X2\nX2,乙区,2,district,X1\n",
                      ["第 2 行: 上下级关系形成循环"]),
    "cycle_through_existing": (HEADER + "110105,朝阳区,2,district,110105001\n",
                               ["第 2 行: 上下级关系形成循环", "110105 → 110105001 → 110105"]),
    "unknown_parent": (HEADER + "110105994,甲街道,3,street,110105\n110105993,乙街道,3,street,110199\n",
                       ["第 3 行: 上级单位 110199 不存在"]),
    "duplicate_code": (HEADER + "110105992,甲街道,3,street,110105\n110105992,乙街道,3,street,110105\n",
                       ["第 3 行: 编码 110105992 重复（与第 2 行）"]),
    "tier_skips_a_level": (HEADER + "110105994,甲街道,3,street,110105\n110105991,丙街道,3,street,BJ12345\n",
                           ["第 3 行: 层级不符：第 3 级单位的上级必须是第 2 级，BJ12345 是第 1 级"]),
    "tier_under_a_street": (HEADER + "110105990,丁街道,3,street,110105001\n",
                            ["第 2 行: 层级不符"]),
    "wrong_header": ("code,name,level,kind,parent\n110105994,甲街道,3,street,110105\n",
                     ["第 1 行: 表头应为 code,name,tier,kind,parent_code"]),
    "wrong_kind": (HEADER + "110105994,甲街道,3,district,110105\n", ["第 2 行: 第 3 级单位的类型必须是"]),
    "bad_tier": (HEADER + "110105994,甲街道,4,street,110105\n", ["第 2 行: 层级必须是 1、2 或 3"]),
    "missing_column": (HEADER + "110105994,甲街道,3,street\n", ["第 2 行: 应有 5 列，实际 4 列"]),
    "empty_file": ("", ["第 1 行: 文件为空"]),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xfe\xfd\x00", ["文件编码无法识别"]),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_file_changes_nothing(app, run, name):
    content, expected = BAD_FILES[name]
    before = table()
    result = run(content)
    assert result.exit_code != 0
    for text in expected:
        assert text in result.output, result.output
    assert "导入被拒绝" in result.output and "数据库未做任何修改" in result.output
    assert table() == before


def test_every_problem_of_a_file_is_listed_with_its_line(app, run):
    before = table()
    result = run(HEADER + "110105994,甲街道,3,street,110105\n"      # fine
                 "110105993,乙街道,3,street,110199\n"                 # 3: unknown parent
                 "110105994,丙街道,3,street,110105\n"                 # 4: duplicate
                 ",无编码,3,street,110105\n")                         # 5: no code
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if "行:" in line]
    assert [line.split(": ", 1)[1].split(":")[0] for line in lines] == ["第 3 行", "第 4 行", "第 5 行"], lines
    assert "发现 3 个问题" in result.output
    assert table() == before


def test_a_missing_file(app, run, tmp_path):
    before = table()
    result = run(None, name="nope.csv")
    assert result.exit_code != 0
    assert "无法读取文件" in result.output and "nope.csv" in result.output
    assert table() == before


CITY = """code,name,tier,kind,parent_code
120101001,劝业场街道,3,street,120101
120102001,大王庄街道,3,street,120102
120101,和平区,2,district,TJ12345
120101002,小白楼街道,3,street,120101
TJ12345,天津市12345政务服务便民热线,1,center,
120102,河东区,2,district,TJ12345
TJ-SCJG,天津市市场监督管理委员会,2,department,TJ12345
"""


def test_another_city_gets_its_own_tree_with_materialised_paths(app, run, make_ticket):
    beijing = table()
    result = run(CITY)
    assert result.exit_code == 0, result.output
    assert "新增 7 个单位，更名 0 个，调整上级 0 个，未变 0 个。" in result.output
    assert db.session.scalar(select(func.count()).select_from(Unit)) == 397
    assert [row for row in table() if row[0] in {r[0] for r in beijing}] == beijing   # Beijing untouched

    center, heping, hedong = unit("TJ12345"), unit("120101"), unit("120102")
    assert (center.tier, center.parent_id, center.path) == (1, None, f"/{center.id}/")
    for district in (heping, hedong, unit("TJ-SCJG")):
        assert (district.tier, district.parent_id) == (2, center.id)
        assert district.path == f"/{center.id}/{district.id}/"
        assert district.ancestor_ids == {center.id, district.id}
    for code, parent in (("120101001", heping), ("120101002", heping), ("120102001", hedong)):
        street = unit(code)
        assert (street.tier, street.parent_id) == (3, parent.id)
        assert street.path == f"/{center.id}/{parent.id}/{street.id}/"
        assert street.ancestor_ids == {center.id, parent.id, street.id}
    assert [u.code for u in heping.children] == ["120101001", "120101002"]

    # the paths are what scope runs on
    t = make_ticket(Status.DISPATCHED, unit="120101001")
    assert load_ticket_for(Actor(Role.HANDLER, heping.id, 2), t.id) is not None
    assert load_ticket_for(Actor(Role.HANDLER, hedong.id, 2), t.id) is None
    assert load_ticket_for(Actor(Role.HANDLER, unit("110105").id, 2), t.id) is None

    again = run(CITY)                                                   # idempotent by code
    assert again.exit_code == 0 and "新增 0 个单位" in again.output
