"""Backup and restore (issue 9).

* SQLite: the online backup API (``sqlite3.Connection.backup``): a consistent copy while the
  portal keeps serving (WAL readers and writers go on).
* PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot); restore with ``pg_restore``
  into an empty database.

``flask portal backup`` writes one; ``flask portal restore FILE --into URL`` loads one into an
EMPTY database (it refuses a database that has tables). docs/production.md has the procedure.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
# pg_dump/pg_restore with an argument list, never a shell
import subprocess  # nosec B404
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError


class BackupError(Exception):
    pass


def suffix_for(url: str) -> str:
    return ".db" if make_url(url).drivername.startswith("sqlite") else ".dump"


def _pg_args(url: URL) -> tuple[list[str], dict]:
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} 未安装（PostgreSQL 客户端工具）")
    return path


def backup(url: str, dest: Path) -> Path:
    """Write a consistent copy of the database at ``url`` to ``dest``; returns ``dest``."""
    parsed = make_url(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if parsed.drivername.startswith("sqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise BackupError("内存数据库无法备份")
        source = sqlite3.connect(f"file:{parsed.database}?mode=ro", uri=True)
        target = sqlite3.connect(dest)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        return dest
    if parsed.drivername.startswith("postgresql"):
        args, env = _pg_args(parsed)
        cmd = [_tool("pg_dump"), *args, "--format=custom", "--no-owner", "--no-privileges",
               "--file", str(dest), "--dbname", parsed.database]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # nosec B603
        if result.returncode != 0:
            raise BackupError(f"pg_dump 失败：{result.stderr.strip()}")
        return dest
    raise BackupError(f"不支持的数据库：{parsed.drivername}")


def restore(source: Path, url: str) -> None:
    """Load a backup into the EMPTY database at ``url`` (which must exist for PostgreSQL)."""
    parsed = make_url(url)
    if not source.is_file():
        raise BackupError(f"备份文件不存在：{source}")
    engine = create_engine(parsed)
    try:
        if inspect(engine).get_table_names():
            raise BackupError("目标数据库不是空的：恢复只写入新建的空数据库")
    except OperationalError:
        # no such database (PostgreSQL: it is made first, with createdb) or an SQLite path that
        # cannot be opened: a message, not a traceback
        raise BackupError(f"无法打开目标数据库 {parsed.database}：请先建好一个空数据库"
                          "（PostgreSQL 用 createdb），再恢复") from None
    finally:
        engine.dispose()
    if parsed.drivername.startswith("sqlite"):
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(parsed.database)
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    args, env = _pg_args(parsed)
    cmd = [_tool("pg_restore"), *args, "--no-owner", "--no-privileges", "--exit-on-error",
           "--dbname", parsed.database, str(source)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # nosec B603
    if result.returncode != 0:
        raise BackupError(f"pg_restore 失败：{result.stderr.strip()}")
