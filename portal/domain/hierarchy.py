"""Reading and checking a unit hierarchy file (``code,name,tier,kind,parent_code``).

Pure: takes bytes and the units already in the database, returns rows or a list of
problems, each with its line number. The service applies a clean file in one
transaction; a file with any problem changes nothing.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from .access import KINDS_BY_TIER

HEADER = ["code", "name", "tier", "kind", "parent_code"]
MAX_NAME = 100
MAX_CODE = 32


@dataclass(frozen=True)
class UnitRow:
    line: int
    code: str
    name: str
    tier: int
    kind: str
    parent_code: str | None


@dataclass(frozen=True)
class Existing:
    code: str
    tier: int
    parent_code: str | None


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"第 {self.line} 行: {self.message}" if self.line else self.message


class HierarchyError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GBK/GB18030 as Excel saves it; anything else is refused."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise HierarchyError([Problem(0, "文件编码无法识别：请使用 UTF-8 或 GBK 编码的 CSV 文件")])


def parse(data: bytes, existing: dict[str, Existing] | None = None) -> list[UnitRow]:
    """Parse and check a whole file. Raises ``HierarchyError`` listing every problem."""
    existing = existing or {}
    text = decode(data)
    reader = csv.reader(io.StringIO(text))
    problems: list[Problem] = []
    try:
        header = next(reader)
    except StopIteration:
        raise HierarchyError([Problem(1, "文件为空")]) from None
    if [h.strip().lower() for h in header] != HEADER:
        raise HierarchyError([Problem(1, f"表头应为 {','.join(HEADER)}，实际为 {','.join(header)}")])

    rows: list[UnitRow] = []
    seen: dict[str, int] = {}
    for line_no, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(HEADER):
            problems.append(Problem(line_no, f"应有 {len(HEADER)} 列，实际 {len(record)} 列"))
            continue
        code, name, tier_s, kind, parent = (c.strip() for c in record)
        bad = False
        if not code or len(code) > MAX_CODE:
            problems.append(Problem(line_no, "编码为空或过长")); bad = True
        if not name or len(name) > MAX_NAME:
            problems.append(Problem(line_no, "名称为空或过长")); bad = True
        if tier_s not in ("1", "2", "3"):
            problems.append(Problem(line_no, f"层级必须是 1、2 或 3，实际为“{tier_s}”")); bad = True
        elif kind not in KINDS_BY_TIER[int(tier_s)]:
            allowed = "、".join(sorted(KINDS_BY_TIER[int(tier_s)]))
            problems.append(Problem(line_no, f"第 {tier_s} 级单位的类型必须是 {allowed}，实际为“{kind}”")); bad = True
        if code in seen:
            problems.append(Problem(line_no, f"编码 {code} 重复（与第 {seen[code]} 行）")); bad = True
        if code == parent and code:
            problems.append(Problem(line_no, f"单位 {code} 不能以自己为上级")); bad = True
        if bad:
            continue
        seen[code] = line_no
        rows.append(UnitRow(line_no, code, name, int(tier_s), kind, parent or None))

    if not rows and not problems:
        problems.append(Problem(2, "文件没有任何单位"))

    by_code = {r.code: r for r in rows}

    def tier_of(code: str) -> int | None:
        if code in by_code:
            return by_code[code].tier
        return existing[code].tier if code in existing else None

    def parent_of(code: str) -> str | None:
        if code in by_code:
            return by_code[code].parent_code
        return existing[code].parent_code if code in existing else None

    for r in rows:
        if r.tier == 1:
            if r.parent_code:
                problems.append(Problem(r.line, "第 1 级单位（热线中心）不能有上级"))
            continue
        if not r.parent_code:
            problems.append(Problem(r.line, f"第 {r.tier} 级单位必须有上级单位"))
            continue
        ptier = tier_of(r.parent_code)
        if ptier is None:
            problems.append(Problem(r.line, f"上级单位 {r.parent_code} 不存在"))
        elif ptier != r.tier - 1:
            problems.append(Problem(
                r.line, f"层级不符：第 {r.tier} 级单位的上级必须是第 {r.tier - 1} 级，{r.parent_code} 是第 {ptier} 级"))

    # cycles: follow parents from every row; a code met twice on one walk is a loop
    reported: set[str] = set()
    for r in rows:
        walk: list[str] = []
        code: str | None = r.code
        while code is not None and code not in walk:
            walk.append(code)
            code = parent_of(code)
        if code is not None:
            loop = walk[walk.index(code):]
            key = min(loop)
            if key not in reported:
                reported.add(key)
                line = min(by_code[c].line for c in loop if c in by_code)
                problems.append(Problem(line, "上下级关系形成循环：" + " → ".join(loop + [code])))

    if problems:
        problems.sort(key=lambda p: p.line)
        raise HierarchyError(problems)
    return rows
